// The sign-compressed baselines of z-SignFedAvg (research note Sec. 3). Each client runs E local SGD
// steps (E = 1: one gradient step, the classic form) and compresses its change Delta_i = y_i - x:
//   signsgd     SignSGD with majority vote (Bernstein et al. 2018/2019): s_i = sign(Delta_i), 1 bit;
//               x += eta * sign(sum_i s_i)  (a tie gives 0).
//   sto-signsgd Sto-SignSGD (Jin et al. 2020): s_i = +1 with probability (B + Delta)/(2B), B = |Delta_i|_inf,
//               i.e. sign(Delta_i + B U), U ~ Uniform[-1, 1]; majority vote as above.
//   ef-signsgd  EF-SignSGD (Karimireddy et al. 2019): p_i = Delta_i + e_i; per tensor t,
//               c_i = (|p_i,t|_1 / d_t) sign(p_i,t); e_i <- p_i - c_i stays on the client;
//               uplink signs + one fp32 scale per tensor; x += eta * mean_i c_i.
#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/internal/base.hpp"
#include "optidiff/fed/noise.hpp"

namespace optidiff::fed::internal {
namespace {

enum class Variant { kMajority, kStochastic, kErrorFeedback };

class SignSgd final : public BaseStrategy {
 public:
  SignSgd(Variant v, std::string name, const StrategyOptions& o, const ModelLayout& layout)
      : BaseStrategy(std::move(name), o, layout), variant_(v) {}

  Reply fit(const Message& down, ClientContext& ctx) const override {
    const auto x = dense_at(down, 0, d_, "global model");
    auto run = local_sgd(x, o_.local_steps, o_.lr, o_.momentum, ctx);
    Reply r{ctx.client, {}, ctx.objective.num_examples(), run.mean_loss};
    std::vector<float> signs(d_);
    if (variant_ == Variant::kErrorFeedback) {
      auto& e = ctx.state["residual"];
      if (e.size() != d_) e.assign(d_, 0.0f);
      std::vector<float> p(d_), scales;
      for (std::size_t j = 0; j < d_; ++j) p[j] = run.delta[j] + e[j];
      std::size_t begin = 0;
      for (auto size : layout_.tensor_sizes) {
        double l1 = 0;
        for (std::size_t j = begin; j < begin + size; ++j) l1 += std::abs(p[j]);
        const auto scale = float(size ? l1 / double(size) : 0.0);
        for (std::size_t j = begin; j < begin + size; ++j) {
          signs[j] = p[j] >= 0 ? 1.0f : -1.0f;
          e[j] = p[j] - scale * signs[j];
        }
        scales.push_back(scale);
        begin += size;
      }
      r.uplink = {encode_signs(signs), encode_dense(scales)};
      return r;
    }
    double bound = 0;
    if (variant_ == Variant::kStochastic)
      for (float v : run.delta) bound = std::max(bound, double(std::abs(v)));
    noisy_sign(run.delta, bound, kZInfinity, ctx.rng, signs);
    r.uplink = {encode_signs(signs)};
    return r;
  }

  std::vector<PayloadSpec> uplink_spec() const override {
    std::vector<PayloadSpec> s{{Encoding::kPackedSign1, d_, 1}};
    if (variant_ == Variant::kErrorFeedback) s.push_back({Encoding::kDenseF32, layout_.tensor_sizes.size(), 32});
    return s;
  }

  void aggregate(int, std::span<const Reply> replies, std::span<const Failure>) override {
    if (replies.empty()) return;
    const auto eta = float(o_.server_lr);
    if (variant_ == Variant::kErrorFeedback) {
      std::vector<double> acc(d_, 0.0);
      for (const auto& r : replies) {
        const auto s = decode(r.uplink[0]);
        const auto scales = decode(r.uplink[1]);
        std::size_t begin = 0;
        for (std::size_t t = 0; t < scales.size(); ++t) {
          for (std::size_t j = begin; j < begin + layout_.tensor_sizes[t]; ++j) acc[j] += double(scales[t]) * s[j];
          begin += layout_.tensor_sizes[t];
        }
      }
      for (std::size_t j = 0; j < d_; ++j) x_[j] += eta * float(acc[j] / double(replies.size()));
      return;
    }
    std::vector<std::int32_t> counts(d_, 0);
    for (const auto& r : replies) accumulate_signs(r.uplink[0], counts);
    for (std::size_t j = 0; j < d_; ++j) x_[j] += eta * sign_of(counts[j]);
  }

 private:
  Variant variant_;
};

}  // namespace

std::unique_ptr<Strategy> make_sign_sgd(std::string_view variant, const StrategyOptions& o, const ModelLayout& layout) {
  if (variant == "signsgd") return std::make_unique<SignSgd>(Variant::kMajority, "signsgd", o, layout);
  if (variant == "sto-signsgd") return std::make_unique<SignSgd>(Variant::kStochastic, "sto-signsgd", o, layout);
  if (variant == "ef-signsgd") return std::make_unique<SignSgd>(Variant::kErrorFeedback, "ef-signsgd", o, layout);
  throw_invalid("unknown sign-SGD variant \"" + std::string(variant) + "\"");
}

}  // namespace optidiff::fed::internal
