// z-SignFedAvg (Tang, Wang & Chang, arXiv 2302.02589, Algorithm 1; research note Sec. 1.4).
// Client i: y <- x; E local SGD steps; Delta_i = y - x; s_i = sign(Delta_i + sigma xi_i), xi ~ p_z i.i.d.
// (noise.hpp), sign(0) = +1; uplink s_i bit-packed, d bits.
// Server: a = (1/n) sum_i s_i (or sign(sum_i s_i) with majority_vote); u = beta_s u + a; x += eta kappa u,
// with kappa = sigma / eta_z when debias is on and sigma > 0 (then z = inf, sigma >= |Delta|_inf and eta = 1
// is FedAvg in expectation), kappa = 1 otherwise (the authors' CIFAR script: the scale is absorbed in eta).
#include "optidiff/fed/internal/base.hpp"
#include "optidiff/fed/noise.hpp"

namespace optidiff::fed::internal {
namespace {

class ZSignFedAvg final : public BaseStrategy {
 public:
  using BaseStrategy::BaseStrategy;

  Json describe() const override {
    Json j = BaseStrategy::describe();
    j["kappa"] = kappa();
    return j;
  }

  Reply fit(const Message& down, ClientContext& ctx) const override {
    const auto x = dense_at(down, 0, d_, "global model");
    auto run = local_sgd(x, o_.local_steps, o_.lr, o_.momentum, ctx);
    std::vector<float> signs(d_);
    noisy_sign(run.delta, o_.sigma, o_.z, ctx.rng, signs);
    return {ctx.client, {encode_signs(signs)}, ctx.objective.num_examples(), run.mean_loss};
  }
  std::vector<PayloadSpec> uplink_spec() const override { return {{Encoding::kPackedSign1, d_, 1}}; }

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    std::vector<std::int32_t> counts(d_, 0);
    for (const auto& r : replies) accumulate_signs(r.uplink[0], counts);
    const double n = double(replies.size());
    const auto beta = float(o_.server_momentum), step = float(o_.server_lr * kappa());
    for (std::size_t j = 0; j < d_; ++j) {
      const float a = o_.majority_vote ? sign_of(counts[j]) : float(counts[j] / n);
      x_[j] += step * (u_[j] = beta * u_[j] + a);
    }
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override { return {{"u", &u_}}; }

 private:
  double kappa() const { return o_.debias && o_.sigma > 0 ? o_.sigma / z_slope(o_.z) : 1.0; }
  std::vector<float> u_;
};

}  // namespace

std::unique_ptr<Strategy> make_z_sign_fedavg(const StrategyOptions& o, const ModelLayout& layout) {
  return std::make_unique<ZSignFedAvg>("zsignfedavg", o, layout);
}

}  // namespace optidiff::fed::internal
