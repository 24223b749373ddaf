// optidiff/diffusion/parallel/paratAA.cpp: ParaTAA (Tang et al., ICML 2024), research note
// paratAA-cfgrej.md Sec. 1.2-1.4, after the official ParaTAA-Diffusion parallel_sd.py / parallel_dit.py.
#include <algorithm>
#include <deque>
#include <limits>

#include "optidiff/diffusion/parallel/internal/window.hpp"

namespace optidiff::diffusion::parallel_internal {

namespace {

// The k-th order equations (note Sec. 1.2) on the window s in [lo, hi] with anchor x_{hi+1}:
//   x_s = A_{s,u} x_u + sum_{q=s}^{u-1} A_{s,q} (b_q f_q + c_q xi_q),  u = min(s + k, hi + 1),
//   A_{s,q} = a_s a_{s+1} ... a_{q-1}.
// Returned as banded matrices over window rows: rhs = mx @ x_{lo+1..hi+1} + mg @ g_{lo..hi}
// (the official code's coeff_x_mat and coeff_d_mat / nl_mat, cut to the band by tril(.., k - 1)).
std::pair<torch::Tensor, torch::Tensor> unrolled(const std::vector<double>& a, int lo, int hi, int k) {
  const int w = hi - lo + 1;
  std::vector<double> mx(static_cast<std::size_t>(w) * w, 0.0), mg(mx.size(), 0.0);
  for (int i = 0; i < w; ++i) {
    const int s = lo + i, u = std::min(s + k, hi + 1);
    double prod = 1.0;
    for (int q = s; q < u; ++q) {
      mg[static_cast<std::size_t>(i) * w + (q - lo)] = prod;
      prod *= a[q];
    }
    mx[static_cast<std::size_t>(i) * w + (u - lo - 1)] = prod;
  }
  return {torch::tensor(mx, torch::kFloat64).view({w, w}), torch::tensor(mg, torch::kFloat64).view({w, w})};
}

// One round of TAA history: x_s before the update and the k-th order residual R_s, for s in [lo, lo + rows).
struct Entry {
  int lo = 0;
  torch::Tensor x, r;
};

// Rows [lo, hi] of an entry's tensor, zero where the entry has no row (s < entry.lo).
torch::Tensor aligned(const Entry& e, const torch::Tensor& v, int lo, int hi) {
  torch::Tensor out = torch::zeros({hi - lo + 1, v.size(1), v.size(2)}, torch::kFloat64);
  const int from = std::max(lo, e.lo);
  out.slice(0, from - lo).copy_(v.slice(0, from - e.lo, hi - e.lo + 1));
  return out;
}

// Triangular Anderson Acceleration (note Sec. 1.4). For every window row s with history, per sample:
//   gamma_s = (B_s + lambda I)^{-1} d_s,  B_s = sum_{q=s}^{hi} dR_q^T dR_q,  d_s = sum_{q=s}^{hi} dR_q^T R_q,
// the suffix sums over q >= s (the unknowns x_s depends on) being what makes the inverse-Jacobian estimate
// block lower-triangular; the correction is sum_j gamma_s^(j) (dX_s^(j) + dR_s^(j)).
// Recency-aligned: row s uses its own count_s - 1 most recent differences, the same slots for every q >= s
// (each q >= s has been in the window at least as long). The official code instead keeps the OLDEST slots of
// a zero-padded global history when rows entered late (W < T, m >= 3), which we do not copy (note Sec. 1.4).
// Returns the correction [w, n, D] (zero on rows without history).
torch::Tensor taa_correction(const std::deque<Entry>& memory, const torch::Tensor& r, int lo, int hi, double lambda) {
  const int w = hi - lo + 1, slots = static_cast<int>(memory.size()) - 1;
  std::vector<torch::Tensor> dx, dr;
  std::vector<double> valid(static_cast<std::size_t>(w) * slots, 0.0);
  for (int j = 0; j < slots; ++j) {
    const Entry& newer = memory[memory.size() - 1 - j];
    const Entry& older = memory[memory.size() - 2 - j];
    // Both entries hold row s iff s >= older.lo (windows only slide towards x_0).
    const torch::Tensor row_valid =
        (torch::arange(lo, hi + 1, torch::kInt64) >= older.lo).to(torch::kFloat64).view({w, 1, 1});
    dx.push_back((aligned(newer, newer.x, lo, hi) - aligned(older, older.x, lo, hi)) * row_valid);
    dr.push_back((aligned(newer, newer.r, lo, hi) - aligned(older, older.r, lo, hi)) * row_valid);
    for (int i = std::max(older.lo - lo, 0); i < w; ++i) valid[static_cast<std::size_t>(i) * slots + j] = 1.0;
  }
  const torch::Tensor DX = torch::stack(dx), DR = torch::stack(dr);  // [J, w, n, D]
  auto suffix = [](const torch::Tensor& t) { return t.flip(0).cumsum(0).flip(0); };
  const torch::Tensor mask = torch::tensor(valid, torch::kFloat64).view({w, 1, slots});  // [w, 1, J]
  const torch::Tensor gram = suffix(torch::einsum("jwnd,lwnd->wnjl", {DR, DR})) * mask.unsqueeze(-1) * mask.unsqueeze(-2);
  const torch::Tensor rhs = suffix(torch::einsum("jwnd,wnd->wnj", {DR, r})) * mask;
  const torch::Tensor gamma =
      torch::linalg_solve(gram + lambda * torch::eye(slots, torch::kFloat64), rhs.unsqueeze(-1)).squeeze(-1);
  return torch::einsum("wnj,jwnd->wnd", {gamma, DX + DR});
}

}  // namespace

ParallelResult solve_paratAA(const Problem& p, const ParallelOptions& o, const RoundObserver& observer) {
  const int T = p.steps, k = o.order == 0 ? o.window : o.order;
  std::vector<double> threshold(T);
  for (int s = 0; s < T; ++s) threshold[s] = std::max(o.tol1, o.tol2 * p.sigma_hat[s]);
  std::deque<Entry> memory;  // the last m rounds, oldest first
  auto step = [&](State& st) {
    const int hi = st.finished - 1, lo = std::max(st.finished - o.window, 0), w = hi - lo + 1;
    expose(st, lo);
    const torch::Tensor f = evaluate_window(p, st.x, lo, hi);  // the round's one batched call
    const torch::Tensor g = forcing(p, f, lo, hi);
    const torch::Tensor xs = st.x.slice(0, lo, hi + 1), xn = st.x.slice(0, lo + 1, hi + 2);
    RoundRecord rec;
    rec.window_lo = lo;
    rec.window_hi = hi;
    rec.rows = static_cast<std::int64_t>(w) * p.n;
    rec.residual.assign(T, std::numeric_limits<double>::quiet_NaN());
    // Stopping (note Sec. 1.3 step 4) on the ONE-step residual; s* = the noisiest unconverged step.
    const std::vector<double> rms = max_rms(coefficients(p.plan.a, lo, hi) * xn + g - xs);
    int s_star = -1;
    for (int i = 0; i < w; ++i) {
      rec.residual[lo + i] = rms[i];
      if (rms[i] > threshold[lo + i]) s_star = lo + i;
    }
    const auto [mx, mg] = unrolled(p.plan.a, lo, hi, k);
    const torch::Tensor rhs = (mx.mm(xn.reshape({w, -1})) + mg.mm(g.reshape({w, -1}))).view({w, p.n, p.d});
    const torch::Tensor r = rhs - xs;
    memory.push_back({lo, xs.clone(), r});
    if (static_cast<int>(memory.size()) > o.memory) memory.pop_front();
    // TAA on S = {s < s*, in the window for >= 2 rounds}; s >= s* get plain FP, so x_{s*}, whose inputs have all
    // converged, becomes exact: the safeguard.
    const int taa_rows = memory.size() >= 2 ? std::max(0, s_star - std::max(lo, memory[memory.size() - 2].lo)) : 0;
    torch::Tensor next = rhs;
    if (taa_rows > 0) {
      const torch::Tensor corr = taa_correction(memory, r, lo, hi, o.lambda);
      const int from = std::max(lo, memory[memory.size() - 2].lo) - lo;
      next = rhs.clone();
      next.slice(0, from, from + taa_rows) -= corr.slice(0, from, from + taa_rows);
    }
    xs.copy_(next);
    rec.accelerated = taa_rows;
    st.finished = s_star >= 0 ? s_star : lo;
    rec.finished = st.finished;
    return rec;
  };
  return run_rounds(p, o, initial_state(p, o.warm_start), threshold, step, observer);
}

}  // namespace optidiff::diffusion::parallel_internal
