// optidiff/diffusion/cfg_rejection.hpp: CFG-Rejection (Wang, Tang & Chang, arXiv 2505.23343; research
// note paratAA-cfgrej.md Sec. 3): early filtering of CFG samples by their accumulated score difference.
//
// Along a guided trajectory both halves of CFG are computed anyway, so the per-step difference between the
// conditional and unconditional predictions costs one norm. Its accumulation over the first tau steps (the
// ASD) ranks candidates; the K with the HIGHEST ASD are finished, the rest are dropped after tau steps:
//   cost N * tau + K * (T - tau) guided steps instead of N * T for best-of-N (note Sec. 3.5).
//
// ASD variants (note Sec. 3.1 table):
//   paper  E = sum_{first tau steps} G_s^2,  G_s = || score_c - score_u ||_2 = || eps_c - eps_u ||_2 / sigma_s
//          (the paper's Eq.: squared l2 of the score difference over the whole flattened sample)
//   code   E = mean_{first tau steps} q_s, unsquared, with q_s the released code's quantity for the model
//          family: || eps_c - eps_u || for variance-preserving models (benchmark/generate_sd1.5.py) and
//          sigma_s || v_c - v_u || for rectified-flow velocity models (the SD3/FlowMatchEuler notebook).
// Differences are taken of the plan's output kind and mapped to eps (or velocity) through the schedule's
// affine converters; the x_t terms cancel, so only the prediction coefficient enters. A step is counted when
// the model is evaluated at its start time tau_s; a Heun step contributes its first (predictor) evaluation.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/sampler.hpp"

namespace optidiff::diffusion {

enum class AsdVariant { kPaper, kCode };
AsdVariant parse_asd_variant(std::string_view name);  // "paper" | "code"; kInvalidArgument otherwise
const char* asd_variant_name(AsdVariant v);

// The per-step score-difference quantity of one step (G_s^2 for paper, q_s for code), one value per row of
// the guided prediction g (which must carry both halves). Differentiates in the plan's output kind.
torch::Tensor step_score_difference(const Plan& plan, int s, const GuidedPrediction& g, AsdVariant variant);

// Accumulates the ASD of n candidates over the steps it observes (sum for paper, mean for code).
class AsdTracker {
 public:
  AsdTracker(const Plan& plan, AsdVariant variant) : plan_(plan), variant_(variant) {}
  void observe(int s, const GuidedPrediction& g);  // kInvalidArgument if g has no unconditional half
  // One value per candidate over the first `first` observed steps (all when first < 0); empty before any step.
  std::vector<double> asd(int first = -1) const;
  const std::vector<std::vector<double>>& per_step() const { return per_step_; }  // [steps seen][n]

 private:
  const Plan& plan_;
  AsdVariant variant_;
  std::vector<std::vector<double>> per_step_;
};

struct RejectionOptions {
  int keep = 4;        // K: survivors, 1 <= K <= N
  int at_step = 10;    // tau: steps run by every candidate, 1 <= tau < T
  AsdVariant variant = AsdVariant::kPaper;
  void validate(int candidates, int steps) const;  // kInvalidArgument naming --keep / --at-step
};

struct RejectionResult {
  torch::Tensor samples;            // [K, ...]: the survivors' final samples, in the order of `kept`
  std::vector<double> asd;          // [N]: ASD of every candidate at tau
  std::vector<std::int64_t> kept;   // [K]: indices of the survivors, by decreasing ASD (ties: lower index)
  std::int64_t nfe = 0;             // network evaluations spent (read off the denoiser's counter)
};

// Indices of the k largest values, by decreasing value, ties to the lower index.
std::vector<std::int64_t> top_k_indices(const std::vector<double>& values, int k);

// CFG-Rejection with early stopping: all N = labels.size(0) candidates (noise [T + 1, N, ...] from
// draw_noise) run tau steps in one batch, the top K by ASD continue alone to x_0. Every candidate's
// trajectory depends only on its own noise rows, so a survivor's output is the one it would have had
// without the others. `denoise` must return both halves (GuidanceOptions::keep_halves, scale != 1 for a
// non-zero difference); `model` is the denoiser behind it, whose NFE counter is read.
RejectionResult sample_with_rejection(const Plan& plan, const DenoiseFn& denoise, Denoiser& model,
                                      const torch::Tensor& noise, const torch::Tensor& labels, torch::ScalarType dtype,
                                      const RejectionOptions& options);

}  // namespace optidiff::diffusion
