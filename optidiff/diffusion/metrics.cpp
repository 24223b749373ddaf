#include "optidiff/diffusion/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::diffusion {

FeatureStats feature_stats(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw_invalid("feature_stats: features have shape " + std::string(c10::str(features.sizes())) +
                  "; expected [n, d] with n >= 2");
  auto f = features.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto n = f.size(0), d = f.size(1);
  // Row-major [n, d] seen as a column-major d x n matrix: one sample per column.
  Eigen::Map<const Eigen::MatrixXd> x(f.data_ptr<double>(), d, n);
  FeatureStats s;
  s.n = n;
  s.mean = x.rowwise().mean();
  const Eigen::MatrixXd centred = x.colwise() - s.mean;
  s.cov = centred * centred.transpose() / double(n - 1);
  return s;
}

Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  if (es.info() != Eigen::Success)
    throw Error(ErrorCode::kInternal, "sqrt_psd: eigendecomposition failed");
  const Eigen::VectorXd root = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return es.eigenvectors() * root.asDiagonal() * es.eigenvectors().transpose();
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  if (a.mean.size() != b.mean.size())
    throw_invalid("frechet_distance: feature sizes differ (" + std::to_string(a.mean.size()) +
                  " vs " + std::to_string(b.mean.size()) + ")");
  const Eigen::MatrixXd r = sqrt_psd(a.cov);
  const Eigen::MatrixXd m = r * b.cov * r;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (m + m.transpose()),
                                                    Eigen::EigenvaluesOnly);
  const double tr_sqrt = es.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * tr_sqrt;
}

namespace {

void check_finite(const Eigen::MatrixXd& m, const std::string& what) {
  if (!m.allFinite()) throw_invalid(what + " contain NaN or infinite values");
}

// Squared Euclidean distances from column `q` of `a` to every column of `b` (both d x n: one point
// per column). Computed directly rather than by |a|^2 + |b|^2 - 2 a.b, so integer inputs give exact
// distances and points on a ball's boundary are decided exactly.
Eigen::VectorXd squared_distances(const Eigen::MatrixXd& a, Eigen::Index q,
                                  const Eigen::MatrixXd& b) {
  return (b.colwise() - a.col(q)).colwise().squaredNorm().transpose();
}

}  // namespace

Eigen::MatrixXd feature_matrix(const torch::Tensor& features) {
  if (features.dim() != 2)
    throw_invalid("feature_matrix: features have shape " + std::string(c10::str(features.sizes())) +
                  "; expected [n, d]");
  auto f = features.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  // Row-major [n, d] is the column-major d x n matrix; transpose into the [n, d] the API speaks.
  return Eigen::Map<const Eigen::MatrixXd>(f.data_ptr<double>(), f.size(1), f.size(0)).transpose();
}

Manifold estimate_manifold(const Eigen::MatrixXd& points, int k, const char* what) {
  const Eigen::Index n = points.rows();
  if (n < kMinPrecisionRecallSamples)
    throw_invalid(std::string(what) + " is " + std::to_string(n) +
                  "; precision and recall need at least " +
                  std::to_string(kMinPrecisionRecallSamples) + " samples per set");
  if (k < 1 || k >= n)
    throw_invalid("precision/recall: k is " + std::to_string(k) +
                  "; expected 1 <= k < n = " + std::to_string(n));
  check_finite(points, "precision/recall: features");
  Manifold m;
  m.points = points;
  m.k = k;
  m.radii2.resize(n);
  const Eigen::MatrixXd p = points.transpose();  // d x n: one point per column
  std::vector<double> d2(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd row = squared_distances(p, i, p);
    for (Eigen::Index j = 0; j < n; ++j) d2[j] = row[j];
    d2[i] = std::numeric_limits<double>::infinity();  // itself excluded
    // The k-th smallest of the other n - 1 distances (Kynkaanniemi et al. 2019, Eq. 1: NN_k).
    std::nth_element(d2.begin(), d2.begin() + (k - 1), d2.end());
    m.radii2[i] = d2[k - 1];
  }
  m.radii = m.radii2.cwiseSqrt();
  return m;
}

