// Frechet distance against closed forms; precision/recall and KID against hand-worked cases and
// slow direct computations; both classifiers' (C_A, the judge C_B) checkpoint round trips and
// errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/diffusion/checkpoint.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/judge.hpp"
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
  const double tr_sqrt =
      std::sqrt((s1 * s2).trace() + 2 * std::sqrt(s1.determinant() * s2.determinant()));
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

// ---------------------------------------------------------------- precision and recall

// Points on a line: one sample per row of an [n, 1] matrix.
Eigen::MatrixXd line(const std::vector<double>& v) {
  Eigen::MatrixXd m(v.size(), 1);
  for (std::size_t i = 0; i < v.size(); ++i) m(i, 0) = v[i];
  return m;
}

Eigen::MatrixXd gaussian(int n, int d, std::uint64_t seed, double shift = 0, double scale = 1) {
  Rng rng(seed);
  Eigen::MatrixXd m(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) m(i, j) = shift + scale * rng.normal();
  return m;
}

TEST(PrecisionRecall, HandWorkedOnALine) {
  // Real points 0..9, k = 3. The third-nearest other point is 2 away for 1..8 and 3 away for the
  // ends.
  const auto real = line({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Manifold m = estimate_manifold(real, 3);
  const std::vector<double> radii = {3, 2, 2, 2, 2, 2, 2, 2, 2, 3};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(m.radii[i], radii[i]) << i;
  // Half the generated points lie among the real ones, half far away: precision 1/2.
  const auto gen = line({0.5, 1.5, 2.5, 3.5, 4.5, 100, 101, 102, 103, 104});
  // Generated radii (k = 3): 3, 2, 2, 2, 3 | 3, 2, 2, 2, 3. Their union covers [-2.5, 7.5] and
  // [97, 107], so real 0..7 are covered and 8, 9 are not: recall 8/10.
  const auto pr = precision_recall(real, gen, 3);
  EXPECT_EQ(pr.precision, 0.5);
  EXPECT_EQ(pr.recall, 0.8);
  // The ball is closed (distance <= radius, Eq. 1): -3 is exactly 3 from point 0, whose radius
  // is 3.
  EXPECT_EQ(manifold_coverage(m, line({-3})), 1.0);
  EXPECT_EQ(manifold_coverage(m, line({-3.001})), 0.0);
  EXPECT_EQ(manifold_coverage(m, line({12, 12.5, 4.5, -3})), 0.75);
  // k = 1: every radius is 1, so 11 is not covered but 10 is.
  const Manifold m1 = estimate_manifold(real, 1);
  EXPECT_EQ(manifold_coverage(m1, line({10, 11, -1, -1.5})), 0.5);
}

TEST(PrecisionRecall, HandWorkedOnAGrid) {
  // A 4 x 3 integer grid, k = 3: corners' third-nearest neighbour is the diagonal (sqrt 2); every
  // other point has three neighbours at distance 1.
  Eigen::MatrixXd grid(12, 2);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) grid.row(3 * i + j) << i, j;
  const Manifold m = estimate_manifold(grid, 3);
  for (int r = 0; r < 12; ++r) {
    const bool corner =
        (grid(r, 0) == 0 || grid(r, 0) == 3) && (grid(r, 1) == 0 || grid(r, 1) == 2);
    EXPECT_EQ(m.radii2[r], corner ? 2.0 : 1.0) << grid.row(r);
  }
  Eigen::MatrixXd q(4, 2);
  q << -1, -1,   // exactly sqrt 2 from the corner (0, 0): inside
      -1.1, -1,  // just outside
      1.5, 1,    // between points
      5, 5;      // far away
  EXPECT_EQ(manifold_coverage(m, q), 0.5);
  // A set against itself: every point is its own ball's centre.
  const auto pr = precision_recall(grid, grid, 3);
  EXPECT_EQ(pr.precision, 1.0);
  EXPECT_EQ(pr.recall, 1.0);
}

// The definition written out with loops: radius = k-th smallest distance to the other points.
std::vector<double> slow_radii(const Eigen::MatrixXd& x, int k) {
  std::vector<double> radii;
  for (int i = 0; i < x.rows(); ++i) {
    std::vector<double> d;
    for (int j = 0; j < x.rows(); ++j) {
      if (j == i) continue;
      double s = 0;
      for (int c = 0; c < x.cols(); ++c) s += (x(i, c) - x(j, c)) * (x(i, c) - x(j, c));
      d.push_back(std::sqrt(s));
    }
    std::sort(d.begin(), d.end());
    radii.push_back(d[k - 1]);
  }
  return radii;
}

double slow_coverage(const Eigen::MatrixXd& set, const std::vector<double>& radii,
                     const Eigen::MatrixXd& q) {
  int inside = 0;
  for (int i = 0; i < q.rows(); ++i) {
    bool in = false;
    for (int j = 0; j < set.rows(); ++j) {
      double s = 0;
      for (int c = 0; c < q.cols(); ++c) s += (q(i, c) - set(j, c)) * (q(i, c) - set(j, c));
      if (std::sqrt(s) <= radii[j]) in = true;
    }
    inside += in;
  }
  return double(inside) / q.rows();
}

TEST(PrecisionRecall, MatchesASlowDirectComputationOnRandomData) {
  for (int k : {1, 3, 5}) {
    const auto real = gaussian(60, 4, 1);
    const auto gen =
        gaussian(45, 4, 2, 0.4, 1.3);  // shifted and wider: precision and recall both < 1
    const auto rr = slow_radii(real, k), gr = slow_radii(gen, k);
    const Manifold rm = estimate_manifold(real, k), gm = estimate_manifold(gen, k);
    for (int i = 0; i < 60; ++i) EXPECT_NEAR(rm.radii[i], rr[i], 1e-12);
    const auto pr = precision_recall(real, gen, k);
    EXPECT_DOUBLE_EQ(pr.precision, slow_coverage(real, rr, gen)) << "k = " << k;
    EXPECT_DOUBLE_EQ(pr.recall, slow_coverage(gen, gr, real)) << "k = " << k;
    EXPECT_LT(pr.precision, 1.0);
    EXPECT_GT(pr.precision, 0.0);
  }
}

TEST(PrecisionRecall, RejectsBadInput) {
  testing::expect_error([] { estimate_manifold(gaussian(9, 3, 1), 3, "--n"); },
                        ErrorCode::kInvalidArgument, "--n is 9");
  testing::expect_error([] { precision_recall(gaussian(20, 3, 1), gaussian(20, 4, 2)); },
                        ErrorCode::kInvalidArgument, "feature sizes differ");
  testing::expect_error([] { precision_recall(gaussian(20, 3, 1), gaussian(8, 3, 2)); },
                        ErrorCode::kInvalidArgument, "is 8");
  testing::expect_error([] { estimate_manifold(gaussian(12, 3, 1), 12); },
                        ErrorCode::kInvalidArgument, "k is 12");
  auto bad = gaussian(12, 3, 1);
  bad(4, 1) = std::nan("");
  testing::expect_error([&] { estimate_manifold(bad, 3); }, ErrorCode::kInvalidArgument, "NaN");
}

// ---------------------------------------------------------------- KID

// Binkowski et al. 2018's unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3, written out with loops.
double slow_mmd2(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  const double d = x.cols();
  auto k = [&](const Eigen::MatrixXd& a, int i, const Eigen::MatrixXd& b, int j) {
    double dot = 0;
    for (int c = 0; c < a.cols(); ++c) dot += a(i, c) * b(j, c);
    return std::pow(dot / d + 1, 3);
  };
  const double m = x.rows(), n = y.rows();
  double xx = 0, yy = 0, xy = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j)
      if (i != j) xx += k(x, i, x, j);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (i != j) yy += k(y, i, y, j);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) xy += k(x, i, y, j);
  return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n);
}

