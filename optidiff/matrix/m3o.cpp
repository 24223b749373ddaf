#include "optidiff/matrix/m3o.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "optidiff/core/error.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/matrix/assignment.hpp"
#include "optidiff/matrix/internal/blocks.hpp"

namespace optidiff::matrix {
namespace mi = matrix_internal;

void validate(const M3OOptions& o) {
  validate(o.prox);
  const auto& t = o.temperature;
  if (!(t.initial > 0) || !std::isfinite(t.initial))
    throw_invalid("--epsilon is " + std::to_string(t.initial) + "; expected a finite value > 0");
  if (!(t.decay > 0 && t.decay < 1))
    throw_invalid("epsilon decay is " + std::to_string(t.decay) + "; expected a value in (0, 1)");
  if (!(t.minimum > 0) || t.minimum > t.initial)
    throw_invalid("--epsilon-min is " + std::to_string(t.minimum) +
                  "; expected 0 < epsilon-min <= --epsilon");
  if (t.patience < 1)
    throw_invalid("--patience is " + std::to_string(t.patience) + "; expected >= 1");
  if (o.max_iterations < 1)
    throw_invalid("--max-iterations is " + std::to_string(o.max_iterations) + "; expected >= 1");
  if (o.sinkhorn_iterations < 1 || !(o.sinkhorn_tolerance > 0))
    throw_invalid("Sinkhorn iterations must be >= 1 and its tolerance > 0");
  if (o.restarts < 1)
    throw_invalid("--restarts is " + std::to_string(o.restarts) + "; expected >= 1");
  if (!(o.step_min > 0 && o.step_min <= o.step_max))
    throw_invalid("step bounds are [" + std::to_string(o.step_min) + ", " +
                  std::to_string(o.step_max) + "]; expected 0 < min <= max");
}

namespace {

// One run of CD_complete.m from one start (restart k: the given start or a random one from `seed`).
RecoveryResult m3o_run(const Observation& obs, const M3OOptions& o, int restart,
                       std::uint64_t seed) {
  Stopwatch total;
  const int n = obs.rows(), G = obs.groups();
  auto groups = mi::shuffled_groups(obs);
  Eigen::MatrixXd x = mi::starting_estimate(obs, restart == 0 ? o.start : Eigen::MatrixXd(), seed);
  Prox prox(o.prox, Rng(seed).stream(11).seed());

  std::vector<Eigen::MatrixXd> grad(G), plan(G), plan_old(G, Eigen::MatrixXd::Zero(n, n)),
      best_plan(G);
  std::vector<SinkhornResult> warm(G);
  std::vector<double> eta(G, 0.0);  // the first iteration takes no gradient step (CD_complete.m)
  Eigen::MatrixXd best_x = x;
  double best_objective = std::numeric_limits<double>::infinity(), best_penalty = 0;
  double best_cert = std::numeric_limits<double>::infinity();
  double eps = o.temperature.initial, eps_min = o.temperature.minimum;
  int counts = 0, eps_counts = 0;
  RecoveryResult r;
  r.stop_reason = "reached --max-iterations (" + std::to_string(o.max_iterations) + ")";

  for (int it = 1; it <= o.max_iterations; ++it) {
    r.iterations = it;
    // 1-2. Data step on the reference block, gradient step on each group, proximal step on all of
    // X.
    mi::impose_reference(x, obs);
    for (int g = 0; g < G; ++g)
      if (eta[g] > 0) x.middleCols(groups[g].start, groups[g].width) -= eta[g] * grad[g];
    ProxResult p = prox(x);
    x = std::move(p.X);
    r.svd_seconds += p.svd_seconds;

    // 3-6. Costs, Max-Oracle, gradient, diagnostics.
    double transport = 0, mean_cert = 0;
    std::vector<double> cert(G), diff(G);
    for (int g = 0; g < G; ++g) {
      const auto xg = x.middleCols(groups[g].start, groups[g].width);
      const Eigen::MatrixXd cost = mi::group_cost(xg, groups[g]);
      if (it == 1 && g == 0 && o.relative_epsilon) {
        // Pitfall 7 of the note: eps is relative to the cost scale; express it in median costs.
        std::vector<double> v(cost.data(), cost.data() + cost.size());
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        const double scale = v[v.size() / 2] > 0 ? v[v.size() / 2] : 1.0;
        eps *= scale;
        eps_min *= scale;
      }
      Stopwatch sw;
      SinkhornResult s = sinkhorn(cost,
                                  {.epsilon = eps,
                                   .max_iterations = o.sinkhorn_iterations,
                                   .tolerance = o.sinkhorn_tolerance},
                                  o.warm_start ? &warm[g] : nullptr);
      r.assignment_seconds += sw.seconds();
      plan[g] = std::move(s.plan);
      if (o.warm_start) warm[g] = std::move(s);
      const Eigen::MatrixXd& pi = plan[g];
      transport += 0.5 * cost.cwiseProduct(pi).sum();
      // G_g = X_g o (pi W) - pi (W o B_o): section 2.2, without the factor 2 (as the code).
      grad[g] = xg.cwiseProduct(pi * groups[g].mask) - pi * groups[g].masked;
      cert[g] = (1.0 - pi.rowwise().maxCoeff().array()).abs().mean();
      diff[g] = (pi - plan_old[g]).cwiseAbs().maxCoeff();
      plan_old[g] = pi;
      mean_cert += cert[g] / G;
    }
    const double objective = p.penalty + mi::reference_misfit(x, obs) + transport;
    // 8. Adaptive step for the next iteration.
    for (int g = 0; g < G; ++g)
      eta[g] = std::clamp(
          (0.5 * std::pow(1.0 - std::min(cert[g], 1.0), o.step_alpha) + 0.01) * (1.0 - diff[g]),
          o.step_min, o.step_max);
    // 9. Best so far; counters of stale iterations.
    bool improved = false;
    if (mean_cert < 0.9999 * best_cert) {
      best_cert = mean_cert;
      improved = true;
    }
    if (objective <= 0.9999 * best_objective || it == 1) {
      best_objective = objective;
      best_penalty = p.penalty;
      best_x = x;
      best_plan = plan;
      improved = true;
    }
    if (improved) {
      counts = eps_counts = 0;
    } else {
      ++counts;
      ++eps_counts;
    }
    if (o.on_iteration) {
      double mean_eta = 0;
      for (double e : eta) mean_eta += e / G;
      o.on_iteration({restart, it, objective, eps, mean_cert, mean_eta, &x, &plan});
    }
    // 10. Annealing and stopping.
    if (counts > 5 * o.temperature.patience) {
      r.stop_reason =
          "no improvement in " + std::to_string(5 * o.temperature.patience) + " iterations";
      break;
    }
    if (eps_counts > o.temperature.patience) {
      eps *= o.temperature.decay;
      eps_counts = 0;
      if (eps < eps_min) {
        r.stop_reason = "temperature fell below its minimum";
        break;
      }
    }
  }

  // The reported objective is that of what is returned: the best X and the rounded permutations.
  Stopwatch sw;
  double transport = 0;
  for (int g = 0; g < G; ++g) {
    r.observed_row.push_back(round_to_permutation(best_plan[g]));
    r.argmax_collisions += argmax_collisions(best_plan[g]);
    const Eigen::MatrixXd cost =
        mi::group_cost(best_x.middleCols(groups[g].start, groups[g].width), groups[g]);
    for (int i = 0; i < n; ++i) transport += 0.5 * cost(i, r.observed_row[g][i]);
  }
  r.assignment_seconds += sw.seconds();
  r.objective = best_penalty + mi::reference_misfit(best_x, obs) + transport;
  r.estimate = std::move(best_x);
  r.seconds = total.seconds();
  return r;
}

}  // namespace

RecoveryResult m3o(const Observation& obs, const M3OOptions& o) {
  validate(obs);
  validate(o);
  if (o.prox.kind == ProxKind::kRank &&
      o.prox.rank > std::min(obs.values.rows(), obs.values.cols()))
    throw_invalid("--rank-k is " + std::to_string(o.prox.rank) +
                  "; expected at most min(rows, cols) = " +
                  std::to_string(std::min(obs.values.rows(), obs.values.cols())));
  // exp_simulate.m runs 10 random starts and logs each one's objective: keep the lowest, which
  // needs nothing but the data (never the truth).
  Stopwatch total;
  RecoveryResult best;
  int iterations = 0, best_restart = 0;
  double svd_seconds = 0, assignment_seconds = 0;
  for (int k = 0; k < o.restarts; ++k) {
    RecoveryResult r = m3o_run(obs, o, k, k == 0 ? o.seed : Rng(o.seed).stream(1000 + k).seed());
    iterations += r.iterations;
    svd_seconds += r.svd_seconds;
    assignment_seconds += r.assignment_seconds;
    if (k == 0 || r.objective < best.objective) {
      best = std::move(r);
      best_restart = k;
    }
  }
  best.iterations = iterations;
  best.svd_seconds = svd_seconds;
  best.assignment_seconds = assignment_seconds;
  best.seconds = total.seconds();
  if (o.restarts > 1)
    best.stop_reason = "best of " + std::to_string(o.restarts) + " starts: start " +
                       std::to_string(best_restart + 1) + " (" + best.stop_reason + ")";
  return best;
}

}  // namespace optidiff::matrix
