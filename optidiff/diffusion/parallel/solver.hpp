// optidiff/diffusion/parallel/solver.hpp: parallel sampling. Sequential sampling with a one-evaluation
// plan (sampler.hpp) is the triangular system x_s = a[s] x_{s+1} + b[s] f(x_{s+1}, tau_s) + c[s] xi_s,
// s = T-1 .. 0, with x_T and the xi fixed up front (draw_noise). These solvers find its unique solution,
// the sequential trajectory, by iterating on a window of W unknowns at once; every round evaluates the
// whole window as ONE call of the DenoiseFn (W * n rows, doubled by CFG), so a round costs one parallel
// network evaluation however many timesteps it moves.
//
//   ParaTAA    Tang et al., ICML 2024 (research note paratAA-cfgrej.md Sec. 1): the k-th order unrolled
//              equations (Sec. 1.2), per-timestep stopping on the one-step residual against
//              max(tol1, tol2 * sigma_hat_s) (Sec. 1.3), Triangular Anderson Acceleration with memory m and
//              ridge lambda, recency-aligned for m >= 3 (Sec. 1.4), and the safeguard: the noisiest
//              unconverged unknown is updated without TAA, so every round finishes at least one more step
//              and no run takes more than T rounds.
//   FP         the paper's plain fixed-point baseline: ParaTAA with order 1 and memory 1. FP+ (order k,
//              no acceleration) is ParaTAA with memory 1.
//   ParaDiGMS  Shih et al., NeurIPS 2023 (note Sec. 2.1): Picard iteration on a sliding window, a window
//              position accepted while RMS(change) <= tol * sigma_hat of its next step.
//
//   Plan plan = make_plan(model.schedule(), {.sampler = SamplerKind::kDdim, .steps = 100});
//   torch::Tensor noise = draw_noise(plan, n, {1, 28, 28}, seed);
//   ParallelResult r = solve_parallel(plan, make_denoise_fn(model, plan.output, {.scale = 3}), noise, labels,
//                                     parallel_defaults(ParallelMethod::kParaTaa), {}, &model);
//   r.x0; r.rounds; r.nfe; r.history[i].residual;   // equals sample(plan, ...) to the tolerance
//
// State is carried in float64 (the official code does the same); the DenoiseFn gets float64 inputs (the DiT
// evaluates in float32 and returns float64). With n > 1 samples the n independent systems share one window:
// a timestep counts as converged when it is converged for every sample, and TAA solves one least-squares
// problem per sample.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/diffusion/denoiser.hpp"
#include "optidiff/diffusion/sampler.hpp"

namespace optidiff::diffusion {

enum class ParallelMethod { kParaTaa, kParadigms, kFp, kCount };
inline constexpr const char* kParallelMethodNames[] = {"paratAA", "paradigms", "fp"};
static_assert(std::size(kParallelMethodNames) == static_cast<std::size_t>(ParallelMethod::kCount));
inline const char* parallel_method_name(ParallelMethod m) { return kParallelMethodNames[static_cast<int>(m)]; }
ParallelMethod parse_parallel_method(std::string_view name);  // kInvalidArgument listing the names

// Starting point other than "every unknown = x_T" (note Sec. 1.5, parallel_sd_winit.py).
struct WarmStart {
  torch::Tensor trajectory;  // [T + 1, n, sample_shape...]: x_0 .. x_T of a related run (ParallelResult::trajectory)
  // v in [1, T]. v = T: pure warm start, only the initial guess changes, the fixed point is still this run's
  // sequential trajectory (x_T is taken from this run's noise). v < T: variation mode, x_{>=v} are frozen at
  // the warm-start values and only steps v-1 .. 0 are solved (SDEdit-like, strength v / T): NOT this run's
  // sequential result, but continue_sample(plan, ., trajectory[v], v - 1, ...).
  int variation_steps = 0;  // 0: T
};

struct ParallelOptions {
  ParallelMethod method = ParallelMethod::kParaTaa;
  int window = 100;      // W >= 1: unknowns per round (the batch is W * n rows, 2 W n with CFG)
  int order = 0;         // k in [1, W] (ParaTAA); 0: k = W, the full order the DiT script uses
  int memory = 2;        // m >= 1 (ParaTAA): TAA history; 1 = no acceleration (FP / FP+)
  double lambda = 1e-3;  // TAA ridge, absolute (finite, > 0)
  double tol1 = 1e-3;    // ParaTAA: absolute RMS tolerance on the one-step residual (> 0)
  double tol2 = 1e-3;    // ParaTAA: tolerance relative to sigma_hat_s (> 0)
  double tolerance = 0.1;  // ParaDiGMS: RMS(change) <= tolerance * sigma_hat (> 0)
  int max_iters = 0;     // cap on rounds (> 0), 0: none (at most T rounds anyway)
  std::optional<WarmStart> warm_start = std::nullopt;

