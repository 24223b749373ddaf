// optidiff/diffusion/prediction.hpp: what a denoiser predicts, and exact conversions between kinds.
//
// With x_t = alpha x_0 + sigma eps (schedule.hpp), a network predicts one of (diffusers' names kept):
//   epsilon       eps                                       (Ho et al. 2020, Eq. 11)
//   sample        x_0                                       (diffusers' "sample")
//   v_prediction  v = alpha eps - sigma x_0                 (Salimans & Ho 2022, Sec. 4)
//   velocity      u = dx_t/dt = alpha' x_0 + sigma' eps     (flow matching; rectified flow: u = eps - x_0)
// Every kind is an invertible affine function of (x_0, eps) given x_t, so any kind converts to any other
// at the same (x_t, t) by exact 2x2 algebra, done here in double precision. Conversions that divide by
// zero (x_0 from eps at alpha = 0, eps from x_0 at sigma = 0) throw kInvalidArgument instead of
// returning inf. Because conversions are affine in the prediction, CFG may be applied in any kind.
#pragma once

#include <string_view>

#include <torch/torch.h>

#include "optidiff/diffusion/schedule.hpp"

namespace optidiff::diffusion {

enum class Prediction { kEpsilon, kSample, kVPrediction, kVelocity, kCount };
inline constexpr const char* kPredictionNames[] = {"epsilon", "sample", "v_prediction", "velocity"};
static_assert(std::size(kPredictionNames) == static_cast<std::size_t>(Prediction::kCount));
inline const char* prediction_name(Prediction p) { return kPredictionNames[static_cast<int>(p)]; }
Prediction parse_prediction(std::string_view name);  // kInvalidArgument on unknown names

// out = x * x_coef + f * f_coef: one kind (or x_0 / eps) as an affine function of x_t and a prediction.
struct AffineCoefficients {
  double x_coef = 0, f_coef = 0;
};
// x_0 and eps as affine functions of (x_t, f) where f is a prediction of `kind` at noise level `level`.
AffineCoefficients x0_from(Prediction kind, const NoiseLevel& level);
AffineCoefficients eps_from(Prediction kind, const NoiseLevel& level);
// The value of `kind` as x_coef * x_0 + f_coef * eps (e.g. velocity: alpha' x_0 + sigma' eps).
AffineCoefficients prediction_from_x0_eps(Prediction kind, const NoiseLevel& level);
// Prediction `to` as an affine function of (x_t, f) with f of kind `from`.
AffineCoefficients convert_coefficients(Prediction from, Prediction to, const NoiseLevel& level);

// Batched conversion: pred and x are [B, ...] (same shape), t is [B] (one time per row).
torch::Tensor convert_prediction(const torch::Tensor& pred, Prediction from, Prediction to,
                                 const torch::Tensor& x, const torch::Tensor& t, const Schedule& schedule);

// Per-row coefficient column shaped [B, 1, ..., 1] to broadcast against x ([B, ...]), in x's dtype.
torch::Tensor row_coefficients(const std::vector<double>& per_row, const torch::Tensor& like);

}  // namespace optidiff::diffusion
