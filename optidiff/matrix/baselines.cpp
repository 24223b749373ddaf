#include "optidiff/matrix/baselines.hpp"

#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/matrix/assignment.hpp"
#include "optidiff/matrix/internal/blocks.hpp"

namespace optidiff::matrix {
namespace mi = matrix_internal;

RecoveryResult complete(const Eigen::MatrixXd& values, const Eigen::MatrixXd& mask,
                        const CompletionOptions& o) {
  validate(o.prox);
  Stopwatch total;
  Prox prox(o.prox, o.seed);
  const Eigen::MatrixXd observed = values.cwiseProduct(mask);
  const Eigen::MatrixXd hidden = Eigen::MatrixXd::Ones(mask.rows(), mask.cols()) - mask;
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(values.rows(), values.cols());
  RecoveryResult r;
  r.stop_reason = "reached max iterations (" + std::to_string(o.max_iterations) + ")";
  double penalty = 0;
  for (int it = 1; it <= o.max_iterations; ++it) {
    r.iterations = it;
    ProxResult p = prox(observed + hidden.cwiseProduct(x));
    r.svd_seconds += p.svd_seconds;
    penalty = p.penalty;
    const double change = (p.X - x).norm(), size = p.X.norm();
    x = std::move(p.X);
    if (change <= o.tolerance * std::max(size, 1e-300)) {
      r.stop_reason = "relative change below " + std::to_string(o.tolerance);
      break;
    }
  }
  r.objective = 0.5 * (x - values).cwiseProduct(mask).squaredNorm() + penalty;
  r.estimate = std::move(x);
  r.seconds = total.seconds();
  return r;
}

RecoveryResult separate_completion(const Observation& obs, const CompletionOptions& o) {
  validate(obs);
  Stopwatch total;
  RecoveryResult r;
  r.estimate.resize(obs.values.rows(), obs.values.cols());
  for (int b = 0; b < static_cast<int>(obs.blocks.size()); ++b) {
    const int c = obs.block_start(b), w = obs.blocks[b];
    RecoveryResult rb = complete(obs.values.middleCols(c, w), obs.mask.middleCols(c, w), o);
    r.estimate.middleCols(c, w) = rb.estimate;
    r.iterations = std::max(r.iterations, rb.iterations);
    r.svd_seconds += rb.svd_seconds;
    r.objective += rb.objective;
    r.stop_reason = rb.stop_reason;
  }
  for (int g = 0; g < obs.groups(); ++g)
    r.observed_row.push_back(mi::identity_permutation(obs.rows()));
  r.stop_reason = "each block completed (" + r.stop_reason + "); correspondence not estimated";
  r.seconds = total.seconds();
  return r;
}

RecoveryResult oracle_completion(const Observation& obs,
                                 const std::vector<std::vector<int>>& observed_row,
                                 const CompletionOptions& o) {
  validate(obs);
  if (static_cast<int>(observed_row.size()) != obs.groups())
    throw_invalid("the oracle got " + std::to_string(observed_row.size()) +
                  " permutations; expected one per group (" + std::to_string(obs.groups()) + ")");
  for (const auto& p : observed_row)
    if (static_cast<int>(p.size()) != obs.rows())
      throw_invalid("an oracle permutation has " + std::to_string(p.size()) +
                    " entries; expected " + std::to_string(obs.rows()));
  Stopwatch total;
  const Observation u = mi::unshuffle(obs, observed_row);
  RecoveryResult r = complete(u.values, u.mask, o);
  r.observed_row = observed_row;
  r.seconds = total.seconds();
  return r;
}

RecoveryResult alternating_minimization(const Observation& obs, const AlternatingOptions& o) {
  validate(obs);
  validate(o.prox);
  if (!(o.step > 0 && o.step <= 1))
    throw_invalid("alternating step is " + std::to_string(o.step) + "; expected (0, 1]");
  Stopwatch total;
  const int n = obs.rows(), G = obs.groups();
  auto groups = mi::shuffled_groups(obs);
  Eigen::MatrixXd x = mi::starting_estimate(obs, o.start, o.seed);
  Prox prox(o.prox, Rng(o.seed).stream(11).seed());
  std::vector<std::vector<int>> assignment(G);
  RecoveryResult r;
  r.stop_reason = "reached max iterations (" + std::to_string(o.max_iterations) + ")";
  int stable = 0;
  double penalty = 0, transport = 0;
  for (int it = 1; it <= o.max_iterations; ++it) {
    r.iterations = it;
    mi::impose_reference(x, obs);
    for (int g = 0; g < G; ++g) {
      if (assignment[g].empty()) continue;
      auto xg = x.middleCols(groups[g].start, groups[g].width);
      for (int i = 0; i < n; ++i) {
        const int j = assignment[g][i];
        xg.row(i) +=
            o.step * groups[g].mask.row(j).cwiseProduct(groups[g].observed.row(j) - xg.row(i));
      }
    }
    ProxResult p = prox(x);
    x = std::move(p.X);
    r.svd_seconds += p.svd_seconds;
    penalty = p.penalty;
    bool changed = false;
    transport = 0;
    Stopwatch sw;
    for (int g = 0; g < G; ++g) {
      const Eigen::MatrixXd cost =
          mi::group_cost(x.middleCols(groups[g].start, groups[g].width), groups[g]);
      Assignment a = solve_assignment(cost);
      transport += 0.5 * a.cost;
      if (a.row_to_col != assignment[g]) changed = true;
      assignment[g] = std::move(a.row_to_col);
    }
    r.assignment_seconds += sw.seconds();
    stable = changed ? 0 : stable + 1;
    if (stable >= o.stable_iterations) {
      r.stop_reason =
          "assignments unchanged for " + std::to_string(o.stable_iterations) + " iterations";
      break;
    }
  }
  r.objective = penalty + mi::reference_misfit(x, obs) + transport;
  r.estimate = std::move(x);
  r.observed_row = std::move(assignment);
  r.seconds = total.seconds();
  return r;
}

}  // namespace optidiff::matrix
