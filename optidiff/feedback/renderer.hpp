// optidiff/feedback/renderer.hpp: what the image-steering sessions need from a generative model,
// kept free of libtorch so that the service (and the generic ask/tell API) builds without it. The
// DiT implementation is dit_renderer.hpp (target optidiff::feedback_dit, built with
// OPTIDIFF_WITH_DIFFUSION).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

namespace optidiff::feedback {

struct ImageSettings {
  int label = -1;                 // class index, or -1 for the unconditional model
  std::string sampler = "euler";  // ddim, ddpm, euler, heun (diffusion/sampler.hpp)
  int steps = 20;
  double cfg = 3.0;  // classifier-free guidance scale (ignored when unconditional)
  std::uint64_t noise_seed =
      0;  // the sampler's per-step noise (ddpm) is fixed by it: an image is a
          // function of the latent alone, which is what ZO-RankSGD optimises
};

class ImageRenderer {
 public:
  virtual ~ImageRenderer() = default;
  virtual int latent_dim() const = 0;  // the dimension d of the optimised initial noise
  virtual std::vector<std::string> class_names() const = 0;
  virtual std::vector<std::string> sampler_names() const = 0;
  // Throws Error(kInvalidArgument) naming the setting.
  virtual void validate(const ImageSettings& settings) const = 0;
  // One PNG per column of latents (d x n). Safe to call from several threads (serialised inside).
  virtual std::vector<std::string> render_png(const Eigen::MatrixXd& latents,
                                              const ImageSettings& settings) = 0;
};

}  // namespace optidiff::feedback
