// bench/diffusion/dit_bench.cpp: optidiff's C++ DiT against the same architecture in Python PyTorch
// (bench/diffusion/dit_torch.py), same threads, same work, in one run; prints the ratio, writes
// JSON.
//   sampling: batch 64, 50 Euler steps of the flow ODE with CFG w = 3 (2 x 64 rows per step),
//   images/s,
//             through the real path (load-free DitDenoiser + make_plan + sample);
//   training: steps/s of train_dit itself (batch 128, flow matching, AdamW, EMA), its first step
//   (which
//             allocates gradients and optimiser state) and checkpoint writes excluded, as the
//             Python side excludes its warm-up step.
// This VM's speed drifts by tens of percent within minutes, so the two sides alternate: each of
// --rounds rounds times C++ sampling, C++ training, then one Python process doing the same; the
// table reports medians over rounds and the ratio of the medians. The C++ side runs as the CLI
// does, with keep_freed_tensor_memory() and reexec_with_thread_environment() (torch_threads.hpp);
// --python-env "VAR=value ..." runs the Python peer with environment variables set (e.g. the same
// settings through GLIBC_TUNABLES and OMP_WAIT_POLICY, to see what they are worth there). Usage:
// dit_bench [--threads 2] [--steps 50] [--train-steps 10] [--rounds 3] [--json out.json]
#include <unistd.h>
#include <cstdio>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "optidiff/core/json.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/threads.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/core/torch_threads.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/precision.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "optidiff/diffusion/train.hpp"

