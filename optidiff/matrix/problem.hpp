// optidiff/matrix/problem.hpp: the data of low-rank recovery with unknown correspondence (M3O,
// Tang, Chang, Ye & Zha, UAI 2023; research note section 2.1), the paper's simulation, and the
// metrics.
//
// Observed: M_o = [A, P~_1 B_1, ..., P~_G B_G] (n rows), some entries missing. The reference block
// A is in the true row order; the rows of each shuffled block arrive in an unknown order. Goal: M =
// [A, B]. Row convention used throughout: observed_row[g][i] = j means true row i of B_g sits at
// row j of the observed block g (B_o.row(j) = B.row(i)); a recovery estimates these maps.
//   matrix::Simulation sim = matrix::simulate({.rows = 100, .cols = 100, .rank = 5, .seed = 1});
//   matrix::RecoveryResult r = matrix::recover(sim.observed, {.method = matrix::Method::kM3O});
//   matrix::Metrics m = matrix::evaluate(sim, r);   // m.rmse, m.permutation_errors
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace optidiff::matrix {

struct Observation {
  Eigen::MatrixXd values;  // n x m; entries where mask == 0 are ignored (may hold anything finite)
  Eigen::MatrixXd mask;    // n x m of 0/1 (1 = observed)
  std::vector<int>
      blocks;  // column widths: blocks[0] = reference A, blocks[1..G] = shuffled groups
  int rows() const { return static_cast<int>(values.rows()); }
  int groups() const { return static_cast<int>(blocks.size()) - 1; }
  int block_start(int b) const;  // first column of block b
};

// Builds an observation from one matrix per block (first = reference) and masks of the same shapes
// (empty vector: all observed). Throws kInvalidArgument, naming the block, when row counts differ,
// a mask has the wrong shape, and for everything validate() rejects.
Observation observation_from_blocks(const std::vector<Eigen::MatrixXd>& blocks,
                                    const std::vector<Eigen::MatrixXd>& masks = {});

// Checks: n >= 2; at least one shuffled block; widths >= 1 summing to the columns; mask of the same
// shape with 0/1 entries; observed values finite; every row of every block has an observed entry.
void validate(const Observation& observation);

// Port of the official generate_matrix.m (note section 2.5 a): M = U V (U: n x r, V: r x m, i.i.d.
// N(0,1)), observation M + noise N(0,1)*noise, both scaled by 2 / max(n, m); the last
// round(shuffled * m) columns split into `groups` near-equal groups, each with its own uniform row
// permutation; a `missing` fraction of the entries of each block hidden uniformly at random
// (exactly round(missing * size)); a row left with no observed entry in a block gets one random
// entry back, so validate() accepts it.
struct SimulationOptions {
  int rows = 100, cols = 100, rank = 5;
  double noise = 0.1;    // standard deviation before scaling
  double missing = 0.6;  // fraction of hidden entries per block, in [0, 1)
  int groups = 2;
  double shuffled = 0.6;  // fraction of columns in the shuffled groups
  std::uint64_t seed = 0;
};
void validate(const SimulationOptions& options);

struct Simulation {
  Observation observed;
  Eigen::MatrixXd truth;                       // noise-free scaled M in the reference row order
  std::vector<std::vector<int>> observed_row;  // true maps, one per group
};
Simulation simulate(const SimulationOptions& options);

// The shuffling and hiding steps of simulate() applied to any matrix: `noisy` (n x m) is observed
// through the block layout `blocks` (widths, reference first), each shuffled block with its own
// random row permutation and a `missing` fraction of every block hidden; `truth` is kept for
// evaluation.
Simulation shuffle_blocks(const Eigen::MatrixXd& truth, const Eigen::MatrixXd& noisy,
                          const std::vector<int>& blocks, double missing, std::uint64_t seed);

// What every method returns (M3O and the baselines alike).
struct RecoveryResult {
  Eigen::MatrixXd estimate;  // n x m: recovered [A, B_1..B_G] in the reference row order
  std::vector<std::vector<int>>
      observed_row;  // estimated maps, one per group (identity: not estimated)
  int iterations = 0;
  double objective = 0;           // final value of the method's objective (see each method)
  double seconds = 0;             // wall clock of the whole method
  double svd_seconds = 0;         // of which in singular value decompositions
  double assignment_seconds = 0;  // of which in assignment / Sinkhorn oracles
  int argmax_collisions = 0;  // M3O: rows the official row-wise argmax rounding would assign twice
  std::string stop_reason;
};

struct Metrics {
  double rmse = 0;             // sqrt(mean over all n x m entries of (estimate - truth)^2)
  double rmse_blocks = 0;      // the official code's sqrt(sum over blocks of the block's MSE)
  int permutation_errors = 0;  // sum_g ||P_g - P~_g||_F^2 / 2: wrongly matched rows, out of n * G
};
// Compares an estimate with the noise-free truth and the true maps.
Metrics evaluate(const Eigen::MatrixXd& truth, const std::vector<int>& blocks,
                 const std::vector<std::vector<int>>& true_observed_row,
                 const RecoveryResult& result);
Metrics evaluate(const Simulation& simulation, const RecoveryResult& result);

// A uniformly random permutation of 0..n-1 (Fisher-Yates).
std::vector<int> random_permutation(int n, std::uint64_t seed);

}  // namespace optidiff::matrix
