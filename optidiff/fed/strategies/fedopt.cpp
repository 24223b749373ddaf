// FedOpt (Reddi et al., ICLR 2021, Algorithm 2) with the second-moment rules of FedAdam, FedYogi and
// FedAMS (Wang, Lin & Chen, ICML 2022), as Flower's fedadam.py / fedyogi.py extend fedopt.py.
// Clients: E local SGD steps, uplink Delta_i fp32. Server, with Delta = mean_i Delta_i:
//   m = beta1 m + (1 - beta1) Delta
//   fedadam: v = beta2 v + (1 - beta2) Delta^2;                 x += eta m / (sqrt(v) + tau)
//   fedyogi: v = v - (1 - beta2) Delta^2 sign(v - Delta^2);     x += eta m / (sqrt(v) + tau)
//   fedams:  v = beta2 v + (1 - beta2) Delta^2; vhat = max(vhat, v, tau); x += eta m / sqrt(vhat)
// v starts at tau^2 (Reddi et al.: v_{-1} >= tau^2); no bias correction (as Flower).
#include <algorithm>
#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/internal/base.hpp"

namespace optidiff::fed::internal {
namespace {

enum class SecondMoment { kAdam, kYogi, kAms };

class FedOpt final : public DenseDeltaStrategy {
 public:
  FedOpt(SecondMoment rule, std::string name, const StrategyOptions& o, const ModelLayout& layout)
      : DenseDeltaStrategy(std::move(name), o, layout), rule_(rule) {}

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    const auto delta = mean_of(replies, 0, d_);
    const double b1 = o_.beta1, b2 = o_.beta2, eta = o_.server_lr, tau = o_.tau;
    for (std::size_t j = 0; j < d_; ++j) {
      const double dj = delta[j], d2 = dj * dj;
      const double m = b1 * m_[j] + (1 - b1) * dj;
      double v = v_[j];
      double denom;
      switch (rule_) {
        case SecondMoment::kAdam:
          v = b2 * v + (1 - b2) * d2;
          denom = std::sqrt(v) + tau;
          break;
        case SecondMoment::kYogi:
          v = v - (1 - b2) * d2 * (v - d2 > 0 ? 1.0 : (v - d2 < 0 ? -1.0 : 0.0));
          denom = std::sqrt(v) + tau;
          break;
        case SecondMoment::kAms:
        default:
          v = b2 * v + (1 - b2) * d2;
          vhat_[j] = float(std::max({double(vhat_[j]), v, tau}));
          denom = std::sqrt(double(vhat_[j]));
          break;
      }
      m_[j] = float(m);
      v_[j] = float(v);
      x_[j] += float(eta * m / denom);
    }
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override {
    return {{"m", &m_}, {"v", &v_}, {"vhat", &vhat_}};
  }
  void reset() override { std::fill(v_.begin(), v_.end(), float(o_.tau * o_.tau)); }

 private:
  SecondMoment rule_;
  std::vector<float> m_, v_, vhat_;
};

}  // namespace

std::unique_ptr<Strategy> make_fedopt(std::string_view variant, const StrategyOptions& o, const ModelLayout& layout) {
  if (variant == "fedadam") return std::make_unique<FedOpt>(SecondMoment::kAdam, "fedadam", o, layout);
  if (variant == "fedyogi") return std::make_unique<FedOpt>(SecondMoment::kYogi, "fedyogi", o, layout);
  if (variant == "fedams") return std::make_unique<FedOpt>(SecondMoment::kAms, "fedams", o, layout);
  throw_invalid("unknown FedOpt variant \"" + std::string(variant) + "\"");
}

}  // namespace optidiff::fed::internal
