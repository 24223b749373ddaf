#include "optidiff/sparse/self_paced.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::sparse {

Regularizer parse_regularizer(std::string_view name) {
  if (name == "hard") return Regularizer::kHard;
  if (name == "linear") return Regularizer::kLinear;
  if (name == "mixture") return Regularizer::kMixture;
  throw_invalid("--regularizer is '" + std::string(name) + "'; expected hard, linear or mixture");
}

std::string_view regularizer_name(Regularizer r) {
  switch (r) {
    case Regularizer::kHard: return "hard";
    case Regularizer::kLinear: return "linear";
    case Regularizer::kMixture: return "mixture";
  }
  return "?";
}

double self_paced_weight(Regularizer r, const SelfPacedAge& a, double loss) {
  switch (r) {
    case Regularizer::kHard: return loss < a.age ? 1.0 : 0.0;
    case Regularizer::kLinear: return std::max(0.0, 1.0 - loss / a.age);
    case Regularizer::kMixture: {
      const double full = a.age * a.gamma / (a.age + a.gamma);
      if (loss <= full * full) return 1.0;
      if (loss >= a.age * a.age) return 0.0;
      return std::clamp(a.gamma * (1.0 / std::sqrt(loss) - 1.0 / a.age), 0.0, 1.0);
    }
  }
  return 0;
}

double self_paced_penalty(Regularizer r, const SelfPacedAge& a, double v) {
  switch (r) {
    case Regularizer::kHard: return -a.age * v;
    case Regularizer::kLinear: return a.age * (0.5 * v * v - v);
    case Regularizer::kMixture: return a.gamma * a.gamma / (v + a.gamma / a.age);
  }
  return 0;
}

double zero_weight_loss(Regularizer r, const SelfPacedAge& a) {
  return r == Regularizer::kMixture ? a.age * a.age : a.age;
}

SelfPacedAge age_for_zero_weight_loss(Regularizer r, double loss) {
  const double l = std::max(loss, 1e-300);
  if (r == Regularizer::kMixture) {
    const double age = std::sqrt(l);
    return {age, age / 2};
  }
  return {l, 0};
}

Eigen::ArrayXXd self_paced_weights(Regularizer r, const SelfPacedAge& a, const Eigen::ArrayXXd& losses) {
  return losses.unaryExpr([&](double l) { return self_paced_weight(r, a, l); });
}

double quantile(const Eigen::ArrayXXd& values, double q) {
  if (values.size() == 0) throw_invalid("quantile of an empty array");
  std::vector<double> v(values.data(), values.data() + values.size());
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace optidiff::sparse
