// optidiff/sparse/dictionary.hpp: the dictionary step of sparse coding, by block coordinate descent
// over atoms (Mairal, Bach, Ponce, Sapiro 2009/2010, "Online dictionary learning", Algorithm 2).
//
// With codes S fixed, minimises the weighted data term over B (m x k) subject to ||b_j||_2 <= 1
// (Mairal's convex set; every atom in use ends on the unit sphere):
//     min_B  1/2 sum_ij W_ij (X - B S)_ij^2.
// Each atom b_j is minimised exactly with the others fixed. Its objective is separable over rows,
// sum_r a_r (b_r - c_r / a_r)^2 (a_r = sum_i W_ri S_ji^2), so the constrained minimiser is
// b_r = c_r / (a_r + mu) with the smallest mu >= 0 that meets the norm bound (a weighted projection;
// with W = 1 it is Mairal's u_j / max(||u_j||, 1)). Rows with a_r = 0 (features no sample weighs, e.g. not
// yet admitted by feature-level SPSC) keep their value, and the atom is minimised over the other rows within
// the norm budget those leave, so a feature comes back with its old atoms when it is admitted. An atom no code uses is replaced by the worst-fitted sample, normalised; neither step can
// increase the objective, which the tests check.
//   sparse::update_dictionary(B, S, X, weights, {.passes = 1});
#pragma once

#include <Eigen/Dense>

#include "optidiff/core/rng.hpp"
#include "optidiff/sparse/weights.hpp"

namespace optidiff::sparse {

struct DictionaryUpdateOptions {
  int passes = 1;  // sweeps over all atoms, >= 1
};

// Updates B in place. Throws kInvalidArgument on mismatched shapes.
void update_dictionary(Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X,
                       const Weights& weights, const DictionaryUpdateOptions& options = {});

// k distinct random samples (columns of X), each scaled to unit norm; zero columns get random normal
// directions. The usual initialisation (research note section 3.4).
Eigen::MatrixXd initial_dictionary(const Eigen::MatrixXd& X, int atoms, Rng& rng);

}  // namespace optidiff::sparse
