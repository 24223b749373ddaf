#include "optidiff/matrix/sinkhorn.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::matrix {
namespace {

// softmin_eps over i of (c_i - other_i) = min - eps log sum_i exp(-(c_i - other_i - min) / eps),
// with c one contiguous column of C (or of C^T) and `other` the opposite potential.
inline double softmin(const double* c, const double* other, Eigen::Index n, double eps) {
  double m = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < n; ++i) m = std::min(m, c[i] - other[i]);
  double s = 0;
  for (Eigen::Index i = 0; i < n; ++i) s += std::exp(-(c[i] - other[i] - m) / eps);
  return m - eps * std::log(s);
}

}  // namespace

SinkhornResult sinkhorn(const Eigen::MatrixXd& cost, const SinkhornOptions& o,
                        const SinkhornResult* warm) {
  const Eigen::Index n = cost.rows();
  if (n == 0 || cost.cols() != n)
    throw_invalid("Sinkhorn cost is " + std::to_string(cost.rows()) + "x" +
                  std::to_string(cost.cols()) + "; expected a non-empty square matrix");
  if (!(o.epsilon > 0) || !std::isfinite(o.epsilon))
    throw_invalid("Sinkhorn epsilon is " + std::to_string(o.epsilon) +
                  "; expected a finite value > 0");
  if (o.max_iterations < 1) throw_invalid("Sinkhorn max_iterations must be >= 1");
  if (!cost.allFinite())
    throw_invalid("Sinkhorn cost has a non-finite entry; expected finite costs");

  SinkhornResult r;
  if (warm && warm->f.size() == n && warm->g.size() == n) {
    r.f = warm->f;
    r.g = warm->g;
  } else {
    r.f = Eigen::VectorXd::Zero(n);
    r.g = Eigen::VectorXd::Zero(n);
  }
  const double eps = o.epsilon;
  // Column-major C: column j is contiguous (the g update); C^T makes row i contiguous (the f
  // update).
  const Eigen::MatrixXd ct = cost.transpose();
  Eigen::VectorXd f_new(n);
  for (int it = 0; it < o.max_iterations; ++it) {
    // f update; the row masses of the current plan are exp((f_i - f_new_i) / eps).
    double err2 = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      f_new[i] = softmin(ct.col(i).data(), r.g.data(), n, eps);
      const double mass = std::exp((r.f[i] - f_new[i]) / eps);
      err2 += (mass - 1) * (mass - 1);
    }
    r.marginal_error = std::sqrt(err2);
    if (it > 0 && r.marginal_error < o.tolerance) {
      r.converged = true;
      break;
    }
    r.f = f_new;
    for (Eigen::Index j = 0; j < n; ++j) r.g[j] = softmin(cost.col(j).data(), r.f.data(), n, eps);
    r.iterations = it + 1;
  }
  if (!r.converged) {
    // Report the error of the plan actually returned.
    double err2 = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double mass = std::exp((r.f[i] - softmin(ct.col(i).data(), r.g.data(), n, eps)) / eps);
      err2 += (mass - 1) * (mass - 1);
    }
    r.marginal_error = std::sqrt(err2);
    r.converged = r.marginal_error < o.tolerance;
  }
  r.plan.resize(n, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < n; ++i)
      r.plan(i, j) = std::exp((r.f[i] + r.g[j] - cost(i, j)) / eps);
  return r;
}

}  // namespace optidiff::matrix
