// optidiff/zo/cmaes.hpp: CMA-ES that sees only rankings, with IPOP restarts.
//
// Follows N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv 1604.00772, Table 1 and Fig. 6
// (defaults of Eq. (44)-(58) with positive weights only): weighted recombination of the mu best of
// lambda samples, cumulative step-size adaptation (CSA, Eq. (43)-(44)), rank-one (Eq. (24)) and rank-mu
// (Eq. (30)) covariance updates, and the h_sigma stall of the rank-one path. Only the order of the mu
// best is used, so each round asks an (lambda, mu)-ranking oracle: tell(TopK with mu ids).
// `diagonal` is sep-CMA-ES (Ros & Hansen, PPSN 2008: C diagonal, c_1 and c_mu times (d + 2)/3): O(d) per
// sample, for large d where the full d x d covariance does not fit.
//
// Stopping uses rank-free criteria only (tolx, noeffectaxis, noeffectcoord, conditioncov, tolupsigma,
// maxiter; Hansen's pycma names): f-value criteria (tolfun, flat fitness) need values. With
// max_restarts > 0 a stop triggers an IPOP restart (Auger & Hansen, CEC 2005): lambda doubles, the mean
// is redrawn uniformly from [restart_lo, restart_hi]^d (or x0 again if lo == hi), sigma = sigma0.
//
//   zo::CmaEs es(x0, {.sigma0 = 2.0, .max_restarts = 9, .restart_lo = -4, .restart_hi = 4});
//   zo::Round r = es.ask();   es.tell(r.id, zo::TopK{best_mu_ids});
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/internal/round_state.hpp"

namespace optidiff::zo {

struct CmaEsOptions {
  double sigma0 = 0.5;       // initial step size, > 0
  int lambda = 0;            // population; 0: 4 + floor(3 ln d)
  bool diagonal = false;     // sep-CMA-ES
  int max_restarts = 0;      // IPOP restarts after a stop
  double restart_lo = 0, restart_hi = 0;  // restart box; lo == hi: restart at x0
  double tolx = 1e-12;       // relative to sigma0
  std::uint64_t seed = 0;
};

class CmaEs final : public AskTell {
 public:
  CmaEs(const Eigen::VectorXd& x0, const CmaEsOptions& options);
  std::string method() const override { return "cmaes"; }
  int dim() const override { return static_cast<int>(x0_.size()); }
  Round ask() override;
  void tell(std::uint64_t round_id, const Feedback& feedback) override;
  Eigen::VectorXd incumbent() const override { return mean_; }
  std::optional<StopReason> stop_reason() const override { return stop_; }
  bool pending() const override { return rounds_.pending(); }
  std::uint64_t rounds_told() const override { return rounds_.told(); }
  std::string save() const override;
  void load(std::string_view state) override;

  int lambda() const { return lambda_; }
  int mu() const { return mu_; }
  double sigma() const { return sigma_; }
  int restarts() const { return restarts_; }
  const Eigen::MatrixXd& covariance() const { return C_; }  // d x d, or d x 1 (diagonal)

 private:
  void start(const Eigen::VectorXd& mean, int lambda);  // (re)initialises the strategy parameters
  void sample(Eigen::MatrixXd& z, Eigen::MatrixXd& y) const;  // the pending round's draws
  void update_eigensystem();
  std::optional<StopReason> check_stop() const;

  CmaEsOptions options_;
  Eigen::VectorXd x0_;
  // Strategy parameters (Table 1), recomputed by start().
  int lambda_ = 0, mu_ = 0;
  Eigen::VectorXd weights_;
  double mueff_ = 0, cc_ = 0, cs_ = 0, c1_ = 0, cmu_ = 0, damps_ = 0, chi_n_ = 0;
  // State.
  Eigen::VectorXd mean_, ps_, pc_, D_;  // D: sqrt of the eigenvalues
  Eigen::MatrixXd C_, B_;               // B: eigenvectors (empty when diagonal)
  double sigma_ = 0;
  long long generation_ = 0, eigen_generation_ = 0;
  int restarts_ = 0;
  std::optional<StopReason> stop_;
  internal::RoundState rounds_;
};

}  // namespace optidiff::zo
