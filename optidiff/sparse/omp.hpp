// optidiff/sparse/omp.hpp: Orthogonal Matching Pursuit (Pati, Rezaiifar, Krishnaprasad 1993), as
// Batch-OMP on the Gram matrix (Rubinstein, Zibulevsky, Elad 2008): an l0 coder, a baseline transform
// and not a solver of the lasso (research note section 3.4).
// Per column: pick the atom most correlated with the residual, refit all chosen atoms by least squares,
// stop at max_nonzeros atoms or when ||x - B s||^2 <= tolerance * ||x||^2. Atoms should have unit norm.
//   Eigen::MatrixXd S = sparse::omp(B, X, {.max_nonzeros = 5});
#pragma once

#include <Eigen/Dense>

namespace optidiff::sparse {

struct OmpOptions {
  int max_nonzeros = 10;   // >= 1 and <= number of atoms
  double tolerance = 0.0;  // relative squared residual that stops early (0: always max_nonzeros)
};

Eigen::MatrixXd omp(const Eigen::MatrixXd& B, const Eigen::MatrixXd& X, const OmpOptions& options);

}  // namespace optidiff::sparse
