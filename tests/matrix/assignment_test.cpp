// Linear assignment against brute force (every permutation, n <= 8) and planted optima (n up to
// 600).
#include "optidiff/matrix/assignment.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::matrix {
namespace {

double brute_force_min(const Eigen::MatrixXd& c) {
  std::vector<int> p(c.rows());
  std::iota(p.begin(), p.end(), 0);
  double best = 1e300;
  do {
    double s = 0;
    for (int i = 0; i < c.rows(); ++i) s += c(i, p[i]);
    best = std::min(best, s);
  } while (std::next_permutation(p.begin(), p.end()));
  return best;
}

void expect_consistent(const Eigen::MatrixXd& c, const Assignment& a) {
  ASSERT_EQ(a.row_to_col.size(), std::size_t(c.rows()));
  std::vector<int> seen(c.cols(), 0);
  double s = 0;
  int assigned = 0;
  for (int i = 0; i < c.rows(); ++i) {
    const int j = a.row_to_col[i];
    if (j < 0) continue;
    ++assigned;
    ASSERT_LT(j, c.cols());
    EXPECT_EQ(seen[j]++, 0) << "column " << j << " used twice";
    EXPECT_EQ(a.col_to_row[j], i);
    s += c(i, j);
  }
  EXPECT_EQ(assigned, std::min(c.rows(), c.cols()));
  EXPECT_NEAR(s, a.cost, 1e-9 * (1 + std::abs(s)));
}

TEST(Assignment, MatchesBruteForceOnAllSmallSizes) {
  Rng rng(42);
  for (int n = 1; n <= 8; ++n) {
    const int trials = n <= 6 ? 60 : 8;
    for (int t = 0; t < trials; ++t) {
      Eigen::MatrixXd c(n, n);
      for (int k = 0; k < c.size(); ++k) c.data()[k] = rng.uniform(-5, 5);
      const Assignment a = solve_assignment(c);
      expect_consistent(c, a);
      EXPECT_NEAR(a.cost, brute_force_min(c), 1e-9) << "n=" << n << " trial " << t;
    }
  }
}

TEST(Assignment, MatchesBruteForceWithManyTies) {
  // Small integer costs make many optimal assignments and exact ties in every phase of JV.
  Rng rng(7);
  for (int n = 2; n <= 8; ++n)
    for (int t = 0; t < (n <= 6 ? 80 : 8); ++t) {
      Eigen::MatrixXd c(n, n);
      for (int k = 0; k < c.size(); ++k) c.data()[k] = double(rng.uniform_int(3));
      const Assignment a = solve_assignment(c);
      expect_consistent(c, a);
      EXPECT_EQ(a.cost, brute_force_min(c)) << "n=" << n << " trial " << t;
    }
  // Constant matrix: every permutation is optimal.
  const Assignment a = solve_assignment(Eigen::MatrixXd::Constant(6, 6, 2.5));
  EXPECT_DOUBLE_EQ(a.cost, 15.0);
}

TEST(Assignment, RectangularMatchesBruteForceOverInjections) {
  Rng rng(3);
  for (int t = 0; t < 40; ++t) {
    const int r = 1 + int(rng.uniform_int(4)), extra = 1 + int(rng.uniform_int(3));
    Eigen::MatrixXd wide(r, r + extra);
    for (int k = 0; k < wide.size(); ++k) wide.data()[k] = rng.uniform(0, 10);
    // Brute force: pad with zero rows (every injection extends to a permutation of the same cost).
    Eigen::MatrixXd padded = Eigen::MatrixXd::Zero(r + extra, r + extra);
    padded.topRows(r) = wide;
    const double best = brute_force_min(padded);
    const Assignment a = solve_assignment(wide);
    expect_consistent(wide, a);
    EXPECT_NEAR(a.cost, best, 1e-9);
    const Assignment b = solve_assignment(wide.transpose());  // tall: every column assigned
    expect_consistent(wide.transpose(), b);
    EXPECT_NEAR(b.cost, best, 1e-9);
  }
}

TEST(Assignment, FindsPlantedOptimumOnLargeProblems) {
  // C_ij = u_i + v_j + s_ij with s = 0 on a planted permutation and s > 0 elsewhere: by LP duality
  // the planted permutation is the unique optimum and its cost is sum(u) + sum(v).
  for (int n : {50, 200, 600}) {
    Rng rng(n);
    Eigen::VectorXd u(n), v(n);
    for (int i = 0; i < n; ++i) u[i] = rng.uniform(-3, 3), v[i] = rng.uniform(-3, 3);
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.uniform_int(i + 1)]);
    Eigen::MatrixXd c(n, n);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i)
        c(i, j) = u[i] + v[j] + (perm[i] == j ? 0.0 : rng.uniform(0.01, 2.0));
    const Assignment a = solve_assignment(c);
    expect_consistent(c, a);
    EXPECT_EQ(a.row_to_col, perm) << "n=" << n;
    EXPECT_NEAR(a.cost, u.sum() + v.sum(), 1e-8 * n);
  }
}

TEST(Assignment, RejectsEmptyAndNonFiniteCosts) {
  EXPECT_THROW(solve_assignment(Eigen::MatrixXd(0, 3)), Error);
  Eigen::MatrixXd c = Eigen::MatrixXd::Ones(3, 3);
  c(1, 2) = std::nan("");
  try {
    solve_assignment(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("(1, 2)"), std::string::npos) << e.what();
  }
}

TEST(Assignment, RoundsSoftPlanToPermutationWhereArgmaxCollides) {
  // Rows 0 and 1 both peak in column 0; the row-wise argmax picks it twice, the rounding does not.
  Eigen::MatrixXd plan(3, 3);
  plan << 0.6, 0.3, 0.1,  //
      0.5, 0.4, 0.1,      //
      0.0, 0.2, 0.8;
  EXPECT_EQ(argmax_collisions(plan), 1);
  EXPECT_EQ(round_to_permutation(plan), (std::vector<int>{0, 1, 2}));
  EXPECT_THROW(round_to_permutation(Eigen::MatrixXd::Ones(2, 3)), Error);
}

}  // namespace
}  // namespace optidiff::matrix
