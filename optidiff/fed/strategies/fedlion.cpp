// FedLion (Tang & Chang, arXiv 2402.09941, Algorithm 1; TZW1998/FedLion avg_lion_*.py; research note Sec. 2).
// Downlink (x, m) fp32. Client i: y <- x, mu <- m; E times: g = grad F_i(y; B),
// c = beta1 mu + (1 - beta1) g, y <- y - lr (sign(c) + lambda y), mu <- beta2 mu + (1 - beta2) g.
// Uplink Delta_i = (x - y) / lr and mu_i. With lambda = 0, Delta_i = sum_s sign(c_s) is an integer vector in
// [-E, E] sent in ceil(log2(2E+1)) bits per coordinate (PackedInt); with lambda > 0 it is not an integer and
// travels as fp32 (a documented deviation: the paper's bit count assumes lambda = 0).
// Server: x <- x - lr mean_i Delta_i (= the mean of the local models); m <- mean_i mu_i, unweighted over the
// replies received, as the official code averages state_dicts and momentum buffers. sign(0) = 0 (torch.sign).
#include "optidiff/fed/internal/base.hpp"

namespace optidiff::fed::internal {
namespace {

class FedLion final : public BaseStrategy {
 public:
  using BaseStrategy::BaseStrategy;

  Reply fit(const Message& down, ClientContext& ctx) const override {
    auto y = dense_at(down, 0, d_, "global model");
    const std::vector<float> x = y;
    auto mu = dense_at(down, 1, d_, "global momentum");
    std::vector<float> g(d_);
    std::vector<std::int32_t> sign_sum(d_, 0);
    const auto b1 = float(o_.beta1), b2 = float(o_.beta2), lr = float(o_.lr), wd = float(o_.weight_decay);
    double loss = 0;
    for (int s = 0; s < o_.local_steps; ++s) {
      loss += ctx.objective.gradient(y, g, ctx.rng) / o_.local_steps;
      for (std::size_t j = 0; j < d_; ++j) {
        const float c = b1 * mu[j] + (1 - b1) * g[j];
        const float sc = sign_of(c);
        sign_sum[j] += std::int32_t(sc);
        y[j] -= lr * (sc + wd * y[j]);
        mu[j] = b2 * mu[j] + (1 - b2) * g[j];
      }
    }
    Reply r{ctx.client, {}, ctx.objective.num_examples(), loss};
    if (integer_uplink()) {
      r.uplink.push_back(encode_ints(sign_sum, bits_for_signed(o_.local_steps)));
    } else {
      std::vector<float> delta(d_);
      for (std::size_t j = 0; j < d_; ++j) delta[j] = (x[j] - y[j]) / lr;
      r.uplink.push_back(encode_dense(delta));
    }
    r.uplink.push_back(encode_dense(mu));
    return r;
  }

  std::vector<PayloadSpec> uplink_spec() const override {
    if (integer_uplink())
      return {{Encoding::kPackedInt, d_, bits_for_signed(o_.local_steps)}, {Encoding::kDenseF32, d_, 32}};
    return {{Encoding::kDenseF32, d_, 32}, {Encoding::kDenseF32, d_, 32}};
  }

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    const auto delta = mean_of(replies, 0, d_);
    m_ = mean_of(replies, 1, d_);
    const auto lr = float(o_.lr);
    for (std::size_t j = 0; j < d_; ++j) x_[j] -= lr * delta[j];
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override { return {{"m", &m_}}; }
  std::vector<const std::vector<float>*> downlink_extras() const override { return {&m_}; }

 private:
  bool integer_uplink() const { return o_.weight_decay == 0; }
  std::vector<float> m_;
};

}  // namespace

std::unique_ptr<Strategy> make_fedlion(const StrategyOptions& o, const ModelLayout& layout) {
  return std::make_unique<FedLion>("fedlion", o, layout);
}

}  // namespace optidiff::fed::internal
