// optidiff/diffusion/denoiser.cpp
#include "optidiff/diffusion/denoiser.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {

torch::Tensor Denoiser::predict(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) {
  if (!x.defined() || x.dim() < 2 || x.size(0) < 1)
    throw_invalid("denoiser input x must be [B, ...] with B >= 1");
  if (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kFloat64)
    throw_invalid("denoiser input x must be float32 or float64");
  const int64_t b = x.size(0);
  if (!t.defined() || t.dim() != 1 || t.size(0) != b || !t.is_floating_point())
    throw_invalid("denoiser time t must be a floating [B] tensor with B = " + std::to_string(b));
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != b || labels.scalar_type() != torch::kInt64)
    throw_invalid("denoiser labels must be an int64 [B] tensor with B = " + std::to_string(b));
  const torch::Tensor t64 = t.to(x.device(), torch::kFloat64);
  const double tmin = t64.min().item<double>(), tmax = t64.max().item<double>();
  if (!(tmin >= 0.0 && tmax <= 1.0))
    throw_invalid("denoiser time t has values in [" + std::to_string(tmin) + ", " + std::to_string(tmax) +
                  "]; expected 0 <= t <= 1");
  const int64_t lmin = labels.min().item<int64_t>(), lmax = labels.max().item<int64_t>();
  if (lmin < 0 || lmax > num_classes())
    throw_invalid("denoiser labels lie in [" + std::to_string(lmin) + ", " + std::to_string(lmax) +
                  "]; expected 0 <= label <= " + std::to_string(num_classes()) + " (the null label)");
  torch::Tensor out = forward(x, t64, labels.to(x.device()));
  nfe_ += b;
  calls_ += 1;
  if (!out.defined() || out.sizes() != x.sizes())
    throw Error(ErrorCode::kInternal, "denoiser '" + describe() + "' returned a tensor of the wrong shape");
  return out.to(x.scalar_type());
}

torch::Tensor Denoiser::predict_as(Prediction kind, const torch::Tensor& x, const torch::Tensor& t,
                                   const torch::Tensor& labels) {
  return convert_prediction(predict(x, t, labels), prediction(), kind, x, t, schedule());
}

void check_guidance_scale(double scale, const char* what) {
  if (!std::isfinite(scale) || scale < 0) {
    std::ostringstream os;
    os << what << " is " << scale << "; expected a finite number >= 0 (1 = conditional, 0 = unconditional)";
    throw_invalid(os.str());
  }
}

ClassifierFreeGuidance::ClassifierFreeGuidance(Denoiser& model, GuidanceOptions options)
    : model_(model), options_(options) {
  check_guidance_scale(options.scale);
}

GuidedPrediction ClassifierFreeGuidance::predict(const torch::Tensor& x, const torch::Tensor& t,
                                                 const torch::Tensor& labels, Prediction kind) const {
  GuidedPrediction g;
  if (options_.scale == 1.0 && !options_.keep_halves) {
    g.pred_cond = model_.predict_as(kind, x, t, labels);
    g.pred = g.pred_cond;
    return g;
  }
  // One batch [uncond; cond] (diffusers' order).
  const int64_t b = x.size(0);
  const torch::Tensor null = torch::full_like(labels, model_.null_label());
  const torch::Tensor both = model_.predict_as(kind, torch::cat({x, x}), torch::cat({t, t}),
                                               torch::cat({null, labels}));
  g.pred_uncond = both.slice(0, 0, b);
  g.pred_cond = both.slice(0, b, 2 * b);
  // pred_c + (w - 1)(pred_c - pred_u): exactly pred_c at w = 1 (Ho & Salimans 2022, Eq. 6 rearranged).
  g.pred = options_.scale == 1.0 ? g.pred_cond
                                 : g.pred_cond + (options_.scale - 1.0) * (g.pred_cond - g.pred_uncond);
  return g;
}

DenoiseFn make_denoise_fn(Denoiser& model, Prediction kind, GuidanceOptions guidance) {
  ClassifierFreeGuidance cfg(model, guidance);
  return [cfg, kind](const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) {
    return cfg.predict(x, t, labels, kind);
  };
}

}  // namespace optidiff::diffusion
