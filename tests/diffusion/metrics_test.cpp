// Frechet distance against closed forms; the classifier's checkpoint round trip and errors.
#include <gtest/gtest.h>

#include "optidiff/core/error.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/metrics.hpp"
#include "optidiff/diffusion/train.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::diffusion {
namespace {

FeatureStats stats(Eigen::VectorXd mean, Eigen::MatrixXd cov) {
  return {std::move(mean), std::move(cov), 100};
}

TEST(Frechet, CommutingCovariancesMatchTheClosedForm) {
  // Diagonal covariances commute: d^2 = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
  Eigen::VectorXd a(3), b(3), m1(3), m2(3);
  a << 1.0, 4.0, 0.25;
  b << 9.0, 1.0, 0.25;
  m1 << 0, 1, 2;
  m2 << 1, 1, 0;
  double ref = (m1 - m2).squaredNorm();
  for (int i = 0; i < 3; ++i) ref += std::pow(std::sqrt(a[i]) - std::sqrt(b[i]), 2);
  EXPECT_NEAR(frechet_distance(stats(m1, a.asDiagonal()), stats(m2, b.asDiagonal())), ref, 1e-12);
  EXPECT_NEAR(frechet_distance(stats(m1, a.asDiagonal()), stats(m1, a.asDiagonal())), 0.0, 1e-12);
}

TEST(Frechet, NonCommutingCaseIsSymmetricAndMatchesTheTwoByTwoFormula) {
  // For 2x2 SPD M, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); here M = S1^{1/2} S2 S1^{1/2}, so
  // tr M = tr(S1 S2) and det M = det S1 det S2.
  Eigen::Matrix2d s1, s2;
  s1 << 2.0, 0.7, 0.7, 1.0;
  s2 << 1.0, -0.4, -0.4, 3.0;
  const Eigen::VectorXd z = Eigen::VectorXd::Zero(2);
  const double tr_sqrt = std::sqrt((s1 * s2).trace() + 2 * std::sqrt(s1.determinant() * s2.determinant()));
  const double ref = s1.trace() + s2.trace() - 2 * tr_sqrt;
  EXPECT_NEAR(frechet_distance(stats(z, s1), stats(z, s2)), ref, 1e-12);
  EXPECT_NEAR(frechet_distance(stats(z, s2), stats(z, s1)), ref, 1e-12);
  const Eigen::MatrixXd r = sqrt_psd(s1);
  EXPECT_LT((r * r - Eigen::MatrixXd(s1)).norm(), 1e-12);
}

TEST(Frechet, FeatureStatsAreTheSampleMeanAndUnbiasedCovariance) {
  auto f = torch::tensor({1.0, 2.0, 3.0, 6.0, 5.0, 10.0}).reshape({3, 2});
  auto s = feature_stats(f);
  EXPECT_NEAR(s.mean[0], 3.0, 1e-12);
  EXPECT_NEAR(s.mean[1], 6.0, 1e-12);
  EXPECT_NEAR(s.cov(0, 0), 4.0, 1e-12);   // (4 + 0 + 4) / 2
  EXPECT_NEAR(s.cov(1, 1), 16.0, 1e-12);  // (16 + 0 + 16) / 2
  EXPECT_NEAR(s.cov(0, 1), 8.0, 1e-12);
  EXPECT_THROW(feature_stats(torch::zeros({1, 2})), Error);
}

TEST(Classifier, SaveLoadRoundTripAndWrongKind) {
  testing::TempDir dir;
  torch::manual_seed(0);
  Classifier c;
  c->eval();
  save_classifier(dir.file("c.ckpt"), c, {{"test_accuracy", 0.5}});
  Json meta;
  auto back = load_classifier(dir.file("c.ckpt"), &meta);
  EXPECT_EQ(meta["test_accuracy"], 0.5);
  auto x = torch::rand({4, 1, 28, 28}) * 2 - 1;
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(c->forward(x), back->forward(x)));
  EXPECT_EQ(back->features(x).sizes(), (std::vector<int64_t>{4, kClassifierFeatures}));
  DiT m(dit_config("tiny"));
  save_dit(dir.file("dit.ckpt"), m, Objective::kFlow, {});
  try {
    load_classifier(dir.file("dit.ckpt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("expected classifier"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace optidiff::diffusion
