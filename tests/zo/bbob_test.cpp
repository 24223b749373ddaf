// BBOB f1-f24 (bbob.hpp): every function knows its optimum, and the instance generator reproduces the
// f_opt values COCO publishes for instance 1.
#include "optidiff/zo/bbob.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/zo/problems.hpp"

namespace optidiff::zo {
namespace {

TEST(Bbob, OptimumValueAtOptimumForEveryFunction) {
  for (int f = 1; f <= 24; ++f)
    for (int d : {2, 5, 10, 40, 50})
      for (int instance : {1, 2, 5, 71}) {
        const Bbob b(f, d, instance);
        const double v = b(b.x_opt());
        // f20's optimum is known to 1e-9 only (COCO's 420.96874636 constants); all others are exact up to rounding.
        const double tol = f == 20 ? 1e-6 : 1e-9 * (1 + std::fabs(b.f_opt()));
        EXPECT_NEAR(v, b.f_opt(), tol) << "f" << f << " d" << d << " i" << instance;
      }
}

TEST(Bbob, NoPointBeatsTheOptimum) {
  Rng rng(1);
  for (int f = 1; f <= 24; ++f) {
    const Bbob b(f, 10, 3);
    for (int t = 0; t < 200; ++t) {
      Eigen::VectorXd x(10);
      for (int i = 0; i < 10; ++i) x[i] = rng.uniform(-5, 5);
      if (t < 50) x = b.x_opt() + 1e-3 * (x / 5.0);  // close to the optimum too
      EXPECT_GE(b(x), b.f_opt() - 1e-9) << "f" << f;
    }
  }
}

// f_opt of instance 1 as printed in the headers of COCO/BBOB data files (RR-6829 testbed, 2009-2023).
TEST(Bbob, PublishedInstanceOneOptimumValues) {
  const std::pair<int, double> published[] = {
      {1, 79.48},    {2, -209.88}, {3, -462.09}, {4, -462.09},  {5, -9.21},   {6, 35.9},    {7, 92.94},   {8, 149.15},
      {9, 123.83},   {10, -54.94}, {11, 76.27},  {12, -621.11}, {13, 29.97},  {14, -52.35}, {15, 1000.0}, {16, 71.35},
      {17, -16.94},  {18, -16.94}, {19, -102.55}, {20, -546.5}, {21, 40.78},  {22, -1000.0}, {23, 6.87},  {24, 102.61}};
  for (auto [f, v] : published) EXPECT_DOUBLE_EQ(Bbob(f, 10, 1).f_opt(), v) << "f" << f;
}

TEST(Bbob, RotationsAreOrthogonalAndGeneratorsDeterministic) {
  const Eigen::MatrixXd R = bbob_internal::rotation(10001, 40);
  EXPECT_LT((R.transpose() * R - Eigen::MatrixXd::Identity(40, 40)).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_EQ(bbob_internal::unif(5, 3), bbob_internal::unif(5, 3));
  const Eigen::VectorXd x = bbob_internal::compute_xopt(10001, 40);
  EXPECT_LE(x.cwiseAbs().maxCoeff(), 4.0);
}

TEST(Bbob, BadArguments) {
  EXPECT_THROW(Bbob(25, 10, 1), Error);
  EXPECT_THROW(Bbob(1, 1, 1), Error);
  EXPECT_THROW(Bbob(1, 10, 0), Error);
  EXPECT_THROW(Bbob(1, 10, 1)(Eigen::VectorXd::Zero(3)), Error);
  EXPECT_THROW(make_problem("f30", 10, 1), Error);
  EXPECT_THROW(make_problem("sphere-ish", 10, 1), Error);
  EXPECT_EQ(make_problem("f8", 10, 1).name, "bbob-f8-i1");
  EXPECT_EQ(make_problem("rastrigin-rotated", 10, 2).name, "bbob-f15-i2");
  EXPECT_EQ(make_problem("rosenbrock", 10, 2).name, "rosenbrock");  // the paper's, not f8
}

}  // namespace
}  // namespace optidiff::zo
