// optidiff/feedback/dit_renderer.hpp (target optidiff::feedback_dit): the shipped DiT as an
// ImageRenderer. The optimised latent is the sampler's initial noise x_T (1 x 28 x 28, d = 784).
//
// Before sampling, a latent is scaled to norm sqrt(d): x_T ~ N(0, I) concentrates on that sphere,
// and a ZO-RankSGD step or perturbation that changes the norm would otherwise push the sampler off
// the noise it was trained on (washed-out or saturated images). Rankings then steer the direction
// of the noise, which is what decides the image. Torch stays in the .cpp: this header is
// torch-free.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "optidiff/feedback/renderer.hpp"

namespace optidiff::feedback {

struct DitRendererOptions {
  std::string model_path;  // "" = diffusion::default_model_path()
  int scale = 4;           // nearest-neighbour upscaling of the 28 x 28 output in the PNG
};

class DitRenderer final : public ImageRenderer {
 public:
  explicit DitRenderer(const DitRendererOptions& options = {});  // loads the model; throws Error
  ~DitRenderer() override;
  int latent_dim() const override { return 28 * 28; }
  std::vector<std::string> class_names() const override;
  std::vector<std::string> sampler_names() const override;
  void validate(const ImageSettings& settings) const override;
  std::vector<std::string> render_png(const Eigen::MatrixXd& latents,
                                      const ImageSettings& settings) override;
  // The images themselves, float32 in [-1, 1], n x 784 row-major (what the PNGs quantise).
  std::vector<float> render(const Eigen::MatrixXd& latents, const ImageSettings& settings);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;  // the denoiser counts evaluations and is not thread-safe
};

}  // namespace optidiff::feedback
