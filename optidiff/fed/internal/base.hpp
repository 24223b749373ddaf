// optidiff/fed/internal/base.hpp: what most strategies share: the global model x, the options, the
// downlink of the dense model, checkpointing of named server arrays, and local SGD on a client.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "optidiff/fed/strategies.hpp"

namespace optidiff::fed::internal {

class BaseStrategy : public Strategy {
 public:
  BaseStrategy(std::string name, const StrategyOptions& options, const ModelLayout& layout)
      : name_(std::move(name)), o_(options), layout_(layout), d_(layout.dim()) {}

  std::string name() const override { return name_; }
  Json describe() const override;
  void initialize(std::span<const float> x0) override;
  Message downlink(int round) const override;
  std::span<const float> model() const override { return x_; }
  void save(StateDict& out) const override;
  void load(const StateDict& in) override;

 protected:
  // Server state besides x, zero-initialised by initialize(), saved as "server/<name>".
  virtual std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() { return {}; }
  // The arrays sent down after x (FedLion's m; FAFED's m and v).
  virtual std::vector<const std::vector<float>*> downlink_extras() const { return {}; }
  // Called after initialize() has zeroed the server arrays.
  virtual void reset() {}

  std::string name_;
  StrategyOptions o_;
  ModelLayout layout_;
  std::size_t d_;
  std::vector<float> x_;
};

// The FedAvg client: E local SGD(M) steps from the global model, uplink Delta = y - x in fp32 (FedAvg
// and FedOpt; they differ only in aggregate()).
class DenseDeltaStrategy : public BaseStrategy {
 public:
  using BaseStrategy::BaseStrategy;
  Reply fit(const Message& down, ClientContext& ctx) const override;
  std::vector<PayloadSpec> uplink_spec() const override;
};

// Payload i of a message as d floats; Error(kDataLoss) naming `what` if absent or of another shape.
std::vector<float> dense_at(const Message& m, std::size_t i, std::size_t d, const char* what);

// Mean over replies of decoded payload i (fp32 accumulation in double).
std::vector<float> mean_of(std::span<const Reply> replies, std::size_t i, std::size_t d);

struct LocalRun {
  std::vector<float> y;      // the local model after E steps
  std::vector<float> delta;  // y - x0
  double mean_loss = 0;
};
// E steps of SGD with heavy-ball momentum mu (torch.optim.SGD semantics: b = mu b + g; y -= lr b),
// from x0, momentum buffer starting at zero each round.
LocalRun local_sgd(std::span<const float> x0, int steps, double lr, double momentum, ClientContext& ctx);

inline float sign_of(double v) { return v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); }

// One factory per file of strategies/.
std::unique_ptr<Strategy> make_fedavg(const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_sign_sgd(std::string_view variant, const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_z_sign_fedavg(const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_fedlion(const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_fedopt(std::string_view variant, const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_fafed(const StrategyOptions& o, const ModelLayout& layout);
std::unique_ptr<Strategy> make_fedda(const StrategyOptions& o, const ModelLayout& layout);

}  // namespace optidiff::fed::internal
