// bench/diffusion/dit_bench.cpp: optidiff's C++ DiT against the same architecture in Python PyTorch
// (bench/diffusion/dit_torch.py), same threads, same work, in one run; prints the ratio, writes JSON.
//   sampling: batch 64, 50 Euler steps of the flow ODE with CFG w = 3 (2 x 64 rows per step), images/s,
//             through the real path (load-free DitDenoiser + make_plan + sample);
//   training: steps/s of train_dit (batch 128, flow matching, AdamW, EMA), timed as the difference of two
//             runs (1 step, then resumed to 1 + N steps) so start-up is excluded.
// Usage: dit_bench [--threads 2] [--steps 50] [--train-steps 20] [--sample-repeats 1] [--json out.json]
#include <cstdio>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/threads.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/core/torch_threads.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "optidiff/diffusion/train.hpp"

using namespace optidiff;
using namespace optidiff::diffusion;

int main(int argc, char** argv) {
  int threads = 2, train_steps = 20, repeats = 1, batch = 64, steps = 50;
  double cfg = 3.0;
  std::string json_path, python = "/usr/bin/python3";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") threads = std::stoi(v);
    else if (k == "--train-steps") train_steps = std::stoi(v);
    else if (k == "--sample-repeats") repeats = std::stoi(v);
    else if (k == "--json") json_path = v;
    else if (k == "--python") python = v;
    else if (k == "--steps") steps = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  install_torch_thread_hook();
  set_num_threads(threads);
  Progress::set_mode(Progress::Mode::kSilent);
  const std::string src = OPTIDIFF_SOURCE_DIR;

  // --- C++: sampling
  torch::manual_seed(0);
  DiT model(dit_config("small"));
  {
    torch::NoGradGuard g;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.02);
  }
  DitDenoiser denoiser(model, Objective::kFlow, "bench");
  const Plan plan = make_plan(denoiser.schedule(), {.sampler = SamplerKind::kEuler, .steps = steps});
  const auto labels = torch::arange(batch, torch::kInt64).remainder(10);
  const auto fn = make_denoise_fn(denoiser, plan.output, {.scale = cfg, .keep_halves = false});
  sample(make_plan(denoiser.schedule(), {.sampler = SamplerKind::kEuler, .steps = 2}), fn,
         draw_noise(make_plan(denoiser.schedule(), {.sampler = SamplerKind::kEuler, .steps = 2}), batch, {1, 28, 28}, 1),
         labels, torch::kFloat32);  // warm-up
  double sample_seconds = 0;
  for (int r = 0; r < repeats; ++r) {
    torch::NoGradGuard no_grad;  // as the Python side's torch.no_grad(); the CLI's sample command does the same
    const auto noise = draw_noise(plan, batch, {1, 28, 28}, r);
    Stopwatch sw;
    sample(plan, fn, noise, labels, torch::kFloat32);
    sample_seconds += sw.seconds();
  }
  const double cpp_images_per_s = repeats * batch / sample_seconds;

  // --- C++: training
  const auto train = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTrain);
  const auto dir = std::filesystem::temp_directory_path() / ("optidiff-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TrainOptions o;
  o.config = dit_config("small");
  o.steps = 1;
  o.out_dir = dir.string();
  o.checkpoint_minutes = 1e6;
  const auto first = train_dit(train, o);
  o.steps = 1 + train_steps;
  const auto second = train_dit(train, o);
  std::filesystem::remove_all(dir);
  const double cpp_steps_per_s = train_steps / (second.seconds - first.seconds);

  // --- Python PyTorch: the same model and work
  const auto py_json = std::filesystem::temp_directory_path() / ("optidiff-bench-py-" + std::to_string(::getpid()) + ".json");
  const std::string cmd = python + " " + src + "/bench/diffusion/dit_torch.py --threads " + std::to_string(threads) +
                          " --sample-batch " + std::to_string(batch) + " --sample-steps " + std::to_string(steps) +
                          " --sample-repeats " + std::to_string(repeats) + " --train-steps " +
                          std::to_string(train_steps) + " --cfg " + std::to_string(cfg) + " --json " +
                          py_json.string() + " > /dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "the Python peer failed (is python3-torch installed?): %s\n", cmd.c_str());
    return 1;
  }
  const Json py = read_json_file(py_json.string());
  std::filesystem::remove(py_json);
  const double py_images_per_s = py["sample_images_per_s"].get<double>();
  const double py_steps_per_s = py["train_steps_per_s"].get<double>();

  Table t({"work", "optidiff C++ (libtorch)", "Python PyTorch", "C++ / Python"},
          "DiT small (" + std::to_string(model->parameter_count()) + " parameters), " + std::to_string(threads) +
              " threads");
  t.add_row({"sampling, images/s (batch 64, 50 Euler steps, CFG)", format_fixed(cpp_images_per_s, 2),
             format_fixed(py_images_per_s, 2), format_fixed(cpp_images_per_s / py_images_per_s, 2)});
  t.add_row({"training, steps/s (batch 128)", format_fixed(cpp_steps_per_s, 3), format_fixed(py_steps_per_s, 3),
             format_fixed(cpp_steps_per_s / py_steps_per_s, 2)});
  t.print(std::cout);
  if (!json_path.empty())
    write_json_file(json_path, {{"threads", threads},
                                {"parameters", model->parameter_count()},
                                {"cpp_sample_images_per_s", cpp_images_per_s},
                                {"python_sample_images_per_s", py_images_per_s},
                                {"sample_ratio", cpp_images_per_s / py_images_per_s},
                                {"cpp_train_steps_per_s", cpp_steps_per_s},
                                {"python_train_steps_per_s", py_steps_per_s},
                                {"train_ratio", cpp_steps_per_s / py_steps_per_s},
                                {"python", py}});
  return 0;
}
