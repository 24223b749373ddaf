// optidiff/diffusion/classifier.hpp: the classifiers that judge generated Fashion-MNIST images.
//
// Two networks of different architectures, trained on the real training split only, share one
// interface (ImageClassifierImpl): a 128-d feature vector (the penultimate layer) and the logits
// computed from it. The features are where the Frechet distance, precision/recall and KID are
// computed (FID's recipe, Heusel et al. 2017, with a small network in place of Inception: the
// research note's "FID_small", pno-rapid3-distill.md section 4.0).
//   C_A, "cnn32-64-fc128" (this file, models/classifier): may serve inside optimisation loops
//   (PNO's
//        safety loss, RAPID3's reward).
//     conv3x3(1->32) BN ReLU maxpool2 -> conv3x3(32->64) BN ReLU maxpool2 -> flatten 3136
//     -> Linear(3136, 128) ReLU [features] -> dropout 0.3 -> Linear(128, 10) [logits]
//   C_B, "resnet24-48-96" (judge.hpp, models/judge): the independent judge, used only to evaluate,
//   so
//        that a method optimised against C_A is never graded by C_A.
// Inputs are images float32 [B,1,28,28] in [-1, 1], as the DiT produces them.
//   auto c = load_classifier("models/classifier/classifier.ckpt");     // C_A only
//   auto judge = load_image_classifier("models/judge/judge.ckpt");     // any arch, by the
//   checkpoint auto logits = judge->forward(x);  auto f = judge->features(x);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/data/fashion_mnist.hpp"

namespace optidiff::diffusion {

inline constexpr int kClassifierFeatures = 128;
inline constexpr int kClassifierClasses = 10;
inline const std::string kClassifierArch = "cnn32-64-fc128";  // C_A's config "arch"

// What every evaluation network provides. forward = logits_from_features(features(x)).
class ImageClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor features(const torch::Tensor& x) = 0;                     // [B,128]
  virtual torch::Tensor logits_from_features(const torch::Tensor& features) = 0;  // [B,10]
  // The checkpoint's config "arch" ("cnn32-64-fc128", "resnet24-48-96").
  virtual std::string arch() const = 0;
  torch::Tensor forward(const torch::Tensor& x) { return logits_from_features(features(x)); }
};
using ImageClassifier = std::shared_ptr<ImageClassifierImpl>;

// Throws kInvalidArgument unless x is [B,1,28,28] (the message names `who`).
void check_classifier_input(const torch::Tensor& x, const std::string& who);

// C_A.
class ClassifierImpl : public ImageClassifierImpl {
 public:
  ClassifierImpl();
  torch::Tensor features(const torch::Tensor& x) override;
  torch::Tensor logits_from_features(const torch::Tensor& features) override;
  std::string arch() const override { return kClassifierArch; }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Classifier);

// The architectures `optidiff classifier train --arch` builds: "cnn" (C_A) or "resnet" (C_B, the
// judge). Throws kInvalidArgument naming --arch otherwise. Initialised from torch's current seed.
ImageClassifier make_image_classifier(const std::string& arch_option);

struct ClassifierTrainOptions {
  int epochs = 6;
  int batch = 128;
  double lr = 2e-3;  // Adam, cosine-decayed to 0 over the run
  std::uint64_t seed = 0;
  // Light augmentation of each training batch: a random horizontal flip (p = 1/2) and a random
  // shift of up to `shift` pixels per axis (zero-padding with the background value -1, then a
  // random 28x28 crop).
  bool augment = false;
  int shift = 2;
  void validate() const;
};

struct ClassifierTrainResult {
  double test_accuracy = 0;
  std::vector<double> epoch_test_accuracy;  // after each epoch
  double seconds = 0;
  int epochs = 0;
};

// Trains on `train` (with a log line per epoch that names the test accuracy) and reports accuracy
// on `test`. Leaves the model in eval mode.
ClassifierTrainResult train_classifier(ImageClassifierImpl& model, const data::Dataset& train,
                                       const data::Dataset& test,
                                       const ClassifierTrainOptions& options);
inline ClassifierTrainResult train_classifier(Classifier& model, const data::Dataset& train,
                                              const data::Dataset& test,
                                              const ClassifierTrainOptions& options) {
  return train_classifier(*model, train, test, options);
}

// Fraction of `images` [n,1,28,28] whose argmax equals labels [n] (eval mode, batched).
double classifier_accuracy(ImageClassifierImpl& model, const torch::Tensor& images,
                           const torch::Tensor& labels);
inline double classifier_accuracy(Classifier& model, const torch::Tensor& images,
                                  const torch::Tensor& labels) {
  return classifier_accuracy(*model, images, labels);
}
// confusion[true][predicted]: counts of `images` with that label predicted as that class (eval
// mode).
std::vector<std::vector<std::int64_t>> confusion_matrix(ImageClassifierImpl& model,
                                                        const torch::Tensor& images,
                                                        const torch::Tensor& labels);

// kind "classifier", config {"arch": model.arch(), "classes": 10}.
void save_classifier(const std::string& path, ImageClassifierImpl& model, const Json& meta);
inline void save_classifier(const std::string& path, Classifier& model, const Json& meta) {
  save_classifier(path, *model, meta);
}
// C_A only. Throws kNotFound / kDataLoss (not a checkpoint, truncated, not a classifier, another
// architecture) naming the file.
Classifier load_classifier(const std::string& path, Json* meta = nullptr);
// Any classifier architecture, chosen by the checkpoint's config "arch"; in eval mode. Throws
// kNotFound, or kDataLoss naming the file for a checkpoint that is not a classifier (a DiT model,
// say) or whose architecture this build does not know.
ImageClassifier load_image_classifier(const std::string& path, Json* meta = nullptr);

}  // namespace optidiff::diffusion
