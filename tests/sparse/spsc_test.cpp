// SPSC end to end: with no corruption it matches plain sparse coding; with gross outlier samples its
// sample weights single them out; the L1 baseline lowers its own objective; options are validated.
#include <gtest/gtest.h>

#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/sparse/corruption.hpp"
#include "optidiff/sparse/datasets.hpp"
#include "optidiff/sparse/evaluate.hpp"
#include "optidiff/sparse/lasso.hpp"
#include "optidiff/sparse/spsc.hpp"

namespace optidiff::sparse {
namespace {

TEST(Spsc, WithoutCorruptionMatchesPlainSparseCodingOnDigits) {
  if (!std::filesystem::exists(kDigitsPath)) GTEST_SKIP() << "python3-sklearn's digits not installed";
  auto [train, test] = split_train_test(load_digits(), 0.3, 1);
  train = first_samples(train, 600);
  SpscOptions o{.atoms = 32, .lambda = 0.1, .level = Level::kNone, .max_sweeps = 15, .seed = 2};
  const SpscResult plain = spsc(train.X, o);
  const double plain_error = relative_reconstruction_error(
      plain.dictionary, lasso_fista(plain.dictionary, test.X, {.lambda = 0.1, .max_iterations = 300}).codes, test.X);
  EXPECT_LT(plain_error, 0.6);
  for (Level level : {Level::kSample, Level::kFeature, Level::kElement}) {
    o.level = level;
    const SpscResult r = spsc(train.X, o);
    const double error = relative_reconstruction_error(
        r.dictionary, lasso_fista(r.dictionary, test.X, {.lambda = 0.1, .max_iterations = 300}).codes, test.X);
    EXPECT_LT(std::abs(error - plain_error), 0.05 * plain_error)
        << level_name(level) << ": " << error << " vs plain " << plain_error;
    EXPECT_FALSE(r.history.empty());
    EXPECT_LT(r.history.front().admitted, 1.0);  // it did start from the easy part
  }
}

// Synthetic data from a known dictionary; 20% of the samples replaced by gross noise.
TEST(Spsc, SampleWeightsSingleOutGrossOutliers) {
  Rng rng(31);
  Eigen::MatrixXd B(30, 10), S = Eigen::MatrixXd::Zero(10, 200);
  rng.fill_normal(B.data(), B.size());
  B = B.colwise().normalized();
  for (int i = 0; i < 200; ++i)
    for (int t = 0; t < 2; ++t) S(static_cast<Eigen::Index>(rng.uniform_int(10)), i) = rng.uniform(0.5, 1.5);
  Eigen::MatrixXd noise(30, 200);
  rng.fill_normal(noise.data(), noise.size());
  const Eigen::MatrixXd X = B * S + 0.01 * noise;
  const auto corrupted = corrupt(X, {CorruptionKind::kOutlier, 0.2}, 0, 0, -3.0, 3.0, rng);
  const SpscResult r = spsc(corrupted.data, {.atoms = 10, .lambda = 0.05, .level = Level::kSample,
                                             .regularizer = Regularizer::kHard, .max_admitted = 0.8, .seed = 1});
  int excluded = 0, excluded_outliers = 0;
  for (int i = 0; i < 200; ++i)
    if (r.weights.sample[i] == 0) ++excluded, excluded_outliers += corrupted.corrupted_samples[i];
  EXPECT_GE(excluded, 30);
  EXPECT_GE(excluded_outliers, 0.9 * excluded);  // the excluded samples are the outliers
}

TEST(Spsc, L1FidelityLowersItsObjective) {
  Rng rng(32);
  Eigen::MatrixXd X(12, 60);
  rng.fill_normal(X.data(), X.size());
  const SpscResult r = spsc(X, {.atoms = 8, .lambda = 0.5, .level = Level::kNone, .l1_fidelity = true,
                                .max_sweeps = 8, .lasso_iterations = 300, .seed = 3});
  ASSERT_GE(r.history.size(), 2u);
  EXPECT_LT(r.history.back().objective, r.history.front().objective);
}

TEST(Spsc, RejectsBadOptions) {
  const Eigen::MatrixXd X = Eigen::MatrixXd::Ones(4, 6);
  auto message = [&](SpscOptions o) {
    try {
      spsc(X, o);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({.atoms = 0}).find("--atoms is 0; expected K >= 1"), std::string::npos);
  EXPECT_NE(message({.lambda = 0}).find("--lambda is 0; expected lambda > 0"), std::string::npos);
  EXPECT_NE(message({.lambda = -2}).find("--lambda"), std::string::npos);
  EXPECT_NE(message({.level = Level::kSample, .l1_fidelity = true}).find("--level none"), std::string::npos);
  EXPECT_NE(message({.age_growth = 1.0}).find("age_growth"), std::string::npos);
}

}  // namespace
}  // namespace optidiff::sparse
