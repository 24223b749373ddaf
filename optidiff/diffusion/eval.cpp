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
  if (n < kMinPrecisionRecallSamples)
    throw_invalid(
        "--n is " + std::to_string(n) +
        "; expected >= " + std::to_string(kMinPrecisionRecallSamples) +
        " (one sample per class at least, and precision/recall's k-nearest-neighbour balls)");
  if (batch < 1) throw_invalid("--batch is " + std::to_string(batch) + "; expected >= 1");
  if (cfg.empty()) throw_invalid("--cfg is empty; expected one or more guidance scales");
  for (double w : cfg) check_guidance_scale(w, "--cfg");
  if (plan.steps < 1) throw_invalid("--steps is " + std::to_string(plan.steps) + "; expected >= 1");
  if (k < 1 || k >= n) throw_invalid("--k is " + std::to_string(k) + "; expected 1 <= k < n");
  if (kid.subsets < 1)
    throw_invalid("--kid-subsets is " + std::to_string(kid.subsets) + "; expected >= 1");
  if (kid.subset_size < 2)
    throw_invalid("--kid-subset-size is " + std::to_string(kid.subset_size) + "; expected >= 2");
}

torch::Tensor classifier_features(ImageClassifierImpl& classifier, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  classifier.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < images.size(0); s += 500)
    parts.push_back(classifier.features(
        images.slice(0, s, std::min(images.size(0), s + 500)).to(torch::kFloat32)));
  return torch::cat(parts);
}

std::vector<std::int64_t> seeded_subset(std::size_t size, int n, std::uint64_t seed,
                                        std::uint64_t stream) {
  if (n < 0 || static_cast<std::size_t>(n) > size)
    throw_invalid("--n is " + std::to_string(n) + "; expected at most " + std::to_string(size));
  std::vector<int64_t> idx(size);
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng = Rng(seed).stream(stream);
  for (int i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.uniform_int(idx.size() - i)]);
  idx.resize(n);
  return idx;
}

namespace {

constexpr std::uint64_t kFloorStream = 7;     // the floor's real training images
constexpr std::uint64_t kRealTestStream = 8;  // precision/recall's real test images
constexpr std::uint64_t kKidStream = 9;       // KID's subsets

// The floor's n real training images (a seeded sample without replacement) as indices into `train`.
torch::Tensor floor_indices(const data::Dataset& train, int n, std::uint64_t seed) {
  if (n < 2 || static_cast<std::size_t>(n) > train.size())
    throw_invalid("--n is " + std::to_string(n) +
                  "; the floor needs 2 <= n <= " + std::to_string(train.size()));
  return torch::tensor(seeded_subset(train.size(), n, seed, kFloorStream));
}

// What is computed once per eval for one network: the test set's features and statistics.
struct Reference {
  torch::Tensor test_features;
  FeatureStats test_stats;
};

Reference make_reference(ImageClassifierImpl& net, const torch::Tensor& test_images) {
  Reference r;
  r.test_features = classifier_features(net, test_images);
  r.test_stats = feature_stats(r.test_features);
  return r;
}

}  // namespace

double train_test_floor(ImageClassifierImpl& classifier, const data::Dataset& train,
                        const FeatureStats& test_stats, int n, std::uint64_t seed) {
  // n real training images, a seeded sample without replacement, against the test set.
  torch::NoGradGuard no_grad;
  const auto real = dataset_images(train).index_select(0, floor_indices(train, n, seed));
  return frechet_distance(feature_stats(classifier_features(classifier, real)), test_stats);
}

