#include "optidiff/diffusion/classifier.hpp"

#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/judge.hpp"
#include "optidiff/diffusion/train.hpp"

namespace optidiff::diffusion {

void check_classifier_input(const torch::Tensor& x, const std::string& who) {
  if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != 28 || x.size(3) != 28)
    throw_invalid(who + " input has shape " + std::string(c10::str(x.sizes())) +
                  "; expected [B,1,28,28]");
}

ClassifierImpl::ClassifierImpl() {
  conv1_ =
      register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(32));
  conv2_ =
      register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(64));
  fc1_ = register_module("fc1", torch::nn::Linear(64 * 7 * 7, kClassifierFeatures));
  dropout_ = register_module("dropout", torch::nn::Dropout(0.3));
  fc2_ = register_module("fc2", torch::nn::Linear(kClassifierFeatures, kClassifierClasses));
}

torch::Tensor ClassifierImpl::features(const torch::Tensor& x) {
  check_classifier_input(x, "classifier");
  auto h = torch::max_pool2d(torch::relu(bn1_(conv1_(x))), 2);
  h = torch::max_pool2d(torch::relu(bn2_(conv2_(h))), 2);
  return torch::relu(fc1_(h.flatten(1)));
}

torch::Tensor ClassifierImpl::logits_from_features(const torch::Tensor& f) {
  return fc2_(dropout_(f));
}

ImageClassifier make_image_classifier(const std::string& arch_option) {
  if (arch_option == "cnn") return Classifier().ptr();
  if (arch_option == "resnet") return ResNetClassifier().ptr();
  throw_invalid("--arch is '" + arch_option + "'; expected cnn (C_A) or resnet (the judge C_B)");
}

void ClassifierTrainOptions::validate() const {
  if (epochs < 1) throw_invalid("--epochs is " + std::to_string(epochs) + "; expected >= 1");
  if (batch < 1) throw_invalid("--batch is " + std::to_string(batch) + "; expected >= 1");
  if (!(lr > 0) || !std::isfinite(lr)) throw_invalid("--lr must be finite and > 0");
  if (shift < 0 || shift > 8)
    throw_invalid("--shift is " + std::to_string(shift) + "; expected 0..8 pixels");
}

std::vector<std::vector<std::int64_t>> confusion_matrix(ImageClassifierImpl& model,
                                                        const torch::Tensor& images,
                                                        const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto truth = labels.to(torch::kInt64);
  if (truth.numel() > 0 && (truth.min().item<int64_t>() < 0 || truth.max().item<int64_t>() >= kClassifierClasses))
    throw_invalid("confusion_matrix: a label is outside 0.." + std::to_string(kClassifierClasses - 1));
  auto counts = torch::zeros({kClassifierClasses * kClassifierClasses}, torch::kInt64);
  const int64_t n = images.size(0);
  for (int64_t s = 0; s < n; s += 500) {
    const int64_t e = std::min(n, s + 500);
    const auto pred = model.forward(images.slice(0, s, e)).argmax(1);
    counts += torch::bincount(truth.slice(0, s, e) * kClassifierClasses + pred, {},
                              kClassifierClasses * kClassifierClasses);
  }
  counts = counts.contiguous();
  std::vector<std::vector<std::int64_t>> m(kClassifierClasses);
  for (int t = 0; t < kClassifierClasses; ++t)
    m[t].assign(counts.data_ptr<int64_t>() + t * kClassifierClasses,
                counts.data_ptr<int64_t>() + (t + 1) * kClassifierClasses);
  return m;
}

double classifier_accuracy(ImageClassifierImpl& model, const torch::Tensor& images,
                           const torch::Tensor& labels) {
  const auto m = confusion_matrix(model, images, labels);
  int64_t correct = 0;
  for (int c = 0; c < kClassifierClasses; ++c) correct += m[c][c];
  return images.size(0) == 0 ? 0.0 : double(correct) / images.size(0);
}

namespace {

// A random horizontal flip (p = 1/2) and a random shift of up to `shift` pixels per axis of each
// image (pad with -1, the background, then crop 28x28): the standard light augmentation of
// small-image classifiers (Krizhevsky et al. 2012, section 4.1; He et al. 2016, section 4.2 for
// CIFAR).
torch::Tensor augment_batch(const torch::Tensor& x, int shift, Rng& rng) {
  const int64_t b = x.size(0);
  std::vector<int64_t> flip;
  for (int64_t i = 0; i < b; ++i)
    if (rng.uniform_int(2) == 1) flip.push_back(i);
  auto out = x.clone();
  if (!flip.empty()) {
    const auto idx = torch::tensor(flip);
    out.index_copy_(0, idx, out.index_select(0, idx).flip({3}));
  }
  if (shift == 0) return out;
  const auto padded = torch::constant_pad_nd(out, {shift, shift, shift, shift}, -1.0);
  std::vector<torch::Tensor> crops;
  crops.reserve(b);
  for (int64_t i = 0; i < b; ++i) {
    const auto dy = static_cast<int64_t>(rng.uniform_int(2 * shift + 1));
    const auto dx = static_cast<int64_t>(rng.uniform_int(2 * shift + 1));
    crops.push_back(padded[i].slice(1, dy, dy + 28).slice(2, dx, dx + 28));
  }
  return torch::stack(crops);
}

}  // namespace