double manifold_coverage(const Manifold& m, const Eigen::MatrixXd& queries) {
  if (queries.cols() != m.points.cols())
    throw_invalid("precision/recall: feature sizes differ (" + std::to_string(queries.cols()) +
                  " vs " + std::to_string(m.points.cols()) + ")");
  check_finite(queries, "precision/recall: features");
  if (queries.rows() == 0) return 0.0;
  const Eigen::MatrixXd p = m.points.transpose(), q = queries.transpose();
  Eigen::Index inside = 0;
  for (Eigen::Index i = 0; i < q.cols(); ++i) {
    // Eq. 1: f(phi, Phi) = 1 if |phi - phi'| <= |phi' - NN_k(phi')| for at least one phi' in Phi.
    const Eigen::VectorXd d2 = squared_distances(q, i, p);
    if (((d2 - m.radii2).array() <= 0.0).any()) ++inside;
  }
  return double(inside) / double(q.cols());
}

PrecisionRecall precision_recall(const Manifold& real, const Manifold& generated) {
  // Eq. 2: precision = mean_{generated} f(phi_g, Phi_r), recall = mean_{real} f(phi_r, Phi_g).
  return {manifold_coverage(real, generated.points), manifold_coverage(generated, real.points)};
}

PrecisionRecall precision_recall(const Eigen::MatrixXd& real, const Eigen::MatrixXd& generated,
                                 int k) {
  if (real.cols() != generated.cols())
    throw_invalid("precision/recall: feature sizes differ (real " + std::to_string(real.cols()) +
                  ", generated " + std::to_string(generated.cols()) + ")");
  return precision_recall(estimate_manifold(real, k), estimate_manifold(generated, k));
}

namespace {

// The polynomial kernel matrix K_ij = (a_i.b_j / d + 1)^3 of Binkowski et al. 2018 (section 4, the
// kernel of KID); a, b: d x m and d x n, one point per column.
Eigen::MatrixXd polynomial_kernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  const double d = static_cast<double>(a.rows());
  return ((a.transpose() * b).array() / d + 1.0).cube().matrix();
}

// sum_{i != j} k(a_i, a_j): a within-set term of the unbiased estimator.
double within_sum(const Eigen::MatrixXd& a) {
  const Eigen::MatrixXd k = polynomial_kernel(a, a);
  return k.sum() - k.trace();
}

// The unbiased estimator (Binkowski et al. 2018, section 2) from its three sums, for sets of m and
// n points.
double mmd2_unbiased(double xx, double yy, double xy, double m, double n) {
  return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2.0 * xy / (m * n);
}

void check_kid_inputs(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  if (x.cols() != y.cols())
    throw_invalid("KID: feature sizes differ (" + std::to_string(x.cols()) + " vs " +
                  std::to_string(y.cols()) + ")");
  if (x.rows() < 2 || y.rows() < 2)
    throw_invalid("KID: sets of " + std::to_string(x.rows()) + " and " + std::to_string(y.rows()) +
                  " samples; the unbiased estimator needs at least 2 in each");
  check_finite(x, "KID: features");
  check_finite(y, "KID: features");
}

// m distinct column indices of 0..n-1 (a partial Fisher-Yates shuffle).
std::vector<Eigen::Index> draw_subset(Eigen::Index n, Eigen::Index m, Rng rng) {
  std::vector<Eigen::Index> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (Eigen::Index i = 0; i < m; ++i) std::swap(idx[i], idx[i + rng.uniform_int(n - i)]);
  idx.resize(m);
  return idx;
}

}  // namespace

double polynomial_mmd2_unbiased(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  check_kid_inputs(x, y);
  const Eigen::MatrixXd a = x.transpose(), b = y.transpose();
  return mmd2_unbiased(within_sum(a), within_sum(b), polynomial_kernel(a, b).sum(),
                       double(a.cols()), double(b.cols()));
}

