// optidiff/diffusion/eval.hpp: how good a model's samples are, judged by the project's classifier.
//
// For each guidance scale w: n samples with balanced labels (sample i has class i mod 10) from one plan
// (default Euler, 50 steps) and one seed (the same noise for every w), then
//   class_accuracy    fraction the classifier assigns to the requested class,
//   confidence        mean classifier probability of the requested class,
//   frechet_distance  Frechet distance (metrics.hpp) between classifier features of the samples and
//                     of the whole test set (10,000 images).
// The floor is the same distance for n random real training images against the test set: what a
// perfect generator would score at this n (the statistic is biased upward at small n).
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
  int batch = 250;
  std::uint64_t seed = 0;
  void validate() const;  // kInvalidArgument naming the option
};

struct EvalRow {
  double cfg = 1;
  double class_accuracy = 0, confidence = 0, frechet_distance = 0;
  std::int64_t nfe = 0;
  double seconds = 0;
};

struct EvalResult {
  std::vector<EvalRow> rows;
  double floor = 0;             // train-vs-test Frechet distance at the same n
  torch::Tensor first_samples;  // the first min(n, 100) samples of the last w, [m,1,28,28] in [-1, 1]
};

// Statistics of the classifier features of `images` [n,1,28,28] (batched, no grad).
torch::Tensor classifier_features(Classifier& classifier, const torch::Tensor& images);

// The Frechet distance of n random real training images (seeded) to the test features: what a perfect
// generator scores at this n (the floor every eval number is printed beside).
double train_test_floor(Classifier& classifier, const data::Dataset& train, const FeatureStats& test_stats, int n,
                        std::uint64_t seed);

// progress(done, total) is called after each batch.
EvalResult evaluate_samples(Denoiser& model, Classifier& classifier, const data::Dataset& train,
                            const data::Dataset& test, const EvalOptions& options,
                            const std::function<void(std::int64_t, std::int64_t)>& progress = nullptr);

Json to_json(const EvalRow& row, double floor);

}  // namespace optidiff::diffusion
