// optidiff/diffusion/sampler.hpp: samplers written as PLANS (EXAMPLES.md Sec. 5). A plan is a table of
// coefficients, computed once in float64, that every driver reads: sequential sampling here, the
// parallel solvers (ParaTAA, ParaDiGMS) later.
//
// Index convention (ParaTAA's, research note Sec. 1.1): x_T is the initial noise, x_0 the output. Step s
// (run from s = T-1 down to 0) maps x_{s+1} -> x_s with the model evaluated at (x_{s+1}, tau_s),
// tau_s = t[s+1]:
//     x_s = a[s] x_{s+1} + b[s] f(x_{s+1}, tau_s) + c[s] xi_s
// where f is the (guided) prediction of kind plan.output (epsilon for VP schedules, as in ParaTAA;
// velocity for rectified flow, where epsilon cannot recover x_0 at t = 1) and xi_0..xi_{T-1} together
// with x_T = noise[T] are drawn up front from the seed (draw_noise). With the noise fixed, sampling is a
// deterministic function of it, which is what gives the parallel solvers a fixed point.
//
// Samplers (all for any (alpha, sigma) schedule; DDPM and DDIM run on a flow model, Euler and Heun on a
// VP model, through the prediction converters):
//   ddim(eta)  Song et al. 2021, Eq. 12: x_s = alpha_s x0_hat + sqrt(sigma_s^2 - c^2) eps_hat + c xi,
//              c = eta * sigma_post, sigma_post = (sigma_s / sigma_t) sqrt(sigma_t^2 - (alpha_t / alpha_s)^2 sigma_s^2)
//              (Eq. 16; the DDPM posterior std for any (alpha, sigma), Kingma et al. 2021, VDM Eq. 33).
//   ddpm       ancestral sampling (Ho et al. 2020, Alg. 2 with the posterior variance): exactly ddim at
//              eta = 1, so it is the same code (tests check it against the posterior-mean formula).
//   euler      the probability-flow ODE dx/dt = E[velocity | x] (= alpha' x0_hat + sigma' eps_hat):
//              x_s = x_{s+1} + (t[s] - t[s+1]) u(x_{s+1}, tau_s). On rectified flow it equals ddim(0).
//   heun       Karras et al. 2022, Alg. 1 (no churn): an Euler predictor x~_s then the trapezoid
//              corrector. Heun is NOT of the one-evaluation form; its plan keeps a, b as the predictor
//              and adds, per step, a corrector row (ac[s], b1[s], b2[s]):
//                  x~_s = a[s] x_{s+1} + b[s] f(x_{s+1}, tau_s)
//                  x_s  = ac[s] x_{s+1} + b1[s] f(x_{s+1}, tau_s) + b2[s] f(x~_s, t[s])
//              A step whose target is t = 0 stays Euler (b2 = 0: x_s = x~_s), as k-diffusion does, so T
//              steps cost 2T - 1 evaluations. A parallel solver sees a Heun step as two triangular rows.
//   Plan plan = make_plan(model.schedule(), {.sampler = SamplerKind::kDdim, .steps = 50});
//   torch::Tensor noise = draw_noise(plan, n, {1, 28, 28}, seed);
//   torch::Tensor x0 = sample(plan, make_denoise_fn(model, plan.output, {.scale = 3}), noise, labels);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/schedule.hpp"

