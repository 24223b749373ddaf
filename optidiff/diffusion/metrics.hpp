// optidiff/diffusion/metrics.hpp: the sample-quality numbers of every diffusion benchmark.
//
// All are computed on the features of an evaluation network (classifier.hpp: the judge C_B's 128-d
// penultimate layer), so values compare only with each other ("FID_small"), never with published
// ones.
//
// Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, Eq. 6; Dowson
// & Landau 1982):  d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}). The
// trace term is computed with two symmetric eigendecompositions (Eigen's SelfAdjointEigenSolver),
// so every matrix root is of a symmetric PSD matrix and no complex parts appear (scipy's sqrtm on
// S_1 S_2 can return them). The statistic is biased upward at small n, so compare at equal n (eval
// reports the train-vs-test distance at the same n as the floor).
//
// Precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for
// Assessing Generative Models", section 2, Eqs. 1-2): each point of a set owns a ball whose radius
// is the distance to its k-th nearest neighbour in the same set (itself excluded); the union of the
// balls estimates the set's manifold. precision = fraction of generated points inside the real
// manifold (quality), recall = fraction of real points inside the generated manifold (diversity).
// The paper uses k = 3.
//
// KID (Binkowski et al. 2018, "Demystifying MMD GANs": the unbiased MMD estimator of section 2, the
// Kernel Inception Distance of section 4): with the polynomial kernel k(x, y) = (x.y / d + 1)^3,
//   MMD_u^2 = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
//             - 2/(mn) sum_{i,j} k(x_i, y_j),
// averaged over random subsets of size m of both sets (their code: 100 subsets of 1,000).
// Unbiased, so it is near 0 (and may be negative) for two samples of one distribution at any n.
//
// The new metrics take plain Eigen matrices with one sample per row ([n, d], like a feature
// tensor).
#pragma once

#include <torch/torch.h>
#include <Eigen/Dense>

#include <cstdint>
#include <vector>

namespace optidiff::diffusion {

struct FeatureStats {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;  // unbiased (n - 1)
  std::int64_t n = 0;
};

// features: [n, d] (any floating dtype), n >= 2.
FeatureStats feature_stats(const torch::Tensor& features);
double frechet_distance(const FeatureStats& a, const FeatureStats& b);
// The principal square root of a symmetric PSD matrix (negative eigenvalues from round-off clamp to
// 0).
Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m);

// A feature tensor [n, d] (any floating dtype) as a float64 matrix with one sample per row.
Eigen::MatrixXd feature_matrix(const torch::Tensor& features);

// Precision/recall need n >= kMinPrecisionRecallSamples points per set (eval's --n).
inline constexpr int kMinPrecisionRecallSamples = 10;

// A set's manifold estimate (Kynkaanniemi et al. 2019, Eq. 1): its points and, per point, the
// distance to its k-th nearest neighbour among the others.
struct Manifold {
  Eigen::MatrixXd points;  // [n, d]
  Eigen::VectorXd radii;   // [n]
  Eigen::VectorXd radii2;  // squared radii (compared exactly with squared distances)
  int k = 3;
};

// Throws kInvalidArgument for fewer than kMinPrecisionRecallSamples points (the message names
// `what`, e.g. "--n"), k outside 1..n-1, or non-finite features.
Manifold estimate_manifold(const Eigen::MatrixXd& points, int k = 3, const char* what = "--n");
// Eq. 1: the fraction of queries [q, d] within at least one ball of the manifold (distance <=
// radius).
double manifold_coverage(const Manifold& manifold, const Eigen::MatrixXd& queries);

struct PrecisionRecall {
  double precision = 0, recall = 0;
};
// Eq. 2: precision = coverage of `generated` by real's manifold, recall = coverage of `real` by
// generated's. Both sets [n, d] with the same d and n >= 10 each.
PrecisionRecall precision_recall(const Eigen::MatrixXd& real, const Eigen::MatrixXd& generated,
                                 int k = 3);
PrecisionRecall precision_recall(const Manifold& real, const Manifold& generated);

// The unbiased MMD^2 estimate between two sets [m, d] and [n, d] (m, n >= 2) with the polynomial
// kernel (x.y/d + 1)^3: one term of KID.
double polynomial_mmd2_unbiased(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y);

struct KidOptions {
  int subsets = 100;
  int subset_size = 1000;  // m = min(subset_size, n_real, n_generated)
  std::uint64_t seed = 0;
};
struct Kid {
  double mean = 0;  // KID: the mean of the subsets' MMD_u^2
  // Their standard deviation (population, as in Binkowski et al.'s code and torch-fidelity).
  double std = 0;
  int subsets = 0, subset_size = 0;
};
// Each subset draws m rows of each set without replacement (seeded by options.seed and the subset's
// index). Throws kInvalidArgument for mismatched feature sizes, fewer than 2 rows, or non-finite
// values.
Kid kernel_inception_distance(const Eigen::MatrixXd& real, const Eigen::MatrixXd& generated,
                              const KidOptions& options = {});

// The real side of KID, prepared once and scored against any number of generated sets of one size
// (eval: one per guidance scale): the subsets of the real set and their within-set kernel sums do
// not depend on the generated set. kernel_inception_distance(r, g, o) == KidReference(r, g.rows(),
// o).score(g).
class KidReference {
 public:
  KidReference(const Eigen::MatrixXd& real, Eigen::Index generated_rows,
               const KidOptions& options = {});
  // Throws kInvalidArgument if generated has another row count or feature size than announced.
  Kid score(const Eigen::MatrixXd& generated) const;
  Eigen::Index subset_size() const { return m_; }
  // Row indices of the real set in each subset; empty where the subset is the whole set.
  const std::vector<std::vector<Eigen::Index>>& real_subsets() const { return real_subsets_; }

 private:
  Eigen::MatrixXd real_;  // d x n_real, one point per column
  Eigen::Index generated_rows_ = 0, m_ = 0;
  KidOptions options_;
  std::vector<std::vector<Eigen::Index>>
      real_subsets_;                 // empty vectors when a subset is the whole set
  std::vector<double> real_within_;  // sum_{i != j} k(r_i, r_j) per subset
};

}  // namespace optidiff::diffusion
