#include "optidiff/sparse/dictionary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::sparse {
namespace {

// Solves min_b sum_r a_r (b_r - c_r/a_r)^2 s.t. ||b|| <= 1 in place; rows with a_r = 0 keep b_r.
void weighted_ball_step(const Eigen::VectorXd& a, const Eigen::VectorXd& c, Eigen::Ref<Eigen::VectorXd> b) {
  const Eigen::Index m = b.size();
  double fixed2 = 0, a_min = INFINITY, a_max = 0;
  for (Eigen::Index r = 0; r < m; ++r) {
    if (a[r] > 0) {
      a_min = std::min(a_min, a[r]);
      a_max = std::max(a_max, a[r]);
    } else {
      fixed2 += b[r] * b[r];
    }
  }
  if (a_max == 0) return;  // nothing weighs this atom
  const double radius2 = std::max(0.0, 1.0 - fixed2);
  auto norm2 = [&](double mu) {
    double s = 0;
    for (Eigen::Index r = 0; r < m; ++r)
      if (a[r] > 0) s += c[r] * c[r] / ((a[r] + mu) * (a[r] + mu));
    return s;
  };
  double mu = 0;
  if (norm2(0) > radius2) {
    double c2 = 0;
    for (Eigen::Index r = 0; r < m; ++r)
      if (a[r] > 0) c2 += c[r] * c[r];
    if (a_min == a_max) {  // uniform weights: the Euclidean projection, in closed form
      mu = radius2 > 0 ? std::sqrt(c2 / radius2) - a_max : INFINITY;
    } else if (radius2 == 0) {
      mu = INFINITY;
    } else {  // norm2 is decreasing in mu; bisect on [0, ||c|| / radius], keep the feasible end
      double lo = 0, hi = std::sqrt(c2 / radius2);
      for (int it = 0; it < 200 && hi - lo > 1e-15 * hi; ++it) {
        const double mid = 0.5 * (lo + hi);
        (norm2(mid) > radius2 ? lo : hi) = mid;
      }
      mu = hi;
    }
  }
  for (Eigen::Index r = 0; r < m; ++r)
    if (a[r] > 0) b[r] = std::isinf(mu) ? 0.0 : c[r] / (a[r] + mu);
  // Guard the last ulp: the result must be feasible.
  const double nb = b.norm();
  if (nb > 1) b /= nb;
}

// The sample with the largest weighted residual, as a unit vector (the replacement for an unused atom).
Eigen::VectorXd worst_fitted_sample(const Eigen::MatrixXd& X, const Eigen::VectorXd& residual2_per_sample) {
  Eigen::Index worst = 0;
  residual2_per_sample.maxCoeff(&worst);
  Eigen::VectorXd b = X.col(worst);
  const double nb = b.norm();
  if (nb > 0) b /= nb;
  return b;
}

}  // namespace

void update_dictionary(Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X, const Weights& w,
                       const DictionaryUpdateOptions& o) {
  const Eigen::Index m = X.rows(), n = X.cols(), k = B.cols();
  if (B.rows() != m || S.rows() != k || S.cols() != n)
    throw_invalid("dictionary update: B is " + std::to_string(B.rows()) + " x " + std::to_string(k) + ", S is " +
                  std::to_string(S.rows()) + " x " + std::to_string(S.cols()) + ", X is " + std::to_string(m) +
                  " x " + std::to_string(n) + "; expected B m x k, S k x n, X m x n");
  if (o.passes < 1) throw_invalid("dictionary update passes must be >= 1");
  w.check(m, n);
  const Eigen::VectorXd row_energy = S.rowwise().squaredNorm();
  Eigen::VectorXd a(m), c(m);

  if (w.level != Level::kElement) {
    // Separable weights W_ri = u_r v_i: Mairal's sufficient statistics A = S V S', C = X V S'.
    Eigen::MatrixXd A, C;
    if (w.level == Level::kSample) {
      const Eigen::MatrixXd SV = S * w.sample.asDiagonal();
      A = SV * S.transpose();
      C = X * SV.transpose();
    } else {
      A = S * S.transpose();
      C = X * S.transpose();
    }
    const Eigen::VectorXd u = w.level == Level::kFeature ? w.feature : Eigen::VectorXd::Ones(m);
    for (int pass = 0; pass < o.passes; ++pass) {
      for (Eigen::Index j = 0; j < k; ++j) {
        if (row_energy[j] == 0) {  // unused atom: the objective does not depend on it
          const Eigen::MatrixXd residual = X - B * S;
          Eigen::VectorXd r2 = residual.colwise().squaredNorm().transpose();
          if (w.level == Level::kSample) r2 = r2.cwiseProduct(w.sample);
          B.col(j) = worst_fitted_sample(X, r2);
          continue;
        }
        // g = C_j - B A_j + b_j A_jj: the correlation of atom j's own residual with its code row.
        const Eigen::VectorXd g = C.col(j) - B * A.col(j) + B.col(j) * A(j, j);
        a = u * A(j, j);
        c = u.cwiseProduct(g);
        weighted_ball_step(a, c, B.col(j));
      }
    }
    return;
  }

  // Element weights: keep E = X - B S and WE = W o E up to date with rank-one corrections.
  const Eigen::MatrixXd& W = w.element;
  Eigen::MatrixXd E = X - B * S;
  Eigen::MatrixXd WE = W.cwiseProduct(E);
  const Eigen::MatrixXd S2 = S.array().square().matrix();
  for (int pass = 0; pass < o.passes; ++pass) {
    for (Eigen::Index j = 0; j < k; ++j) {
      const Eigen::VectorXd old = B.col(j);
      if (row_energy[j] == 0) {
        B.col(j) = worst_fitted_sample(X, WE.cwiseProduct(E).colwise().sum().transpose());
        continue;  // S_j = 0, so E and WE do not change
      }
      a.noalias() = W * S2.row(j).transpose();
      c.noalias() = WE * S.row(j).transpose();
      c += old.cwiseProduct(a);
      weighted_ball_step(a, c, B.col(j));
      const Eigen::VectorXd delta = B.col(j) - old;
      if (delta.squaredNorm() == 0) continue;
      const Eigen::MatrixXd change = delta * S.row(j);
      E -= change;
      WE -= W.cwiseProduct(change);
    }
  }
}

Eigen::MatrixXd initial_dictionary(const Eigen::MatrixXd& X, int atoms, Rng& rng) {
  const Eigen::Index m = X.rows(), n = X.cols();
  if (atoms < 1) throw_invalid("--atoms is " + std::to_string(atoms) + "; expected K >= 1");
  if (n < 1 || m < 1) throw_invalid("the data matrix is empty");
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  for (Eigen::Index i = 0; i < std::min<Eigen::Index>(atoms, n); ++i)
    std::swap(order[i], order[i + static_cast<Eigen::Index>(rng.uniform_int(n - i))]);
  Eigen::MatrixXd B(m, atoms);
  for (int j = 0; j < atoms; ++j) {
    Eigen::VectorXd b;
    if (j < n) b = X.col(order[j]);
    if (j >= n || b.norm() == 0) {
      b.resize(m);
      rng.fill_normal(b.data(), m);
    }
    B.col(j) = b / b.norm();
  }
  return B;
}

}  // namespace optidiff::sparse
