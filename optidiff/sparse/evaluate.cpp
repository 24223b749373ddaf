#include "optidiff/sparse/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/sparse/lasso.hpp"

namespace optidiff::sparse {

double relative_reconstruction_error(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X) {
  const double nx = X.norm();
  return nx > 0 ? (X - B * S).norm() / nx : 0.0;
}

double ridge_classifier_accuracy(const Eigen::MatrixXd& train, const std::vector<int>& train_labels,
                                 const Eigen::MatrixXd& test, const std::vector<int>& test_labels, int classes,
                                 double ridge) {
  const Eigen::Index d = train.rows(), n = train.cols();
  if (static_cast<Eigen::Index>(train_labels.size()) != n || static_cast<Eigen::Index>(test_labels.size()) != test.cols())
    throw_invalid("classifier: one label per code column expected");
  Eigen::MatrixXd Z(d + 1, n);
  Z.topRows(d) = train;
  Z.row(d).setOnes();
  Eigen::MatrixXd Y = Eigen::MatrixXd::Zero(classes, n);
  for (Eigen::Index i = 0; i < n; ++i) Y(train_labels[i], i) = 1;
  Eigen::MatrixXd A = Z * Z.transpose();
  A.diagonal().array() += ridge * std::max(1.0, A.diagonal().mean());
  const Eigen::MatrixXd W = A.ldlt().solve(Z * Y.transpose()).transpose();  // classes x (d+1)
  int correct = 0;
  for (Eigen::Index i = 0; i < test.cols(); ++i) {
    Eigen::Index best = 0;
    (W.leftCols(d) * test.col(i) + W.col(d)).maxCoeff(&best);
    correct += best == test_labels[i];
  }
  return test.cols() ? double(correct) / double(test.cols()) : 0.0;
}

std::vector<int> kmeans(const Eigen::MatrixXd& P, const KMeansOptions& o, Rng& rng) {
  const Eigen::Index n = P.cols(), k = o.clusters;
  if (k < 1 || k > n) throw_invalid("k-means: clusters must be in [1, number of points]");
  const Eigen::VectorXd norms = P.colwise().squaredNorm().transpose();
  std::vector<int> best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int restart = 0; restart < o.restarts; ++restart) {
    // k-means++ seeding (Arthur & Vassilvitskii 2007).
    Eigen::MatrixXd C(P.rows(), k);
    C.col(0) = P.col(static_cast<Eigen::Index>(rng.uniform_int(n)));
    Eigen::VectorXd d2 = (P.colwise() - C.col(0)).colwise().squaredNorm().transpose();
    for (Eigen::Index c = 1; c < k; ++c) {
      double target = rng.uniform() * d2.sum();
      Eigen::Index pick = n - 1;
      for (Eigen::Index i = 0; i < n; ++i) {
        target -= d2[i];
        if (target < 0) {
          pick = i;
          break;
        }
      }
      C.col(c) = P.col(pick);
      d2 = d2.cwiseMin((P.colwise() - C.col(c)).colwise().squaredNorm().transpose());
    }
    std::vector<int> assign(static_cast<std::size_t>(n), -1);
    double inertia = 0;
    for (int it = 0; it < o.max_iterations; ++it) {
      // Squared distances ||p||^2 - 2 p'c + ||c||^2 for all pairs at once.
      const Eigen::MatrixXd dist =
          (-2.0 * (C.transpose() * P)).colwise() + C.colwise().squaredNorm().transpose();
      bool changed = false;
      inertia = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index c = 0;
        inertia += dist.col(i).minCoeff(&c) + norms[i];
        if (assign[i] != c) changed = true, assign[i] = static_cast<int>(c);
      }
      if (!changed) break;
      Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(P.rows(), k);
      Eigen::VectorXd count = Eigen::VectorXd::Zero(k);
      for (Eigen::Index i = 0; i < n; ++i) sum.col(assign[i]) += P.col(i), count[assign[i]] += 1;
      for (Eigen::Index c = 0; c < k; ++c)
        if (count[c] > 0) C.col(c) = sum.col(c) / count[c];  // an empty cluster keeps its centre
    }
    if (inertia < best_inertia) best_inertia = inertia, best = assign;
  }
  return best;
}

