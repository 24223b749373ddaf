// optidiff/zo/rank_estimator.hpp: from a ranking (or any DAG of pairwise judgements) to a descent
// direction: the estimator of Tang, Rybin & Chang, "Zeroth-Order Optimization Meets Human Feedback"
// (arXiv 2303.03751), Eq. (5), and its closed form (research note, section 2.2):
//
//   g = (1/|E|) sum_{(i,j) in E} (xi_j - xi_i) = (1/|E|) sum_i c_i xi_i,   c_i = indeg(i) - outdeg(i),
//
// where an edge (i, j) means "candidate i is better than j". For an (m,k) top-k answer the ranked
// candidate at 1-based position r gets c = 2r - m - 1, every unranked one c = k, and
// |E| = k(k-1)/2 + k(m-k); sum_i c_i = 0. g points uphill: the update is x <- x - eta g.
//
// Cost O(m d) with no allocation once the workspace exists: the perturbations xi_i are either read from
// a d x m matrix or regenerated column by column from a seed (xi_i = N(0, I) from Rng(seed).stream(i)),
// so a d = 16384 latent never needs all m perturbations in memory at once.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "optidiff/zo/ask_tell.hpp"

namespace optidiff::zo {

// The DAG weights of one answer.
struct RankWeights {
  std::vector<double> c;  // one per candidate; sums to 0
  double edges = 0;       // |E|
  int best = -1;          // a candidate with no better one (the top-ranked, or the most negative c)
};

// Validates an (m,k) answer (k distinct ids in [0, m), exactly `k` of them) and returns its weights.
// `official_sd_compat` reproduces the official code's weights (ranked: c = 2r - m - 2 in our sign, i.e.
// one more pull towards every ranked candidate; note section 3.3), which do not sum to 0.
RankWeights topk_weights(const TopK& answer, int m, int k, bool official_sd_compat = false);
// Validates edges (ids in range, no self-loops, no repeats, acyclic) and returns c_i = indeg - outdeg.
RankWeights edge_weights(const Edges& answer, int m);
// Either of the two, for a feedback variant (Values is rejected with kInvalidArgument).
RankWeights feedback_weights(const Feedback& feedback, int m, int k, bool official_sd_compat = false);

// The perturbation xi_i of candidate i in a round with this seed: N(0, I_d), regenerated on demand.
void fill_perturbation(std::uint64_t round_seed, int i, double* out, int d);

// g = (1/|E|) sum_i c_i xi_i with xi_i the columns of `xi` (d x m).
void rank_direction(const RankWeights& w, const Eigen::MatrixXd& xi, Eigen::VectorXd& g);
// The same with xi_i regenerated from round_seed into `work` (size d): O(d) memory beyond g.
void rank_direction(const RankWeights& w, std::uint64_t round_seed, Eigen::VectorXd& work, Eigen::VectorXd& g);

}  // namespace optidiff::zo
