// FAFED as the FedLion authors benchmark it: "AVG-AdamW" (TZW1998/FedLion avg_adam_*.py; research note
// Sec. 3). Not the STORM-corrected FAFED of Wu et al. (AAAI 2023): the authors' stand-in, which the note
// asks for. Downlink (x, m, v) fp32 and the shared step count t = round_index * E. Client: E steps of
// torch.optim.AdamW from (x, m, v): y *= 1 - lr lambda; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// y -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). Uplink y, m, v fp32 (96 bits per coordinate).
// Server: x, m, v <- their unweighted means over the replies; t += E.
#include <cmath>

#include "optidiff/fed/internal/base.hpp"

namespace optidiff::fed::internal {
namespace {

class Fafed final : public BaseStrategy {
 public:
  using BaseStrategy::BaseStrategy;

  Message downlink(int round) const override {
    Message msg = BaseStrategy::downlink(round);
    msg.push_back(encode_dense(std::vector<float>{step_[0]}));
    return msg;
  }

  Reply fit(const Message& down, ClientContext& ctx) const override {
    auto y = dense_at(down, 0, d_, "global model");
    auto m = dense_at(down, 1, d_, "global first moment");
    auto v = dense_at(down, 2, d_, "global second moment");
    const double t0 = dense_at(down, 3, 1, "step count")[0];
    std::vector<float> g(d_);
    const double b1 = o_.beta1, b2 = o_.beta2, lr = o_.lr, eps = o_.eps;
    const auto decay = float(1 - lr * o_.weight_decay);
    double loss = 0;
    for (int s = 1; s <= o_.local_steps; ++s) {
      loss += ctx.objective.gradient(y, g, ctx.rng) / o_.local_steps;
      const double t = t0 + s;
      const double c1 = 1 - std::pow(b1, t), c2 = std::sqrt(1 - std::pow(b2, t));
      const auto step = float(lr / c1);
      for (std::size_t j = 0; j < d_; ++j) {
        y[j] *= decay;
        m[j] = float(b1) * m[j] + float(1 - b1) * g[j];
        v[j] = float(b2) * v[j] + float(1 - b2) * g[j] * g[j];
        y[j] -= step * m[j] / (std::sqrt(v[j]) / float(c2) + float(eps));
      }
    }
    return {ctx.client, {encode_dense(y), encode_dense(m), encode_dense(v)}, ctx.objective.num_examples(), loss};
  }

  std::vector<PayloadSpec> uplink_spec() const override {
    return {{Encoding::kDenseF32, d_, 32}, {Encoding::kDenseF32, d_, 32}, {Encoding::kDenseF32, d_, 32}};
  }

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    x_ = mean_of(replies, 0, d_);
    m_ = mean_of(replies, 1, d_);
    v_ = mean_of(replies, 2, d_);
    step_[0] += float(o_.local_steps);
  }

 protected:
  std::vector<std::pair<std::string, std::vector<float>*>> server_arrays() override {
    return {{"m", &m_}, {"v", &v_}, {"step", &step_}};
  }
  std::vector<const std::vector<float>*> downlink_extras() const override { return {&m_, &v_}; }
  void reset() override { step_.assign(1, 0.0f); }

 private:
  std::vector<float> m_, v_, step_;
};

}  // namespace

std::unique_ptr<Strategy> make_fafed(const StrategyOptions& o, const ModelLayout& layout) {
  return std::make_unique<Fafed>("fafed", o, layout);
}

}  // namespace optidiff::fed::internal