using namespace optidiff;
using namespace optidiff::diffusion;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The practical fp32 peak of this machine and thread count: the best of 3 timed 2048^3 sgemms
// (OpenBLAS, through at::mm), in GFLOP/s.
double sgemm_gflops() {
  torch::NoGradGuard no_grad;
  const auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
  auto c = torch::mm(a, b);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    Stopwatch sw;
    torch::mm_out(c, a, b);
    best = std::max(best, 2.0 * 2048 * 2048 * 2048 / sw.seconds() / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, train_steps = 10, rounds = 3, batch = 64, steps = 50;
  double cfg = 3.0;
  std::string json_path, python = "/usr/bin/python3", python_env, precision_name_arg = "fp32";
  CLI::App app{"The C++ DiT against the same model in Python PyTorch (docs/diffusion.md)"};
  app.add_option("--threads", threads)->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--steps", steps, "Sampling steps")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--train-steps", train_steps, "Timed training steps per round")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--rounds", rounds, "Alternating C++/Python rounds")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--json", json_path, "Write the results here");
  app.add_option("--python", python, "The Python interpreter with torch")->capture_default_str();
  app.add_option("--python-env", python_env, "VAR=value set for the Python peer only");
  app.add_option("--precision", precision_name_arg, "fp32, bf16 or auto, for both sides")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  reexec_with_thread_environment(argv, threads);  // as the CLI's sample and diffusion commands
  install_torch_thread_hook();
  keep_freed_tensor_memory();
  set_num_threads(threads);
  Progress::set_mode(Progress::Mode::kSilent);
  const std::string src = OPTIDIFF_SOURCE_DIR;

  const Precision precision = resolve_precision(parse_precision(precision_name_arg));
  const double peak = sgemm_gflops();  // the machine's practical fp32 peak, measured now, in this process
  torch::manual_seed(0);
  DiT model(dit_config("small"));
  {
    torch::NoGradGuard g;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.02);
  }
  DitDenoiser denoiser(model, Objective::kFlow, "bench");
  denoiser.set_precision(precision);
  const Plan plan =
      make_plan(denoiser.schedule(), {.sampler = SamplerKind::kEuler, .steps = steps});
  const auto labels = torch::arange(batch, torch::kInt64).remainder(10);
  const auto fn = make_denoise_fn(denoiser, plan.output, {.scale = cfg, .keep_halves = false});
  {
    torch::NoGradGuard no_grad;
    const Plan warm = make_plan(denoiser.schedule(), {.sampler = SamplerKind::kEuler, .steps = 2});
    sample(warm, fn, draw_noise(warm, batch, {1, 28, 28}, 1), labels, torch::kFloat32);
  }
  const auto train = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTrain);
  const auto dir =
      std::filesystem::temp_directory_path() / ("optidiff-bench-" + std::to_string(::getpid()));
  const auto py_json = dir.string() + "-py.json";
  // The peer runs as Python users run it: without the OMP_WAIT_POLICY and OPENBLAS_NUM_THREADS this
  // process set for itself (reexec_with_thread_environment) unless --python-env gives them.
  const std::string cmd = "env -u OMP_WAIT_POLICY -u OPENBLAS_NUM_THREADS " + python_env + " " + python + " " + src +
                          "/bench/diffusion/dit_torch.py --threads " + std::to_string(threads) +
                          " --sample-batch " + std::to_string(batch) + " --sample-steps " +
                          std::to_string(steps) + " --train-steps " + std::to_string(train_steps) +
                          " --cfg " + std::to_string(cfg) + " --precision " + precision_name(precision) +
                          " --json " + py_json + " > /dev/null";

  std::vector<double> cpp_sample, cpp_train, py_sample, py_train;
  Json py;
  for (int r = 0; r < rounds; ++r) {
    {  // C++ sampling, without autograd as the CLI's sample command and Python's torch.no_grad()
      torch::NoGradGuard no_grad;
      const auto noise = draw_noise(plan, batch, {1, 28, 28}, r);
      Stopwatch sw;
      sample(plan, fn, noise, labels, torch::kFloat32);
      cpp_sample.push_back(batch / sw.seconds());
    }
    {  // C++ training: train_dit itself, fresh, 1 + N steps
      std::filesystem::remove_all(dir);
      TrainOptions o;
      o.config = dit_config("small");
      o.steps = 1 + train_steps;
      o.out_dir = dir.string();
      o.checkpoint_minutes = 1e6;
      o.precision = precision;
      const auto t = train_dit(train, o);
      std::filesystem::remove_all(dir);
      cpp_train.push_back(t.timed_steps / t.step_seconds);
    }
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "the Python peer failed (is python3-torch installed?): %s\n",
                   cmd.c_str());
      return 1;
    }
    py = read_json_file(py_json);
    std::filesystem::remove(py_json);
    py_sample.push_back(py["sample_images_per_s"].get<double>());
    py_train.push_back(py["train_steps_per_s"].get<double>());
    std::fprintf(stderr,
                 "round %d/%d: sampling C++ %.3f vs Python %.3f images/s, training C++ %.3f vs "
                 "Python %.3f steps/s\n",
                 r + 1, rounds, cpp_sample.back(), py_sample.back(), cpp_train.back(),
                 py_train.back());
  }
  const double cs = median(cpp_sample), ps = median(py_sample), ct = median(cpp_train),
               pt = median(py_train);
  // Sampling: steps x 2 rows (CFG) forward passes per image; training: forward + backward ~ 3 forwards
  // per image (the backward's two products per forward product), 128 images per step.
  const double flops = forward_flops(model->config());
  const double sample_flops = steps * 2.0 * flops, train_flops = 3.0 * 128 * flops;
  auto gflops = [](double rate, double per) { return rate * per / 1e9; };
  auto of_peak = [&](double rate, double per) { return format_fixed(100 * gflops(rate, per) / peak, 0) + "%"; };

  Table t({"work", "optidiff C++ (libtorch)", "GFLOP/s", "of peak", "Python PyTorch", "GFLOP/s", "C++ / Python"},
          "DiT small (" + std::to_string(model->parameter_count()) + " parameters, " +
              format_fixed(flops / 1e6, 1) + " MFLOP per image forward), " + precision_name(precision) + ", " +
              std::to_string(threads) + " threads, median of " + std::to_string(rounds) +
              " alternating rounds; peak = fp32 sgemm 2048^3 here: " + format_fixed(peak, 1) + " GFLOP/s");
  t.add_row({"sampling, images/s (batch " + std::to_string(batch) + ", " + std::to_string(steps) +
                 " Euler steps, CFG)",
             format_fixed(cs, 2), format_fixed(gflops(cs, sample_flops), 1), of_peak(cs, sample_flops),
             format_fixed(ps, 2), format_fixed(gflops(ps, sample_flops), 1), format_fixed(cs / ps, 2)});
  t.add_row({"training, steps/s (batch 128)", format_fixed(ct, 3), format_fixed(gflops(ct, train_flops), 1),
             of_peak(ct, train_flops), format_fixed(pt, 3), format_fixed(gflops(pt, train_flops), 1),
             format_fixed(ct / pt, 2)});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"threads", threads},
                                {"precision", precision_name(precision)},
                                {"cpu_has_native_bf16", cpu_has_native_bf16()},
                                {"forward_mflop_per_image", flops / 1e6},
                                {"sgemm_peak_gflops", peak},
                                {"cpp_sample_gflops", gflops(cs, sample_flops)},
                                {"cpp_train_gflops", gflops(ct, train_flops)},
                                {"python_sample_gflops", gflops(ps, sample_flops)},
                                {"python_train_gflops", gflops(pt, train_flops)},
                                {"rounds", rounds},
                                {"parameters", model->parameter_count()},
                                {"python_env", python_env},
                                {"cpp_sample_images_per_s", cs},
                                {"python_sample_images_per_s", ps},
                                {"sample_ratio", cs / ps},
                                {"cpp_train_steps_per_s", ct},
                                {"python_train_steps_per_s", pt},
                                {"train_ratio", ct / pt},
                                {"per_round",
                                 {{"cpp_sample", cpp_sample},
                                  {"python_sample", py_sample},
                                  {"cpp_train", cpp_train},
                                  {"python_train", py_train}}},
                                {"python", py}});
  return 0;
}
