// bench/parallel/parallel_bench.cpp: ParaTAA against sequential sampling, its own ablations (FP, FP+) and
// ParaDiGMS, on the exact Gaussian-mixture oracle and on the shipped DiT (issue 6, docs/paratAA.md).
//
// For every problem, plan (DDIM T in {25, 50, 100}, DDPM T = 100) and CFG scale, every method solves the same
// plan with the same pre-drawn noise (one sample), and is checked against the sequential result:
//   rounds      batched model calls (the sequential sampler needs T);
//   NFE         network evaluations (rows, x2 with CFG);
//   error       RMS(x_0 - x_0^seq) when the method stops by its own rule, and after every round, so methods with
//               different stopping rules are also compared at equal error (rounds to reach 1e-3 and 1e-2);
//   seconds     wall time on this machine, beside sequential's.
// Projected speed-up with P devices: the cost c(b) of one call with b rows (CFG's doubling inside) is measured
// once; a round of w window rows costs c(ceil(w / P)), sequential costs T c(1); P = W gives T / rounds.
// Mixture problems (note Sec. 7): "easy" (K = 8 in 2 classes, std 0.15-0.5, D = 64) and "sharp" (K = 32 in
// 4 classes, std 0.02-0.1, D = 64), on the linear VP schedule; the DiT is the shipped flow model.
// Usage: parallel_bench [--threads 1] [--json F] [--seeds 2] [--cfg 1,3,5] [--skip-dit 0] [--dit-seeds 1]
//                       [--model M]
// Mixture: DDIM T in {25, 50, 100} and DDPM-100 at every --cfg. DiT (about 20 ms per row on one loaded core):
// DDIM T in {25, 50, 100} at w = 3, DDIM-100 at w = 1 and 5, DDPM-100 at w = 3.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include "optidiff/core/json.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/threads.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/core/torch_threads.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/parallel/mixtures.hpp"
#include "optidiff/diffusion/parallel/solver.hpp"

using namespace optidiff;
using namespace optidiff::diffusion;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::vector<int> parse_ints(const std::string& text) {
  std::vector<int> v;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::stoi(item));
  return v;
}

struct Method {
  std::string name;
  ParallelOptions options;
};

// W = T for every method (the shipped ParaTAA runs use W >= T), plus ParaDiGMS at its own default window.
std::vector<Method> methods(int steps) {
  ParallelOptions fp = parallel_defaults(ParallelMethod::kFp), fpp = parallel_defaults(ParallelMethod::kParaTaa),
                  taa2 = fpp, taa3 = fpp, tight = fpp, para = parallel_defaults(ParallelMethod::kParadigms),
                  para10 = para;
  fp.window = fpp.window = taa2.window = taa3.window = tight.window = para.window = steps;
  fpp.memory = 1;
  taa3.memory = 3;
  tight.tol1 = tight.tol2 = 1e-4;
  return {{"FP (k=1, m=1)", fp},
          {"FP+ (k=T, m=1)", fpp},
          {"ParaTAA (k=T, m=2)", taa2},
          {"ParaTAA (k=T, m=3)", taa3},
          {"ParaTAA (m=2, tol 1e-4)", tight},
          {"ParaDiGMS (W=T, tol 0.1)", para},
          {"ParaDiGMS (W=10, tol 0.1)", para10}};
}

double rms(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).pow(2).mean().sqrt().item<double>(); }

struct Problem {
  std::string name;
  Denoiser* model;
  std::vector<std::int64_t> sample_shape;
  int label;
};

// Batch cost c(b): seconds of one DenoiseFn call with b rows (before CFG doubling), median of 5, made
// non-decreasing in b (a larger batch never costs less; timing noise on a shared machine can say otherwise).
std::map<int, double> batch_costs(const Problem& p, const Plan& plan, const DenoiseFn& fn, int max_rows) {
  std::map<int, double> cost;
  for (int b = 1;; b = std::min(b * 2, max_rows)) {
    std::vector<std::int64_t> shape{b};
    shape.insert(shape.end(), p.sample_shape.begin(), p.sample_shape.end());
    const torch::Tensor x = torch::randn(shape, torch::kFloat64);
    const torch::Tensor t = torch::full({b}, plan.tau(plan.steps() / 2), torch::kFloat64);
    const torch::Tensor labels = torch::full({b}, p.label, torch::kInt64);
    std::vector<double> times;
    for (int r = 0; r < 5; ++r) {
      Stopwatch sw;
      fn(x, t, labels);
      times.push_back(sw.seconds());
    }
    std::sort(times.begin(), times.end());
    cost[b] = cost.empty() ? times[2] : std::max(times[2], std::prev(cost.end())->second);
    if (b == max_rows) break;
  }
  return cost;
}

