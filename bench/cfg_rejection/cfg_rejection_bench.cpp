// bench/cfg_rejection/cfg_rejection_bench.cpp: does the accumulated score difference (ASD) predict sample
// quality on our model, and does CFG-Rejection beat its references? (issue 7, docs/cfg_rejection.md)
//
// DiT part: for every class, M candidates are sampled to the end (Euler, T steps, CFG w) while both ASD
// variants are recorded at every step. Because each trajectory depends only on its own noise (tested:
// survivors of early rejection are bit-identical to running them alone), selection at step tau can be read
// off these full runs, which also gives every candidate's final quality:
//   confidence  classifier probability of the requested class,
//   distance    Mahalanobis distance of the classifier features to the class's test-image features.
// Reported: Spearman correlation of ASD at tau with both; then for N/K groups, the kept samples of
//   asd        top K by ASD at tau (cost N tau + K (T - tau) guided steps per group),
//   random     K candidates without selection (cost K T),
//   best-of-N  top K by final classifier confidence (cost N T; an upper bound that uses the judge),
// pooled over classes: class accuracy, mean confidence, Frechet distance to the test set (with the
// train-vs-test floor at the same n).
// Mixture part: the exact 2-D mixture (10 classes), quality = log p_c(x_0); the research note found no
// positive correlation there.
// Usage: cfg_rejection_bench [--threads 2] [--per-class 100] [--steps 50] [--cfg 3] [--seed 0] [--json F]
//                            [--model M] [--classifier C] [--mixture-per-class 400] [--classes 10]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
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
#include "optidiff/diffusion/cfg_rejection.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/eval.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/train.hpp"

using namespace optidiff;
using namespace optidiff::diffusion;

namespace {

// Spearman's rho: Pearson correlation of average ranks (ties share their mean rank).
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (std::size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * (i + j);
    i = j + 1;
  }
  return r;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Per-class record of the full runs.
struct ClassRun {
  std::vector<std::vector<double>> asd_paper, asd_code;  // [tau index][M]
  std::vector<double> confidence, distance;              // [M]
  std::vector<int> correct;                              // [M]
  torch::Tensor features;                                // [M, 128]
};

struct Pool {
  std::vector<torch::Tensor> features;
  double correct = 0, confidence = 0;
  int n = 0;
  void add(const ClassRun& r, const std::vector<std::int64_t>& idx) {
    for (auto i : idx) {
      correct += r.correct[i];
      confidence += r.confidence[i];
      ++n;
    }
    features.push_back(r.features.index_select(0, torch::tensor(idx, torch::kInt64)));
  }
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, per_class = 100, steps = 50, mixture_per_class = 400, classes = 10;
  double cfg = 3.0;
  std::uint64_t seed = 0;
  std::string json_path, model_path = default_model_path(), classifier_path = default_classifier_path();
  CLI::App app{"CFG-Rejection: does the accumulated score difference predict quality? (docs/cfg_rejection.md)"};
  app.add_option("--threads", threads)->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--per-class", per_class, "DiT candidates per class")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--steps", steps, "Sampler steps")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--cfg", cfg, "Guidance scale")->capture_default_str()->check(CLI::Range(0.0, 1e6));
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--json", json_path, "Write the results here");
  app.add_option("--model", model_path)->capture_default_str();
  app.add_option("--classifier", classifier_path)->capture_default_str();
  app.add_option("--mixture-per-class", mixture_per_class, "Exact-mixture candidates per class")
      ->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--classes", classes, "DiT classes to run")->capture_default_str()->check(CLI::Range(1, 10));
  CLI11_PARSE(app, argc, argv);
  install_torch_thread_hook();
  keep_freed_tensor_memory();
  set_num_threads(threads);
  torch::NoGradGuard no_grad;
  const std::vector<int> taus = {5, 10, 20};
  const std::vector<std::pair<int, int>> groups = {{20, 4}, {50, 4}};
  Json out = {{"per_class", per_class}, {"steps", steps}, {"cfg", cfg}, {"seed", seed}, {"taus", taus},
              {"threads", threads}, {"model", model_path}};