TEST(Kid, HandWorkedOneDimensionalCase) {
  // d = 1, x = {0, 1}, y = {0, 2}: k(a, b) = (ab + 1)^3.
  //   x-x pairs (i != j): k(0,1) twice = 2, over 2*1 -> 1;  y-y: k(0,2) twice = 2 -> 1;
  //   x-y: k(0,0) + k(0,2) + k(1,0) + k(1,2) = 1 + 1 + 1 + 27 = 30, times 2 / (2*2) -> 15.
  EXPECT_DOUBLE_EQ(polynomial_mmd2_unbiased(line({0, 1}), line({0, 2})), 1 + 1 - 15);
}

TEST(Kid, MatchesASlowDirectComputation) {
  const auto x = gaussian(7, 3, 5), y = gaussian(9, 3, 6, 0.5);
  EXPECT_NEAR(polynomial_mmd2_unbiased(x, y), slow_mmd2(x, y), 1e-12);
  // One subset that is both whole sets: KID is that estimate and has no spread.
  const auto a = gaussian(12, 3, 7), b = gaussian(12, 3, 8, 0.3);
  const Kid one = kernel_inception_distance(a, b, {.subsets = 5, .subset_size = 50, .seed = 1});
  EXPECT_EQ(one.subset_size, 12);
  EXPECT_NEAR(one.mean, slow_mmd2(b, a), 1e-12);
  EXPECT_NEAR(one.std, 0.0, 1e-15);
}

