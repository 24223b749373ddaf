// Tests of the lasso (FISTA) and OMP coders against exact references: the closed form on orthogonal
// dictionaries, the KKT conditions in general, and exact recovery of sparse codes.
#include <gtest/gtest.h>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "tests/sparse/sparse_testing.hpp"
#include "optidiff/sparse/lasso.hpp"
#include "optidiff/sparse/omp.hpp"

namespace optidiff::sparse {
namespace {

using testing::normal_matrix;

Eigen::MatrixXd orthogonal(Eigen::Index m, Rng& rng) {
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(normal_matrix(m, m, rng));
  return qr.householderQ() * Eigen::MatrixXd::Identity(m, m);
}

Eigen::MatrixXd unit_columns(Eigen::MatrixXd B) { return B.colwise().normalized(); }

TEST(LassoFista, OrthogonalDictionaryMatchesSoftThresholding) {
  Rng rng(1);
  const Eigen::MatrixXd Q = orthogonal(16, rng), X = normal_matrix(16, 25, rng);
  const double lambda = 0.3;
  const auto r = lasso_fista(Q, X, {.lambda = lambda, .max_iterations = 5000, .tolerance = 1e-14});
  const Eigen::MatrixXd expected = (Q.transpose() * X).unaryExpr([&](double z) { return soft_threshold(z, lambda); });
  EXPECT_LT((r.codes - expected).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_TRUE(r.converged);
}

TEST(LassoFista, OrthogonalDictionaryWithSampleWeightsThresholdsAtLambdaOverWeight) {
  Rng rng(2);
  const Eigen::MatrixXd Q = orthogonal(12, rng), X = normal_matrix(12, 10, rng);
  Eigen::VectorXd v(10);
  for (int i = 0; i < 10; ++i) v[i] = 0.1 + 0.09 * i;
  const double lambda = 0.2;
  const auto r = lasso_fista(Q, X, {.lambda = lambda, .max_iterations = 5000, .tolerance = 1e-14},
                             Weights::samples(v));
  const Eigen::MatrixXd z = Q.transpose() * X;
  for (int i = 0; i < 10; ++i)
    for (int a = 0; a < 12; ++a) EXPECT_NEAR(r.codes(a, i), soft_threshold(z(a, i), lambda / v[i]), 1e-10);
}

// KKT of min 1/2||W^1/2(x - Bs)||^2 + lambda||s||_1: g = B'W(x - Bs) has g_a = lambda sign(s_a) where s_a != 0
// and |g_a| <= lambda where s_a = 0.
void expect_kkt(const Eigen::MatrixXd& B, const Eigen::MatrixXd& X, const Weights& w, double lambda) {
  const auto r = lasso_fista(B, X, {.lambda = lambda, .max_iterations = 50000, .tolerance = 1e-13}, w);
  const Eigen::MatrixXd W = w.dense(X.rows(), X.cols());
  const Eigen::MatrixXd g = B.transpose() * W.cwiseProduct(X - B * r.codes);
  int nonzeros = 0;
  for (Eigen::Index i = 0; i < X.cols(); ++i)
    for (Eigen::Index a = 0; a < B.cols(); ++a) {
      const double s = r.codes(a, i);
      if (s != 0) {
        ++nonzeros;
        EXPECT_NEAR(g(a, i), s > 0 ? lambda : -lambda, 1e-6) << "level " << level_name(w.level);
      } else {
        EXPECT_LE(std::abs(g(a, i)), lambda + 1e-6) << "level " << level_name(w.level);
      }
    }
  EXPECT_GT(nonzeros, 0);  // the test must exercise both conditions
}

TEST(LassoFista, SatisfiesKktConditionsAtEveryWeightLevel) {
  Rng rng(3);
  const Eigen::MatrixXd B = unit_columns(normal_matrix(20, 40, rng)), X = normal_matrix(20, 15, rng);
  Eigen::VectorXd v = Eigen::VectorXd::Random(15).cwiseAbs() + Eigen::VectorXd::Constant(15, 0.05);
  Eigen::VectorXd u = Eigen::VectorXd::Random(20).cwiseAbs();
  u[3] = 0;  // an excluded feature
  Eigen::MatrixXd E = Eigen::MatrixXd::Random(20, 15).cwiseAbs();
  E(0, 0) = 0;
  expect_kkt(B, X, Weights::none(), 0.4);
  expect_kkt(B, X, Weights::samples(v), 0.2);
  expect_kkt(B, X, Weights::features(u), 0.2);
  expect_kkt(B, X, Weights::elements(E), 0.2);
}

TEST(LassoFista, WarmStartAtTheSolutionStopsAtOnce) {
  Rng rng(4);
  const Eigen::MatrixXd B = unit_columns(normal_matrix(10, 20, rng)), X = normal_matrix(10, 8, rng);
  const LassoOptions o{.lambda = 0.3, .max_iterations = 20000, .tolerance = 1e-12};
  const auto cold = lasso_fista(B, X, o);
  const auto warm = lasso_fista(B, X, {.lambda = 0.3, .max_iterations = 20000, .tolerance = 1e-6}, {}, cold.codes);
  EXPECT_LE(warm.iterations, 2);
  EXPECT_LT(warm.iterations, cold.iterations);
  EXPECT_LT((warm.codes - cold.codes).norm(), 1e-8);
}

TEST(LassoFista, ZeroWeightSampleKeepsItsWarmStart) {
  Rng rng(5);
  const Eigen::MatrixXd B = unit_columns(normal_matrix(6, 8, rng)), X = normal_matrix(6, 3, rng);
  const Eigen::MatrixXd start = normal_matrix(8, 3, rng);
  const auto r = lasso_fista(B, X, {.lambda = 0.1}, Weights::samples(Eigen::Vector3d(1, 0, 1)), start);
  EXPECT_EQ(r.codes.col(1), start.col(1));
  EXPECT_NE(r.codes.col(0), start.col(0));
}

TEST(LassoFista, RejectsBadInput) {
  const Eigen::MatrixXd B = Eigen::MatrixXd::Identity(4, 4), X = Eigen::MatrixXd::Ones(4, 2);
  EXPECT_THROW(lasso_fista(B, X, {.lambda = 0}), Error);
  EXPECT_THROW(lasso_fista(B, X, {.lambda = -1}), Error);
  EXPECT_THROW(lasso_fista(B, Eigen::MatrixXd::Ones(3, 2), {.lambda = 1}), Error);
  EXPECT_THROW(lasso_fista(B, X, {.lambda = 1}, Weights::samples(Eigen::Vector3d::Ones())), Error);
  EXPECT_THROW(lasso_fista(B, X, {.lambda = 1}, Weights::features(-Eigen::Vector4d::Ones())), Error);
}

TEST(Omp, OrthogonalDictionaryKeepsTheLargestCoefficients) {
  Rng rng(6);
  const Eigen::MatrixXd Q = orthogonal(10, rng), X = normal_matrix(10, 6, rng);
  const Eigen::MatrixXd S = omp(Q, X, {.max_nonzeros = 3});
  const Eigen::MatrixXd z = Q.transpose() * X;
  for (Eigen::Index i = 0; i < X.cols(); ++i) {
    Eigen::VectorXd mag = z.col(i).cwiseAbs();
    std::vector<double> sorted(mag.data(), mag.data() + mag.size());
    std::sort(sorted.rbegin(), sorted.rend());
    for (Eigen::Index a = 0; a < 10; ++a) {
      if (mag[a] >= sorted[2]) EXPECT_NEAR(S(a, i), z(a, i), 1e-12);
      else EXPECT_EQ(S(a, i), 0.0);
    }
  }
}

TEST(Omp, RecoversExactSparseCodesOfAnIncoherentDictionary) {
  Rng rng(7);
  const Eigen::MatrixXd B = unit_columns(normal_matrix(64, 128, rng));
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(128, 20);
  for (int i = 0; i < 20; ++i)
    for (int t = 0; t < 3; ++t) S(static_cast<Eigen::Index>(rng.uniform_int(128)), i) = rng.uniform(1, 2) * (rng.uniform() < 0.5 ? -1 : 1);
  const Eigen::MatrixXd X = B * S;
  const Eigen::MatrixXd got = omp(B, X, {.max_nonzeros = 3, .tolerance = 1e-20});
  EXPECT_LT((got - S).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_THROW(omp(B, X, {.max_nonzeros = 0}), Error);
  EXPECT_THROW(omp(B, X, {.max_nonzeros = 129}), Error);
}

}  // namespace
}  // namespace optidiff::sparse
