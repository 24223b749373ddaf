#include "optidiff/sparse/omp.hpp"

#include <string>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::sparse {

Eigen::MatrixXd omp(const Eigen::MatrixXd& B, const Eigen::MatrixXd& X, const OmpOptions& o) {
  const Eigen::Index k = B.cols(), n = X.cols();
  if (X.rows() != B.rows())
    throw_invalid("data has " + std::to_string(X.rows()) + " features; the dictionary has " +
                  std::to_string(B.rows()) + " rows");
  if (o.max_nonzeros < 1 || o.max_nonzeros > k)
    throw_invalid("OMP max_nonzeros is " + std::to_string(o.max_nonzeros) + "; expected 1 <= max_nonzeros <= " +
                  std::to_string(k) + " (atoms)");
  const Eigen::MatrixXd G = B.transpose() * B, BtX = B.transpose() * X;
  Eigen::MatrixXd S = Eigen::MatrixXd::Zero(k, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double x2 = X.col(i).squaredNorm();
    std::vector<Eigen::Index> support;
    Eigen::VectorXd coef, alpha = BtX.col(i);  // alpha = B'(x - B s): correlations with the residual
    while (static_cast<int>(support.size()) < o.max_nonzeros) {
      // Residual energy ||x - B s||^2 = ||x||^2 - s' B'x on the least-squares support.
      double r2 = x2;
      for (std::size_t a = 0; a < support.size(); ++a) r2 -= coef[a] * BtX(support[a], i);
      if (r2 <= o.tolerance * x2) break;
      Eigen::Index best = -1;
      double best_abs = 0;
      for (Eigen::Index a = 0; a < k; ++a) {
        if (std::abs(alpha[a]) > best_abs) {
          bool chosen = false;
          for (auto s : support) chosen |= s == a;
          if (!chosen) best_abs = std::abs(alpha[a]), best = a;
        }
      }
      if (best < 0) break;  // residual orthogonal to every atom
      support.push_back(best);
      const auto p = static_cast<Eigen::Index>(support.size());
      Eigen::MatrixXd Gs(p, p);
      Eigen::VectorXd rhs(p);
      for (Eigen::Index a = 0; a < p; ++a) {
        rhs[a] = BtX(support[a], i);
        for (Eigen::Index b = 0; b < p; ++b) Gs(a, b) = G(support[a], support[b]);
      }
      coef = Gs.ldlt().solve(rhs);
      alpha = BtX.col(i);
      for (Eigen::Index a = 0; a < p; ++a) alpha -= G.col(support[a]) * coef[a];
    }
    for (std::size_t a = 0; a < support.size(); ++a) S(support[a], i) = coef[a];
  }
  return S;
}

}  // namespace optidiff::sparse