TEST(Kid, SubsetAveragesEstimateTheFullUStatistic) {
  // The mean of MMD_u^2 over random equal-size subsets is an unbiased estimate of the full-sample
  // MMD_u^2 (both are U-statistics of the same kernel): with many subsets they agree closely.
  const auto real = gaussian(80, 4, 11), gen = gaussian(60, 4, 12, 0.5);
  const Kid kid =
      kernel_inception_distance(real, gen, {.subsets = 400, .subset_size = 30, .seed = 3});
  EXPECT_EQ(kid.subset_size, 30);
  EXPECT_GT(kid.std, 0.0);
  const double full = slow_mmd2(gen, real);
  EXPECT_NEAR(kid.mean, full, 4 * kid.std / std::sqrt(400.0) + 0.05 * std::abs(full));
  // Seeded: the same seed gives the same numbers, another seed other ones.
  const Kid again =
      kernel_inception_distance(real, gen, {.subsets = 400, .subset_size = 30, .seed = 3});
  EXPECT_EQ(kid.mean, again.mean);
  EXPECT_NE(
      kid.mean,
      kernel_inception_distance(real, gen, {.subsets = 400, .subset_size = 30, .seed = 4}).mean);
}

TEST(Kid, AReferenceScoresManyGeneratedSetsAsTheDirectEstimatorDoes) {
  // eval's case: the whole generated set against subsets of a larger real set. Each subset's
  // MMD_u^2, written out with loops on the reference's own subsets, averages to the reported KID.
  const auto real = gaussian(90, 5, 41);
  const KidOptions o{.subsets = 7, .subset_size = 50, .seed = 2};
  const KidReference ref(real, 25, o);
  EXPECT_EQ(ref.subset_size(), 25);
  ASSERT_EQ(ref.real_subsets().size(), 7u);
  for (std::uint64_t seed : {42u, 43u}) {
    const auto gen = gaussian(25, 5, seed, 0.2);
    std::vector<double> direct;
    for (const auto& idx : ref.real_subsets()) {
      ASSERT_EQ(idx.size(), 25u);
      direct.push_back(slow_mmd2(gen, real(idx, Eigen::all)));
    }
    double mean = 0, var = 0;
    for (double v : direct) mean += v / direct.size();
    for (double v : direct) var += (v - mean) * (v - mean) / direct.size();
    const Kid kid = ref.score(gen);
    EXPECT_NEAR(kid.mean, mean, 1e-12 * (1 + std::abs(mean)));
    EXPECT_NEAR(kid.std, std::sqrt(var), 1e-9);
    const Kid again = kernel_inception_distance(real, gen, o);
    EXPECT_NEAR(again.mean, kid.mean, 1e-12 * (1 + std::abs(mean)));
  }
  testing::expect_error([&] { ref.score(gaussian(24, 5, 1)); }, ErrorCode::kInvalidArgument,
                        "prepared for 25 generated samples");
  testing::expect_error([&] { ref.score(gaussian(25, 4, 1)); }, ErrorCode::kInvalidArgument,
                        "feature sizes differ");
}

