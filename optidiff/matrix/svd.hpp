// optidiff/matrix/svd.hpp: singular-value proximal operators and a partial (randomized) SVD.
//
// The proximal step of M3O and of the completion baselines (note section 2.3 step 2, 2.8 #1):
//   kSoft: U max(S - lambda, 0) V^T, the prox of lambda ||X||_* (singular value thresholding,
//          Cai et al. 2010)
//   kHard: U S 1[S > lambda] V^T, what the official simulation code's ProxNC does; the prox of
//          (lambda^2 / 2) rank(X)
//   kRank: the best rank-k approximation (the official MovieLens and face code)
// Eigen offers only full decompositions (JacobiSVD, BDCSVD). When the kept rank is small against
// min(rows, cols), a randomized range finder (Halko, Martinsson & Tropp 2011, Alg. 4.4 with q power
// iterations, then an SVD of the small projected matrix) gives the leading singular triplets
// instead.
//   matrix::Prox prox({.kind = matrix::ProxKind::kSoft, .lambda = 0.1});
//   matrix::ProxResult p = prox(Y);      // p.X, p.rank, p.penalty
#pragma once

#include <Eigen/Core>
#include <string>
#include <string_view>

#include "optidiff/core/rng.hpp"

namespace optidiff::matrix {

enum class ProxKind { kSoft, kHard, kRank };
ProxKind parse_prox_kind(std::string_view name);  // "soft" | "hard" | "rank"
std::string_view prox_kind_name(ProxKind kind);

enum class SvdMode { kAuto, kFull, kRandomized };
SvdMode parse_svd_mode(std::string_view name);  // "auto" | "full" | "randomized"
std::string_view svd_mode_name(SvdMode mode);

struct ProxOptions {
  ProxKind kind = ProxKind::kHard;  // exp_simulate.m's ProxNC
  double lambda = 0.55;             // threshold (kSoft, kHard); exp_simulate.m's lambda_list
  int rank = 5;                     // kept rank (kRank)
  SvdMode svd = SvdMode::kAuto;     // kAuto: randomized when the kept rank is < min(rows, cols) / 4
};
void validate(const ProxOptions& options);  // lambda >= 0 finite, rank >= 1

struct TruncatedSvd {
  Eigen::MatrixXd U;  // rows x k
  Eigen::VectorXd s;  // k, descending
  Eigen::MatrixXd V;  // cols x k
};
// Thin SVD of A (Eigen's BDCSVD), all min(rows, cols) triplets.
TruncatedSvd full_svd(const Eigen::MatrixXd& A);
// The leading k triplets of A by a randomized range finder with `oversample` extra columns and
// `power_iterations` subspace iterations (re-orthonormalised each time). Requires k <= min(rows,
// cols).
TruncatedSvd randomized_svd(const Eigen::MatrixXd& A, int k, Rng& rng, int oversample = 10,
                            int power_iterations = 2);

struct ProxResult {
  Eigen::MatrixXd X;       // the proximal point
  int rank = 0;            // rank of X
  double penalty = 0;      // lambda ||X||_* (soft), (lambda^2/2) rank (hard), 0 (rank-k constraint)
  double svd_seconds = 0;  // time in the decomposition
};

// Stateful so that thresholding can start its partial SVD from the last rank found.
class Prox {
 public:
  explicit Prox(const ProxOptions& options, std::uint64_t seed = 0);
  ProxResult operator()(const Eigen::MatrixXd& Y);
  const ProxOptions& options() const { return options_; }

 private:
  ProxOptions options_;
  Rng rng_;
  int rank_hint_ = 8;
};

}  // namespace optidiff::matrix
