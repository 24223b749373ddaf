// optidiff/diffusion/denoiser.hpp: the batched denoiser interface every sampler and solver calls,
// classifier-free guidance, and the network-evaluation (NFE) counter.
//
// Conventions (DESIGN.md; agreed between the mixture oracle and the DiT):
//   x       float32 or float64 [B, ...]: images [B, 1, 28, 28] in [-1, 1]; the mixture takes [B, D] or any
//           [B, ...] shape, flattened per row.
//   t       floating [B], one time per row, continuous in [0, 1], t = 1 is pure noise (schedule.hpp).
//   labels  int64 [B], in [0, num_classes]; the label num_classes is the null (unconditional) class.
// A row may carry any t and label: parallel solvers (ParaTAA) evaluate a whole window of timesteps in one
// call, and CFG stacks the conditional and unconditional halves (stable-diffusion.cpp's denoise_cb_t
// takes one sigma per call; this one takes one per row).
//
// NFE: one NFE is one row of x evaluated by the network at one (t, label). A call with B rows costs B.
// CFG evaluates both halves, so one guided step of B images costs 2B; a 50-step guided sample of one
// image costs 100 NFE. calls() counts batched forward passes (the "parallel rounds" of ParaTAA).
//
//   DitDenoiser model = ...;                        // or GaussianMixtureDenoiser (gmm.hpp)
//   ClassifierFreeGuidance cfg(model, {.scale = 3.0});
//   GuidedPrediction g = cfg.predict(x, t, labels, Prediction::kEpsilon);  // g.pred, g.pred_cond, ...
//   model.nfe();                                    // 2 * B so far
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/torch.h>

#include "optidiff/diffusion/prediction.hpp"
#include "optidiff/diffusion/schedule.hpp"

namespace optidiff::diffusion {

class Denoiser {
 public:
  virtual ~Denoiser() = default;

  virtual Prediction prediction() const = 0;       // the native kind forward() returns
  virtual const Schedule& schedule() const = 0;    // the forward process it was trained for
  virtual int num_classes() const = 0;             // class labels are 0 .. num_classes - 1
  int null_label() const { return num_classes(); }  // the unconditional label
  virtual std::string describe() const = 0;        // one line, printed by commands and stored in --json

  // The native prediction, same shape and dtype as x. Validates shapes, t in [0, 1] and labels in
  // [0, num_classes] (kInvalidArgument naming the input), counts B NFE and one call.
  torch::Tensor predict(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels);
  // predict() converted to `kind` through the schedule (prediction.hpp).
  torch::Tensor predict_as(Prediction kind, const torch::Tensor& x, const torch::Tensor& t,
                           const torch::Tensor& labels);

  std::int64_t nfe() const { return nfe_; }
  std::int64_t calls() const { return calls_; }
  void reset_counters() { nfe_ = calls_ = 0; }

 protected:
  // Inputs already validated; t is float64 [B] on x's device, labels int64 [B].
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                                const torch::Tensor& labels) = 0;

 private:
  std::int64_t nfe_ = 0, calls_ = 0;
};

// Both halves are kept for CFG-Rejection (accumulated score difference needs pred_cond - pred_uncond),
// as stable-diffusion.cpp's GuiderOutput{pred, pred_cond, pred_uncond} does.
struct GuidedPrediction {
  torch::Tensor pred;         // the guided prediction
  torch::Tensor pred_cond;    // conditional half (labels as given)
  torch::Tensor pred_uncond;  // unconditional half (null label); undefined if not evaluated
};

struct GuidanceOptions {
  double scale = 1.0;  // w >= 0, finite; w = 1: conditional, w = 0: unconditional
  // At w = 1 the unconditional half is not needed for pred; true evaluates it anyway (for pred_uncond).
  bool keep_halves = true;
};

// Classifier-free guidance (Ho & Salimans 2022, Eq. 6): pred = pred_u + w (pred_c - pred_u), computed
// as pred_c + (w - 1)(pred_c - pred_u) so that w = 1 returns pred_c bit for bit. Both halves go through
// the network as ONE batch of 2B rows in diffusers' order [uncond; cond] (2B NFE). Guidance is applied in
// the requested kind; conversions are affine, so the result does not depend on the kind it is done in.
class ClassifierFreeGuidance {
 public:
  ClassifierFreeGuidance(Denoiser& model, GuidanceOptions options);  // bad scale: kInvalidArgument
  GuidedPrediction predict(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels,
                           Prediction kind) const;
  Denoiser& model() const { return model_; }
  const GuidanceOptions& options() const { return options_; }

 private:
  Denoiser& model_;
  GuidanceOptions options_;
};

// What samplers and solvers call: (x [B, ...], t [B], labels [B]) -> guided prediction of the plan's kind.
using DenoiseFn = std::function<GuidedPrediction(const torch::Tensor& x, const torch::Tensor& t,
                                                 const torch::Tensor& labels)>;
// A DenoiseFn over `model` with guidance, returning predictions of `kind`. Keeps a reference to model.
DenoiseFn make_denoise_fn(Denoiser& model, Prediction kind, GuidanceOptions guidance = {});

// Checks a guidance scale: finite and >= 0 (kInvalidArgument "--cfg is nan; expected ...").
void check_guidance_scale(double scale, const char* what = "guidance scale");

}  // namespace optidiff::diffusion
