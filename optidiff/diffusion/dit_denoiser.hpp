// optidiff/diffusion/dit_denoiser.hpp: the trained DiT behind the Denoiser interface (denoiser.hpp), and
// where the shipped models live.
//
// A flow-objective DiT predicts the velocity on the rectified-flow schedule; an eps-objective DiT
// predicts epsilon on the DDPM linear VP schedule (train.hpp). The weights are frozen (requires_grad
// false), so sampling builds no autograd graph unless an input requires grad (PNO differentiates through
// the sampler with respect to the noise and the class embedding, never the weights).
//   auto model = load_denoiser(default_model_path());           // models/dit-flow-small/model.ckpt
//   Plan plan = make_plan(model->schedule(), {.sampler = SamplerKind::kEuler, .steps = 50});
//   x0 = sample(plan, make_denoise_fn(*model, plan.output, {.scale = 3}), noise, labels, torch::kFloat32);
#pragma once

#include <memory>
#include <string>

#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/dit.hpp"
#include "optidiff/diffusion/precision.hpp"
#include "optidiff/diffusion/train.hpp"

namespace optidiff::diffusion {

class DitDenoiser : public Denoiser {
 public:
  DitDenoiser(DiT model, Objective objective, std::string description);
  Prediction prediction() const override;
  const Schedule& schedule() const override { return schedule_; }
  int num_classes() const override { return model_->config().num_classes; }
  std::string describe() const override { return description_; }
  DiT& model() { return model_; }
  Objective objective() const { return objective_; }
  // The arithmetic of every forward pass (precision.hpp); default fp32. kAuto is resolved here.
  void set_precision(Precision p) { precision_ = resolve_precision(p); }
  Precision precision() const { return precision_; }

 protected:
  // Runs the network in float32 (or under bf16 autocast) and returns x's dtype.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) override;

 private:
  DiT model_;
  Objective objective_;
  Schedule schedule_;
  std::string description_;
  Precision precision_ = Precision::kFp32;
};

// Loads a checkpoint written by `optidiff diffusion train` (model.ckpt or train_state.ckpt).
std::unique_ptr<DitDenoiser> load_denoiser(const std::string& path);

// The models directory: $OPTIDIFF_MODELS if set, else ./models if it holds the default model, else the
// source tree's models/ (compiled in).
std::string models_dir();
// models_dir()/dit-flow-small/model.ckpt, the shipped flow-matching DiT (`optidiff sample`'s default).
std::string default_model_path();
// models_dir()/classifier/classifier.ckpt, the shipped classifier C_A (may serve inside loops).
std::string default_classifier_path();
// models_dir()/judge/judge.ckpt, the shipped independent judge C_B (evaluation only).
std::string default_judge_path();

}  // namespace optidiff::diffusion
