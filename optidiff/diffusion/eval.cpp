#include "optidiff/diffusion/eval.hpp"

#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/diffusion/metrics.hpp"
#include "optidiff/diffusion/train.hpp"

namespace optidiff::diffusion {

void EvalOptions::validate() const {
  if (n < 10) throw_invalid("--n is " + std::to_string(n) + "; expected >= 10 (one sample per class at least)");
  if (batch < 1) throw_invalid("--batch is " + std::to_string(batch) + "; expected >= 1");
  if (cfg.empty()) throw_invalid("--cfg is empty; expected one or more guidance scales");
  for (double w : cfg) check_guidance_scale(w, "--cfg");
  if (plan.steps < 1) throw_invalid("--steps is " + std::to_string(plan.steps) + "; expected >= 1");
}

torch::Tensor classifier_features(Classifier& classifier, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  classifier->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < images.size(0); s += 500)
    parts.push_back(classifier->features(images.slice(0, s, std::min(images.size(0), s + 500)).to(torch::kFloat32)));
  return torch::cat(parts);
}

double train_test_floor(Classifier& classifier, const data::Dataset& train, const FeatureStats& test_stats, int n,
                        std::uint64_t seed) {
  // n real training images, a seeded sample without replacement, against the test set.
  if (n < 2 || static_cast<std::size_t>(n) > train.size())
    throw_invalid("--n is " + std::to_string(n) + "; the floor needs 2 <= n <= " + std::to_string(train.size()));
  std::vector<int64_t> idx(train.size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng = Rng(seed).stream(7);
  for (int i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.uniform_int(idx.size() - i)]);
  idx.resize(n);
  torch::NoGradGuard no_grad;
  const auto real = dataset_images(train).index_select(0, torch::tensor(idx));
  return frechet_distance(feature_stats(classifier_features(classifier, real)), test_stats);
}

EvalResult evaluate_samples(Denoiser& model, Classifier& classifier, const data::Dataset& train,
                            const data::Dataset& test, const EvalOptions& o,
                            const std::function<void(std::int64_t, std::int64_t)>& progress) {
  o.validate();
  torch::NoGradGuard no_grad;
  const auto test_stats = feature_stats(classifier_features(classifier, dataset_images(test)));
  EvalResult result;
  result.floor = train_test_floor(classifier, train, test_stats, o.n, o.seed);
  const Plan plan = make_plan(model.schedule(), o.plan);
  const auto noise = draw_noise(plan, o.n, {1, 28, 28}, o.seed);
  const auto labels = torch::arange(o.n, torch::kInt64).remainder(10);
  const int64_t total = static_cast<int64_t>(o.cfg.size()) * o.n;
  int64_t done = 0;
  for (double w : o.cfg) {
    Stopwatch sw;
    model.reset_counters();
    const auto denoise = make_denoise_fn(model, plan.output, {.scale = w, .keep_halves = false});
    std::vector<torch::Tensor> samples;
    for (int64_t s = 0; s < o.n; s += o.batch) {
      const int64_t e = std::min<int64_t>(o.n, s + o.batch);
      samples.push_back(sample(plan, denoise, noise.slice(1, s, e), labels.slice(0, s, e), torch::kFloat32)
                            .to(torch::kFloat32)
                            .clamp(-1, 1));
      done += e - s;
      if (progress) progress(done, total);
    }
    const auto x = torch::cat(samples);
    const auto feats = classifier_features(classifier, x);
    const auto probs = torch::softmax(classifier->logits_from_features(feats), 1);
    EvalRow row;
    row.cfg = w;
    row.class_accuracy = probs.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
    row.confidence = probs.gather(1, labels.unsqueeze(1)).to(torch::kFloat64).mean().item<double>();
    row.frechet_distance = frechet_distance(feature_stats(feats), test_stats);
    row.nfe = model.nfe();
    row.seconds = sw.seconds();
    result.rows.push_back(row);
    result.first_samples = x.slice(0, 0, std::min<int64_t>(o.n, 100));
  }
  return result;
}

Json to_json(const EvalRow& r, double floor) {
  return {{"cfg", r.cfg},
          {"class_accuracy", r.class_accuracy},
          {"confidence", r.confidence},
          {"frechet_distance", r.frechet_distance},
          {"frechet_over_floor", floor > 0 ? r.frechet_distance / floor : 0.0},
          {"nfe", r.nfe},
          {"seconds", r.seconds}};
}

}  // namespace optidiff::diffusion