ClassifierTrainResult train_classifier(ImageClassifierImpl& model, const data::Dataset& train,
                                       const data::Dataset& test, const ClassifierTrainOptions& o) {
  o.validate();
  torch::manual_seed(o.seed);
  const auto x = dataset_images(train), y = dataset_labels(train);
  const auto xt = dataset_images(test), yt = dataset_labels(test);
  const int64_t n = x.size(0), per_epoch = n / o.batch, total = per_epoch * o.epochs;
  if (per_epoch < 1) throw_invalid("--batch is larger than the training set");
  torch::optim::Adam opt(model.parameters(), torch::optim::AdamOptions(o.lr));
  Stopwatch sw;
  ClassifierTrainResult r;
  std::vector<int64_t> order(n);
  int64_t step = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    Rng rng = Rng(o.seed).stream(1, epoch);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(i + 1)]);
    Rng augment_rng = Rng(o.seed).stream(2, epoch);
    const auto perm = torch::tensor(order);
    model.train();
    double loss_sum = 0;
    for (int64_t b = 0; b < per_epoch; ++b, ++step) {
      const double lr = 0.5 * o.lr * (1 + std::cos(M_PI * step / double(total)));  // cosine decay
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      const auto idx = perm.slice(0, b * o.batch, (b + 1) * o.batch);
      auto xb = x.index_select(0, idx);
      if (o.augment) xb = augment_batch(xb, o.shift, augment_rng);
      auto loss = torch::cross_entropy_loss(model.forward(xb), y.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
    }
    r.test_accuracy = classifier_accuracy(model, xt, yt);
    r.epoch_test_accuracy.push_back(r.test_accuracy);
    log_info("classifier (" + model.arch() + ") epoch " + std::to_string(epoch + 1) + "/" +
             std::to_string(o.epochs) + ": train loss " + format_fixed(loss_sum / per_epoch, 4) +
             ", test accuracy " + format_fixed(100 * r.test_accuracy, 2) + "% (" +
             format_fixed(sw.seconds(), 0) + " s)");
  }
  model.eval();
  r.seconds = sw.seconds();
  r.epochs = o.epochs;
  return r;
}

void save_classifier(const std::string& path, ImageClassifierImpl& model, const Json& meta) {
  Checkpoint ck;
  ck.kind = "classifier";
  ck.config = {{"arch", model.arch()}, {"classes", kClassifierClasses}};
  ck.meta = meta;
  add_module_tensors(ck, model);
  save_checkpoint(path, ck);
}

namespace {

// The checkpoint of a classifier and its architecture, or kDataLoss naming the file.
std::pair<Checkpoint, std::string> read_classifier_checkpoint(const std::string& path) {
  Checkpoint ck = load_checkpoint(path);
  expect_kind(ck, {"classifier"});
  const Json arch = ck.config.is_object() ? ck.config.value("arch", Json()) : Json();
  if (!arch.is_string())
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": classifier config " +
                                          ck.config.dump() + " names no \"arch\"");
  return {std::move(ck), arch.get<std::string>()};
}

}  // namespace

ImageClassifier load_image_classifier(const std::string& path, Json* meta) {
  const auto [ck, arch] = read_classifier_checkpoint(path);
  ImageClassifier model;
  if (arch == kClassifierArch)
    model = Classifier().ptr();
  else if (arch == kJudgeArch)
    model = ResNetClassifier().ptr();
  else
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": classifier architecture '" + arch +
                                          "' is unknown; this build reads " + kClassifierArch +
                                          " (C_A) and " + kJudgeArch + " (C_B)");
  load_into(*model, ck);
  model->eval();
  if (meta) *meta = ck.meta;
  return model;
}

Classifier load_classifier(const std::string& path, Json* meta) {
  auto model = load_image_classifier(path, meta);
  auto cnn = std::dynamic_pointer_cast<ClassifierImpl>(model);
  if (!cnn)
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": classifier architecture " + model->arch() +
                                          "; expected " + kClassifierArch);
  return Classifier(cnn);
}

}  // namespace optidiff::diffusion
