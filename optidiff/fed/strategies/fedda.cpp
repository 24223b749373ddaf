// FedDA as the FedLion authors implement it (TZW1998/FedLion avg_fedDA_*.py; research note Sec. 3), a
// restarted dual averaging (Li, Huang & Huang, arXiv 2302.06103). Downlink (x, m) fp32. Client: y <- x,
// mu <- m, P <- 0; E times: g = grad F_i(y; B), mu = beta mu + (1 - beta) g, P += mu, y -= lr mu.
// Uplink P_i and mu_i fp32 (64 bits per coordinate). Server: m <- mean mu_i; x <- x - eta lr mean P_i;
// the local models are discarded. beta is the `momentum` option, eta the server lr (author glr).
#include "optidiff/fed/internal/base.hpp"

namespace optidiff::fed::internal {
namespace {

class FedDa final : public BaseStrategy {
 public:
  using BaseStrategy::BaseStrategy;

  Reply fit(const Message& down, ClientContext& ctx) const override {
    auto y = dense_at(down, 0, d_, "global model");
    auto mu = dense_at(down, 1, d_, "global momentum");
    std::vector<float> g(d_), p(d_, 0.0f);
    const auto beta = float(o_.momentum), lr = float(o_.lr);
    double loss = 0;
    for (int s = 0; s < o_.local_steps; ++s) {
      loss += ctx.objective.gradient(y, g, ctx.rng) / o_.local_steps;
      for (std::size_t j = 0; j < d_; ++j) {
        mu[j] = beta * mu[j] + (1 - beta) * g[j];
        p[j] += mu[j];
        y[j] -= lr * mu[j];
      }
    }
    return {ctx.client, {encode_dense(p), encode_dense(mu)}, ctx.objective.num_examples(), loss};
  }

  std::vector<PayloadSpec> uplink_spec() const override {
    return {{Encoding::kDenseF32, d_, 32}, {Encoding::kDenseF32, d_, 32}};
  }

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    const auto p = mean_of(replies, 0, d_);
    m_ = mean_of(replies, 1, d_);
    const auto step = float(o_.server_lr * o_.lr);
    for (std::size_t j = 0; j < d_; ++j) x_[j] -= step * p[j];
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override { return {{"m", &m_}}; }
  std::vector<const std::vector<float>*> downlink_extras() const override { return {&m_}; }

 private:
  std::vector<float> m_;
};

}  // namespace

std::unique_ptr<Strategy> make_fedda(const StrategyOptions& o, const ModelLayout& layout) {
  return std::make_unique<FedDa>("fedda", o, layout);
}

}  // namespace optidiff::fed::internal
