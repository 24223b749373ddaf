#include "optidiff/feedback/dit_renderer.hpp"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "optidiff/feedback/png.hpp"

namespace optidiff::feedback {

namespace dd = optidiff::diffusion;

struct DitRenderer::Impl {
  std::unique_ptr<dd::DitDenoiser> model;
  int scale = 4;
};

DitRenderer::DitRenderer(const DitRendererOptions& options) : impl_(std::make_unique<Impl>()) {
  const std::string path =
      options.model_path.empty() ? dd::default_model_path() : options.model_path;
  if (!std::filesystem::exists(path))
    throw_not_found("the image model " + path + " does not exist");
  impl_->model = dd::load_denoiser(path);
  impl_->scale = options.scale;
}

DitRenderer::~DitRenderer() = default;

std::vector<std::string> DitRenderer::class_names() const {
  const int n = impl_->model->num_classes();
  std::vector<std::string> names;
  for (int c = 0; c < n; ++c)
    names.push_back(n == data::kFashionClasses
                        ? std::string(data::fashion_short_names()[static_cast<std::size_t>(c)])
                        : std::to_string(c));
  return names;
}

std::vector<std::string> DitRenderer::sampler_names() const {
  return {std::begin(dd::kSamplerNames), std::end(dd::kSamplerNames)};
}

void DitRenderer::validate(const ImageSettings& s) const {
  dd::parse_sampler(s.sampler);  // kInvalidArgument listing the names
  if (s.label < -1 || s.label >= impl_->model->num_classes())
    throw_invalid("class " + std::to_string(s.label) +
                  " does not exist; expected -1 (unconditional) or 0.." +
                  std::to_string(impl_->model->num_classes() - 1));
  if (s.steps < 1) throw_invalid("steps is " + std::to_string(s.steps) + "; expected >= 1");
  dd::check_guidance_scale(s.cfg, "cfg");
}

std::vector<float> DitRenderer::render(const Eigen::MatrixXd& latents, const ImageSettings& s) {
  validate(s);
  const int d = latent_dim();
  if (latents.rows() != d)
    throw_invalid("a latent has " + std::to_string(latents.rows()) + " numbers; expected " +
                  std::to_string(d));
  const auto n = static_cast<int64_t>(latents.cols());
  std::lock_guard lock(mutex_);
  torch::NoGradGuard no_grad;
  dd::Plan plan = dd::make_plan(impl_->model->schedule(),
                                {.sampler = dd::parse_sampler(s.sampler), .steps = s.steps});
  // The per-step noise (ddpm only) is drawn once for the session and shared by every candidate, so
  // an image depends on its latent alone.
  torch::Tensor noise =
      dd::draw_noise(plan, 1, {1, 28, 28}, s.noise_seed).expand({-1, n, 1, 28, 28}).clone();
  torch::Tensor x = torch::empty({n, d}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    const Eigen::VectorXd col = latents.col(i);
    const double norm = col.norm();
    // Projection onto the sphere of radius sqrt(d) (see the header); a zero latent stays zero.
    const double f = norm > 0 ? std::sqrt(static_cast<double>(d)) / norm : 0.0;
    std::memcpy(x[i].data_ptr<double>(), col.data(), sizeof(double) * static_cast<std::size_t>(d));
    x[i].mul_(f);
  }
  noise[plan.steps()] = x.reshape({n, 1, 28, 28});
  const bool unconditional = s.label < 0;
  const int label = unconditional ? impl_->model->null_label() : s.label;
  const dd::DenoiseFn fn = dd::make_denoise_fn(
      *impl_->model, plan.output, {.scale = unconditional ? 1.0 : s.cfg, .keep_halves = false});
  torch::Tensor out =
      dd::sample(plan, fn, noise, torch::full({n}, label, torch::kInt64), torch::kFloat32);
  out = out.to(torch::kFloat32).reshape({n, d}).contiguous();
  return {out.data_ptr<float>(), out.data_ptr<float>() + n * d};
}

std::vector<std::string> DitRenderer::render_png(const Eigen::MatrixXd& latents,
                                                 const ImageSettings& s) {
  const std::vector<float> pixels = render(latents, s);
  const int d = latent_dim(), scale = impl_->scale;
  std::vector<std::string> out;
  for (Eigen::Index i = 0; i < latents.cols(); ++i) {
    const Image small = Image::from_gray(pixels.data() + i * d, 28, 28, -1.f, 1.f);
    Image big(28 * scale, 28 * scale, 1);
    for (int y = 0; y < big.height; ++y)
      for (int xx = 0; xx < big.width; ++xx) *big.at(xx, y) = *small.at(xx / scale, y / scale);
    out.push_back(encode_png(big));
  }
  return out;
}

}  // namespace optidiff::feedback
