// optidiff/matrix/internal/blocks.hpp: pieces shared by M3O and its baselines (not public API).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "optidiff/matrix/problem.hpp"

namespace optidiff::matrix::matrix_internal {

// One shuffled group as observed: B_o (n x w), its mask W, and the terms of the cost that do not
// depend on X: W o B_o and r_j = sum_k W_jk B_o[j,k]^2.
struct Group {
  int start = 0, width = 0;  // columns in the full matrix
  Eigen::MatrixXd observed, mask, masked;
  Eigen::RowVectorXd observed_sq;  // r^T, 1 x n
};
std::vector<Group> shuffled_groups(const Observation& o);

// C_ij = sum_{k observed in row j} (X_g[i,k] - B_o[j,k])^2 (note section 2.1), all i, j at once:
// C = 1 r^T - 2 X_g (W o B_o)^T + (X_g o X_g) W^T, clamped at 0 against rounding.
Eigen::MatrixXd group_cost(const Eigen::MatrixXd& x_group, const Group& g);

// The starting point of the official code: observed entries of the reference block (zeros where
// missing) and i.i.d. N(0, c^2) shuffled blocks, c = mean |observed entry| (generate_Bn.m).
Eigen::MatrixXd initial_estimate(const Observation& o, std::uint64_t seed);
// `start` when given (checked: n x m, finite), else initial_estimate(o, seed).
Eigen::MatrixXd starting_estimate(const Observation& o, const Eigen::MatrixXd& start,
                                  std::uint64_t seed);

// X_A[Omega_0] <- A[Omega_0]: a gradient step of size 1 on (1/2)||P_Omega0(X_A - A)||^2.
void impose_reference(Eigen::MatrixXd& x, const Observation& o);
// (1/2)||P_Omega0(X_A - A)||^2.
double reference_misfit(const Eigen::MatrixXd& x, const Observation& o);

// Shuffled blocks put back in the reference order by the maps observed_row (values and mask).
Observation unshuffle(const Observation& o, const std::vector<std::vector<int>>& observed_row);

std::vector<int> identity_permutation(int n);

}  // namespace optidiff::matrix::matrix_internal
