#include "optidiff/core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff {
namespace {

std::vector<double> draw(Rng r, int n) {
  std::vector<double> v(n);
  for (auto& x : v) x = r.normal();
  return v;
}

TEST(Rng, SameSeedSameBits) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a(), b());
}

TEST(Rng, DifferentSeedsDiffer) {
  Rng a(1), b(2);
  int equal = 0;
  for (int i = 0; i < 1000; ++i) equal += a() == b();
  EXPECT_EQ(equal, 0);
}

TEST(Rng, StreamsDependOnlyOnSeedAndCounters) {
  Rng root(7);
  const auto s1 = draw(root.stream(3, 5), 100);
  for (int i = 0; i < 500; ++i) root();  // drawing from the root must not change the stream
  EXPECT_EQ(draw(root.stream(3, 5), 100), s1);
  EXPECT_NE(draw(root.stream(5, 3), 100), s1);
  EXPECT_NE(draw(root.stream(3, 6), 100), s1);
  EXPECT_NE(draw(Rng(8).stream(3, 5), 100), s1);
}

TEST(Rng, SplitStreamsAreUncorrelated) {
  Rng root(11);
  const int n = 20000;
  // Neighbouring streams (client i and i+1) must look independent: sample correlation ~ N(0, 1/n).
  for (std::uint64_t c = 0; c < 8; ++c) {
    const auto x = draw(root.stream(0, c), n), y = draw(root.stream(0, c + 1), n);
    double sxy = 0;
    for (int i = 0; i < n; ++i) sxy += x[i] * y[i];
    EXPECT_LT(std::abs(sxy / n), 5.0 / std::sqrt(n)) << "streams " << c << " and " << c + 1;
  }
}

TEST(Rng, NormalMoments) {
  Rng r(3);
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z, s2 += z * z, s4 += z * z * z * z;
  }
  EXPECT_NEAR(s / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5.0 * std::sqrt(96.0 / n));
}

TEST(Rng, UniformIntIsUnbiased) {
  Rng r(5);
  const int k = 7, n = 70000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) ++counts[r.uniform_int(k)];
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / double(k)) * (c - n / double(k)) / (n / double(k));
  EXPECT_LT(chi2, 22.5);  // chi-square(6) 0.999 quantile
  EXPECT_THROW(r.uniform_int(0), Error);
}

TEST(Rng, GammaMean) {
  Rng r(9);
  for (double shape : {0.1, 0.5, 1.0, 3.0}) {
    const int n = 100000;
    double s = 0;
    for (int i = 0; i < n; ++i) s += r.gamma(shape);
    EXPECT_NEAR(s / n, shape, 6.0 * std::sqrt(shape / n)) << "shape " << shape;
  }
  EXPECT_THROW(r.gamma(0.0), Error);
  EXPECT_THROW(r.gamma(-1.0), Error);
}

TEST(Rng, StateRoundTripResumesBitExactly) {
  Rng a(99);
  for (int i = 0; i < 10; ++i) a();
  Rng b(0);
  b.set_state(a.seed(), a.state());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a(), b());
  EXPECT_EQ(draw(a.stream(1), 5), draw(b.stream(1), 5));
  EXPECT_THROW(b.set_state(1, {0, 0, 0, 0}), Error);
}

}  // namespace
}  // namespace optidiff