EvalResult evaluate_samples(Denoiser& model, ImageClassifierImpl& judge,
                            ImageClassifierImpl& classifier, const data::Dataset& train,
                            const data::Dataset& test, const EvalOptions& o,
                            const std::function<void(std::int64_t, std::int64_t)>& progress) {
  o.validate();
  torch::NoGradGuard no_grad;
  Stopwatch setup;
  const auto test_images = dataset_images(test);
  const Reference jref = make_reference(judge, test_images),
                  cref = make_reference(classifier, test_images);
  const Eigen::MatrixXd test_matrix = feature_matrix(jref.test_features);
  // Precision/recall's real side: n test images chosen with the seed (all of them if n exceeds the
  // set).
  const int n_real = static_cast<int>(std::min<std::size_t>(o.n, test.size()));
  const auto real_idx = torch::tensor(seeded_subset(test.size(), n_real, o.seed, kRealTestStream));
  const Manifold real_manifold =
      estimate_manifold(feature_matrix(jref.test_features.index_select(0, real_idx)), o.k, "--n");
  KidOptions kid_options = o.kid;
  kid_options.seed = mix64(o.seed ^ kKidStream);
  const KidReference kid_reference(test_matrix, o.n,
                                   kid_options);  // the test side, once for every w

  // Scores one set of images [n,1,28,28] whose intended classes are `labels`, on both networks.
  auto score = [&](const torch::Tensor& x, const torch::Tensor& labels, EvalRow& row) {
    Stopwatch sw;
    const auto feats = classifier_features(judge, x);
    const auto probs = torch::softmax(judge.logits_from_features(feats), 1);
    row.class_accuracy = probs.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
    row.confidence = probs.gather(1, labels.unsqueeze(1)).to(torch::kFloat64).mean().item<double>();
    row.frechet_distance = frechet_distance(feature_stats(feats), jref.test_stats);
    const Eigen::MatrixXd f = feature_matrix(feats);
    const auto pr = precision_recall(real_manifold, estimate_manifold(f, o.k, "--n"));
    row.precision = pr.precision;
    row.recall = pr.recall;
    const Kid kid = kid_reference.score(f);
    row.kid = kid.mean;
    row.kid_std = kid.std;
    const auto cfeats = classifier_features(classifier, x);
    row.classifier_accuracy = classifier.logits_from_features(cfeats)
                                  .argmax(1)
                                  .eq(labels)
                                  .to(torch::kFloat64)
                                  .mean()
                                  .item<double>();
    row.classifier_frechet_distance = frechet_distance(feature_stats(cfeats), cref.test_stats);
    row.metric_seconds = sw.seconds();
  };

  EvalResult result;
  {
    // The reference row: n real training images (the floor's) scored as if they were samples.
    const auto idx = floor_indices(train, o.n, o.seed);
    score(dataset_images(train).index_select(0, idx), dataset_labels(train).index_select(0, idx),
          result.real);
    result.floor = result.real.frechet_distance;
    result.classifier_floor = result.real.classifier_frechet_distance;
    result.real.cfg = 0;
    result.real.floor = result.floor;
    result.real.classifier_floor = result.classifier_floor;
  }
  result.setup_seconds = setup.seconds();

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
      samples.push_back(
          sample(plan, denoise, noise.slice(1, s, e), labels.slice(0, s, e), torch::kFloat32)
              .to(torch::kFloat32)
              .clamp(-1, 1));
      done += e - s;
      if (progress) progress(done, total);
    }
    const auto x = torch::cat(samples);
    EvalRow row;
    row.cfg = w;
    row.nfe = model.nfe();
    score(x, labels, row);
    row.floor = result.floor;
    row.classifier_floor = result.classifier_floor;
    row.seconds = sw.seconds();
    result.rows.push_back(row);
    result.first_samples = x.slice(0, 0, std::min<int64_t>(o.n, 100));
  }
  return result;
}

Json to_json(const EvalRow& r) {
  return {{"cfg", r.cfg},
          {"class_accuracy", r.class_accuracy},
          {"confidence", r.confidence},
          {"frechet_distance", r.frechet_distance},
          {"floor", r.floor},
          {"frechet_over_floor", r.floor > 0 ? r.frechet_distance / r.floor : 0.0},
          {"precision", r.precision},
          {"recall", r.recall},
          {"kid", r.kid},
          {"kid_std", r.kid_std},
          {"classifier_accuracy", r.classifier_accuracy},
          {"classifier_frechet_distance", r.classifier_frechet_distance},
          {"classifier_floor", r.classifier_floor},
          {"nfe", r.nfe},
          {"seconds", r.seconds},
          {"metric_seconds", r.metric_seconds}};
}

}  // namespace optidiff::diffusion
