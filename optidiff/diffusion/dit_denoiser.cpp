#include "optidiff/diffusion/dit_denoiser.hpp"

#include <cstdlib>
#include <filesystem>

#include "optidiff/core/error.hpp"

#ifndef OPTIDIFF_MODELS_DIR
#define OPTIDIFF_MODELS_DIR "models"
#endif

namespace optidiff::diffusion {

DitDenoiser::DitDenoiser(DiT model, Objective objective, std::string description)
    : model_(std::move(model)),
      objective_(objective),
      schedule_(objective_schedule(objective)),
      description_(std::move(description)) {
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
  model_->eval();
}

Prediction DitDenoiser::prediction() const {
  return objective_ == Objective::kFlow ? Prediction::kVelocity : Prediction::kEpsilon;
}

torch::Tensor DitDenoiser::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& labels) {
  AutocastScope autocast(precision_);
  return model_->forward(x.to(torch::kFloat32), t.to(torch::kFloat32), labels).to(x.scalar_type());
}

std::unique_ptr<DitDenoiser> load_denoiser(const std::string& path) {
  auto loaded = load_dit(path);
  const auto& c = loaded.model->config();
  const std::string what = "DiT " + c.name + " (" + objective_name(loaded.objective) + ", d=" +
                           std::to_string(c.width) + ", depth " + std::to_string(c.depth) + ", patch " +
                           std::to_string(c.patch) + ", step " + loaded.meta.value("step", Json(0)).dump() +
                           ") from " + path;
  return std::make_unique<DitDenoiser>(loaded.model, loaded.objective, what);
}

std::string models_dir() {
  if (const char* env = std::getenv("OPTIDIFF_MODELS"); env && *env) return env;
  if (std::filesystem::exists("models/dit-flow-small/model.ckpt")) return "models";
  return OPTIDIFF_MODELS_DIR;
}

std::string default_model_path() { return models_dir() + "/dit-flow-small/model.ckpt"; }
std::string default_classifier_path() { return models_dir() + "/classifier/classifier.ckpt"; }
std::string default_judge_path() { return models_dir() + "/judge/judge.ckpt"; }

}  // namespace optidiff::diffusion