double cost_of(const std::map<int, double>& cost, int rows) {  // linear interpolation between measured sizes
  auto hi = cost.lower_bound(rows);
  if (hi == cost.end()) return std::prev(hi)->second * rows / std::prev(hi)->first;
  if (hi->first == rows || hi == cost.begin()) return hi->second;
  auto lo = std::prev(hi);
  return lo->second + (hi->second - lo->second) * (rows - lo->first) / double(hi->first - lo->first);
}

Json run_problem(const Problem& p, SamplerKind sampler, int steps, double cfg, int seeds, Table& table) {
  const Plan plan = make_plan(p.model->schedule(), {.sampler = sampler, .steps = steps});
  const DenoiseFn fn = make_denoise_fn(*p.model, plan.output, {.scale = cfg, .keep_halves = false});
  const std::map<int, double> cost = batch_costs(p, plan, fn, steps);
  const std::string plan_name = std::string(sampler_name(sampler)) + "-" + std::to_string(steps);
  Json rows = Json::array();
  std::vector<Method> ms = methods(steps);
  std::vector<double> seq_seconds(seeds);
  std::vector<torch::Tensor> seq(seeds), noise(seeds);
  const torch::Tensor labels = torch::full({1}, p.label, torch::kInt64);
  for (int s = 0; s < seeds; ++s) {
    noise[s] = draw_noise(plan, 1, p.sample_shape, 1000 + s);
    Stopwatch sw;
    seq[s] = sample(plan, fn, noise[s], labels, torch::kFloat64);
    seq_seconds[s] = sw.seconds();
  }
  double seq_mean = 0;
  for (double v : seq_seconds) seq_mean += v / seeds;
  const int cfg_rows = cfg == 1.0 ? 1 : 2;
  table.add_row({p.name, plan_name, format_double(cfg, 2), "sequential", std::to_string(steps),
                 std::to_string(steps * cfg_rows), "0", "-", "-", format_fixed(seq_mean, 3), "1", "1"});
  for (const Method& m : ms) {
    double rounds = 0, nfe = 0, err = 0, seconds = 0, to3 = 0, to2 = 0, proj8 = 0, proj_w = 0;
    int reached3 = 0, reached2 = 0;
    Json curves = Json::array();
    for (int s = 0; s < seeds; ++s) {
      std::vector<double> curve;
      std::vector<int> window_rows;
      const RoundObserver observer = [&](const RoundRecord& rec, const torch::Tensor& traj) {
        const torch::Tensor x0 = traj[0];
        curve.push_back(x0.abs().max().item<double>() == 0.0 ? kNan : rms(x0, seq[s]));
        window_rows.push_back(rec.window_hi - rec.window_lo + 1);
        return false;
      };
      Stopwatch sw;
      const ParallelResult r = solve_parallel(plan, fn, noise[s], labels, m.options, observer);
      seconds += sw.seconds() / seeds;
      rounds += double(r.rounds) / seeds;
      nfe += double(r.nfe * cfg_rows) / seeds;
      err += rms(r.x0, seq[s]) / seeds;
      for (std::size_t i = 0; i < curve.size(); ++i)
        if (curve[i] <= 1e-3) { to3 += double(i + 1) / seeds; ++reached3; break; }
      for (std::size_t i = 0; i < curve.size(); ++i)
        if (curve[i] <= 1e-2) { to2 += double(i + 1) / seeds; ++reached2; break; }
      double t8 = 0, tw = 0;
      for (int w : window_rows) {
        t8 += cost_of(cost, (w + 7) / 8);
        tw += cost_of(cost, 1);
      }
      const double seq_cost = steps * cost_of(cost, 1);
      proj8 += seq_cost / t8 / seeds;
      proj_w += seq_cost / tw / seeds;
      curves.push_back(curve);
    }
    table.add_row({p.name, plan_name, format_double(cfg, 2), m.name, format_fixed(rounds, 1), format_fixed(nfe, 0),
                   format_double(err, 2), reached3 == seeds ? format_fixed(to3, 1) : "never",
                   reached2 == seeds ? format_fixed(to2, 1) : "never", format_fixed(seconds, 3),
                   format_fixed(proj8, 2), format_fixed(proj_w, 2)});
    rows.push_back({{"method", m.name}, {"rounds", rounds}, {"nfe", nfe}, {"rms_vs_sequential", err},
                    {"rounds_to_1e-3", reached3 == seeds ? Json(to3) : Json(nullptr)},
                    {"rounds_to_1e-2", reached2 == seeds ? Json(to2) : Json(nullptr)}, {"seconds", seconds},
                    {"projected_speedup_8", proj8}, {"projected_speedup_per_position", proj_w},
                    {"error_per_round", curves}});
  }
  Json c = Json::object();
  for (const auto& [b, v] : cost) c[std::to_string(b)] = v;
  return {{"problem", p.name}, {"plan", plan_name}, {"cfg", cfg}, {"sequential_seconds", seq_mean},
          {"batch_cost_seconds", c}, {"methods", rows}};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, seeds = 2, skip_dit = 0, dit_seeds = 1;
  std::string json_path, cfgs = "1,3,5", model_path;
  CLI::App app{"ParaTAA, FP, FP+ and ParaDiGMS against sequential sampling (docs/paratAA.md)"};
  app.add_option("--threads", threads)->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--seeds", seeds, "Seeds per mixture problem")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--skip-dit", skip_dit, "1: only the exact mixtures")->capture_default_str();
  app.add_option("--dit-seeds", dit_seeds)->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--cfg", cfgs, "Guidance scales, comma-separated")->capture_default_str();
  app.add_option("--model", model_path, "DiT checkpoint (default: the shipped one)");
  app.add_option("--json", json_path, "Write the results here");
  CLI11_PARSE(app, argc, argv);
  install_torch_thread_hook();
  keep_freed_tensor_memory();
  set_num_threads(threads);
  torch::NoGradGuard no_grad;
  Json out = {{"threads", threads}, {"seeds", seeds}, {"runs", Json::array()}};
  Table table({"problem", "plan", "cfg", "method", "rounds", "NFE", "rms vs seq", "rounds to 1e-3", "rounds to 1e-2",
               "seconds", "proj. x P=8", "proj. x P=W"},
              "parallel sampling: rounds, NFE and error against sequential (same noise), mean over seeds");
  GaussianMixtureDenoiser easy(random_mixture({.dim = 64, .classes = 2, .components = 8}), Schedule::vp());
  GaussianMixtureDenoiser sharp(
      random_mixture({.dim = 64, .classes = 4, .components = 32, .std_lo = 0.02, .std_hi = 0.1, .seed = 1}),
      Schedule::vp());
  std::vector<std::tuple<Problem, SamplerKind, int, double, int>> runs;  // ..., seeds
  for (int cfg : parse_ints(cfgs)) {
    for (Problem p : {Problem{"mixture easy", &easy, {64}, 1}, Problem{"mixture sharp", &sharp, {64}, 1}}) {
      for (int steps : {25, 50, 100}) runs.emplace_back(p, SamplerKind::kDdim, steps, cfg, seeds);
      runs.emplace_back(p, SamplerKind::kDdpm, 100, cfg, seeds);
    }
  }
  std::unique_ptr<DitDenoiser> dit;
  if (!skip_dit) {
    dit = load_denoiser(model_path.empty() ? default_model_path() : model_path);
    out["model"] = dit->describe();
    const Problem p{"DiT", dit.get(), {1, 28, 28}, 7};  // sneaker
    for (int steps : {25, 50, 100}) runs.emplace_back(p, SamplerKind::kDdim, steps, 3.0, dit_seeds);
    for (double cfg : {1.0, 5.0}) runs.emplace_back(p, SamplerKind::kDdim, 100, cfg, dit_seeds);
    runs.emplace_back(p, SamplerKind::kDdpm, 100, 3.0, dit_seeds);
  }
  Stopwatch total;
  for (const auto& [p, sampler, steps, cfg, n_seeds] : runs) {
    out["runs"].push_back(run_problem(p, sampler, steps, cfg, n_seeds, table));
    std::fprintf(stderr, "[%.0f s] %s %s-%d cfg %g done\n", total.seconds(), p.name.c_str(), sampler_name(sampler), steps, cfg);
  }
  table.print(std::cout);
  out["seconds"] = total.seconds();
  if (!json_path.empty()) write_json_file(json_path, out);
  return 0;
}
