// optidiff/diffusion/parallel/internal/window.hpp: what ParaTAA and ParaDiGMS share: the validated problem,
// the iterate with its finished/uninitialised indices (note Sec. 1.3), one batched evaluation of a window,
// and the round loop (stopping, max_iters, observer, NFE, the result).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "optidiff/diffusion/parallel/solver.hpp"

namespace optidiff::diffusion::parallel_internal {

struct Problem {
  const Plan& plan;
  const DenoiseFn& denoise;
  const Denoiser* counter = nullptr;
  torch::Tensor noise{};                  // [T + 1, n, D] float64 (row T = x_T)
  torch::Tensor labels{};                 // [n] int64
  std::vector<std::int64_t> sample_shape{};
  std::int64_t n = 0, d = 0;
  int steps = 0;                          // T
  std::vector<double> sigma_hat{};        // [T]: sigma_hat_s, the DDPM posterior std of step s (eta = 1)
};
// Validates the inputs (one-evaluation plan, noise [T + 1, n, ...], labels [n]); kInvalidArgument otherwise.
Problem make_problem(const Plan& plan, const DenoiseFn& denoise, const torch::Tensor& noise,
                     const torch::Tensor& labels, const Denoiser* counter);

// The iterate x_0 .. x_T ([T + 1, n, D] float64); x_{>= finished} are final, x_{<= uninit} not yet set.
struct State {
  torch::Tensor x;
  int finished = 0;
  int uninit = 0;
};
// Cold start: x_T from the noise, nothing else set (finished = T, uninit = T - 1). Warm start (note Sec. 1.5):
// everything set from the trajectory, finished = variation_steps (x_T from the noise when it is T).
State initial_state(const Problem& p, const std::optional<WarmStart>& warm);
// Sets every unset x_s, s >= lo, to a copy of the nearest set one above it (note Sec. 1.3 step 1).
void expose(State& state, int lo);

// f(x_{s+1}, tau_s) for s in [lo, hi] as ONE DenoiseFn call of (hi - lo + 1) * n rows: [hi - lo + 1, n, D].
torch::Tensor evaluate_window(const Problem& p, const torch::Tensor& x, int lo, int hi);
// The plan's coefficients v[lo..hi] as a [hi - lo + 1, 1, 1] float64 tensor, to broadcast over a window.
torch::Tensor coefficients(const std::vector<double>& v, int lo, int hi);
// b_s f_s + c_s xi_s over the window (the part of step s that is not a[s] x_{s+1}): [hi - lo + 1, n, D].
torch::Tensor forcing(const Problem& p, const torch::Tensor& f, int lo, int hi);
// Per window position: the largest per-sample RMS over D of r [W, n, D].
std::vector<double> max_rms(const torch::Tensor& r);

// One round of a method: updates the state (window [lo, hi] = [max(finished - W, 0), finished - 1]) and returns
// its record with window, finished, accelerated, rows and residual filled in.
using RoundStep = std::function<RoundRecord(State& state)>;
// Runs rounds until every step is finished, max_iters or the observer stops it; checks that every round
// finishes at least one step (the safeguard), so there are at most T rounds.
ParallelResult run_rounds(const Problem& p, const ParallelOptions& options, State state, std::vector<double> threshold,
                          const RoundStep& step, const RoundObserver& observer);

ParallelResult solve_paratAA(const Problem& p, const ParallelOptions& options, const RoundObserver& observer);
ParallelResult solve_paradigms(const Problem& p, const ParallelOptions& options, const RoundObserver& observer);

}  // namespace optidiff::diffusion::parallel_internal
