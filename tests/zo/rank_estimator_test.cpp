// The DAG rank estimator (rank_estimator.hpp) against its definition and the statistics table of
// shared/research/zo-ranksgd.md, section 2.3.
#include "optidiff/zo/rank_estimator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::zo {
namespace {

// The explicit edge list of an (m,k) answer: all pairs inside the top k, and every ranked id over every
// unranked one (note, section 2.2).
Edges explicit_edges(const std::vector<int>& top, int m) {
  Edges e;
  std::vector<char> ranked(m, 0);
  for (int id : top) ranked[id] = 1;
  for (std::size_t a = 0; a < top.size(); ++a) {
    for (std::size_t b = a + 1; b < top.size(); ++b) e.better_worse.emplace_back(top[a], top[b]);
    for (int j = 0; j < m; ++j)
      if (!ranked[j]) e.better_worse.emplace_back(top[a], j);
  }
  return e;
}

TEST(RankEstimator, ClosedFormEqualsExplicitEdgeSum) {
  Rng rng(7);
  for (auto [m, k] : std::vector<std::pair<int, int>>{{2, 1}, {5, 2}, {5, 5}, {10, 1}, {10, 3}, {10, 10}, {20, 7}}) {
    const int d = 13;
    Eigen::MatrixXd xi(d, m);
    rng.fill_normal(xi.data(), xi.size());
    std::vector<int> perm(m);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const std::vector<int> top(perm.begin(), perm.begin() + k);
    // Definition, Eq. (5): (1/|E|) sum over edges (xi_worse - xi_better).
    const Edges e = explicit_edges(top, m);
    Eigen::VectorXd direct = Eigen::VectorXd::Zero(d);
    for (auto [a, b] : e.better_worse) direct += xi.col(b) - xi.col(a);
    direct /= static_cast<double>(e.better_worse.size());
    Eigen::VectorXd closed(d), from_edges(d);
    const RankWeights w = topk_weights(TopK{top}, m, k);
    EXPECT_EQ(w.edges, static_cast<double>(e.better_worse.size()));
    rank_direction(w, xi, closed);
    rank_direction(edge_weights(e, m), xi, from_edges);
    EXPECT_LT((closed - direct).norm(), 1e-13 * (1 + direct.norm())) << "m=" << m << " k=" << k;
    EXPECT_LT((from_edges - direct).norm(), 1e-13 * (1 + direct.norm()));
    EXPECT_NEAR(std::accumulate(w.c.begin(), w.c.end(), 0.0), 0.0, 0.0) << "sum c_i must be exactly 0";
    EXPECT_EQ(w.best, top[0]);
  }
}

TEST(RankEstimator, RegeneratedPerturbationsEqualStoredOnes) {
  const int d = 257, m = 6;
  const std::uint64_t seed = 0xabcdef;
  Eigen::MatrixXd xi(d, m);
  for (int i = 0; i < m; ++i) fill_perturbation(seed, i, xi.col(i).data(), d);
  const RankWeights w = topk_weights(TopK{{4, 0, 2}}, m, 3);
  Eigen::VectorXd a(d), b(d), work;
  rank_direction(w, xi, a);
  rank_direction(w, seed, work, b);
  EXPECT_EQ(a, b);  // bit-identical
}

TEST(RankEstimator, OfficialCompatWeightsAddOneToEveryRanked) {
  const RankWeights p = topk_weights(TopK{{2, 0}}, 4, 2), o = topk_weights(TopK{{2, 0}}, 4, 2, true);
  EXPECT_EQ(o.c[2], p.c[2] - 1);
  EXPECT_EQ(o.c[0], p.c[0] - 1);
  EXPECT_EQ(o.c[1], p.c[1]);
  // The official code's weights m - 2t (t 0-based), negated into our descent convention: 2t - m.
  EXPECT_EQ(o.c[2], 0 - 4);
  EXPECT_EQ(o.c[0], 2 - 4);
}

void expect_invalid(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(RankEstimator, RejectsBadRankings) {
  expect_invalid([] { topk_weights(TopK{{1, 1, 0}}, 5, 3); }, "repeats id 1");
  expect_invalid([] { topk_weights(TopK{{1, 7, 0}}, 5, 3); }, "contains id 7");
  expect_invalid([] { topk_weights(TopK{{-1, 2, 0}}, 5, 3); }, "contains id -1");
  expect_invalid([] { topk_weights(TopK{{1, 2}}, 5, 3); }, "expected exactly k = 3");
  expect_invalid([] { topk_weights(TopK{{1, 2, 3, 4}}, 5, 3); }, "has 4 ids");
  expect_invalid([] { edge_weights(Edges{{{0, 1}, {1, 2}, {2, 0}}}, 3); }, "cycle");
  expect_invalid([] { edge_weights(Edges{{{0, 1}, {0, 1}}}, 3); }, "twice");
  expect_invalid([] { edge_weights(Edges{{{0, 0}}}, 3); }, "itself");
  expect_invalid([] { edge_weights(Edges{{{0, 3}}}, 3); }, "outside");
  expect_invalid([] { edge_weights(Edges{}, 3); }, "empty");
  expect_invalid([] { feedback_weights(Values{{1.0, 2.0}}, 2, 1); }, "rank-only");
}

// Monte Carlo over a linear f (mu -> 0 is exact for linear f): the alignment c(m,k) = E[g_hat . g] and
// E||g||^2 against the note's table (d = 20, 4000 draws there; sampling errors of both runs combined).
TEST(RankEstimator, StatisticsTableOfTheNote) {
  struct Row {
    int m, k;
    double edges, S, ortho, c, second;
  };
  const Row table[] = {{2, 1, 1, 2, 38.0, 1.124, 39.70},   {5, 1, 4, 20, 23.75, 1.458, 26.15},
                       {5, 2, 7, 32, 12.41, 1.279, 14.29}, {5, 5, 10, 40, 7.60, 1.118, 8.99},
                       {10, 1, 9, 90, 21.11, 1.688, 24.12}, {10, 3, 24, 218, 7.19, 1.407, 9.29},
                       {10, 5, 35, 290, 4.50, 1.247, 6.15}, {10, 10, 45, 330, 3.10, 1.128, 4.42},
                       {20, 20, 190, 2660, 1.40, 1.125, 2.70}};
  const int d = 20, draws = 20000, note_draws = 4000;
  Rng rng(2024);
  for (const Row& row : table) {
    Eigen::MatrixXd xi(d, row.m);
    Eigen::VectorXd g(d);
    std::vector<double> score(row.m);
    std::vector<int> ids(row.m);
    double sum_c = 0, sum_c2 = 0, sum_n = 0, sum_n2 = 0, S = 0;
    RankWeights w;
    for (int t = 0; t < draws; ++t) {
      rng.fill_normal(xi.data(), xi.size());
      for (int i = 0; i < row.m; ++i) score[i] = xi(0, i);  // f(x) = e_1 . x: g_hat = e_1
      std::iota(ids.begin(), ids.end(), 0);
      std::partial_sort(ids.begin(), ids.begin() + row.k, ids.end(), [&](int a, int b) { return score[a] < score[b]; });
      w = topk_weights(TopK{std::vector<int>(ids.begin(), ids.begin() + row.k)}, row.m, row.k);
      rank_direction(w, xi, g);
      sum_c += g[0];
      sum_c2 += g[0] * g[0];
      const double n2 = g.squaredNorm();
      sum_n += n2;
      sum_n2 += n2 * n2;
    }
    for (double c : w.c) S += c * c;
    EXPECT_EQ(w.edges, row.edges);
    EXPECT_EQ(S, row.S);  // S(m,k) = sum_r (2r - m - 1)^2 + k^2 (m - k)
    EXPECT_NEAR((d - 1) * S / (w.edges * w.edges), row.ortho, 0.006);
    const double mc = sum_c / draws, sc = std::sqrt(sum_c2 / draws - mc * mc);
    const double mn = sum_n / draws, sn = std::sqrt(sum_n2 / draws - mn * mn);
    const double tol_c = 4 * sc * std::sqrt(1.0 / draws + 1.0 / note_draws) + 0.0005;
    const double tol_n = 4 * sn * std::sqrt(1.0 / draws + 1.0 / note_draws) + 0.005;
    EXPECT_NEAR(mc, row.c, tol_c) << "c(m,k) for (" << row.m << "," << row.k << ")";
    EXPECT_NEAR(mn, row.second, tol_n) << "E||g||^2 for (" << row.m << "," << row.k << ")";
  }
}

// Section 2.1: one comparison, E[S (xi_1 - xi_2)] -> (2 / sqrt(pi)) grad/|grad|.
TEST(RankEstimator, PairwiseConstantIsTwoOverSqrtPi) {
  Rng rng(5);
  const int d = 10, draws = 100000;
  Eigen::MatrixXd xi(d, 2);
  Eigen::VectorXd g(d), mean = Eigen::VectorXd::Zero(d);
  for (int t = 0; t < draws; ++t) {
    rng.fill_normal(xi.data(), xi.size());
    const int best = xi(0, 0) < xi(0, 1) ? 0 : 1;
    rank_direction(topk_weights(TopK{{best}}, 2, 1), xi, g);
    mean += g;
  }
  mean /= draws;
  // sd of g[0] is sqrt(2 - 4/pi) ~ 0.60: 4 standard errors ~ 0.0076.
  EXPECT_NEAR(mean[0], 2 / std::sqrt(M_PI), 0.008);
  EXPECT_LT(mean.tail(d - 1).cwiseAbs().maxCoeff(), 0.02);
}

}  // namespace
}  // namespace optidiff::zo
