// optidiff/sparse/spsc.hpp: SPSC, self-paced robust sparse coding (Feng, Tang, Wu 2017, arXiv:1709.03030),
// and the two baselines built from the same blocks: plain sparse coding and L1-fidelity sparse coding.
//
// SPSC (research note section 3.2; the regulariser, schedule and solvers are the note's [derived]
// reconstruction, since the paper's full text was unavailable) minimises over dictionary B (m x k,
// ||b_j|| <= 1), codes S (k x n) and self-paced weights V in [0,1]:
//     F = 1/2 sum_units v_u l_u(B, S) + lambda sum_i ||s_i||_1 + 1/2 sum_units f(v_u; age)
// where a unit is a sample (l_i = ||x_i - B s_i||^2), a feature (l_j = ||X_j: - B_j: S||^2) or an element
// (l_ij = (x_ij - (BS)_ij)^2), and f is a self-paced regulariser (self_paced.hpp). Each sweep runs
//     V-step (closed form, self_paced.hpp) -> S-step (weighted lasso by FISTA, warm-started) ->
//     B-step (weighted block coordinate descent) -> age *= growth,
// each of which does not increase F at a fixed age. The age starts where a fraction `initial_admitted`
// of units is admitted (v > 0) and grows by `age_growth` per sweep, but at least fast enough that the
// admitted fraction reaches `max_admitted` after `admit_sweeps` sweeps (linearly in between); it is
// capped where a fraction `max_admitted` would be admitted, and freezes once every unit is admitted (the
// mixture and linear weights then keep down-weighting the hardest units; hard weights give plain SC).
// Stopping rule: the age is frozen or capped and |F_t - F_{t-1}| <= tolerance |F_t|, or max_sweeps.
//
// Level kNone is plain sparse coding, min 1/2 ||X - BS||_F^2 + lambda ||S||_1 (eq. (1) with scikit-learn's
// 1/2). `l1_fidelity` (level kNone only) is robust sparse coding with an L1 data term,
// min ||X - BS||_1 + lambda ||S||_1, by iteratively reweighted least squares: |r| <= r^2/(2|r0|) + |r0|/2
// majorises the data term, so each sweep is an element-weighted SC step with W = 1/max(|R|, eps).
//   sparse::SpscOptions o{.atoms = 64, .lambda = 0.1, .level = sparse::Level::kSample};
//   sparse::SpscResult r = sparse::spsc(X, o);   // r.dictionary, r.codes, r.history
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optidiff/sparse/self_paced.hpp"
#include "optidiff/sparse/weights.hpp"

namespace optidiff::sparse {

struct SpscOptions {
  int atoms = 64;                              // k >= 1
  double lambda = 0.1;                         // l1 penalty on the codes, > 0
  Level level = Level::kSample;                // kNone: plain sparse coding
  Regularizer regularizer = Regularizer::kMixture;
  bool l1_fidelity = false;                    // L1 data term (level kNone only)
  double initial_admitted = 0.5;               // fraction of units admitted at the first sweep, (0, 1]
  double age_growth = 1.15;                    // age multiplier per sweep, > 1
  double max_admitted = 1.0;                   // the age stops growing at this admitted fraction, (0, 1]
  int admit_sweeps = 10;                       // sweeps by which at least max_admitted is admitted, >= 1
  int max_sweeps = 30;                         // outer V/S/B sweeps, >= 1
  double tolerance = 1e-4;                     // relative objective change that stops the loop
  int lasso_iterations = 50;                   // FISTA iterations per S-step
  double lasso_tolerance = 1e-4;               // FISTA stopping rule
  int dictionary_passes = 1;                   // BCD passes per B-step
  double l1_epsilon = 1e-2;                    // IRLS floor on |r|, relative to the data's RMS
  std::uint64_t seed = 0;                      // dictionary initialisation
  std::function<void(int sweep, int max_sweeps)> on_sweep = {};  // progress callback (optional)
};
// Throws kInvalidArgument naming the option and the expected range.
void validate(const SpscOptions& options);

struct SweepRecord {
  int sweep = 0;
  double age = 0;              // the self-paced age used in this sweep (0 for plain / L1)
  double objective = 0;        // F above (plain: the SC objective; L1: ||X - BS||_1 + lambda ||S||_1)
  double sc_objective = 0;     // unweighted 1/2 ||X - BS||_F^2 + lambda ||S||_1, comparable across methods
  double admitted = 1;         // fraction of units with v > 0
  double mean_weight = 1;      // mean of v over units
  int lasso_iterations = 0;
  double seconds = 0;          // since the start
};

struct SpscResult {
  Eigen::MatrixXd dictionary;  // m x k, columns of norm <= 1
  Eigen::MatrixXd codes;       // k x n
  Weights weights;             // the last self-paced weights (level none: empty)
  std::vector<SweepRecord> history;
  std::string stop_reason;     // a sentence
};

SpscResult spsc(const Eigen::MatrixXd& X, const SpscOptions& options);

// Per-unit squared losses of the current fit: 1 x n (sample), m x 1 (feature) or m x n (element).
Eigen::ArrayXXd unit_losses(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X,
                            Level level);
// Expands unit weights (shaped as unit_losses) into Weights of that level.
Weights weights_from_units(Level level, const Eigen::ArrayXXd& v);

}  // namespace optidiff::sparse
