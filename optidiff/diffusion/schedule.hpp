// optidiff/diffusion/schedule.hpp: forward noising processes x_t = alpha(t) x_0 + sigma(t) eps and the
// timestep grids samplers walk. Torch-free.
//
// Time convention (shared by every denoiser, sampler and solver of optidiff):
//   t is continuous in [0, 1]; t = 0 is clean data, t = 1 is (almost) pure noise.
//   * Rectified flow (Liu et al. 2022; SD3/Flux): alpha = 1 - t, sigma = t; the native prediction is the
//     velocity v = dx_t/dt = eps - x_0.
//   * Variance preserving (Ho et al. 2020, DDPM; Nichol & Dhariwal 2021, cosine): alpha = sqrt(abar),
//     sigma = sqrt(1 - abar), from diffusers' discrete table alphas_cumprod[n], n = 0..N-1 (N = 1000).
//     The discrete DDPM timestep n maps to t = (n + 1) / N, so n = N-1 is t = 1 and "one step before
//     n = 0" (abar = 1, diffusers' set_alpha_to_one) is t = 0. Between grid points log(abar) is
//     interpolated linearly in t, which makes alpha, sigma and their t-derivatives defined everywhere.
//   Diffusers' names are kept: beta_schedule linear | scaled_linear | squaredcos_cap_v2,
//   timestep_spacing leading | trailing | linspace.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace optidiff::diffusion {

enum class ScheduleKind { kLinear, kScaledLinear, kSquaredCosCapV2, kRectifiedFlow, kCount };
inline constexpr const char* kScheduleNames[] = {"linear", "scaled_linear", "squaredcos_cap_v2",
                                                 "rectified_flow"};
static_assert(std::size(kScheduleNames) == static_cast<std::size_t>(ScheduleKind::kCount));

// alpha, sigma and their derivatives d/dt at one time t.
struct NoiseLevel {
  double alpha = 1, sigma = 0, alpha_dot = 0, sigma_dot = 0;
};

class Schedule {
 public:
  // DDPM betas: linear = linspace(beta_start, beta_end, N) (Ho et al. Sec. 4: 1e-4 .. 0.02);
  // scaled_linear = linspace(sqrt(beta_start), sqrt(beta_end), N)^2 (Stable Diffusion: 8.5e-4 .. 0.012);
  // squaredcos_cap_v2 = Nichol & Dhariwal Eq. 17, betas clipped at 0.999 (beta_start/end unused).
  static Schedule vp(ScheduleKind kind = ScheduleKind::kLinear, int num_train_timesteps = 1000,
                     double beta_start = 1e-4, double beta_end = 0.02);
  static Schedule rectified_flow(int num_train_timesteps = 1000);
  // "linear", "scaled_linear" (SD's betas), "squaredcos_cap_v2" (alias "cosine"), "rectified_flow"
  // (alias "flow"); kInvalidArgument otherwise.
  static Schedule from_name(std::string_view name);

  ScheduleKind kind() const { return kind_; }
  std::string name() const { return kScheduleNames[static_cast<int>(kind_)]; }
  bool is_flow() const { return kind_ == ScheduleKind::kRectifiedFlow; }
  int num_train_timesteps() const { return num_train_timesteps_; }
  // VP only (empty for flow): diffusers' alphas_cumprod, index n = discrete timestep.
  const std::vector<double>& alphas_cumprod() const { return alphas_cumprod_; }

  NoiseLevel at(double t) const;  // t in [0, 1], else kInvalidArgument
  double alpha(double t) const { return at(t).alpha; }
  double sigma(double t) const { return at(t).sigma; }

  // t of the discrete training timestep n (0 <= n < N): (n + 1) / N.
  double t_of_timestep(int n) const { return (n + 1.0) / num_train_timesteps_; }

  bool operator==(const Schedule& o) const {
    return kind_ == o.kind_ && num_train_timesteps_ == o.num_train_timesteps_ &&
           alphas_cumprod_ == o.alphas_cumprod_;
  }

 private:
  ScheduleKind kind_ = ScheduleKind::kRectifiedFlow;
  int num_train_timesteps_ = 1000;
  std::vector<double> alphas_cumprod_;
  std::vector<double> log_abar_;  // log abar on the grid t_0 = 0 (value 0), t_{n+1} = (n+1)/N
};

enum class TimestepSpacing { kLeading, kTrailing, kLinspace, kCount };
inline constexpr const char* kTimestepSpacingNames[] = {"leading", "trailing", "linspace"};
static_assert(std::size(kTimestepSpacingNames) == static_cast<std::size_t>(TimestepSpacing::kCount));
TimestepSpacing parse_timestep_spacing(std::string_view name);  // kInvalidArgument on unknown names

// diffusers' set_timesteps: `steps` discrete timesteps in descending order (1 <= steps <= N).
//   leading:  arange(steps) * (N // steps) + steps_offset, reversed;
//   trailing: round(arange(N, 0, -N / steps)) - 1;
//   linspace: round(linspace(0, N - 1, steps)), reversed.
std::vector<int> discrete_timesteps(int num_train_timesteps, int steps, TimestepSpacing spacing,
                                    int steps_offset = 0);

// The time grid a sampler walks, ascending, size steps + 1: grid[steps] is where sampling starts
// (the noisiest evaluation time) and grid[0] is where it ends: 0 with set_alpha_to_one (diffusers'
// DDIM default), else t_of_timestep(0). grid[s + 1] = t_of_timestep(timesteps[steps - 1 - s]).
std::vector<double> sampling_times(const Schedule& schedule, int steps, TimestepSpacing spacing,
                                   int steps_offset = 0, bool set_alpha_to_one = true);

}  // namespace optidiff::diffusion
