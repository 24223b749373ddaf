// optidiff/diffusion/sampler.cpp
#include "optidiff/diffusion/sampler.hpp"

#include <cmath>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::diffusion {

SamplerKind parse_sampler(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kSamplerNames); ++i)
    if (name == kSamplerNames[i]) return static_cast<SamplerKind>(i);
  throw_invalid("sampler is '" + std::string(name) + "'; expected ddim|ddpm|euler|heun");
}

bool Plan::deterministic() const {
  for (double v : c)
    if (v != 0.0) return false;
  return true;
}

int Plan::evaluations() const {
  int n = steps();
  for (int s = 0; s < steps(); ++s) n += second_order(s) ? 1 : 0;
  return n;
}

Plan make_plan(const Schedule& schedule, const PlanOptions& o) {
  if (o.steps < 1) throw_invalid("steps is " + std::to_string(o.steps) + "; expected >= 1");
  const bool ddim = o.sampler == SamplerKind::kDdim;
  if (!std::isfinite(o.eta) || o.eta < 0 || o.eta > 1)
    throw_invalid("eta is " + std::to_string(o.eta) + "; expected 0 <= eta <= 1");
  if (!ddim && o.eta != 0)
    throw_invalid(std::string("eta is ") + std::to_string(o.eta) + " but only ddim takes eta (sampler " +
                  sampler_name(o.sampler) + ")");
  Plan p;
  p.sampler = o.sampler;
  p.schedule = schedule;
  p.output = o.output ? *o.output : (schedule.is_flow() ? Prediction::kVelocity : Prediction::kEpsilon);
  p.eta = o.sampler == SamplerKind::kDdpm ? 1.0 : o.eta;
  p.t = sampling_times(schedule, o.steps, o.spacing, o.steps_offset, o.set_alpha_to_one);
  const int steps = o.steps;
  p.a.resize(steps);
  p.b.resize(steps);
  p.c.assign(steps, 0.0);
  if (o.sampler == SamplerKind::kHeun) {
    p.ac.resize(steps);
    p.b1.resize(steps);
    p.b2.assign(steps, 0.0);
  }
  for (int s = 0; s < steps; ++s) {
    const NoiseLevel hi = schedule.at(p.t[s + 1]), lo = schedule.at(p.t[s]);
    if (o.sampler == SamplerKind::kDdim || o.sampler == SamplerKind::kDdpm) {
      // DDIM (Song et al. 2021, Eq. 12) with x0_hat, eps_hat as affine functions of (x_{s+1}, f).
      const AffineCoefficients x0 = x0_from(p.output, hi), eps = eps_from(p.output, hi);
      double sigma_post = 0;
      if (lo.sigma > 0) {
        const double ratio = hi.alpha / lo.alpha;  // alpha_{t|s}
        sigma_post = lo.sigma / hi.sigma * std::sqrt(std::max(hi.sigma * hi.sigma - ratio * ratio * lo.sigma * lo.sigma, 0.0));
      }
      const double c = p.eta * sigma_post;
      const double d = std::sqrt(std::max(lo.sigma * lo.sigma - c * c, 0.0));
      p.a[s] = lo.alpha * x0.x_coef + d * eps.x_coef;
      p.b[s] = lo.alpha * x0.f_coef + d * eps.f_coef;
      p.c[s] = c;
    } else {
      // Euler on dx/dt = u(x, t); u = velocity as an affine function of (x, f).
      const double h = p.t[s] - p.t[s + 1];
      const AffineCoefficients u = convert_coefficients(p.output, Prediction::kVelocity, hi);
      p.a[s] = 1.0 + h * u.x_coef;
      p.b[s] = h * u.f_coef;
      if (o.sampler == SamplerKind::kHeun) {
        if (p.t[s] > 0) {
          // Trapezoid: x_s = x + h/2 (u(x, tau_s) + u(x~, t_s)), x~ = a x + b f1 (Karras et al. Alg. 1).
          const AffineCoefficients u2 = convert_coefficients(p.output, Prediction::kVelocity, lo);
          p.ac[s] = 1.0 + 0.5 * h * (u.x_coef + u2.x_coef * p.a[s]);
          p.b1[s] = 0.5 * h * (u.f_coef + u2.x_coef * p.b[s]);
          p.b2[s] = 0.5 * h * u2.f_coef;
        } else {
          p.ac[s] = p.a[s];
          p.b1[s] = p.b[s];
        }
      }
    }
    for (double v : {p.a[s], p.b[s], p.c[s]})
      if (!std::isfinite(v))
        throw_invalid("plan coefficient at step " + std::to_string(s) + " (t = " + std::to_string(p.t[s + 1]) +
                      ") is not finite for prediction kind '" + prediction_name(p.output) + "'");
  }
  return p;
}

