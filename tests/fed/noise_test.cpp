// The z-distribution sampler and the sign compressor against closed forms (research note Sec. 7, tests 1-3).
#include "optidiff/fed/noise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {
namespace {

TEST(ZNoise, ConstantsMatchTheNoteTable) {
  const std::vector<std::tuple<int, double, double>> table = {
      {1, 0.7979, 1.000}, {2, 0.7801, 0.676}, {3, 0.7996, 0.579}, {4, 0.8188, 0.529},
      {8, 0.8691, 0.449}, {16, 0.9130, 0.402}, {kZInfinity, 1.0, 1.0 / 3.0}};
  for (const auto& [z, eta, var] : table) {
    EXPECT_NEAR(z_slope(z), eta, 5e-4) << "z = " << z_name(z);
    EXPECT_NEAR(z_variance(z), var, 5e-4) << "z = " << z_name(z);
  }
  EXPECT_NEAR(z_slope(1), std::sqrt(2.0 / M_PI), 1e-12);
  EXPECT_NEAR(z_variance(1), 1.0, 1e-12);
}

// Sample variance of n draws within 5 standard errors of Var xi_z; the standard error uses the sample's
// fourth moment, sqrt((m4 - var^2) / n).
TEST(ZNoise, SamplerVarianceMatchesTheFormula) {
  for (int z : {1, 2, 3, 4, 8, 16, kZInfinity}) {
    Rng rng(17 + std::uint64_t(z % 1000));
    const int n = 200000;
    double s1 = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = sample_z(z, rng);
      s1 += x;
      s2 += x * x;
      s4 += x * x * x * x;
    }
    const double var = s2 / n, m4 = s4 / n;
    const double se = std::sqrt((m4 - var * var) / n);
    EXPECT_NEAR(var, z_variance(z), 5 * se) << "z = " << z_name(z);
    EXPECT_NEAR(s1 / n, 0.0, 5 * std::sqrt(var / n)) << "z = " << z_name(z);
  }
}

// z = inf, sigma >= |x|: sigma * E[sign(x + sigma U)] = x exactly; the mean of 10^6 draws lies within
// 4 standard errors sigma sqrt(1 - (x/sigma)^2) / sqrt(n).
TEST(ZNoise, UniformSignIsUnbiasedWhenSigmaCoversDelta) {
  const int n = 1000000;
  const double sigma = 0.5;
  Rng rng(3);
  for (double x : {-0.45, -0.1, 0.0, 0.2, 0.5}) {
    std::vector<float> delta(n, float(x)), out(n);
    noisy_sign(delta, sigma, kZInfinity, rng, out);
    double mean = 0;
    for (float s : out) mean += s;
    mean = sigma * mean / n;
    const double xf = double(float(x));
    const double se = sigma * std::sqrt(std::max(1e-12, 1 - (xf / sigma) * (xf / sigma))) / std::sqrt(double(n));
    EXPECT_NEAR(mean, xf, 4 * se + 1e-9) << "x = " << x;
  }
}

// z = 1: E[sign(x + sigma xi)] = erf(x / (sigma sqrt 2)).
TEST(ZNoise, GaussianSignMeanIsErf) {
  const int n = 400000;
  Rng rng(4);
  for (double x : {-1.0, 0.3, 2.0}) {
    std::vector<float> delta(n, float(x)), out(n);
    noisy_sign(delta, 1.0, 1, rng, out);
    double mean = 0;
    for (float s : out) mean += s;
    mean /= n;
    const double expect = std::erf(double(float(x)) / std::sqrt(2.0));
    EXPECT_NEAR(mean, expect, 4 * std::sqrt((1 - expect * expect) / n)) << "x = " << x;
  }
}

TEST(ZNoise, SigmaZeroIsTheSignWithZeroToPlusOne) {
  const std::vector<float> delta = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.0f};
  std::vector<float> out(delta.size());
  Rng rng(1);
  const auto before = rng.state();
  noisy_sign(delta, 0.0, 1, rng, out);
  EXPECT_EQ(out, (std::vector<float>{-1, 1, 1, 1, 1}));
  EXPECT_EQ(rng.state(), before) << "sigma = 0 must draw no noise";
}

TEST(ZNoise, ParseZ) {
  EXPECT_EQ(parse_z("1"), 1);
  EXPECT_EQ(parse_z("16"), 16);
  EXPECT_EQ(parse_z("inf"), kZInfinity);
  EXPECT_THROW(parse_z("0"), Error);
  EXPECT_THROW(parse_z("-3"), Error);
  EXPECT_THROW(parse_z("two"), Error);
  try {
    parse_z("0");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected z >= 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace optidiff::fed
