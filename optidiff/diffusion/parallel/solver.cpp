// optidiff/diffusion/parallel/solver.cpp: options, the shared window machinery and round loop, trajectory
// files and the convergence plot. The methods themselves: paratAA.cpp, paradigms.cpp.
#include "optidiff/diffusion/parallel/solver.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/parallel/internal/window.hpp"

namespace optidiff::diffusion {

namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

void check_positive(double v, const char* name) {
  if (!std::isfinite(v) || v <= 0)
    throw_invalid(std::string(name) + " is " + std::to_string(v) + "; expected a positive finite number");
}

}  // namespace

ParallelMethod parse_parallel_method(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kParallelMethodNames); ++i)
    if (name == kParallelMethodNames[i]) return static_cast<ParallelMethod>(i);
  throw_invalid("parallel method is '" + std::string(name) + "'; expected paratAA|paradigms|fp");
}

void ParallelOptions::validate() const {
  if (window < 1) throw_invalid("window W is " + std::to_string(window) + "; expected W >= 1");
  if (order < 0 || order > window)
    throw_invalid("order k is " + std::to_string(order) + " with window W = " + std::to_string(window) +
                  "; expected 1 <= k <= W (or 0 for k = W)");
  if (memory < 1) throw_invalid("memory m is " + std::to_string(memory) + "; expected m >= 1 (1: no acceleration)");
  check_positive(lambda, "lambda");
  check_positive(tol1, "tol1");
  check_positive(tol2, "tol2");
  check_positive(tolerance, "tolerance");
  if (max_iters < 0) throw_invalid("max_iters is " + std::to_string(max_iters) + "; expected >= 0 (0: no cap)");
  if (warm_start && warm_start->variation_steps < 0)
    throw_invalid("variation_steps is " + std::to_string(warm_start->variation_steps) + "; expected 1 <= v <= T");
}

ParallelOptions parallel_defaults(ParallelMethod method) {
  ParallelOptions o;
  o.method = method;
  if (method == ParallelMethod::kFp) o.order = o.memory = 1;
  if (method == ParallelMethod::kParadigms) o.window = 10;  // diffusers' `parallel` default
  return o;
}