KidReference::KidReference(const Eigen::MatrixXd& real, Eigen::Index generated_rows,
                           const KidOptions& o)
    : real_(real.transpose()), generated_rows_(generated_rows), options_(o) {
  if (real.rows() < 2 || generated_rows < 2)
    throw_invalid("KID: sets of " + std::to_string(real.rows()) + " and " +
                  std::to_string(generated_rows) +
                  " samples; the unbiased estimator needs at least 2 in each");
  check_finite(real, "KID: features");
  if (o.subsets < 1)
    throw_invalid("KID: subsets is " + std::to_string(o.subsets) + "; expected >= 1");
  if (o.subset_size < 2)
    throw_invalid("KID: subset size is " + std::to_string(o.subset_size) + "; expected >= 2");
  m_ = std::min<Eigen::Index>({o.subset_size, real.rows(), generated_rows});
  const Rng root(o.seed);
  // A subset that is the whole set needs no drawing, and its within-set sum is the same for every
  // subset (the estimator does not depend on the order): computed once.
  const bool whole = m_ == real_.cols();
  const double whole_sum = whole ? within_sum(real_) : 0.0;
  for (int s = 0; s < o.subsets; ++s) {
    if (whole) {
      real_subsets_.emplace_back();
      real_within_.push_back(whole_sum);
    } else {
      real_subsets_.push_back(draw_subset(real_.cols(), m_, root.stream(1, s)));
      real_within_.push_back(within_sum(real_(Eigen::all, real_subsets_.back())));
    }
  }
}

Kid KidReference::score(const Eigen::MatrixXd& generated) const {
  if (generated.cols() != real_.rows())
    throw_invalid("KID: feature sizes differ (" + std::to_string(real_.rows()) + " vs " +
                  std::to_string(generated.cols()) + ")");
  if (generated.rows() != generated_rows_)
    throw_invalid("KID: the reference was prepared for " + std::to_string(generated_rows_) +
                  " generated samples; got " + std::to_string(generated.rows()));
  check_finite(generated, "KID: features");
  const Eigen::MatrixXd g = generated.transpose();  // d x n_generated
  const bool whole_g = m_ == g.cols();
  const Rng root(options_.seed);
  std::vector<std::vector<Eigen::Index>> gen_subsets;
  for (int s = 0; s < options_.subsets; ++s)
    gen_subsets.push_back(whole_g ? std::vector<Eigen::Index>()
                                  : draw_subset(g.cols(), m_, root.stream(2, s)));
  const double gg_whole = whole_g ? within_sum(g) : 0.0;
  // The cross term sum_{i in S_g, j in S_r} k(g_i, r_j). With the whole generated set in every
  // subset (eval's case: n samples against the larger test set) it is a sum of column sums of one n
  // x n_real kernel matrix, computed once; otherwise one product per subset.
  Eigen::RowVectorXd column_sums;
  if (whole_g) {
    column_sums.resize(real_.cols());
    constexpr Eigen::Index kBlock =
        2048;  // columns per product: bounds the memory at n x 2048 doubles
    for (Eigen::Index c = 0; c < real_.cols(); c += kBlock) {
      const Eigen::Index w = std::min(kBlock, real_.cols() - c);
      column_sums.segment(c, w) = polynomial_kernel(g, real_.middleCols(c, w)).colwise().sum();
    }
  }
  std::vector<double> mmd(options_.subsets);
  for (int s = 0; s < options_.subsets; ++s) {
    const auto& rs = real_subsets_[s];
    double cross = 0;
    if (whole_g && rs.empty())
      cross = column_sums.sum();
    else if (whole_g)
      for (Eigen::Index j : rs) cross += column_sums[j];
    else if (rs.empty())
      cross = polynomial_kernel(g(Eigen::all, gen_subsets[s]), real_).sum();
    else
      cross = polynomial_kernel(g(Eigen::all, gen_subsets[s]), real_(Eigen::all, rs)).sum();
    const double gg = whole_g ? gg_whole : within_sum(g(Eigen::all, gen_subsets[s]));
    mmd[s] = mmd2_unbiased(gg, real_within_[s], cross, double(m_), double(m_));
  }
  Kid k;
  k.subsets = options_.subsets;
  k.subset_size = static_cast<int>(m_);
  for (double v : mmd) k.mean += v / options_.subsets;
  for (double v : mmd) k.std += (v - k.mean) * (v - k.mean) / options_.subsets;
  k.std = std::sqrt(k.std);
  return k;
}

Kid kernel_inception_distance(const Eigen::MatrixXd& real, const Eigen::MatrixXd& generated,
                              const KidOptions& o) {
  check_kid_inputs(real, generated);
  return KidReference(real, generated.rows(), o).score(generated);
}

}  // namespace optidiff::diffusion
