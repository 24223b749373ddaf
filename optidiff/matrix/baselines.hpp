// optidiff/matrix/baselines.hpp: the methods M3O is measured against (research note section 2.7),
// all returning RecoveryResult through the same Observation and the same proximal operator.
//
// - complete(): soft-impute (Mazumder, Hastie & Tibshirani 2010) with any prox:
//     X <- prox(P_Omega(Y) + P_Omega^perp(X))  until ||dX||_F <= tolerance ||X||_F.
// - separate_completion(): each block completed on its own; the correspondence is never estimated
//   (the official code's MCS). Its shuffled blocks stay in the observed order.
// - oracle_completion(): knows the true maps, unshuffles, completes the whole matrix: the error
//   floor of any method that must also estimate the correspondence.
// - alternating_minimization(): the face demo's baseline_recover, with the assignment solved on the
//   cost itself (the official code passes -cost to munkres, which maximises the mismatch: pitfall
//   3). Each iteration: X_A[Omega_0] <- A; X_g <- X_g + step W o (B_o[P_g] - X_g); prox; P_g <-
//   LAP(C^g).
#pragma once

#include <cstdint>
#include <vector>

#include "optidiff/matrix/problem.hpp"
#include "optidiff/matrix/svd.hpp"

namespace optidiff::matrix {

struct CompletionOptions {
  ProxOptions prox{};
  int max_iterations = 1000;
  double tolerance = 1e-5;  // relative change of X
  std::uint64_t seed = 0;   // randomized SVD
};

// values, mask: n x m (mask 0/1). Objective: (1/2)||P_Omega(X - Y)||^2 + pen(X).
RecoveryResult complete(const Eigen::MatrixXd& values, const Eigen::MatrixXd& mask,
                        const CompletionOptions& options);

RecoveryResult separate_completion(const Observation& observation,
                                   const CompletionOptions& options);

RecoveryResult oracle_completion(const Observation& observation,
                                 const std::vector<std::vector<int>>& observed_row,
                                 const CompletionOptions& options);

struct AlternatingOptions {
  ProxOptions prox{};
  double step = 0.2;          // lr1 of face_demo.m for the shuffled blocks
  int max_iterations = 1000;  // as baseline_recover
  int stable_iterations =
      30;                   // stop once the assignments have not changed for this many iterations
  Eigen::MatrixXd start{};  // empty: M3O's random start; else the n x m starting X
  std::uint64_t seed = 0;
};
RecoveryResult alternating_minimization(const Observation& observation,
                                        const AlternatingOptions& options);

}  // namespace optidiff::matrix