torch::Tensor draw_noise(const Plan& plan, int64_t n, const std::vector<int64_t>& sample_shape, std::uint64_t seed) {
  if (n < 1) throw_invalid("number of samples is " + std::to_string(n) + "; expected >= 1");
  int64_t d = 1;
  for (int64_t v : sample_shape) {
    if (v < 1) throw_invalid("sample shape has a dimension < 1");
    d *= v;
  }
  const int64_t steps = plan.steps();
  std::vector<int64_t> shape{steps + 1, n};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  torch::Tensor noise = torch::empty(shape, torch::kFloat64);
  double* base = noise.data_ptr<double>();
  const Rng root(seed);
  for (int64_t i = 0; i < n; ++i) {
    Rng rng = root.stream(static_cast<std::uint64_t>(i));
    for (int64_t s = steps; s >= 0; --s) rng.fill_normal(base + (s * n + i) * d, static_cast<std::size_t>(d));
  }
  return noise;
}

torch::Tensor plan_step(const Plan& plan, int s, const torch::Tensor& x_next, const torch::Tensor& f,
                        const torch::Tensor& xi) {
  torch::Tensor out = plan.a[s] * x_next + plan.b[s] * f;
  if (plan.c[s] != 0.0) out += plan.c[s] * xi.to(x_next.scalar_type());
  return out;
}

torch::Tensor sample(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise, const torch::Tensor& labels,
                     torch::ScalarType dtype, const StepObserver& observer) {
  const int steps = plan.steps();
  if (noise.dim() < 3 || noise.size(0) != steps + 1)
    throw_invalid("noise must be [T + 1, n, ...] with T = " + std::to_string(steps) + " (use draw_noise)");
  return continue_sample(plan, denoise, noise[steps].to(dtype), steps - 1, noise, labels, observer);
}

torch::Tensor continue_sample(const Plan& plan, const DenoiseFn& denoise, torch::Tensor x, int from,
                              const torch::Tensor& noise, const torch::Tensor& labels, const StepObserver& observer) {
  const int steps = plan.steps();
  if (from < -1 || from >= steps)
    throw_invalid("continue_sample: step " + std::to_string(from) + " is outside [-1, " + std::to_string(steps) + ")");
  const int64_t n = x.size(0);
  if (noise.dim() < 3 || noise.size(0) != steps + 1 || noise.size(1) != n)
    throw_invalid("noise must be [T + 1, n, ...] with T = " + std::to_string(steps) + " and n = " + std::to_string(n));
  if (labels.dim() != 1 || labels.size(0) != n) throw_invalid("labels must be [n] with n = " + std::to_string(n));
  const torch::ScalarType dtype = x.scalar_type();
  for (int s = from; s >= 0; --s) {
    const GuidedPrediction g = denoise(x, torch::full({n}, plan.t[s + 1], torch::kFloat64), labels);
    const torch::Tensor f = g.pred.to(dtype);
    if (plan.second_order(s)) {
      const torch::Tensor x_pred = plan.a[s] * x + plan.b[s] * f;
      const torch::Tensor f2 = denoise(x_pred, torch::full({n}, plan.t[s], torch::kFloat64), labels).pred.to(dtype);
      x = plan.ac[s] * x + plan.b1[s] * f + plan.b2[s] * f2;
    } else {
      x = plan_step(plan, s, x, f, noise[s]);
    }
    if (observer && observer(s, x, g)) break;
  }
  return x;
}

torch::Tensor invert(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& x0, const torch::Tensor& labels,
                     int iterations) {
  if (!plan.deterministic() || plan.sampler == SamplerKind::kHeun)
    throw_invalid(std::string("invert needs a deterministic one-evaluation plan (ddim with eta = 0, or euler); got ") +
                  sampler_name(plan.sampler) + " with eta " + std::to_string(plan.eta));
  if (iterations < 1) throw_invalid("invert: iterations must be >= 1");
  const int64_t n = x0.size(0);
  torch::Tensor x = x0;
  for (int s = 0; s < plan.steps(); ++s) {
    const torch::Tensor tau = torch::full({n}, plan.t[s + 1], torch::kFloat64);
    torch::Tensor y = x;  // x_{s+1} = (x_s - b f(x_{s+1}, tau_s)) / a, fixed point from y = x_s
    for (int k = 0; k < iterations; ++k) y = (x - plan.b[s] * denoise(y, tau, labels).pred.to(x.scalar_type())) / plan.a[s];
    x = y;
  }
  return x;
}

}  // namespace optidiff::diffusion
