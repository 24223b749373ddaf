// optidiff/sparse/lasso.hpp: lasso codes for a fixed dictionary, by FISTA (Beck & Teboulle 2009).
//
// For every sample (column) x_i of X (m x n) and dictionary B (m x k), solves
//     min_{s_i}  1/2 || W_i^{1/2} (x_i - B s_i) ||^2 + lambda ||s_i||_1          (weighted lasso)
// with W_i = diag of the weights' column i (weights.hpp; none = plain lasso, the S-step of eq. (1) in
// Feng, Tang, Wu 2017, written with the 1/2 of scikit-learn's convention: their lambda is 2x ours).
// All columns are iterated together as matrices (GEMM), each with its own step 1/L_i:
//   none    L = ||B'B||_2, gradient B'B S - B'X
//   sample  L_i = v_i ||B'B||_2  (a lasso with penalty lambda / v_i); v_i = 0 keeps the warm start
//   feature L = ||B'UB||_2, gradient B'U(BS - X)
//   element L_i = max_j W_ji ||B'B||_2 (an upper bound), gradient B'(W o (BS - X))
// FISTA's momentum restarts when it points uphill (O'Donoghue & Candes 2015, gradient scheme).
// Stopping rule: ||S_t - S_{t-1}||_F <= tolerance * ||S_t||_F, or max_iterations.
//   auto r = sparse::lasso_fista(B, X, {.lambda = 0.1});            // cold start
//   r = sparse::lasso_fista(B, X, {.lambda = 0.1}, w, r.codes);      // warm start
#pragma once

#include <Eigen/Dense>

#include "optidiff/sparse/weights.hpp"

namespace optidiff::sparse {

struct LassoOptions {
  double lambda = 0.1;       // l1 penalty, > 0
  int max_iterations = 200;  // FISTA iterations, >= 1
  double tolerance = 1e-4;   // relative change of the codes that stops the iteration
};

struct LassoResult {
  Eigen::MatrixXd codes;  // k x n
  int iterations = 0;
  bool converged = false;  // the stopping rule fired before max_iterations
};

// `warm_start` (k x n) is the first iterate; an empty matrix means zeros. Throws kInvalidArgument on
// mismatched shapes, lambda <= 0 or max_iterations < 1.
LassoResult lasso_fista(const Eigen::MatrixXd& B, const Eigen::MatrixXd& X, const LassoOptions& options,
                        const Weights& weights = {}, const Eigen::MatrixXd& warm_start = {});

// Elementwise soft thresholding sign(z) max(|z| - t, 0): the prox of t ||.||_1.
inline double soft_threshold(double z, double t) { return z > t ? z - t : (z < -t ? z + t : 0.0); }

// Largest eigenvalue of a symmetric positive semi-definite matrix (the Lipschitz constant of a lasso).
double largest_eigenvalue(const Eigen::MatrixXd& symmetric);

}  // namespace optidiff::sparse
