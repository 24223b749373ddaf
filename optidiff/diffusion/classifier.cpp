#include "optidiff/diffusion/classifier.hpp"

#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/train.hpp"

namespace optidiff::diffusion {

ClassifierImpl::ClassifierImpl() {
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(32));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(64));
  fc1_ = register_module("fc1", torch::nn::Linear(64 * 7 * 7, kClassifierFeatures));
  dropout_ = register_module("dropout", torch::nn::Dropout(0.3));
  fc2_ = register_module("fc2", torch::nn::Linear(kClassifierFeatures, 10));
}

torch::Tensor ClassifierImpl::features(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != 1 || x.size(2) != 28 || x.size(3) != 28)
    throw_invalid("classifier input has shape " + std::string(c10::str(x.sizes())) + "; expected [B,1,28,28]");
  auto h = torch::max_pool2d(torch::relu(bn1_(conv1_(x))), 2);
  h = torch::max_pool2d(torch::relu(bn2_(conv2_(h))), 2);
  return torch::relu(fc1_(h.flatten(1)));
}

torch::Tensor ClassifierImpl::logits_from_features(const torch::Tensor& f) { return fc2_(dropout_(f)); }

void ClassifierTrainOptions::validate() const {
  if (epochs < 1) throw_invalid("--epochs is " + std::to_string(epochs) + "; expected >= 1");
  if (batch < 1) throw_invalid("--batch is " + std::to_string(batch) + "; expected >= 1");
  if (!(lr > 0) || !std::isfinite(lr)) throw_invalid("--lr must be finite and > 0");
}

double classifier_accuracy(Classifier& model, const torch::Tensor& images, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  const int64_t n = images.size(0);
  for (int64_t s = 0; s < n; s += 500) {
    const int64_t e = std::min(n, s + 500);
    auto pred = model->forward(images.slice(0, s, e)).argmax(1);
    correct += pred.eq(labels.slice(0, s, e)).sum().item<int64_t>();
  }
  return n == 0 ? 0.0 : double(correct) / n;
}

ClassifierTrainResult train_classifier(Classifier& model, const data::Dataset& train, const data::Dataset& test,
                                       const ClassifierTrainOptions& o) {
  o.validate();
  torch::manual_seed(o.seed);
  const auto x = dataset_images(train), y = dataset_labels(train);
  const auto xt = dataset_images(test), yt = dataset_labels(test);
  const int64_t n = x.size(0), per_epoch = n / o.batch, total = per_epoch * o.epochs;
  if (per_epoch < 1) throw_invalid("--batch is larger than the training set");
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(o.lr));
  Stopwatch sw;
  ClassifierTrainResult r;
  std::vector<int64_t> order(n);
  int64_t step = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    Rng rng = Rng(o.seed).stream(1, epoch);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.uniform_int(i + 1)]);
    const auto perm = torch::tensor(order);
    model->train();
    double loss_sum = 0;
    for (int64_t b = 0; b < per_epoch; ++b, ++step) {
      const double lr = 0.5 * o.lr * (1 + std::cos(M_PI * step / double(total)));  // cosine decay
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      const auto idx = perm.slice(0, b * o.batch, (b + 1) * o.batch);
      auto loss = torch::cross_entropy_loss(model->forward(x.index_select(0, idx)), y.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>();
    }
    r.test_accuracy = classifier_accuracy(model, xt, yt);
    log_info("classifier epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs) + ": train loss " +
             format_fixed(loss_sum / per_epoch, 4) + ", test accuracy " + format_fixed(100 * r.test_accuracy, 2) +
             "% (" + format_fixed(sw.seconds(), 0) + " s)");
  }
  model->eval();
  r.seconds = sw.seconds();
  r.epochs = o.epochs;
  return r;
}

void save_classifier(const std::string& path, Classifier& model, const Json& meta) {
  Checkpoint ck;
  ck.kind = "classifier";
  ck.config = {{"arch", "cnn32-64-fc128"}, {"classes", 10}};
  ck.meta = meta;
  add_module_tensors(ck, *model);
  save_checkpoint(path, ck);
}

Classifier load_classifier(const std::string& path, Json* meta) {
  const Checkpoint ck = load_checkpoint(path);
  expect_kind(ck, {"classifier"});
  if (ck.config.value("arch", std::string()) != "cnn32-64-fc128")
    throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": classifier architecture " + ck.config.dump() +
                                          "; expected cnn32-64-fc128");
  Classifier model;
  load_into(*model, ck);
  model->eval();
  if (meta) *meta = ck.meta;
  return model;
}

}  // namespace optidiff::diffusion
