// optidiff/diffusion/schedule.cpp
#include "optidiff/diffusion/schedule.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {
namespace {

void check_num_train_timesteps(int n) {
  if (n < 2 || n > 100000)
    throw_invalid("num_train_timesteps is " + std::to_string(n) + "; expected 2 <= N <= 100000");
}

std::string names_list(const char* const* names, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back('|');
    out.append(names[i]);
  }
  return out;
}

}  // namespace

Schedule Schedule::vp(ScheduleKind kind, int num_train_timesteps, double beta_start, double beta_end) {
  check_num_train_timesteps(num_train_timesteps);
  if (kind == ScheduleKind::kRectifiedFlow || kind == ScheduleKind::kCount)
    throw_invalid("Schedule::vp: kind is not a beta schedule");
  const int n = num_train_timesteps;
  std::vector<double> betas(n);
  if (kind == ScheduleKind::kSquaredCosCapV2) {
    // Nichol & Dhariwal 2021, Eq. 17: abar(t) = cos^2((t + s) / (1 + s) * pi / 2), s = 0.008;
    // beta_i = min(1 - abar((i+1)/N) / abar(i/N), 0.999) (diffusers betas_for_alpha_bar).
    auto abar = [](double u) {
      const double c = std::cos((u + 0.008) / 1.008 * std::numbers::pi / 2);
      return c * c;
    };
    for (int i = 0; i < n; ++i)
      betas[i] = std::min(1.0 - abar((i + 1.0) / n) / abar(static_cast<double>(i) / n), 0.999);
  } else {
    if (!(beta_start > 0 && beta_end < 1 && beta_start <= beta_end))
      throw_invalid("beta_start/beta_end are " + std::to_string(beta_start) + "/" + std::to_string(beta_end) +
                    "; expected 0 < beta_start <= beta_end < 1");
    for (int i = 0; i < n; ++i) {
      const double u = n == 1 ? 0.0 : static_cast<double>(i) / (n - 1);
      if (kind == ScheduleKind::kLinear) {
        betas[i] = beta_start + u * (beta_end - beta_start);
      } else {  // scaled_linear: linspace of square roots, squared (Stable Diffusion)
        const double r = std::sqrt(beta_start) + u * (std::sqrt(beta_end) - std::sqrt(beta_start));
        betas[i] = r * r;
      }
    }
  }
  Schedule s;
  s.kind_ = kind;
  s.num_train_timesteps_ = n;
  s.alphas_cumprod_.resize(n);
  s.log_abar_.assign(n + 1, 0.0);
  double log_abar = 0;
  for (int i = 0; i < n; ++i) {
    log_abar += std::log1p(-betas[i]);
    s.log_abar_[i + 1] = log_abar;
    s.alphas_cumprod_[i] = std::exp(log_abar);
  }
  return s;
}

Schedule Schedule::rectified_flow(int num_train_timesteps) {
  check_num_train_timesteps(num_train_timesteps);
  Schedule s;
  s.kind_ = ScheduleKind::kRectifiedFlow;
  s.num_train_timesteps_ = num_train_timesteps;
  return s;
}

Schedule Schedule::from_name(std::string_view name) {
  if (name == "cosine") return vp(ScheduleKind::kSquaredCosCapV2);
  if (name == "flow") return rectified_flow();
  if (name == "scaled_linear") return vp(ScheduleKind::kScaledLinear, 1000, 0.00085, 0.012);
  if (name == "linear") return vp(ScheduleKind::kLinear);
  if (name == "squaredcos_cap_v2") return vp(ScheduleKind::kSquaredCosCapV2);
  if (name == "rectified_flow") return rectified_flow();
  throw_invalid("schedule is '" + std::string(name) + "'; expected one of " +
                names_list(kScheduleNames, std::size(kScheduleNames)) + " (aliases cosine, flow)");
}

