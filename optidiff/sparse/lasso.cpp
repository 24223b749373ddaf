#include "optidiff/sparse/lasso.hpp"

#include <cmath>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::sparse {

double largest_eigenvalue(const Eigen::MatrixXd& symmetric) {
  if (symmetric.size() == 0) return 0;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(symmetric, Eigen::EigenvaluesOnly);
  return std::max(0.0, eig.eigenvalues().maxCoeff());
}

LassoResult lasso_fista(const Eigen::MatrixXd& B, const Eigen::MatrixXd& X, const LassoOptions& o,
                        const Weights& w, const Eigen::MatrixXd& warm_start) {
  const Eigen::Index m = B.rows(), k = B.cols(), n = X.cols();
  if (X.rows() != m)
    throw_invalid("data has " + std::to_string(X.rows()) + " features; the dictionary has " + std::to_string(m) +
                  " rows");
  if (!(o.lambda > 0)) throw_invalid("lambda is " + std::to_string(o.lambda) + "; expected lambda > 0");
  if (o.max_iterations < 1) throw_invalid("lasso max_iterations must be >= 1");
  if (warm_start.size() != 0 && (warm_start.rows() != k || warm_start.cols() != n))
    throw_invalid("warm start is " + std::to_string(warm_start.rows()) + " x " + std::to_string(warm_start.cols()) +
                  "; expected " + std::to_string(k) + " x " + std::to_string(n));
  w.check(m, n);

  // Precompute what the gradient needs and each column's Lipschitz constant L_i.
  Eigen::MatrixXd G, BtX;  // G S - BtX is the (unscaled) gradient for none/sample/feature
  Eigen::VectorXd lipschitz(n);
  if (w.level == Level::kFeature) {
    const Eigen::MatrixXd UB = w.feature.asDiagonal() * B;
    G = B.transpose() * UB;
    BtX = UB.transpose() * X;
    lipschitz.setConstant(largest_eigenvalue(G));
  } else {
    G = B.transpose() * B;
    const double lg = largest_eigenvalue(G);
    if (w.level != Level::kElement) BtX = B.transpose() * X;
    if (w.level == Level::kNone) lipschitz.setConstant(lg);
    if (w.level == Level::kSample) lipschitz = lg * w.sample;
    if (w.level == Level::kElement) lipschitz = lg * w.element.colwise().maxCoeff().transpose();
  }
  auto gradient = [&](const Eigen::MatrixXd& Y, Eigen::MatrixXd& grad) {
    if (w.level == Level::kElement) {
      grad.noalias() = B.transpose() * w.element.cwiseProduct(B * Y - X);
    } else {
      grad.noalias() = G * Y;
      grad -= BtX;
      if (w.level == Level::kSample) grad *= w.sample.asDiagonal();
    }
  };

  LassoResult r;
  r.codes = warm_start.size() ? warm_start : Eigen::MatrixXd::Zero(k, n);
  Eigen::MatrixXd y = r.codes, next(k, n), grad(k, n);
  double t = 1;
  for (r.iterations = 1; r.iterations <= o.max_iterations; ++r.iterations) {
    gradient(y, grad);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!(lipschitz[i] > 0)) {  // zero weight (or an all-zero dictionary): nothing to fit, keep the code
        next.col(i) = r.codes.col(i);
        continue;
      }
      const double step = 1.0 / lipschitz[i], thresh = o.lambda * step;
      for (Eigen::Index a = 0; a < k; ++a) next(a, i) = soft_threshold(y(a, i) - step * grad(a, i), thresh);
    }
    const double change = (next - r.codes).norm(), size = next.norm();
    // Restart when the momentum step points uphill: <y - next, next - codes> > 0.
    const bool restart = ((y - next).array() * (next - r.codes).array()).sum() > 0;
    const double t_next = restart ? 1.0 : 0.5 * (1 + std::sqrt(1 + 4 * t * t));
    y = next + ((t - 1) / t_next) * (next - r.codes);
    if (restart) y = next;
    t = t_next;
    r.codes.swap(next);
    if (change <= o.tolerance * size) {
      r.converged = true;
      break;
    }
  }
  if (r.iterations > o.max_iterations) r.iterations = o.max_iterations;
  return r;
}

}  // namespace optidiff::sparse
