// optidiff/matrix/m3o.hpp: M3O, proximal gradient with a Max-Oracle over permutations (Tang, Chang,
// Ye & Zha, "Low-rank matrix recovery with unknown correspondence", UAI 2023).
//
// Solves (research note section 2.1, with the official code's 1/2 on the transport term)
//   min_X  pen(X) + (1/2)||P_Omega0(X_A - A)||^2 + sum_g min_{P_g} (1/2) <P_g, C^g(X_g)>
// as a min-max problem: the inner minimum over permutations is relaxed to entropic transport and
// solved exactly (Sinkhorn, the Max-Oracle); Danskin gives the gradient in X_g
//   G_g[i,:] = sum_j pi_ij W_j o (X_g[i,:] - B_o[j,:])           (section 2.2)
// Each outer iteration follows CD_complete.m (section 2.3): data step on A; X_g -= eta_g G_g; prox;
// costs; Sinkhorn; gradient; adaptive step eta_g = clip((0.5 (1 - cert_g)^1.5 + 0.01)(1 - diff_g),
// 0.01, 0.5); best-so-far by objective and certainty; eps halves after `patience` stale iterations;
// stop after 5 * patience stale iterations or once eps < eps_min. The best plan is rounded to a
// permutation by exact assignment (never by the row-wise argmax, which can pick a row twice).
//   matrix::M3OOptions o;
//   o.prox = {.kind = matrix::ProxKind::kSoft, .lambda = 0.1};
//   matrix::RecoveryResult r = matrix::m3o(observation, o);
#pragma once

#include <functional>
#include <vector>

#include "optidiff/matrix/problem.hpp"
#include "optidiff/matrix/sinkhorn.hpp"
#include "optidiff/matrix/svd.hpp"

namespace optidiff::matrix {

struct M3OStatus {
  int restart = 0;  // which start (0-based) is running
  int iteration = 0;
  double objective = 0, epsilon = 0, certainty = 0;  // certainty: mean_g mean_i |max_j pi_ij - 1|
  double step = 0;                                   // mean_g eta_g for the next iteration
  const Eigen::MatrixXd* estimate = nullptr;         // X after this iteration's prox
  const std::vector<Eigen::MatrixXd>* plans = nullptr;  // pi_g (n x n: true row i, observed row j)
};

struct M3OOptions {
  ProxOptions prox{};                 // hard SVT at 0.55 (exp_simulate.m)
  TemperatureSchedule temperature{};  // 0.1, halve after 100 stale iterations, floor 1e-6
  bool relative_epsilon = false;      // true: eps is in units of the median initial cost entry
  int max_iterations = 50000;         // max_out_iter
  int sinkhorn_iterations = 10000;    // max_in_iter
  double sinkhorn_tolerance = 0.01;
  bool warm_start = true;  // Sinkhorn starts from the last potentials (the code restarts at 0)
  double step_alpha = 1.5, step_min = 0.01, step_max = 0.5;
  std::uint64_t seed = 0;   // random start of the shuffled blocks, randomized SVD
  Eigen::MatrixXd start{};  // empty: the official random start; else the n x m starting X
  int restarts = 1;         // runs from independent random starts (the first from `start`
                            // if given); the lowest final objective wins (exp_simulate.m: 10)
  std::function<void(const M3OStatus&)> on_iteration;  // optional, called after every iteration
};
void validate(const M3OOptions& options);

// Each run returns its best iterate by the objective below, its plans rounded to permutations. The
// objective reported (and compared across restarts) is that of the returned pair (X, P):
//   pen(X) + (1/2)||P_Omega0(X_A - A)||^2 + (1/2) sum_g sum_i C^g_{i, P_g(i)}(X_g),
// pen = lambda ||X||_* (soft), (lambda^2/2) rank (hard) or 0 (rank-k). iterations, svd_seconds and
// assignment_seconds add up over restarts. stop_reason says which rule ended the (winning) run.
RecoveryResult m3o(const Observation& observation, const M3OOptions& options);

}  // namespace optidiff::matrix
