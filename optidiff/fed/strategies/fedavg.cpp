// FedAvg (McMahan et al. 2017) with optional server heavy-ball momentum (FedAvgM, Hsu et al. 2019):
// clients run E steps of SGD(M) and send Delta_i = y_i - x in fp32; the server sets
// u = beta_s u + mean_i Delta_i, x += eta u. Unweighted mean over the replies received, as the authors' code.
#include "optidiff/fed/internal/base.hpp"

namespace optidiff::fed::internal {
namespace {

class FedAvg final : public DenseDeltaStrategy {
 public:
  using DenseDeltaStrategy::DenseDeltaStrategy;

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    const auto mean = mean_of(replies, 0, d_);
    const auto beta = float(o_.server_momentum), eta = float(o_.server_lr);
    for (std::size_t j = 0; j < d_; ++j) x_[j] += eta * (u_[j] = beta * u_[j] + mean[j]);
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override { return {{"u", &u_}}; }

 private:
  std::vector<float> u_;
};

}  // namespace

std::unique_ptr<Strategy> make_fedavg(const StrategyOptions& o, const ModelLayout& layout) {
  return std::make_unique<FedAvg>("fedavg", o, layout);
}

}  // namespace optidiff::fed::internal