  // ---- DiT: full runs with ASD recorded at every step.
  auto model = load_denoiser(model_path);
  Classifier classifier = load_classifier(classifier_path);
  classifier->eval();
  const data::Dataset train = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTrain);
  const data::Dataset test = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTest);
  const torch::Tensor test_images = dataset_images(test), test_labels = dataset_labels(test);
  const torch::Tensor test_features = classifier_features(classifier, test_images);
  const FeatureStats test_stats = feature_stats(test_features);
  const Plan plan = make_plan(model->schedule(), {.sampler = SamplerKind::kEuler, .steps = steps});
  const DenoiseFn fn = make_denoise_fn(*model, plan.output, {.scale = cfg});
  std::vector<ClassRun> runs(classes);
  Stopwatch total;
  for (int c = 0; c < classes; ++c) {
    Stopwatch sw;
    ClassRun& r = runs[c];
    const torch::Tensor noise = draw_noise(plan, per_class, {1, 28, 28}, seed * 1000003 + c);
    const torch::Tensor labels = torch::full({per_class}, c, torch::kInt64);
    AsdTracker paper(plan, AsdVariant::kPaper), code(plan, AsdVariant::kCode);
    const torch::Tensor x0 = sample(plan, fn, noise, labels, torch::kFloat32, [&](int s, const torch::Tensor&, const GuidedPrediction& g) {
      paper.observe(s, g);
      code.observe(s, g);
      return false;
    });
    for (int tau : taus) {
      r.asd_paper.push_back(paper.asd(tau));
      r.asd_code.push_back(code.asd(tau));
    }
    r.features = classifier_features(classifier, x0).to(torch::kFloat64);
    const torch::Tensor probs = torch::softmax(classifier->logits_from_features(r.features.to(torch::kFloat32)), 1);
    r.confidence = to_vector(probs.select(1, c));
    const torch::Tensor pred = probs.argmax(1);
    for (int i = 0; i < per_class; ++i) r.correct.push_back(pred[i].item<int64_t>() == c);
    // Mahalanobis distance to the class's real test features (ridge 1e-3 of the mean variance).
    const torch::Tensor real = test_features.index_select(0, (test_labels == c).nonzero().flatten()).to(torch::kFloat64);
    const torch::Tensor mu = real.mean(0);
    torch::Tensor cov = (real - mu).t().mm(real - mu) / (real.size(0) - 1);
    cov += 1e-3 * cov.diagonal().mean() * torch::eye(cov.size(0), torch::kFloat64);
    const torch::Tensor diff = r.features - mu;
    const torch::Tensor sol = torch::linalg_solve(cov, diff.t());
    r.distance = to_vector((diff.t() * sol).sum(0).sqrt());
    std::fprintf(stderr, "class %d: %d samples, %.1f s\n", c, per_class, sw.seconds());
  }
  const double dit_seconds = total.seconds();

  // Correlations, pooled over classes by averaging the per-class rho (quality scales differ by class).
  Table corr({"tau", "ASD", "rho(ASD, confidence)", "rho(ASD, feature distance)"},
             "Spearman correlation of ASD at tau with final quality (mean over classes; distance: lower is better)");
  Json corr_json = Json::array();
  for (std::size_t ti = 0; ti < taus.size(); ++ti)
    for (const char* variant : {"paper", "code"}) {
      double rc = 0, rd = 0;
      Json per = Json::array();
      for (int c = 0; c < classes; ++c) {
        const auto& asd = std::string(variant) == "paper" ? runs[c].asd_paper[ti] : runs[c].asd_code[ti];
        const double a = spearman(asd, runs[c].confidence), b = spearman(asd, runs[c].distance);
        rc += a / classes;
        rd += b / classes;
        per.push_back({{"class", c}, {"rho_confidence", a}, {"rho_distance", b}});
      }
      corr.add_row({std::to_string(taus[ti]), variant, format_fixed(rc, 3), format_fixed(rd, 3)});
      corr_json.push_back({{"tau", taus[ti]}, {"asd", variant}, {"rho_confidence", rc}, {"rho_distance", rd},
                           {"per_class", per}});
    }
  corr.print(std::cout);
  out["correlation"] = corr_json;

  // Selection at N/K, pooled over classes and groups.
  Json sel_json = Json::array();
  for (auto [n, k] : groups) {
    if (per_class < n) continue;
    const int num_groups = per_class / n;
    Table t({"method", "tau", "NFE per kept", "accuracy", "confidence", "Frechet", "floor"},
            "N/K = " + std::to_string(n) + "/" + std::to_string(k) + ": " + std::to_string(classes * num_groups * k) +
                " kept samples (" + std::to_string(num_groups) + " groups per class)");
    const double floor = train_test_floor(classifier, train, test_stats, classes * num_groups * k, seed);
    auto report = [&](const std::string& method, int tau, double nfe_per_kept, const Pool& p) {
      const double fd = frechet_distance(feature_stats(torch::cat(p.features)), test_stats);
      t.add_row({method, tau ? std::to_string(tau) : "-", format_fixed(nfe_per_kept, 0), format_fixed(p.correct / p.n, 3),
                 format_fixed(p.confidence / p.n, 3), format_fixed(fd, 2), format_fixed(floor, 2)});
      sel_json.push_back({{"N", n}, {"K", k}, {"method", method}, {"tau", tau}, {"nfe_per_kept", nfe_per_kept},
                          {"class_accuracy", p.correct / p.n}, {"confidence", p.confidence / p.n},
                          {"frechet_distance", fd}, {"floor", floor}, {"kept", p.n}});
    };
    auto group_indices = [&](int g) {
      std::vector<std::int64_t> idx(n);
      std::iota(idx.begin(), idx.end(), static_cast<std::int64_t>(g) * n);
      return idx;
    };
    auto select = [&](const std::vector<double>& score, int g) {  // top k of group g by score
      std::vector<double> part(score.begin() + g * n, score.begin() + (g + 1) * n);
      std::vector<std::int64_t> idx = top_k_indices(part, k);
      for (auto& i : idx) i += static_cast<std::int64_t>(g) * n;
      return idx;
    };
    Pool random, best;
    for (int c = 0; c < classes; ++c)
      for (int g = 0; g < num_groups; ++g) {
        const auto idx = group_indices(g);
        random.add(runs[c], {idx.begin(), idx.begin() + k});  // iid noise: the first k are a random k
        best.add(runs[c], select(runs[c].confidence, g));
      }
    report("random", 0, 2.0 * steps, random);
    for (std::size_t ti = 0; ti < taus.size(); ++ti)
      for (const char* variant : {"paper", "code"}) {
        Pool p;
        for (int c = 0; c < classes; ++c)
          for (int g = 0; g < num_groups; ++g)
            p.add(runs[c], select(std::string(variant) == "paper" ? runs[c].asd_paper[ti] : runs[c].asd_code[ti], g));
        report(std::string("asd-") + variant, taus[ti], 2.0 * (n * taus[ti] + k * (steps - taus[ti])) / k, p);
      }
    report("best-of-N (classifier)", 0, 2.0 * n * steps / k, best);
    t.print(std::cout);
  }
  out["selection"] = sel_json;
  out["dit_seconds"] = dit_seconds;

  // ---- The exact 2-D mixture: ASD against log p_c(x_0).
  Table mix({"schedule", "sampler", "tau", "ASD", "rho(ASD, log p_c(x0))"},
            "exact 2-D mixture (10 classes), mean over classes");
  Json mix_json = Json::array();
  for (const Schedule& schedule : {Schedule::rectified_flow(), Schedule::vp(ScheduleKind::kLinear)}) {
    GaussianMixtureDenoiser gmm(toy_mixture_2d(10), schedule);
    const bool flow = schedule.kind() == ScheduleKind::kRectifiedFlow;
    const Plan mplan = make_plan(schedule, {.sampler = flow ? SamplerKind::kEuler : SamplerKind::kDdim, .steps = steps});
    const DenoiseFn mfn = make_denoise_fn(gmm, mplan.output, {.scale = cfg});
    std::vector<std::vector<double>> rho(taus.size() * 2, std::vector<double>());
    for (int c = 0; c < 10; ++c) {
      const torch::Tensor noise = draw_noise(mplan, mixture_per_class, {2}, seed * 1000003 + 100 + c);
      const torch::Tensor labels = torch::full({mixture_per_class}, c, torch::kInt64);
      AsdTracker paper(mplan, AsdVariant::kPaper), code(mplan, AsdVariant::kCode);
      const torch::Tensor x0 = sample(mplan, mfn, noise, labels, torch::kFloat64, [&](int s, const torch::Tensor&, const GuidedPrediction& g) {
        paper.observe(s, g);
        code.observe(s, g);
        return false;
      });
      const std::vector<double> logp = to_vector(gmm.log_density(x0, torch::zeros({mixture_per_class}, torch::kFloat64), labels));
      for (std::size_t ti = 0; ti < taus.size(); ++ti) {
        rho[2 * ti].push_back(spearman(paper.asd(taus[ti]), logp));
        rho[2 * ti + 1].push_back(spearman(code.asd(taus[ti]), logp));
      }
    }
    for (std::size_t ti = 0; ti < taus.size(); ++ti)
      for (int v = 0; v < 2; ++v) {
        const auto& r = rho[2 * ti + v];
        const double mean = std::accumulate(r.begin(), r.end(), 0.0) / r.size();
        mix.add_row({schedule.name(), sampler_name(mplan.sampler), std::to_string(taus[ti]), v ? "code" : "paper",
                     format_fixed(mean, 3)});
        mix_json.push_back({{"schedule", schedule.name()}, {"tau", taus[ti]}, {"asd", v ? "code" : "paper"},
                            {"rho_log_density", mean}, {"per_class", r}});
      }
  }
  mix.print(std::cout);
  out["mixture"] = mix_json;
  out["seconds"] = total.seconds();
  if (!json_path.empty()) write_json_file(json_path, out);
  return 0;
}
