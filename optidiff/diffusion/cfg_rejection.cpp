#include "optidiff/diffusion/cfg_rejection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {

AsdVariant parse_asd_variant(std::string_view name) {
  if (name == "paper") return AsdVariant::kPaper;
  if (name == "code") return AsdVariant::kCode;
  throw_invalid("--asd is '" + std::string(name) + "'; expected paper or code");
}

const char* asd_variant_name(AsdVariant v) { return v == AsdVariant::kPaper ? "paper" : "code"; }

torch::Tensor step_score_difference(const Plan& plan, int s, const GuidedPrediction& g, AsdVariant variant) {
  if (!g.pred_uncond.defined() || !g.pred_cond.defined())
    throw_invalid("the accumulated score difference needs both CFG halves (guidance with keep_halves)");
  const NoiseLevel level = plan.schedule.at(plan.tau(s));
  const torch::Tensor diff = (g.pred_cond - g.pred_uncond).to(torch::kFloat64).flatten(1);
  if (variant == AsdVariant::kPaper) {
    // score = -eps / sigma; eps = x_coef x + f_coef f, so the score difference is -f_coef diff / sigma.
    // At sigma = 0 (never an evaluation time of a plan) the score is undefined.
    const double k = eps_from(plan.output, level).f_coef / level.sigma;
    return (k * k) * diff.square().sum(1);
  }
  // code: sigma ||v_c - v_u|| for flow models, ||eps_c - eps_u|| for VP models.
  const bool flow = plan.schedule.kind() == ScheduleKind::kRectifiedFlow;
  const double k = flow ? level.sigma * convert_coefficients(plan.output, Prediction::kVelocity, level).f_coef
                        : eps_from(plan.output, level).f_coef;
  return std::abs(k) * diff.norm(2, {1});
}

void AsdTracker::observe(int s, const GuidedPrediction& g) {
  const torch::Tensor q = step_score_difference(plan_, s, g, variant_).contiguous();
  per_step_.emplace_back(q.data_ptr<double>(), q.data_ptr<double>() + q.numel());
}

std::vector<double> AsdTracker::asd(int first) const {
  const std::size_t steps = first < 0 ? per_step_.size() : std::min<std::size_t>(first, per_step_.size());
  if (steps == 0) return {};
  std::vector<double> e(per_step_.front().size(), 0.0);
  for (std::size_t s = 0; s < steps; ++s)
    for (std::size_t i = 0; i < e.size(); ++i) e[i] += per_step_[s][i];
  if (variant_ == AsdVariant::kCode)
    for (double& v : e) v /= static_cast<double>(steps);
  return e;
}

void RejectionOptions::validate(int candidates, int steps) const {
  if (candidates < 1) throw_invalid("--candidates is " + std::to_string(candidates) + "; expected >= 1");
  if (keep < 1 || keep > candidates)
    throw_invalid("--keep is " + std::to_string(keep) + "; expected 1 <= keep <= --candidates (" +
                  std::to_string(candidates) + ")");
  if (at_step < 1 || at_step >= steps)
    throw_invalid("--at-step is " + std::to_string(at_step) + "; expected 1 <= at-step < --steps (" +
                  std::to_string(steps) + ")");
}

std::vector<std::int64_t> top_k_indices(const std::vector<double>& values, int k) {
  std::vector<std::int64_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), 0);
  // NaN sorts last: a candidate whose score difference is not a number is never preferred.
  auto key = [&](std::int64_t i) { return std::isnan(values[i]) ? -INFINITY : values[i]; };
  std::stable_sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) { return key(a) > key(b); });
  idx.resize(std::min<std::size_t>(idx.size(), static_cast<std::size_t>(std::max(k, 0))));
  return idx;
}

RejectionResult sample_with_rejection(const Plan& plan, const DenoiseFn& denoise, Denoiser& model,
                                      const torch::Tensor& noise, const torch::Tensor& labels, torch::ScalarType dtype,
                                      const RejectionOptions& options) {
  const int steps = plan.steps();
  if (noise.dim() < 3 || noise.size(0) != steps + 1)
    throw_invalid("noise must be [T + 1, n, ...] with T = " + std::to_string(steps) + " (use draw_noise)");
  const auto n = static_cast<int>(noise.size(1));
  options.validate(n, steps);
  const std::int64_t nfe_before = model.nfe();

  // Stage 1: every candidate runs tau steps (s = T-1 .. T-tau), the tracker reading both halves.
  AsdTracker tracker(plan, options.variant);
  const int last_early = steps - options.at_step;
  torch::Tensor x = sample(plan, denoise, noise, labels, dtype, [&](int s, const torch::Tensor&, const GuidedPrediction& g) {
    tracker.observe(s, g);
    return s == last_early;
  });

  RejectionResult r;
  r.asd = tracker.asd();
  r.kept = top_k_indices(r.asd, options.keep);
  // Stage 2: the survivors alone, from x_{T - tau} with their own noise rows.
  const torch::Tensor keep = torch::tensor(r.kept, torch::kInt64);
  r.samples = continue_sample(plan, denoise, x.index_select(0, keep), last_early - 1, noise.index_select(1, keep),
                              labels.index_select(0, keep));
  r.nfe = model.nfe() - nfe_before;
  return r;
}

}  // namespace optidiff::diffusion
