// optidiff/diffusion/prediction.cpp
#include "optidiff/diffusion/prediction.hpp"

#include <cmath>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {
namespace {

AffineCoefficients checked(AffineCoefficients c, Prediction kind, const char* target, const NoiseLevel& lv) {
  if (!std::isfinite(c.x_coef) || !std::isfinite(c.f_coef))
    throw_invalid(std::string("cannot recover ") + target + " from a '" + prediction_name(kind) +
                  "' prediction at alpha = " + std::to_string(lv.alpha) + ", sigma = " + std::to_string(lv.sigma) +
                  " (division by zero); use a prediction kind that is regular at this time");
  return c;
}

}  // namespace

AffineCoefficients prediction_from_x0_eps(Prediction kind, const NoiseLevel& lv) {
  switch (kind) {
    case Prediction::kEpsilon: return {0.0, 1.0};
    case Prediction::kSample: return {1.0, 0.0};
    case Prediction::kVPrediction: return {-lv.sigma, lv.alpha};
    case Prediction::kVelocity: return {lv.alpha_dot, lv.sigma_dot};
    default: throw_invalid("unknown prediction kind");
  }
}

Prediction parse_prediction(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kPredictionNames); ++i)
    if (name == kPredictionNames[i]) return static_cast<Prediction>(i);
  throw_invalid("prediction type is '" + std::string(name) + "'; expected epsilon|sample|v_prediction|velocity");
}

AffineCoefficients x0_from(Prediction kind, const NoiseLevel& lv) {
  const double a = lv.alpha, s = lv.sigma;
  switch (kind) {
    case Prediction::kEpsilon: return checked({1.0 / a, -s / a}, kind, "x_0", lv);  // Ho et al. Eq. 15
    case Prediction::kSample: return {0.0, 1.0};
    case Prediction::kVPrediction: {
      const double n = a * a + s * s;
      return checked({a / n, -s / n}, kind, "x_0", lv);
    }
    case Prediction::kVelocity: {
      const double det = a * lv.sigma_dot - s * lv.alpha_dot;
      return checked({lv.sigma_dot / det, -s / det}, kind, "x_0", lv);
    }
    default: throw_invalid("unknown prediction kind");
  }
}

AffineCoefficients eps_from(Prediction kind, const NoiseLevel& lv) {
  const double a = lv.alpha, s = lv.sigma;
  switch (kind) {
    case Prediction::kEpsilon: return {0.0, 1.0};
    case Prediction::kSample: return checked({1.0 / s, -a / s}, kind, "eps", lv);
    case Prediction::kVPrediction: {
      const double n = a * a + s * s;
      return checked({s / n, a / n}, kind, "eps", lv);
    }
    case Prediction::kVelocity: {
      const double det = a * lv.sigma_dot - s * lv.alpha_dot;
      return checked({-lv.alpha_dot / det, a / det}, kind, "eps", lv);
    }
    default: throw_invalid("unknown prediction kind");
  }
}

AffineCoefficients convert_coefficients(Prediction from, Prediction to, const NoiseLevel& lv) {
  if (from == to) return {0.0, 1.0};
  const AffineCoefficients g = prediction_from_x0_eps(to, lv);
  AffineCoefficients out;
  if (g.x_coef != 0) {
    const AffineCoefficients p = x0_from(from, lv);
    out.x_coef += g.x_coef * p.x_coef;
    out.f_coef += g.x_coef * p.f_coef;
  }
  if (g.f_coef != 0) {
    const AffineCoefficients r = eps_from(from, lv);
    out.x_coef += g.f_coef * r.x_coef;
    out.f_coef += g.f_coef * r.f_coef;
  }
  return checked(out, from, prediction_name(to), lv);
}

torch::Tensor row_coefficients(const std::vector<double>& per_row, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = static_cast<int64_t>(per_row.size());
  return torch::tensor(per_row, torch::kFloat64).to(like.options()).view(shape);
}

torch::Tensor convert_prediction(const torch::Tensor& pred, Prediction from, Prediction to,
                                 const torch::Tensor& x, const torch::Tensor& t, const Schedule& schedule) {
  if (from == to) return pred;
  if (pred.sizes() != x.sizes())
    throw_invalid("convert_prediction: prediction and x shapes differ");
  if (t.dim() != 1 || t.size(0) != x.size(0))
    throw_invalid("convert_prediction: t must be [B] with B = x.size(0)");
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* tp = tc.data_ptr<double>();
  std::vector<double> cx(t.size(0)), cf(t.size(0));
  for (int64_t i = 0; i < t.size(0); ++i) {
    const AffineCoefficients c = convert_coefficients(from, to, schedule.at(tp[i]));
    cx[i] = c.x_coef;
    cf[i] = c.f_coef;
  }
  return row_coefficients(cx, x) * x + row_coefficients(cf, x) * pred;
}

}  // namespace optidiff::diffusion
