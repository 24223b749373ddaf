// Scoring pieces against exact references: the Hungarian assignment against brute force, NMI and ACC on
// hand-computed cases, k-means on separated blobs, the ridge classifier on separable codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "optidiff/core/rng.hpp"
#include "optidiff/sparse/evaluate.hpp"

namespace optidiff::sparse {
namespace {

TEST(Evaluate, HungarianMatchesBruteForce) {
  Rng rng(41);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 2 + trial % 5;
    Eigen::MatrixXd cost(n, n);
    for (Eigen::Index i = 0; i < cost.size(); ++i) cost.data()[i] = std::round(rng.uniform(-5, 5) * 4) / 4;
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    double best = INFINITY;
    do {
      double c = 0;
      for (int r = 0; r < n; ++r) c += cost(r, perm[r]);
      best = std::min(best, c);
    } while (std::next_permutation(perm.begin(), perm.end()));
    const auto got = min_cost_assignment(cost);
    std::vector<int> sorted = got;
    std::sort(sorted.begin(), sorted.end());
    for (int r = 0; r < n; ++r) ASSERT_EQ(sorted[r], r);  // a permutation
    double c = 0;
    for (int r = 0; r < n; ++r) c += cost(r, got[r]);
    EXPECT_NEAR(c, best, 1e-12);
  }
}

TEST(Evaluate, AccuracyAndNmiOnHandComputedCases) {
  const std::vector<int> labels = {0, 0, 1, 1, 2, 2};
  EXPECT_DOUBLE_EQ(clustering_accuracy(labels, {2, 2, 0, 0, 1, 1}), 1.0);
  EXPECT_NEAR(normalized_mutual_information(labels, {2, 2, 0, 0, 1, 1}), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(clustering_accuracy(labels, {0, 0, 0, 1, 1, 1}), 4.0 / 6.0);
  // Clusters refine labels: I = H(labels) = ln 2, H(clusters) = 1.5 ln 2, NMI = 1 / 1.25 = 0.8.
  EXPECT_NEAR(normalized_mutual_information({0, 0, 1, 1}, {0, 0, 1, 2}), 0.8, 1e-12);
}

TEST(Evaluate, KMeansSeparatesBlobs) {
  Rng rng(42);
  Eigen::MatrixXd P(2, 90);
  std::vector<int> labels;
  for (int i = 0; i < 90; ++i) {
    const int c = i % 3;
    P(0, i) = 10.0 * c + 0.3 * rng.normal();
    P(1, i) = (c == 1 ? 10.0 : 0.0) + 0.3 * rng.normal();
    labels.push_back(c);
  }
  const auto clusters = kmeans(P, {.clusters = 3}, rng);
  EXPECT_DOUBLE_EQ(clustering_accuracy(labels, clusters), 1.0);
}

TEST(Evaluate, RidgeClassifierSeparatesClasses) {
  Eigen::MatrixXd Z(2, 40);
  std::vector<int> y;
  Rng rng(43);
  for (int i = 0; i < 40; ++i) {
    y.push_back(i % 2);
    Z(0, i) = (i % 2 ? 1.0 : -1.0) + 0.1 * rng.normal();
    Z(1, i) = rng.normal();
  }
  EXPECT_DOUBLE_EQ(ridge_classifier_accuracy(Z, y, Z, y, 2), 1.0);
}

TEST(Evaluate, ReconstructionErrorIsRelative) {
  const Eigen::MatrixXd B = Eigen::MatrixXd::Identity(2, 2), X = Eigen::MatrixXd::Constant(2, 2, 2.0);
  EXPECT_DOUBLE_EQ(relative_reconstruction_error(B, X, X), 0.0);
  EXPECT_DOUBLE_EQ(relative_reconstruction_error(B, 0.5 * X, X), 0.5);
}

}  // namespace
}  // namespace optidiff::sparse
