// optidiff/diffusion/classifier.hpp: the small CNN that judges generated Fashion-MNIST images.
//
// It supplies the evaluation of every diffusion demo: the class a sample is recognised as (class
// accuracy, confidence) and a 128-d feature vector (the penultimate layer) on which the Frechet
// distance is computed (FID's recipe, Heusel et al. 2017, with this network in place of Inception, as
// the research note's "FID_small" proposes). Trained on the real training split only.
//   conv3x3(1->32) BN ReLU maxpool2 -> conv3x3(32->64) BN ReLU maxpool2 -> flatten 3136
//   -> Linear(3136, 128) ReLU [features] -> dropout 0.3 -> Linear(128, 10) [logits]
// Inputs are images float32 [B,1,28,28] in [-1, 1], as the DiT produces them.
//   auto c = load_classifier("models/classifier/classifier.ckpt");
//   auto logits = c->forward(x);  auto f = c->features(x);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/data/fashion_mnist.hpp"

namespace optidiff::diffusion {

class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl();
  torch::Tensor features(const torch::Tensor& x);                    // [B,128]
  torch::Tensor logits_from_features(const torch::Tensor& features);  // [B,10]
  torch::Tensor forward(const torch::Tensor& x) { return logits_from_features(features(x)); }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Classifier);

inline constexpr int kClassifierFeatures = 128;

struct ClassifierTrainOptions {
  int epochs = 6;
  int batch = 128;
  double lr = 2e-3;  // Adam, cosine-decayed to 0 over the run
  std::uint64_t seed = 0;
  void validate() const;
};

struct ClassifierTrainResult {
  double test_accuracy = 0;
  double seconds = 0;
  int epochs = 0;
};

// Trains on `train` (with a log line per epoch) and reports accuracy on `test`.
ClassifierTrainResult train_classifier(Classifier& model, const data::Dataset& train, const data::Dataset& test,
                                       const ClassifierTrainOptions& options);

// Fraction of `images` [n,1,28,28] whose argmax equals labels [n] (eval mode, batched).
double classifier_accuracy(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels);

void save_classifier(const std::string& path, Classifier& model, const Json& meta);
// Throws kNotFound / kDataLoss (not a checkpoint, truncated, not a classifier) naming the file.
Classifier load_classifier(const std::string& path, Json* meta = nullptr);

}  // namespace optidiff::diffusion
