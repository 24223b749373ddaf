// optidiff/diffusion/parallel/paradigms.cpp: ParaDiGMS (Shih et al., NeurIPS 2023), research note
// paratAA-cfgrej.md Sec. 2.1, after diffusers' StableDiffusionParadigmsPipeline, in ParaTAA's index order
// (x_T noisy .. x_0 clean; diffusers' buffer y_j is x_{T-j}).
#include <algorithm>
#include <limits>

#include "optidiff/diffusion/parallel/internal/window.hpp"

namespace optidiff::diffusion::parallel_internal {

ParallelResult solve_paradigms(const Problem& p, const ParallelOptions& o, const RoundObserver& observer) {
  const int T = p.steps;
  // Position x_s is accepted iff RMS(change) <= tolerance * sigma_hat_{s-1}: diffusers divides the squared
  // change by D * _get_variance(t) of the step that starts at x_s (the DDPM posterior variance, even for
  // DDIM) and compares with tolerance^2; x_0 has variance 0, so it is never accepted by the test itself.
  std::vector<double> threshold(T, 0.0);
  for (int s = 1; s < T; ++s) threshold[s] = o.tolerance * p.sigma_hat[s - 1];
  auto step = [&](State& st) {
    const int hi = st.finished - 1, lo = std::max(st.finished - o.window, 0), w = hi - lo + 1;
    expose(st, lo);  // newly exposed entries copy the deepest current estimate (y[e_old])
    const torch::Tensor f = evaluate_window(p, st.x, lo, hi);
    const torch::Tensor xs = st.x.slice(0, lo, hi + 1), xn = st.x.slice(0, lo + 1, hi + 2);
    // Picard: x_s = x_anchor + sum_{q=s}^{hi} (F_q(x_{q+1}) - x_{q+1}), F_q the full step with its noise.
    const torch::Tensor delta = (coefficients(p.plan.a, lo, hi) - 1.0) * xn + forcing(p, f, lo, hi);
    const torch::Tensor next = st.x[hi + 1].unsqueeze(0) + delta.flip(0).cumsum(0).flip(0);
    const std::vector<double> change = max_rms(next - xs);
    RoundRecord rec;
    rec.window_lo = lo;
    rec.window_hi = hi;
    rec.rows = static_cast<std::int64_t>(w) * p.n;
    rec.residual.assign(T, std::numeric_limits<double>::quiet_NaN());
    int first_failing = -1;  // from the anchor down: the first position whose change is too large
    for (int i = w - 1; i >= 0; --i) {
      rec.residual[lo + i] = change[i];
      if (first_failing < 0 && change[i] > threshold[lo + i]) first_failing = lo + i;
    }
    xs.copy_(next);
    // The first failing position was computed from accepted inputs only: it becomes the new anchor.
    st.finished = first_failing >= 0 ? first_failing : lo;
    rec.finished = st.finished;
    return rec;
  };
  return run_rounds(p, o, initial_state(p, o.warm_start), threshold, step, observer);
}

}  // namespace optidiff::diffusion::parallel_internal