TEST(Kid, NearZeroForOneDistributionAndClearlyPositiveForShiftedOnes) {
  const auto real = gaussian(600, 16, 21), same = gaussian(600, 16, 22);
  const auto shifted = gaussian(600, 16, 23, 0.5), wider = gaussian(600, 16, 24, 0.0, 1.5);
  const KidOptions o{.subsets = 50, .subset_size = 300, .seed = 0};
  const Kid k_same = kernel_inception_distance(real, same, o);
  const Kid k_shift = kernel_inception_distance(real, shifted, o);
  const Kid k_wide = kernel_inception_distance(real, wider, o);
  EXPECT_LT(std::abs(k_same.mean), 3 * k_same.std + 1e-3) << k_same.mean << " +- " << k_same.std;
  EXPECT_GT(k_shift.mean, 10 * std::abs(k_same.mean) + 5 * k_shift.std) << k_shift.mean;
  EXPECT_GT(k_wide.mean, 10 * std::abs(k_same.mean) + 5 * k_wide.std) << k_wide.mean;
}

TEST(Kid, RejectsBadInput) {
  testing::expect_error([] { kernel_inception_distance(gaussian(20, 3, 1), gaussian(20, 4, 2)); },
                        ErrorCode::kInvalidArgument, "feature sizes differ");
  testing::expect_error([] { kernel_inception_distance(gaussian(1, 3, 1), gaussian(20, 3, 2)); },
                        ErrorCode::kInvalidArgument, "at least 2");
  testing::expect_error(
      [] { kernel_inception_distance(gaussian(20, 3, 1), gaussian(20, 3, 2), {.subsets = 0}); },
      ErrorCode::kInvalidArgument, "subsets is 0");
  auto bad = gaussian(12, 3, 1);
  bad(0, 0) = INFINITY;
  testing::expect_error([&] { kernel_inception_distance(bad, gaussian(12, 3, 2)); },
                        ErrorCode::kInvalidArgument, "infinite");
}

TEST(Frechet, ASetAgainstItselfIsZeroAndAShiftIsItsSquaredNorm) {
  auto f =
      torch::from_blob(gaussian(200, 8, 31).data(), {8, 200}, torch::kFloat64).t().contiguous();
  const auto s = feature_stats(f);
  EXPECT_NEAR(frechet_distance(s, s), 0.0, 1e-9);
  // Shifting every point by v moves only the mean: d^2 = |v|^2.
  const auto shifted = feature_stats(f + 0.5);
  EXPECT_NEAR(frechet_distance(s, shifted), 8 * 0.25, 1e-9);
  // feature_matrix is the same data, one sample per row.
  const Eigen::MatrixXd m = feature_matrix(f);
  EXPECT_EQ(m.rows(), 200);
  EXPECT_EQ(m(3, 5), f[3][5].item<double>());
}

// ---------------------------------------------------------------- the judge C_B

TEST(Judge, ShapesArchitectureAndSize) {
  torch::manual_seed(0);
  ResNetClassifier judge;
  judge->eval();
  torch::NoGradGuard g;
  const auto x = torch::rand({3, 1, 28, 28}) * 2 - 1;
  EXPECT_EQ(judge->features(x).sizes(), (std::vector<int64_t>{3, kClassifierFeatures}));
  EXPECT_EQ(judge->forward(x).sizes(), (std::vector<int64_t>{3, kClassifierClasses}));
  EXPECT_GE(judge->features(x).min().item<double>(), 0.0);  // ReLU features, as C_A's
  EXPECT_EQ(judge->arch(), "resnet24-48-96");
  int64_t params = 0;
  for (const auto& p : judge->parameters()) params += p.numel();
  EXPECT_EQ(params, 342386);  // the count judge.hpp documents
  EXPECT_THROW(judge->features(torch::zeros({2, 3, 28, 28})), Error);
  EXPECT_EQ(make_image_classifier("resnet")->arch(), kJudgeArch);
  EXPECT_EQ(make_image_classifier("cnn")->arch(), kClassifierArch);
  testing::expect_error([] { make_image_classifier("vgg"); }, ErrorCode::kInvalidArgument,
                        "--arch is 'vgg'");
}