  // kInvalidArgument naming the option and what was expected: W < 1, k < 0 or k > W, m < 1, a tolerance or
  // lambda that is not a positive finite number, max_iters < 0.
  void validate() const;
};
// The defaults of each method: ParaTAA the DiT script's (W 100, k = W, m 2, tol1 = tol2 = 1e-3); FP the same
// with k = m = 1; ParaDiGMS diffusers' StableDiffusionParadigmsPipeline (parallel 10, tolerance 0.1).
ParallelOptions parallel_defaults(ParallelMethod method);

// One round: one batched DenoiseFn call.
struct RoundRecord {
  int round = 0;                  // 1-based
  int window_lo = 0, window_hi = 0;  // unknowns x_s, s in [lo, hi], updated (model at x_{s+1}, tau_s)
  int finished = 0;               // after the round x_{>= finished} are final; 0: done
  int accelerated = 0;            // unknowns updated with TAA this round
  std::int64_t rows = 0;          // model inputs this round before CFG doubling: (hi - lo + 1) * n
  std::int64_t nfe = 0;           // cumulative NFE (the counter's, else the rows)
  std::vector<double> residual;   // [T]: the stopping quantity per step, max over samples (NaN outside)
};

struct ParallelResult {
  torch::Tensor x0;          // [n, sample_shape...] float64
  torch::Tensor trajectory;  // [T + 1, n, sample_shape...] float64: the iterate (row T = x_T)
  int rounds = 0;
  bool converged = false;    // every step finished (false: stopped by max_iters or the observer)
  std::int64_t nfe = 0;
  std::vector<double> threshold;  // [T]: the stopping threshold of each step (same unit as residual)
  std::vector<RoundRecord> history;
  std::string stop_reason;   // one sentence
};

// Called after every round with its record and the current iterate [T + 1, n, ...]; true stops the solver.
using RoundObserver = std::function<bool(const RoundRecord& record, const torch::Tensor& trajectory)>;

// Solves plan (one-evaluation plans: ddim/ddpm/euler; heun is refused) for x_T = noise[T] and the pre-drawn
// xi = noise[0..T-1] (noise [T + 1, n, sample_shape...] from draw_noise; labels int64 [n]). `counter`, if
// given, is the denoiser behind `denoise`, whose NFE counter is read for RoundRecord::nfe.
ParallelResult solve_parallel(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                              const torch::Tensor& labels, const ParallelOptions& options,
                              const RoundObserver& observer = nullptr, const Denoiser* counter = nullptr);

// The sequential trajectory x_0 .. x_T ([T + 1, n, ...], float64) of sample(plan, ...): the exact fixed point.
torch::Tensor sequential_trajectory(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                                    const torch::Tensor& labels);

// The trajectory file behind --warm-start-from: the tensor plus what it was made with, in the project's
// checkpoint container (kind "trajectory"). load_warm_start throws kNotFound / kDataLoss for a missing or
// corrupt file, and kInvalidArgument naming both values when its schedule, sampler, eta, steps, times or
// trajectory shape [T + 1, n, sample_shape...] differ from this run's `plan`, `n` and `sample_shape`.
void save_trajectory(const std::string& path, const torch::Tensor& trajectory, const Plan& plan, const Json& meta = {});
torch::Tensor load_warm_start(const std::string& path, const Plan& plan, std::int64_t n,
                              const std::vector<std::int64_t>& sample_shape);

// Residual per step (columns, noisy x_{T-1} left to x_0 right) per round (rows, first at the top) as a heat
// map of log10(residual / threshold): blue converged, red not, grey outside the window, green finished.
Image render_convergence(const ParallelResult& result, const std::string& title);

}  // namespace optidiff::diffusion