NoiseLevel Schedule::at(double t) const {
  if (!(t >= 0.0 && t <= 1.0)) throw_invalid("time t is " + std::to_string(t) + "; expected 0 <= t <= 1");
  NoiseLevel lv;
  if (is_flow()) {
    lv.alpha = 1.0 - t;
    lv.sigma = t;
    lv.alpha_dot = -1.0;
    lv.sigma_dot = 1.0;
    return lv;
  }
  // Piecewise-linear log(abar) on the grid u_k = k / N (k = 0..N), log abar(0) = 0.
  const int n = num_train_timesteps_;
  const double pos = t * n;
  int k = static_cast<int>(std::floor(pos));
  if (k >= n) k = n - 1;
  const double frac = pos - k;
  const double slope = (log_abar_[k + 1] - log_abar_[k]) * n;  // d log abar / dt on this piece
  const double la = log_abar_[k] + frac * (log_abar_[k + 1] - log_abar_[k]);
  const double abar = std::exp(la);
  lv.alpha = std::exp(0.5 * la);
  lv.sigma = std::sqrt(-std::expm1(la));
  lv.alpha_dot = 0.5 * lv.alpha * slope;
  lv.sigma_dot = lv.sigma > 0 ? -0.5 * abar * slope / lv.sigma : INFINITY;
  return lv;
}

TimestepSpacing parse_timestep_spacing(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kTimestepSpacingNames); ++i)
    if (name == kTimestepSpacingNames[i]) return static_cast<TimestepSpacing>(i);
  throw_invalid("timestep spacing is '" + std::string(name) + "'; expected one of " +
                names_list(kTimestepSpacingNames, std::size(kTimestepSpacingNames)));
}

std::vector<int> discrete_timesteps(int num_train_timesteps, int steps, TimestepSpacing spacing,
                                    int steps_offset) {
  const int n = num_train_timesteps;
  if (steps < 1 || steps > n)
    throw_invalid("steps is " + std::to_string(steps) + "; expected 1 <= steps <= num_train_timesteps (" +
                  std::to_string(n) + ")");
  std::vector<int> ts(steps);
  switch (spacing) {
    case TimestepSpacing::kLeading: {
      const int ratio = n / steps;
      for (int i = 0; i < steps; ++i) ts[i] = (steps - 1 - i) * ratio + steps_offset;
      break;
    }
    case TimestepSpacing::kTrailing: {
      const double ratio = static_cast<double>(n) / steps;
      // np.round(np.arange(N, 0, -ratio)) - 1; np.round is round-half-to-even.
      for (int i = 0; i < steps; ++i) ts[i] = static_cast<int>(std::nearbyint(n - i * ratio)) - 1;
      break;
    }
    case TimestepSpacing::kLinspace: {
      for (int i = 0; i < steps; ++i) {
        const double v = steps == 1 ? 0.0 : static_cast<double>(i) * (n - 1) / (steps - 1);
        ts[steps - 1 - i] = static_cast<int>(std::nearbyint(v));
      }
      break;
    }
    default:
      throw_invalid("unknown timestep spacing");
  }
  for (int v : ts)
    if (v < 0 || v >= n)
      throw_invalid("timestep " + std::to_string(v) + " (steps_offset " + std::to_string(steps_offset) +
                    ") is outside [0, " + std::to_string(n - 1) + "]");
  return ts;
}

std::vector<double> sampling_times(const Schedule& schedule, int steps, TimestepSpacing spacing,
                                   int steps_offset, bool set_alpha_to_one) {
  const std::vector<int> ts = discrete_timesteps(schedule.num_train_timesteps(), steps, spacing, steps_offset);
  std::vector<double> grid(steps + 1);
  grid[0] = set_alpha_to_one ? 0.0 : schedule.t_of_timestep(0);
  for (int s = 0; s < steps; ++s) grid[s + 1] = schedule.t_of_timestep(ts[steps - 1 - s]);
  for (int s = 0; s < steps; ++s)
    if (!(grid[s] < grid[s + 1]))
      throw_invalid("sampling times are not strictly increasing at step " + std::to_string(s) +
                    " (t = " + std::to_string(grid[s]) + ", " + std::to_string(grid[s + 1]) +
                    "); use fewer steps or set_alpha_to_one");
  return grid;
}

}  // namespace optidiff::diffusion