std::vector<int> min_cost_assignment(const Eigen::MatrixXd& cost) {
  const int n = static_cast<int>(cost.rows());
  if (cost.cols() != n) throw_invalid("assignment: the cost matrix must be square");
  // Shortest augmenting paths with row/column potentials u, v (1-based, column 0 is a sentinel).
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> match(n + 1, 0), way(n + 1, 0);  // match[col] = row
  for (int row = 1; row <= n; ++row) {
    match[0] = row;
    int col0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    do {
      used[col0] = true;
      const int r = match[col0];
      double delta = inf;
      int col1 = 0;
      for (int c = 1; c <= n; ++c) {
        if (used[c]) continue;
        const double reduced = cost(r - 1, c - 1) - u[r] - v[c];
        if (reduced < minv[c]) minv[c] = reduced, way[c] = col0;
        if (minv[c] < delta) delta = minv[c], col1 = c;
      }
      for (int c = 0; c <= n; ++c) {
        if (used[c]) u[match[c]] += delta, v[c] -= delta;
        else minv[c] -= delta;
      }
      col0 = col1;
    } while (match[col0] != 0);
    do {
      const int col1 = way[col0];
      match[col0] = match[col1];
      col0 = col1;
    } while (col0 != 0);
  }
  std::vector<int> result(n);
  for (int c = 1; c <= n; ++c) result[match[c] - 1] = c - 1;
  return result;
}

namespace {
// Contingency table: rows = labels, cols = clusters (square, size = max of both counts).
Eigen::MatrixXd contingency(const std::vector<int>& labels, const std::vector<int>& clusters) {
  if (labels.size() != clusters.size() || labels.empty())
    throw_invalid("clustering metrics: labels and clusters must have the same, non-zero length");
  const int size = 1 + std::max(*std::max_element(labels.begin(), labels.end()),
                                *std::max_element(clusters.begin(), clusters.end()));
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(size, size);
  for (std::size_t i = 0; i < labels.size(); ++i) t(labels[i], clusters[i]) += 1;
  return t;
}
}  // namespace

double clustering_accuracy(const std::vector<int>& labels, const std::vector<int>& clusters) {
  const Eigen::MatrixXd t = contingency(labels, clusters);
  const auto match = min_cost_assignment(-t);  // maximise the matched counts
  double hits = 0;
  for (int r = 0; r < t.rows(); ++r) hits += t(r, match[r]);
  return hits / static_cast<double>(labels.size());
}

double normalized_mutual_information(const std::vector<int>& labels, const std::vector<int>& clusters) {
  const Eigen::MatrixXd t = contingency(labels, clusters) / static_cast<double>(labels.size());
  const Eigen::VectorXd pl = t.rowwise().sum(), pc = t.colwise().sum().transpose();
  auto entropy = [](const Eigen::VectorXd& p) {
    double h = 0;
    for (double x : p) h -= x > 0 ? x * std::log(x) : 0.0;
    return h;
  };
  double mi = 0;
  for (Eigen::Index a = 0; a < t.rows(); ++a)
    for (Eigen::Index b = 0; b < t.cols(); ++b)
      if (t(a, b) > 0) mi += t(a, b) * std::log(t(a, b) / (pl[a] * pc[b]));
  const double denom = 0.5 * (entropy(pl) + entropy(pc));
  return denom > 0 ? std::max(0.0, mi) / denom : 1.0;
}

CodeScores score_dictionary(const Eigen::MatrixXd& B, double lambda, const Eigen::MatrixXd& train,
                            const std::vector<int>& train_labels, const Eigen::MatrixXd& test,
                            const std::vector<int>& test_labels, int classes, std::uint64_t seed) {
  const LassoOptions lasso{.lambda = lambda, .max_iterations = 200, .tolerance = 1e-5};
  const Eigen::MatrixXd test_codes = lasso_fista(B, test, lasso).codes;
  CodeScores s;
  s.clean_reconstruction_error = relative_reconstruction_error(B, test_codes, test);
  s.mean_nonzeros = static_cast<double>((test_codes.array() != 0).count()) / std::max<double>(1, test.cols());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (train_labels.empty() || test_labels.empty() || classes < 2) {
    s.accuracy = s.kmeans_acc = s.nmi = nan;
    return s;
  }
  const Eigen::MatrixXd train_codes = lasso_fista(B, train, lasso).codes;
  s.accuracy = ridge_classifier_accuracy(train_codes, train_labels, test_codes, test_labels, classes);
  Rng rng(seed);
  const auto clusters = kmeans(test_codes, {.clusters = classes}, rng);
  s.kmeans_acc = clustering_accuracy(test_labels, clusters);
  s.nmi = normalized_mutual_information(test_labels, clusters);
  return s;
}

}  // namespace optidiff::sparse
