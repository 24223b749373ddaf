// optidiff/diffusion/eval.hpp: how good a model's samples are, judged by the independent judge C_B.
//
// For each guidance scale w: n samples with balanced labels (sample i has class i mod 10) from one
// plan (default Euler, 50 steps) and one seed (the same noise for every w), then, on the judge's
// features (classifier.hpp, judge.hpp; metrics.hpp for the formulas):
//   class_accuracy    fraction the judge assigns to the requested class,
//   confidence        mean judge probability of the requested class,
//   frechet_distance  Frechet distance to the whole test set (10,000 images); floor: the same
//   distance
//                     for n random real training images (what a perfect generator scores at this n:
//                     the statistic is biased upward at small n),
//   precision/recall  Kynkaanniemi et al. 2019 with k = 3, against n real test images chosen with
//   the
//                     seed: quality (samples on the real manifold) and diversity (real images
//                     covered),
//   kid, kid_std      KID (Binkowski et al. 2018) against the whole test set, mean and spread over
//                     subsets,
// and, for continuity with earlier numbers, C_A's classifier_accuracy and
// classifier_frechet_distance (C_A may be the reward inside an optimisation loop, so it never
// grades alone). The real training images that give the floor are also scored as a reference row:
// what real data reads on every metric. Test-set features, the floors and the real manifold are
// computed once per eval, not per w.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/metrics.hpp"
#include "optidiff/diffusion/sampler.hpp"

namespace optidiff::diffusion {

struct EvalOptions {
  int n = 1000;
  std::vector<double> cfg = {1.0, 1.5, 2.0, 3.0};
  PlanOptions plan = {.sampler = SamplerKind::kEuler, .steps = 50};
  // Images per sampling batch (twice the rows under CFG). Small batches keep the DiT's activations
  // in cache: on 2 AVX2 cores, 32 images sampled ~1.3x as many rows/s as 250 (350 against 265).
  int batch = 32;
  std::uint64_t seed = 0;
  int k = 3;              // nearest neighbours of precision/recall (Kynkaanniemi et al. 2019)
  KidOptions kid = {};    // subsets and their size; the seed is taken from `seed`
  void validate() const;  // kInvalidArgument naming the option
};

struct EvalRow {
  double cfg = 1;
  // by the judge C_B
  double class_accuracy = 0, confidence = 0, frechet_distance = 0, floor = 0;
  double precision = 0, recall = 0, kid = 0, kid_std = 0;
  // by C_A
  double classifier_accuracy = 0, classifier_frechet_distance = 0, classifier_floor = 0;
  std::int64_t nfe = 0;
  double seconds = 0;         // the whole w: sampling, features and metrics
  double metric_seconds = 0;  // of which: features of the samples and the metrics
};

struct EvalResult {
  std::vector<EvalRow> rows;
  EvalRow real;                 // n real training images scored like a sample (cfg 0, nfe 0)
  double floor = 0;             // the judge's train-vs-test Frechet distance at the same n
  double classifier_floor = 0;  // the same by C_A
  double setup_seconds = 0;     // test features, floors and the real manifold (once per eval)
  torch::Tensor
      first_samples;  // the first min(n, 100) samples of the last w, [m,1,28,28] in [-1, 1]
};

// Features of `images` [n,1,28,28] (batched, eval mode, no grad), [n,128].
torch::Tensor classifier_features(ImageClassifierImpl& classifier, const torch::Tensor& images);
inline torch::Tensor classifier_features(Classifier& classifier, const torch::Tensor& images) {
  return classifier_features(*classifier, images);
}

// n distinct indices of 0..size-1, a seeded sample without replacement (Rng(seed).stream(stream)).
std::vector<std::int64_t> seeded_subset(std::size_t size, int n, std::uint64_t seed,
                                        std::uint64_t stream);

// The Frechet distance of n random real training images (seeded) to the test features: what a
// perfect generator scores at this n (the floor every eval number is printed beside).
double train_test_floor(ImageClassifierImpl& classifier, const data::Dataset& train,
                        const FeatureStats& test_stats, int n, std::uint64_t seed);
inline double train_test_floor(Classifier& classifier, const data::Dataset& train,
                               const FeatureStats& test_stats, int n, std::uint64_t seed) {
  return train_test_floor(*classifier, train, test_stats, n, seed);
}

// judge: C_B, which every headline number comes from; classifier: C_A, reported beside it.
// progress(done, total) is called after each batch.
EvalResult evaluate_samples(
    Denoiser& model, ImageClassifierImpl& judge, ImageClassifierImpl& classifier,
    const data::Dataset& train, const data::Dataset& test, const EvalOptions& options,
    const std::function<void(std::int64_t, std::int64_t)>& progress = nullptr);

// The keys of `results[i]` in `diffusion eval --json`: cfg, class_accuracy, confidence,
// frechet_distance, floor, frechet_over_floor, precision, recall, kid, kid_std,
// classifier_accuracy, classifier_frechet_distance, classifier_floor, nfe, seconds, metric_seconds.
Json to_json(const EvalRow& row);

}  // namespace optidiff::diffusion