namespace parallel_internal {

Problem make_problem(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise, const torch::Tensor& labels,
                     const Denoiser* counter) {
  const int steps = plan.steps();
  if (!plan.b2.empty())
    throw_invalid("parallel sampling needs a one-evaluation plan (ddim, ddpm or euler); heun takes two model "
                  "evaluations per step");
  if (noise.dim() < 3 || noise.size(0) != steps + 1)
    throw_invalid("noise is " + shape_string(noise.sizes()) + "; expected [T + 1, n, ...] with T = " +
                  std::to_string(steps) + " (use draw_noise)");
  Problem p{.plan = plan, .denoise = denoise, .counter = counter};
  p.steps = steps;
  p.n = noise.size(1);
  p.sample_shape.assign(noise.sizes().begin() + 2, noise.sizes().end());
  p.d = noise[0][0].numel();
  if (labels.dim() != 1 || labels.size(0) != p.n)
    throw_invalid("labels are " + shape_string(labels.sizes()) + "; expected [n] with n = " + std::to_string(p.n));
  p.noise = noise.to(torch::kFloat64).reshape({steps + 1, p.n, p.d});
  p.labels = labels.to(torch::kInt64);
  // sigma_hat_s ("noise_thr" of the official code): the DDPM posterior std of step s for any (alpha, sigma),
  // the same expression make_plan uses for ddim's c at eta = 1 (Song et al. 2021, Eq. 16).
  p.sigma_hat.resize(steps);
  for (int s = 0; s < steps; ++s) {
    const NoiseLevel hi = plan.schedule.at(plan.t[s + 1]), lo = plan.schedule.at(plan.t[s]);
    const double ratio = hi.alpha / lo.alpha;
    p.sigma_hat[s] = lo.sigma > 0 ? lo.sigma / hi.sigma *
                                        std::sqrt(std::max(hi.sigma * hi.sigma - ratio * ratio * lo.sigma * lo.sigma, 0.0))
                                  : 0.0;
  }
  return p;
}

State initial_state(const Problem& p, const std::optional<WarmStart>& warm) {
  State st;
  const int T = p.steps;
  st.x = torch::zeros({T + 1, p.n, p.d}, torch::kFloat64);
  if (!warm) {
    st.x[T].copy_(p.noise[T]);
    st.finished = T;
    st.uninit = T - 1;
    return st;
  }
  std::vector<std::int64_t> expected{T + 1, p.n};
  expected.insert(expected.end(), p.sample_shape.begin(), p.sample_shape.end());
  if (warm->trajectory.sizes() != c10::IntArrayRef(expected))
    throw_invalid("warm-start trajectory is " + shape_string(warm->trajectory.sizes()) + "; expected [T + 1, n, ...] = " +
                  shape_string(expected));
  const int v = warm->variation_steps == 0 ? T : warm->variation_steps;
  if (v < 1 || v > T)
    throw_invalid("variation_steps is " + std::to_string(v) + "; expected 1 <= v <= T = " + std::to_string(T));
  st.x.copy_(warm->trajectory.to(torch::kFloat64).reshape({T + 1, p.n, p.d}));
  if (v == T) st.x[T].copy_(p.noise[T]);  // pure warm start: this run's x_T, so this run's fixed point
  st.finished = v;
  st.uninit = -1;
  return st;
}

void expose(State& st, int lo) {
  if (st.uninit < lo) return;
  st.x.slice(0, lo, st.uninit + 1).copy_(st.x[st.uninit + 1].unsqueeze(0).expand({st.uninit + 1 - lo, -1, -1}));
  st.uninit = lo - 1;
}

torch::Tensor evaluate_window(const Problem& p, const torch::Tensor& x, int lo, int hi) {
  const std::int64_t w = hi - lo + 1;
  std::vector<std::int64_t> shape{w * p.n};
  shape.insert(shape.end(), p.sample_shape.begin(), p.sample_shape.end());
  std::vector<double> t(static_cast<std::size_t>(w * p.n));
  for (std::int64_t i = 0; i < w; ++i) std::fill_n(t.begin() + i * p.n, p.n, p.plan.tau(lo + static_cast<int>(i)));
  const torch::Tensor rows = x.slice(0, lo + 1, hi + 2).reshape(shape);
  const torch::Tensor f = p.denoise(rows, torch::tensor(t, torch::kFloat64), p.labels.repeat({w})).pred;
  if (f.numel() != w * p.n * p.d)
    throw_invalid("denoiser returned " + shape_string(f.sizes()) + " for " + shape_string(rows.sizes()) + " inputs");
  return f.to(torch::kFloat64).reshape({w, p.n, p.d});
}

torch::Tensor coefficients(const std::vector<double>& v, int lo, int hi) {
  return torch::tensor(std::vector<double>(v.begin() + lo, v.begin() + hi + 1), torch::kFloat64).view({-1, 1, 1});
}

torch::Tensor forcing(const Problem& p, const torch::Tensor& f, int lo, int hi) {
  torch::Tensor g = coefficients(p.plan.b, lo, hi) * f;
  if (!p.plan.deterministic()) g += coefficients(p.plan.c, lo, hi) * p.noise.slice(0, lo, hi + 1);
  return g;
}

std::vector<double> max_rms(const torch::Tensor& r) {
  const torch::Tensor m = r.pow(2).mean(2).sqrt().amax(1).contiguous();
  return std::vector<double>(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
}

ParallelResult run_rounds(const Problem& p, const ParallelOptions& options, State st, std::vector<double> threshold,
                          const RoundStep& step, const RoundObserver& observer) {
  ParallelResult r;
  r.threshold = std::move(threshold);
  std::vector<std::int64_t> shape{p.steps + 1};
  shape.push_back(p.n);
  shape.insert(shape.end(), p.sample_shape.begin(), p.sample_shape.end());
  const std::int64_t nfe0 = p.counter ? p.counter->nfe() : 0;
  std::int64_t rows = 0;
  while (st.finished > 0) {
    if (options.max_iters > 0 && r.rounds >= options.max_iters) {
      r.stop_reason = "stopped at max_iters = " + std::to_string(options.max_iters) + " rounds with steps " +
                      std::to_string(st.finished - 1) + " .. 0 unfinished";
      break;
    }
    const int before = st.finished;
    RoundRecord rec = step(st);
    // The safeguard (note Sec. 1.3): each round finishes at least one step, so there are at most T rounds.
    OPTIDIFF_CHECK(st.finished < before && st.finished >= 0);
    rec.round = ++r.rounds;
    rows += rec.rows;
    rec.nfe = p.counter ? p.counter->nfe() - nfe0 : rows;
    r.history.push_back(std::move(rec));
    if (observer && observer(r.history.back(), st.x.view(shape)) && st.finished > 0) {
      r.stop_reason = "stopped by the observer after " + std::to_string(r.rounds) + " rounds";
      break;
    }
  }
  r.converged = st.finished == 0;
  if (r.converged) r.stop_reason = "every step converged in " + std::to_string(r.rounds) + " rounds";
  expose(st, 0);  // stopped early: unset steps take the nearest estimate above them
  r.nfe = r.history.empty() ? 0 : r.history.back().nfe;
  r.trajectory = st.x.view(shape);
  r.x0 = r.trajectory[0];
  return r;
}

}  // namespace parallel_internal

ParallelResult solve_parallel(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                              const torch::Tensor& labels, const ParallelOptions& options, const RoundObserver& observer,
                              const Denoiser* counter) {
  options.validate();
  const parallel_internal::Problem p = parallel_internal::make_problem(plan, denoise, noise, labels, counter);
  torch::NoGradGuard no_grad;
  if (options.method == ParallelMethod::kParadigms) return parallel_internal::solve_paradigms(p, options, observer);
  ParallelOptions o = options;
  if (o.method == ParallelMethod::kFp) o.order = o.memory = 1;
  return parallel_internal::solve_paratAA(p, o, observer);
}

torch::Tensor sequential_trajectory(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                                    const torch::Tensor& labels) {
  std::vector<torch::Tensor> xs(static_cast<std::size_t>(plan.steps() + 1));
  xs.back() = noise[plan.steps()].to(torch::kFloat64);
  sample(plan, denoise, noise, labels, torch::kFloat64, [&](int s, const torch::Tensor& x, const GuidedPrediction&) {
    xs[static_cast<std::size_t>(s)] = x;
    return false;
  });
  return torch::stack(xs);
}

namespace {

Json plan_description(const Plan& plan, const std::vector<std::int64_t>& sample_shape) {
  return {{"schedule", plan.schedule.name()}, {"sampler", sampler_name(plan.sampler)}, {"eta", plan.eta},
          {"steps", plan.steps()},           {"times", plan.t},                       {"sample_shape", sample_shape}};
}

}  // namespace

void save_trajectory(const std::string& path, const torch::Tensor& trajectory, const Plan& plan, const Json& meta) {
  if (trajectory.dim() < 3 || trajectory.size(0) != plan.steps() + 1)
    throw_invalid("trajectory is " + shape_string(trajectory.sizes()) + "; expected [T + 1, n, ...]");
  Checkpoint ck;
  ck.kind = "trajectory";
  ck.config = plan_description(plan, {trajectory.sizes().begin() + 2, trajectory.sizes().end()});
  if (meta.is_object()) ck.meta = meta;
  ck.tensors.emplace_back("trajectory", trajectory.to(torch::kFloat64).contiguous());
  save_checkpoint(path, ck);
}

torch::Tensor load_warm_start(const std::string& path, const Plan& plan, std::int64_t n,
                              const std::vector<std::int64_t>& sample_shape) {
  const Checkpoint ck = load_checkpoint(path);
  expect_kind(ck, {"trajectory"});
  const Json want = plan_description(plan, sample_shape);
  for (const char* key : {"schedule", "sampler", "eta", "steps", "sample_shape"})
    if (!ck.config.contains(key) || ck.config[key] != want[key])
      throw_invalid("warm-start file " + path + " was made with " + key + " " +
                    (ck.config.contains(key) ? ck.config[key].dump() : std::string("(missing)")) + "; this run has " +
                    want[key].dump());
  const auto times = ck.config.value("times", std::vector<double>{});
  bool same = times.size() == plan.t.size();
  for (std::size_t i = 0; same && i < times.size(); ++i) same = std::abs(times[i] - plan.t[i]) <= 1e-12;
  if (!same) throw_invalid("warm-start file " + path + " was made on other timesteps (spacing) than this run's plan");
  const torch::Tensor& traj = ck.tensor("trajectory");
  std::vector<std::int64_t> expected{plan.steps() + 1, n};
  expected.insert(expected.end(), sample_shape.begin(), sample_shape.end());
  if (traj.sizes() != c10::IntArrayRef(expected))
    throw_invalid("warm-start file " + path + " holds a trajectory " + shape_string(traj.sizes()) + "; expected " +
                  shape_string(expected) + " (same steps and number of samples)");
  return traj.to(torch::kFloat64);
}

Image render_convergence(const ParallelResult& result, const std::string& title) {
  const int steps = static_cast<int>(result.threshold.size());
  const int rounds = std::max(1, static_cast<int>(result.history.size()));
  const int cw = std::clamp(720 / std::max(steps, 1), 2, 16), ch = std::clamp(360 / rounds, 4, 24);
  const std::string legend = "log10(residual / tolerance): blue <= 0 (converged), red > 0; grey: not reached, green: finished";
  const int left = 44, top = 20, bottom = 30;
  const int width = std::max(left + steps * cw + 8, text_width(legend) + 8);
  Image img(width, top + rounds * ch + bottom, 3, 255);
  auto fill = [&](int x0, int y0, std::array<std::uint8_t, 3> c) {
    for (int y = y0; y < y0 + ch - (ch > 6 ? 1 : 0); ++y)
      for (int x = x0; x < x0 + cw; ++x) std::copy(c.begin(), c.end(), img.at(x, y));
  };
  for (int r = 0; r < static_cast<int>(result.history.size()); ++r) {
    const RoundRecord& rec = result.history[r];
    const int y = top + r * ch;
    if (r == 0 || (r + 1) % std::max(1, 12 / ch) == 0 || r + 1 == rounds) draw_text(img, 2, y, std::to_string(r + 1));
    for (int s = 0; s < steps; ++s) {
      const int x = left + (steps - 1 - s) * cw;
      if (s > rec.window_hi) {
        fill(x, y, {190, 225, 190});
      } else if (s < rec.window_lo || !std::isfinite(rec.residual[s])) {
        fill(x, y, {230, 230, 230});
      } else {
        const double thr = result.threshold[s];
        const double v = thr > 0 ? std::log10(std::max(rec.residual[s], 1e-300) / thr) : 3.0;
        const double u = std::clamp(std::abs(v) / 3.0, 0.0, 1.0);
        auto mix = [u](double a, double b) { return static_cast<std::uint8_t>(std::lround(a + (b - a) * u)); };
        fill(x, y, v <= 0 ? std::array<std::uint8_t, 3>{mix(200, 20), mix(220, 60), mix(255, 150)}
                          : std::array<std::uint8_t, 3>{mix(255, 150), mix(220, 0), mix(120, 0)});
      }
    }
  }
  draw_text(img, 2, 4, title);
  const int yb = top + rounds * ch + 3;
  draw_text(img, left, yb, "x_" + std::to_string(steps - 1) + " (noisy)");
  draw_text(img, std::max(left, left + steps * cw - text_width("x_0")), yb, "x_0");
  draw_text(img, 2, yb + 12, legend);
  return img;
}

}  // namespace optidiff::diffusion