TEST(Judge, LoadImageClassifierDispatchesOnTheArchitecture) {
  testing::TempDir dir;
  torch::manual_seed(1);
  ResNetClassifier judge;
  Classifier cnn;
  judge->eval();
  cnn->eval();
  save_classifier(dir.file("judge.ckpt"), *judge, {{"test_accuracy", 0.25}});
  save_classifier(dir.file("cnn.ckpt"), cnn, {});
  Json meta;
  const ImageClassifier back = load_image_classifier(dir.file("judge.ckpt"), &meta);
  EXPECT_EQ(back->arch(), kJudgeArch);
  EXPECT_EQ(meta["test_accuracy"], 0.25);
  EXPECT_EQ(load_image_classifier(dir.file("cnn.ckpt"))->arch(), kClassifierArch);
  const auto x = torch::rand({4, 1, 28, 28}) * 2 - 1;
  {
    torch::NoGradGuard g;
    EXPECT_TRUE(torch::equal(judge->forward(x), back->forward(x)));
  }
  // C_A's loader takes only C_A; the judge names its architecture.
  testing::expect_error([&] { load_classifier(dir.file("judge.ckpt")); }, ErrorCode::kDataLoss,
                        "expected cnn32-64-fc128");
  // A DiT, an unknown architecture, a config without one, junk.
  DiT m(dit_config("tiny"));
  save_dit(dir.file("dit.ckpt"), m, Objective::kFlow, {});
  testing::expect_error([&] { load_image_classifier(dir.file("dit.ckpt")); }, ErrorCode::kDataLoss,
                        "expected classifier");
  Checkpoint ck;
  ck.kind = "classifier";
  ck.config = {{"arch", "vgg11"}};
  save_checkpoint(dir.file("vgg.ckpt"), ck);
  testing::expect_error([&] { load_image_classifier(dir.file("vgg.ckpt")); }, ErrorCode::kDataLoss,
                        "architecture 'vgg11' is unknown");
  ck.config = Json::array();
  save_checkpoint(dir.file("none.ckpt"), ck);
  testing::expect_error([&] { load_image_classifier(dir.file("none.ckpt")); }, ErrorCode::kDataLoss,
                        "names no \"arch\"");
  testing::expect_error([&] { load_image_classifier(dir.file("missing.ckpt")); },
                        ErrorCode::kNotFound, "does not exist");
}

TEST(Judge, LearnsFromASmallSubset) {
  // A few hundred images and two epochs: far above chance (10%) on held-out test images, with the
  // augmentation on. Loss and accuracy, not time, are what is checked.
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  auto train = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTrain);
  auto test = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTest);
  train.images.resize(512 * train.pixels());
  train.labels.resize(512);
  test.images.resize(500 * test.pixels());
  test.labels.resize(500);
  torch::manual_seed(0);
  ResNetClassifier judge;
  const auto r = train_classifier(
      *judge, train, test, {.epochs = 2, .batch = 32, .lr = 3e-3, .seed = 0, .augment = true});
  ASSERT_EQ(r.epoch_test_accuracy.size(), 2u);
  EXPECT_GT(r.test_accuracy, 0.35);
  const auto confusion = confusion_matrix(*judge, dataset_images(test), dataset_labels(test));
  int64_t total = 0, diagonal = 0;
  for (int i = 0; i < 10; ++i) {
    diagonal += confusion[i][i];
    for (int j = 0; j < 10; ++j) total += confusion[i][j];
  }
  EXPECT_EQ(total, 500);
  EXPECT_NEAR(double(diagonal) / total, r.test_accuracy, 1e-12);
}

}  // namespace
}  // namespace optidiff::diffusion
