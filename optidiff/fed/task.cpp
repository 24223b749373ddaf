#include "optidiff/fed/task.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/fed/model.hpp"

namespace optidiff::fed {
namespace {

// Images as a float tensor [n, 1, 28, 28], standardised by (mean, std); labels int64 [n].
torch::Tensor to_tensor(const data::Dataset& d, std::size_t n, float mean, float std) {
  auto t = torch::from_blob(const_cast<std::uint8_t*>(d.images.data()),
                            {std::int64_t(n), 1, d.rows, d.cols}, torch::kUInt8)
               .to(torch::kFloat32);
  return ((t / 255.0f) - mean) / std;
}
torch::Tensor labels_tensor(const data::Dataset& d, std::size_t n) {
  return torch::from_blob(const_cast<std::uint8_t*>(d.labels.data()), {std::int64_t(n)}, torch::kUInt8)
      .to(torch::kInt64);
}

class Shared {
 public:
  std::shared_ptr<Net> net;
  torch::Tensor train_x, train_y, test_x, test_y;
};

class TorchObjective final : public Objective {
 public:
  TorchObjective(std::shared_ptr<Shared> shared, std::vector<std::int64_t> indices, int batch)
      : shared_(std::move(shared)), indices_(std::move(indices)), batch_(batch) {}
  std::size_t dim() const override { return dim_ ? dim_ : (dim_ = num_parameters(*shared_->net)); }
  std::size_t num_examples() const override { return indices_.size(); }
  double gradient(std::span<const float> x, std::span<float> grad, Rng& rng) override {
    if (indices_.empty()) throw Error(ErrorCode::kFailedPrecondition, "client has no training samples");
    auto& net = *shared_->net;
    set_flat(net, x);
    std::vector<std::int64_t> pick(static_cast<std::size_t>(batch_));
    for (auto& p : pick) p = indices_[rng.uniform_int(indices_.size())];
    const auto idx = torch::from_blob(pick.data(), {std::int64_t(pick.size())}, torch::kInt64);
    const auto loss = torch::nn::functional::cross_entropy(net.forward(shared_->train_x.index_select(0, idx)),
                                                           shared_->train_y.index_select(0, idx));
    net.zero_grad();
    loss.backward();
    get_flat_grad(net, grad);
    return loss.item<double>();
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::int64_t> indices_;
  int batch_;
  mutable std::size_t dim_ = 0;
};

class FashionTask final : public Task {
 public:
  explicit FashionTask(const FashionTaskOptions& o) : shared_(std::make_shared<Shared>()) {
    if (o.batch < 1) throw_invalid("--batch is " + std::to_string(o.batch) + "; expected >= 1");
    const std::string dir = data::resolve_data_dir(o.data_dir);
    const auto train = data::load_fashion_mnist(dir, data::Split::kTrain);
    const auto test = data::load_fashion_mnist(dir, data::Split::kTest);
    auto limit = [](int want, std::size_t have, const char* flag) {
      if (want < 0 || std::size_t(want) > have)
        throw_invalid(std::string(flag) + " is " + std::to_string(want) + "; expected 0 (all) .. " +
                      std::to_string(have));
      return want == 0 ? have : std::size_t(want);
    };
    const std::size_t n_train = limit(o.train_samples, train.size(), "--train-samples");
    const std::size_t n_test = limit(o.test_samples, test.size(), "--test-samples");
    if (o.clients < 1 || std::size_t(o.clients) > n_train)
      throw_invalid("--clients is " + std::to_string(o.clients) + "; expected 1 <= clients <= " +
                    std::to_string(n_train) + " training samples");
    // Pixel mean and std of the training images used.
    double sum = 0, sq = 0;
    const std::size_t pixels = n_train * std::size_t(train.pixels());
    for (std::size_t i = 0; i < pixels; ++i) {
      const double v = train.images[i] / 255.0;
      sum += v;
      sq += v * v;
    }
    const double mean = sum / double(pixels), std = std::sqrt(std::max(1e-12, sq / double(pixels) - mean * mean));
    shared_->train_x = to_tensor(train, n_train, float(mean), float(std));
    shared_->train_y = labels_tensor(train, n_train);
    shared_->test_x = to_tensor(test, n_test, float(mean), float(std));
    shared_->test_y = labels_tensor(test, n_test);

    torch::manual_seed(o.seed);
    shared_->net = make_net(o.model);
    x0_.resize(num_parameters(*shared_->net));
    get_flat(*shared_->net, x0_);
    layout_ = layout_of(*shared_->net);

    const std::span<const std::uint8_t> labels(train.labels.data(), n_train);
    const auto part = make_client_partition(labels, data::kFashionClasses, o.partition, o.clients, o.alpha, o.seed);
    for (const auto& idx : part.client_indices)
      clients_.emplace_back(shared_, std::vector<std::int64_t>(idx.begin(), idx.end()), o.batch);
  }

  int num_clients() const override { return int(clients_.size()); }
  Objective& client(int i) override { return clients_.at(std::size_t(i)); }
  ModelLayout layout() const override { return layout_; }
  std::vector<float> initial_model() const override { return x0_; }

  Evaluation evaluate(std::span<const float> x) override {
    auto& net = *shared_->net;
    set_flat(net, x);
    torch::NoGradGuard no_grad;
    const std::int64_t n = shared_->test_x.size(0);
    double loss = 0;
    std::int64_t correct = 0;
    for (std::int64_t begin = 0; begin < n; begin += 1000) {
      const std::int64_t end = std::min(n, begin + 1000);
      const auto logits = net.forward(shared_->test_x.slice(0, begin, end));
      const auto y = shared_->test_y.slice(0, begin, end);
      loss += torch::nn::functional::cross_entropy(logits, y,
                                                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                  .item<double>();
      correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
    }
    return {double(correct) / double(n), loss / double(n)};
  }

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<TorchObjective> clients_;
  std::vector<float> x0_;
  ModelLayout layout_;
};

}  // namespace

ModelKind parse_model(std::string_view name) {
  if (name == "cnn") return ModelKind::kCnn;
  if (name == "resnet20") return ModelKind::kResNet20;
  throw_invalid("--model is \"" + std::string(name) + "\"; expected cnn or resnet20");
}

std::string model_name(ModelKind kind) { return kind == ModelKind::kCnn ? "cnn" : "resnet20"; }

std::unique_ptr<Task> make_fashion_task(const FashionTaskOptions& options) {
  return std::make_unique<FashionTask>(options);
}

}  // namespace optidiff::fed
