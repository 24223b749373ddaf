// Log-domain Sinkhorn: doubly stochastic plans, the primal-domain iteration as reference, and the
// eps -> 0 limit (exact assignment, with the entropic gap bound <C, pi_eps> - OPT <= eps n log n).
#include "optidiff/matrix/sinkhorn.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/matrix/assignment.hpp"

namespace optidiff::matrix {
namespace {

Eigen::MatrixXd random_cost(int n, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd c(n, n);
  for (int k = 0; k < c.size(); ++k) c.data()[k] = rng.uniform();
  return c;
}

TEST(Sinkhorn, PlanIsDoublyStochastic) {
  const Eigen::MatrixXd c = random_cost(30, 1);
  for (double eps : {1.0, 0.1, 0.01}) {
    const SinkhornResult r =
        sinkhorn(c, {.epsilon = eps, .max_iterations = 100000, .tolerance = 1e-10});
    ASSERT_TRUE(r.converged) << "eps=" << eps;
    EXPECT_LT((r.plan.colwise().sum().array() - 1).abs().maxCoeff(), 1e-12);
    EXPECT_LT((r.plan.rowwise().sum().array() - 1).abs().maxCoeff(), 1e-9);
    EXPECT_GE(r.plan.minCoeff(), 0.0);
    EXPECT_NEAR(r.marginal_error, (r.plan.rowwise().sum().array() - 1).matrix().norm(), 1e-12);
  }
}

TEST(Sinkhorn, MatchesPrimalDomainScalingIteration) {
  // Reference: the textbook iteration on K = exp(-C / eps), u = 1 / (K v), v = 1 / (K^T u).
  const Eigen::MatrixXd c = random_cost(12, 2);
  const double eps = 0.5;
  const Eigen::MatrixXd K = (-c / eps).array().exp().matrix();
  Eigen::VectorXd u = Eigen::VectorXd::Ones(12), v = Eigen::VectorXd::Ones(12);
  for (int it = 0; it < 5000; ++it) {
    u = (K * v).cwiseInverse();
    v = (K.transpose() * u).cwiseInverse();
  }
  const Eigen::MatrixXd reference = u.asDiagonal() * K * v.asDiagonal();
  const SinkhornResult r =
      sinkhorn(c, {.epsilon = eps, .max_iterations = 100000, .tolerance = 1e-13});
  EXPECT_LT((r.plan - reference).cwiseAbs().maxCoeff(), 1e-10);
}

// C_ij = u_i + v_j + slack_ij, zero slack on a hidden permutation and >= 0.05 elsewhere: by LP
// duality the hidden permutation is the unique optimal assignment, with a margin the temperatures
// below resolve.
Eigen::MatrixXd planted_cost(int n, double offsets, std::vector<int>& perm, std::uint64_t seed) {
  Rng rng(seed);
  perm.resize(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.uniform_int(i + 1)]);
  Eigen::VectorXd u(n), v(n);
  for (int i = 0; i < n; ++i)
    u[i] = rng.uniform(-offsets, offsets), v[i] = rng.uniform(-offsets, offsets);
  Eigen::MatrixXd c(n, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i)
      c(i, j) = u[i] + v[j] + (perm[i] == j ? 0.0 : rng.uniform(0.05, 1.0));
  return c;
}

TEST(Sinkhorn, TendsToTheExactAssignmentAsTemperatureFalls) {
  const int n = 25;
  std::vector<int> perm;
  const Eigen::MatrixXd c = planted_cost(n, 0.05, perm, 3);
  const Assignment exact = solve_assignment(c);
  ASSERT_EQ(exact.row_to_col, perm);
  Eigen::MatrixXd p_star = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) p_star(i, perm[i]) = 1;
  double previous_gap = 1e300, previous_distance = 1e300;
  SinkhornResult warm;
  for (double eps : {1.0, 0.3, 0.1, 0.03}) {
    const SinkhornResult r =
        sinkhorn(c, {.epsilon = eps, .max_iterations = 100000, .tolerance = 1e-7}, &warm);
    ASSERT_TRUE(r.converged) << "eps=" << eps;
    const double gap = c.cwiseProduct(r.plan).sum() - exact.cost;
    EXPECT_GE(gap, -1e-6);
    EXPECT_LE(gap, eps * n * std::log(double(n)) + 1e-6) << "entropic bound, eps=" << eps;
    EXPECT_LT(gap, previous_gap) << "eps=" << eps;
    const double distance = (r.plan - p_star).norm();
    EXPECT_LT(distance, previous_distance) << "eps=" << eps;
    previous_gap = gap;
    previous_distance = distance;
    warm = r;
  }
  EXPECT_LT(previous_distance,
            0.5 * std::sqrt(2.0 * n));  // far below the uniform plan's sqrt(n - 1)
  EXPECT_EQ(round_to_permutation(warm.plan), exact.row_to_col);
}

TEST(Sinkhorn, WarmStartReachesTheSamePlan) {
  const Eigen::MatrixXd c = random_cost(20, 4);
  const SinkhornOptions o{.epsilon = 0.05, .max_iterations = 100000, .tolerance = 1e-11};
  const SinkhornResult cold = sinkhorn(c, o);
  const SinkhornResult first =
      sinkhorn(c, {.epsilon = 0.2, .max_iterations = 100000, .tolerance = 1e-11});
  const SinkhornResult warm = sinkhorn(c, o, &first);
  EXPECT_LT((cold.plan - warm.plan).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_LT(warm.iterations, cold.iterations);
}

TEST(Sinkhorn, StableAtTinyTemperature) {
  // Margins 5e4 times the temperature: a primal-domain kernel exp(-C / eps) would underflow to 0.
  std::vector<int> perm;
  const Eigen::MatrixXd c = planted_cost(15, 0.01, perm, 5);
  const SinkhornResult r =
      sinkhorn(c, {.epsilon = 1e-6, .max_iterations = 1000, .tolerance = 1e-6});
  EXPECT_TRUE(r.plan.allFinite());
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(round_to_permutation(r.plan), perm);
  for (int i = 0; i < 15; ++i) EXPECT_NEAR(r.plan(i, perm[i]), 1.0, 1e-6);
}

TEST(Sinkhorn, RejectsBadInput) {
  EXPECT_THROW(sinkhorn(Eigen::MatrixXd::Ones(2, 3), {}), Error);
  EXPECT_THROW(sinkhorn(Eigen::MatrixXd::Ones(2, 2), {.epsilon = 0}), Error);
  Eigen::MatrixXd c = Eigen::MatrixXd::Ones(2, 2);
  c(0, 0) = INFINITY;
  EXPECT_THROW(sinkhorn(c, {}), Error);
}

}  // namespace
}  // namespace optidiff::matrix
