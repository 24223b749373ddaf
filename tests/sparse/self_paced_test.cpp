// Self-paced weights: the closed forms minimise v l + f(v; age) (checked by brute force over v), hard
// weights are thresholding, and SPSC's first V-step uses exactly those closed forms.
#include <gtest/gtest.h>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/sparse/dictionary.hpp"
#include "optidiff/sparse/lasso.hpp"
#include "optidiff/sparse/spsc.hpp"

namespace optidiff::sparse {
namespace {

TEST(SelfPaced, HardWeightsAreThresholding) {
  const SelfPacedAge a{.age = 0.7};
  Eigen::ArrayXXd losses(1, 6);
  losses << 0.0, 0.3, 0.69999, 0.7, 0.71, 5.0;
  const Eigen::ArrayXXd v = self_paced_weights(Regularizer::kHard, a, losses);
  Eigen::ArrayXXd expected(1, 6);
  expected << 1, 1, 1, 0, 0, 0;
  EXPECT_TRUE((v == expected).all());
}

TEST(SelfPaced, ClosedFormsMinimiseTheVStepByBruteForce) {
  Rng rng(21);
  for (Regularizer r : {Regularizer::kHard, Regularizer::kLinear, Regularizer::kMixture}) {
    const SelfPacedAge a = age_for_zero_weight_loss(r, 1.3);
    EXPECT_NEAR(zero_weight_loss(r, a), 1.3, 1e-12);
    for (int t = 0; t < 300; ++t) {
      const double loss = t < 2 ? t * 1.3 : rng.uniform(0, 2.0);  // includes the boundary loss
      const double v = self_paced_weight(r, a, loss);
      ASSERT_GE(v, 0.0);
      ASSERT_LE(v, 1.0);
      const double at_v = v * loss + self_paced_penalty(r, a, v);
      double best = INFINITY;
      for (int g = 0; g <= 10000; ++g) {
        const double u = g / 10000.0;
        best = std::min(best, u * loss + self_paced_penalty(r, a, u));
      }
      EXPECT_LE(at_v, best + 1e-9) << regularizer_name(r) << " loss " << loss;
      if (loss >= zero_weight_loss(r, a)) {
        EXPECT_EQ(v, 0.0);
      }
    }
  }
}

TEST(SelfPaced, MixtureHasTheThreeRegimesOfZhaoEtAl) {
  const SelfPacedAge a{.age = 2.0, .gamma = 1.0};  // full weight below (2*1/3)^2, zero above 4
  EXPECT_EQ(self_paced_weight(Regularizer::kMixture, a, 0.4), 1.0);
  EXPECT_EQ(self_paced_weight(Regularizer::kMixture, a, 4.0), 0.0);
  EXPECT_NEAR(self_paced_weight(Regularizer::kMixture, a, 1.0), 1.0 * (1.0 - 0.5), 1e-15);
  EXPECT_NEAR(self_paced_weight(Regularizer::kLinear, {.age = 2.0}, 0.5), 0.75, 1e-15);
}

TEST(SelfPaced, QuantileInterpolatesLinearly) {
  Eigen::ArrayXXd x(1, 5);
  x << 4, 1, 3, 2, 0;
  EXPECT_DOUBLE_EQ(quantile(x, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(quantile(x, 0.125), 0.5);
  EXPECT_DOUBLE_EQ(quantile(x, 1.0), 4.0);
}

TEST(SelfPaced, ParsersNameTheChoices) {
  EXPECT_EQ(parse_regularizer("linear"), Regularizer::kLinear);
  EXPECT_EQ(parse_level("element"), Level::kElement);
  try {
    parse_regularizer("soft");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hard, linear or mixture"), std::string::npos);
  }
  EXPECT_THROW(parse_level("pixel"), Error);
}

// SPSC's first V-step: the hard weights equal thresholding of the initial losses at their p0-quantile,
// recomputed here from the same initial dictionary and codes.
TEST(SelfPaced, SpscFirstHardVStepEqualsClosedFormThresholding) {
  Rng data_rng(22);
  Eigen::MatrixXd X(12, 80);
  data_rng.fill_normal(X.data(), X.size());
  for (Level level : {Level::kSample, Level::kFeature, Level::kElement}) {
    const SpscOptions o{.atoms = 8, .lambda = 0.1, .level = level, .regularizer = Regularizer::kHard,
                        .initial_admitted = 0.6, .max_sweeps = 1, .seed = 9};
    const SpscResult r = spsc(X, o);
    Rng init(o.seed);
    const Eigen::MatrixXd B0 = initial_dictionary(X, o.atoms, init);
    const Eigen::MatrixXd S0 =
        lasso_fista(B0, X, {.lambda = o.lambda, .max_iterations = o.lasso_iterations, .tolerance = o.lasso_tolerance})
            .codes;
    const Eigen::ArrayXXd losses = unit_losses(B0, S0, X, level);
    const double threshold = quantile(losses, o.initial_admitted);
    const Eigen::MatrixXd expected = weights_from_units(level, (losses < threshold).cast<double>()).dense(12, 80);
    EXPECT_EQ(r.weights.dense(12, 80), expected) << level_name(level);
    ASSERT_EQ(r.history.size(), 1u);
    EXPECT_NEAR(r.history[0].admitted, (losses < threshold).cast<double>().mean(), 1e-15);
    EXPECT_NEAR(r.history[0].admitted, 0.6, 0.1);
  }
}

}  // namespace
}  // namespace optidiff::sparse