namespace optidiff::diffusion {

enum class SamplerKind { kDdim, kDdpm, kEuler, kHeun, kCount };
inline constexpr const char* kSamplerNames[] = {"ddim", "ddpm", "euler", "heun"};
static_assert(std::size(kSamplerNames) == static_cast<std::size_t>(SamplerKind::kCount));
inline const char* sampler_name(SamplerKind k) { return kSamplerNames[static_cast<int>(k)]; }
SamplerKind parse_sampler(std::string_view name);  // kInvalidArgument listing the names

struct PlanOptions {
  SamplerKind sampler = SamplerKind::kDdim;
  int steps = 50;                                     // T >= 1
  double eta = 0.0;                                   // ddim only; 0 = deterministic, 1 = ddpm
  TimestepSpacing spacing = TimestepSpacing::kTrailing;  // trailing starts at t = 1 exactly
  int steps_offset = 0;
  bool set_alpha_to_one = true;                       // end at t = 0 (else at t_of_timestep(0))
  std::optional<Prediction> output = std::nullopt;    // kind of f; default: epsilon (VP), velocity (flow)
};

struct Plan {
  SamplerKind sampler = SamplerKind::kDdim;
  Schedule schedule;
  Prediction output = Prediction::kEpsilon;
  double eta = 0;
  std::vector<double> t;        // T + 1 times, ascending; x_s lives at t[s]; tau_s = t[s + 1]
  std::vector<double> a, b, c;  // T each
  std::vector<double> ac, b1, b2;  // heun's corrector (empty otherwise); b2[s] == 0: an Euler step

  int steps() const { return static_cast<int>(a.size()); }
  double tau(int s) const { return t[s + 1]; }
  bool second_order(int s) const { return !b2.empty() && b2[s] != 0.0; }
  bool deterministic() const;   // every c[s] == 0
  int evaluations() const;      // model calls per sample (unguided): T, or 2T - 1 for heun to t = 0
};

// Builds the coefficient table; kInvalidArgument on steps < 1 or > N, eta outside [0, 1] (or eta != 0 for
// non-ddim samplers), or a prediction kind that is singular at some evaluation time.
Plan make_plan(const Schedule& schedule, const PlanOptions& options);

// x_T and xi_0..xi_{T-1} as one float64 tensor [T + 1, n, sample_shape...]; noise[T] = x_T. Row i of every
// noise[s] comes from the counter-based stream Rng(seed).stream(i): sample i is the same whatever n is.
torch::Tensor draw_noise(const Plan& plan, int64_t n, const std::vector<int64_t>& sample_shape, std::uint64_t seed);

// Called after each step with the step index s, the new x_s and the guided prediction used (CFG halves
// included): the hook CFG-Rejection's score-difference tracking needs. Return true to stop early.
using StepObserver = std::function<bool(int s, const torch::Tensor& x_s, const GuidedPrediction& f)>;

// Runs the plan sequentially from x_T = noise[T]; labels int64 [n]. dtype: the dtype x is carried in
// (float64 for the exact oracle, float32 for networks). Returns x_0 [n, sample_shape...].
torch::Tensor sample(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                     const torch::Tensor& labels, torch::ScalarType dtype = torch::kFloat64,
                     const StepObserver& observer = nullptr);

// Continues sampling from x = x_{from + 1} (any rows of the batch the noise was drawn for: noise is
// [T + 1, n, ...] for the same rows as x) through steps from, from - 1, ..., 0. sample() is
// continue_sample(..., noise[T], T - 1, ...); CFG-Rejection continues its survivors with it.
torch::Tensor continue_sample(const Plan& plan, const DenoiseFn& denoise, torch::Tensor x, int from,
                              const torch::Tensor& noise, const torch::Tensor& labels,
                              const StepObserver& observer = nullptr);

// One step of a one-evaluation plan: a[s] x_next + b[s] f + c[s] xi.
torch::Tensor plan_step(const Plan& plan, int s, const torch::Tensor& x_next, const torch::Tensor& f,
                        const torch::Tensor& xi);

// Inverts a deterministic one-evaluation plan (ddim eta = 0, euler): from x_0 back to x_T, solving each
// step's implicit equation x_{s+1} = (x_s - b[s] f(x_{s+1}, tau_s)) / a[s] by fixed-point iteration
// (iterations per step; starts from x_s). Returns x_T. kInvalidArgument for stochastic or heun plans.
torch::Tensor invert(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& x0, const torch::Tensor& labels,
                     int iterations = 20);

}  // namespace optidiff::diffusion
