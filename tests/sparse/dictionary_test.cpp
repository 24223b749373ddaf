// The dictionary step (block coordinate descent, Mairal et al. 2009) never increases the objective,
// keeps every atom in the unit ball, minimises each atom exactly and replaces unused atoms.
#include <gtest/gtest.h>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "tests/sparse/sparse_testing.hpp"
#include "optidiff/sparse/dictionary.hpp"
#include "optidiff/sparse/lasso.hpp"

namespace optidiff::sparse {
namespace {

using testing::normal_matrix;

std::vector<Weights> all_levels(Eigen::Index m, Eigen::Index n, Rng& rng) {
  Eigen::VectorXd v(n), u(m);
  Eigen::MatrixXd e(m, n);
  for (auto& x : v) x = rng.uniform() < 0.2 ? 0.0 : rng.uniform();
  for (auto& x : u) x = rng.uniform() < 0.2 ? 0.0 : rng.uniform();
  for (Eigen::Index i = 0; i < e.size(); ++i) e.data()[i] = rng.uniform() < 0.2 ? 0.0 : rng.uniform();
  return {Weights::none(), Weights::samples(v), Weights::features(u), Weights::elements(e)};
}

TEST(DictionaryUpdate, NeverIncreasesTheObjectiveAtAnyWeightLevel) {
  Rng rng(11);
  const Eigen::MatrixXd X = normal_matrix(15, 60, rng);
  for (const auto& w : all_levels(15, 60, rng)) {
    Rng init(3);
    Eigen::MatrixXd B = initial_dictionary(X, 12, init);
    Eigen::MatrixXd S = lasso_fista(B, X, {.lambda = 0.2}).codes;
    double before = weighted_objective(B, S, X, w, 0.2);
    for (int round = 0; round < 6; ++round) {
      update_dictionary(B, S, X, w, {.passes = 1});
      const double after = weighted_objective(B, S, X, w, 0.2);
      EXPECT_LE(after, before + 1e-12 * std::abs(before)) << level_name(w.level) << " round " << round;
      EXPECT_LE(B.colwise().norm().maxCoeff(), 1 + 1e-12);
      S = lasso_fista(B, X, {.lambda = 0.2, .max_iterations = 100}, w, S).codes;
      before = weighted_objective(B, S, X, w, 0.2);
    }
  }
}

// After one pass, the last atom is the exact minimiser with the others fixed: no feasible perturbation of it
// lowers the objective. (Rows no weight reaches keep their value by design, so they are not perturbed.)
TEST(DictionaryUpdate, LastAtomIsABlockMinimiser) {
  Rng rng(12);
  const Eigen::MatrixXd X = normal_matrix(10, 40, rng);
  for (const auto& w : all_levels(10, 40, rng)) {
    Rng init(4);
    Eigen::MatrixXd B = initial_dictionary(X, 6, init);
    const Eigen::MatrixXd S = lasso_fista(B, X, {.lambda = 0.1}).codes;
    update_dictionary(B, S, X, w);
    const double best = weighted_objective(B, S, X, w, 0.1);
    for (int trial = 0; trial < 200; ++trial) {
      Eigen::MatrixXd P = B;
      Eigen::VectorXd d(10);
      rng.fill_normal(d.data(), 10);
      if (w.level == Level::kFeature) d = d.cwiseProduct((w.feature.array() > 0).cast<double>().matrix());
      P.col(5) += 1e-3 * (1 + trial % 5) * d;
      if (P.col(5).norm() > 1) P.col(5).normalize();
      EXPECT_GE(weighted_objective(P, S, X, w, 0.1), best - 1e-10) << level_name(w.level);
    }
  }
}

TEST(DictionaryUpdate, UnweightedStepIsMairalsProjectedUpdate) {
  Rng rng(13);
  const Eigen::MatrixXd X = normal_matrix(8, 30, rng);
  Rng init(5);
  Eigen::MatrixXd B = initial_dictionary(X, 5, init);
  const Eigen::MatrixXd S = lasso_fista(B, X, {.lambda = 0.05}).codes;
  // Mairal et al. 2009, Algorithm 2: u_j = (c_j - B a_j)/A_jj + b_j; b_j = u_j / max(||u_j||, 1).
  Eigen::MatrixXd expected = B;
  const Eigen::MatrixXd A = S * S.transpose(), C = X * S.transpose();
  for (int j = 0; j < 5; ++j) {
    const Eigen::VectorXd u = (C.col(j) - expected * A.col(j)) / A(j, j) + expected.col(j);
    expected.col(j) = u / std::max(u.norm(), 1.0);
  }
  update_dictionary(B, S, X, Weights::none());
  EXPECT_LT((B - expected).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(DictionaryUpdate, UnusedAtomBecomesTheWorstFittedSample) {
  Rng rng(14);
  const Eigen::MatrixXd X = normal_matrix(6, 20, rng);
  Rng init(6);
  Eigen::MatrixXd B = initial_dictionary(X, 4, init);
  Eigen::MatrixXd S = lasso_fista(B, X, {.lambda = 0.1}).codes;
  S.row(2).setZero();
  const double before = weighted_objective(B, S, X, Weights::none(), 0.1);
  update_dictionary(B, S, X, Weights::none());
  EXPECT_NEAR(B.col(2).norm(), 1.0, 1e-12);
  bool is_sample = false;
  for (Eigen::Index i = 0; i < X.cols(); ++i) is_sample |= (B.col(2) - X.col(i).normalized()).norm() < 1e-12;
  EXPECT_TRUE(is_sample);
  EXPECT_LE(weighted_objective(B, S, X, Weights::none(), 0.1), before);
}

TEST(DictionaryUpdate, InitialDictionaryHasUnitNormDataAtoms) {
  Rng rng(15);
  const Eigen::MatrixXd X = normal_matrix(5, 7, rng);
  Rng init(1);
  const Eigen::MatrixXd B = initial_dictionary(X, 9, init);  // more atoms than samples: random extras
  EXPECT_LT((B.colwise().norm().array() - 1).abs().maxCoeff(), 1e-12);
  EXPECT_THROW(initial_dictionary(X, 0, init), Error);
}

}  // namespace
}  // namespace optidiff::sparse
