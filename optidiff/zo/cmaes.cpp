#include "optidiff/zo/cmaes.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/zo/internal/state_io.hpp"
#include "optidiff/zo/rank_estimator.hpp"

namespace optidiff::zo {
namespace {
using internal::integer_in;
using internal::number_in;

void validate(const CmaEsOptions& o, Eigen::Index d) {
  if (d < 1) throw_invalid("x0 is empty; expected dimension d >= 1");
  if (!(o.sigma0 > 0) || !std::isfinite(o.sigma0))
    throw_invalid("--sigma0 is " + format_double(o.sigma0) + "; expected sigma0 > 0");
  if (o.lambda != 0 && o.lambda < 2)
    throw_invalid("--lambda is " + std::to_string(o.lambda) + "; expected 0 (default) or lambda >= 2");
  if (o.max_restarts < 0) throw_invalid("--restarts is " + std::to_string(o.max_restarts) + "; expected >= 0");
  if (!(o.restart_lo <= o.restart_hi))
    throw_invalid("restart box [" + format_double(o.restart_lo) + ", " + format_double(o.restart_hi) +
                  "] is empty; expected lo <= hi");
  if (!(o.tolx > 0)) throw_invalid("tolx is " + format_double(o.tolx) + "; expected > 0");
}

}  // namespace

CmaEs::CmaEs(const Eigen::VectorXd& x0, const CmaEsOptions& options) : options_(options), x0_(x0), rounds_(options.seed) {
  validate(options_, x0.size());
  if (!x0.allFinite()) throw_invalid("x0 has a non-finite entry; expected finite numbers");
  const int d = static_cast<int>(x0.size());
  start(x0, options_.lambda > 0 ? options_.lambda : 4 + static_cast<int>(std::floor(3 * std::log(double(d)))));
}

void CmaEs::start(const Eigen::VectorXd& mean, int lambda) {
  const double n = static_cast<double>(x0_.size());
  lambda_ = lambda;
  mu_ = lambda / 2;
  // Tutorial Eq. (49) with positive weights: w_i ~ ln((lambda+1)/2) - ln i, i = 1..mu.
  weights_.resize(mu_);
  for (int i = 0; i < mu_; ++i) weights_[i] = std::log((lambda + 1) / 2.0) - std::log(i + 1.0);
  weights_ /= weights_.sum();
  mueff_ = 1.0 / weights_.squaredNorm();
  cc_ = (4 + mueff_ / n) / (n + 4 + 2 * mueff_ / n);                                   // Eq. (56)
  cs_ = (mueff_ + 2) / (n + mueff_ + 5);                                                // Eq. (55)
  c1_ = 2 / ((n + 1.3) * (n + 1.3) + mueff_);                                          // Eq. (57)
  cmu_ = std::min(1 - c1_, 2 * (mueff_ - 2 + 1 / mueff_) / ((n + 2) * (n + 2) + mueff_));  // Eq. (58)
  if (options_.diagonal) {  // sep-CMA-ES learning rates
    c1_ *= (n + 2) / 3;
    cmu_ = std::min(1 - c1_, cmu_ * (n + 2) / 3);
  }
  damps_ = 1 + 2 * std::max(0.0, std::sqrt((mueff_ - 1) / (n + 1)) - 1) + cs_;        // Eq. (55)
  chi_n_ = std::sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  const auto d = x0_.size();
  mean_ = mean;
  ps_.setZero(d);
  pc_.setZero(d);
  D_.setOnes(d);
  if (options_.diagonal) {
    C_.setOnes(d, 1);
    B_.resize(0, 0);
  } else {
    C_.setIdentity(d, d);
    B_.setIdentity(d, d);
  }
  sigma_ = options_.sigma0;
  generation_ = eigen_generation_ = 0;
  stop_.reset();
}

void CmaEs::sample(Eigen::MatrixXd& z, Eigen::MatrixXd& y) const {
  const auto d = x0_.size();
  z.resize(d, lambda_);
  for (int k = 0; k < lambda_; ++k) fill_perturbation(rounds_.seed(), k, z.col(k).data(), static_cast<int>(d));
  y = D_.asDiagonal() * z;  // y_k = B D z_k ~ N(0, C)
  if (!options_.diagonal) y = B_ * y;
}

Round CmaEs::ask() {
  if (stop_) throw Error(ErrorCode::kFailedPrecondition, "cmaes stopped (" + stop_->message + "); nothing to ask");
  rounds_.open();
  Eigen::MatrixXd z, y;
  sample(z, y);
  Round r;
  r.id = rounds_.id();
  r.kind = "sample";
  r.k = mu_;
  r.points = (sigma_ * y).colwise() + mean_;
  return r;
}

void CmaEs::tell(std::uint64_t round_id, const Feedback& feedback) {
  rounds_.check(round_id, method());
  const auto* top = std::get_if<TopK>(&feedback);
  if (!top) throw_invalid("cmaes sees only rankings: expected the ids of the mu = " + std::to_string(mu_) + " best");
  topk_weights(*top, lambda_, mu_);  // validation only
  Eigen::MatrixXd z, y;
  sample(z, y);
  const double n = static_cast<double>(x0_.size());
  Eigen::VectorXd yw = Eigen::VectorXd::Zero(x0_.size()), zw = yw;
  for (int i = 0; i < mu_; ++i) {
    yw += weights_[i] * y.col(top->ids[i]);
    zw += weights_[i] * z.col(top->ids[i]);
  }
  mean_ += sigma_ * yw;  // Eq. (41), c_m = 1
  // CSA, Eq. (43): C^{-1/2} y_w = B z_w.
  const Eigen::VectorXd cinv_yw = options_.diagonal ? zw : Eigen::VectorXd(B_ * zw);
  ps_ = (1 - cs_) * ps_ + std::sqrt(cs_ * (2 - cs_) * mueff_) * cinv_yw;
  const double ps_norm = ps_.norm();
  const bool hsig = ps_norm / std::sqrt(1 - std::pow(1 - cs_, 2.0 * (generation_ + 1))) / chi_n_ < 1.4 + 2 / (n + 1);
  pc_ = (1 - cc_) * pc_ + (hsig ? std::sqrt(cc_ * (2 - cc_) * mueff_) : 0.0) * yw;  // Eq. (45)
  const double delta_h = (1 - hsig) * cc_ * (2 - cc_);
  const double keep = 1 - c1_ - cmu_ + c1_ * delta_h;  // Eq. (47) with sum w = 1
  if (options_.diagonal) {
    Eigen::VectorXd rank_mu = Eigen::VectorXd::Zero(x0_.size());
    for (int i = 0; i < mu_; ++i) rank_mu += weights_[i] * y.col(top->ids[i]).cwiseAbs2();
    C_.col(0) = keep * C_.col(0) + c1_ * pc_.cwiseAbs2() + cmu_ * rank_mu;
  } else {
    Eigen::MatrixXd ysel(x0_.size(), mu_);
    for (int i = 0; i < mu_; ++i) ysel.col(i) = std::sqrt(weights_[i]) * y.col(top->ids[i]);
    C_ *= keep;
    C_.noalias() += c1_ * pc_ * pc_.transpose();      // rank-one, Eq. (24)
    C_.noalias() += cmu_ * ysel * ysel.transpose();   // rank-mu, Eq. (30)
  }
  sigma_ *= std::exp(cs_ / damps_ * (ps_norm / chi_n_ - 1));  // Eq. (44)
  ++generation_;
  update_eigensystem();
  rounds_.close();
  if (auto s = check_stop()) {
    if (restarts_ < options_.max_restarts) {
      Eigen::VectorXd m0 = x0_;
      if (options_.restart_hi > options_.restart_lo)
        for (Eigen::Index i = 0; i < m0.size(); ++i)
          m0[i] = rounds_.rng().uniform(options_.restart_lo, options_.restart_hi);
      ++restarts_;
      start(m0, 2 * lambda_);  // IPOP: double the population
    } else {
      stop_ = s;
      if (options_.max_restarts > 0) stop_->message += " (after " + std::to_string(restarts_) + " restarts)";
    }
  }
}

void CmaEs::update_eigensystem() {
  const double n = static_cast<double>(x0_.size());
  if (options_.diagonal) {
    D_ = C_.col(0).cwiseMax(0).cwiseSqrt();
    eigen_generation_ = generation_;
    return;
  }
  // Lazy decomposition (tutorial, Section B.2): every 1/(10 n (c1 + cmu)) generations.
  if (generation_ - eigen_generation_ < std::max(1.0, 1.0 / (10 * n * (c1_ + cmu_)))) return;
  eigen_generation_ = generation_;
  C_ = C_.triangularView<Eigen::Upper>();
  C_ = C_.selfadjointView<Eigen::Upper>();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(C_);
  B_ = es.eigenvectors();
  D_ = es.eigenvalues().cwiseMax(0).cwiseSqrt();
}

std::optional<StopReason> CmaEs::check_stop() const {
  const double n = static_cast<double>(x0_.size());
  if (!mean_.allFinite() || !std::isfinite(sigma_) || !C_.allFinite())
    return StopReason{"numerical", "the state became non-finite"};
  const Eigen::VectorXd diag_c = options_.diagonal ? Eigen::VectorXd(C_.col(0)) : Eigen::VectorXd(C_.diagonal());
  const double tolx = options_.tolx * options_.sigma0;
  if ((sigma_ * diag_c.cwiseSqrt().array() < tolx).all() && (sigma_ * pc_.cwiseAbs().array() < tolx).all())
    return StopReason{"tolx", "sigma * sqrt(diag C) and sigma * p_c fell below tolx"};
  const double dmax = D_.maxCoeff(), dmin = D_.minCoeff();
  if (sigma_ / options_.sigma0 > 1e20 * dmax) return StopReason{"tolupsigma", "sigma grew by more than 1e20"};
  if (dmin <= 0 || (dmax / dmin) * (dmax / dmin) > 1e14)
    return StopReason{"conditioncov", "the condition number of C exceeded 1e14"};
  const Eigen::Index axis = generation_ % x0_.size();
  const Eigen::VectorXd shift =
      options_.diagonal ? Eigen::VectorXd(Eigen::VectorXd::Unit(x0_.size(), axis) * (0.1 * sigma_ * D_[axis]))
                        : Eigen::VectorXd(0.1 * sigma_ * D_[axis] * B_.col(axis));
  if (((mean_ + shift).array() == mean_.array()).all())
    return StopReason{"noeffectaxis", "a step of 0.1 sigma along a principal axis leaves the mean unchanged"};
  if (((mean_.array() + 0.2 * sigma_ * diag_c.array().sqrt()) == mean_.array()).any())
    return StopReason{"noeffectcoord", "a step of 0.2 sigma in a coordinate leaves the mean unchanged"};
  if (generation_ > 100 + 150 * (n + 3) * (n + 3) / std::sqrt(double(lambda_)))
    return StopReason{"maxiter", "the generation limit 100 + 150 (d+3)^2 / sqrt(lambda) was reached"};
  return std::nullopt;
}

std::string CmaEs::save() const {
  Json j = internal::state_header(method());
  const auto& o = options_;
  j["options"] = {{"sigma0", o.sigma0},         {"lambda", o.lambda},         {"diagonal", o.diagonal},
                  {"max_restarts", o.max_restarts}, {"restart_lo", o.restart_lo}, {"restart_hi", o.restart_hi},
                  {"tolx", o.tolx},             {"seed", std::to_string(o.seed)}};
  j["dim"] = x0_.size();
  j["x0"] = internal::vector_to_json(x0_);
  j["lambda"] = lambda_;
  j["restarts"] = restarts_;
  j["mean"] = internal::vector_to_json(mean_);
  j["sigma"] = sigma_;
  j["ps"] = internal::vector_to_json(ps_);
  j["pc"] = internal::vector_to_json(pc_);
  j["eigen_sqrt"] = internal::vector_to_json(D_);
  j["cov"] = internal::matrix_to_json(C_);
  if (!o.diagonal) j["eigen_vectors"] = internal::matrix_to_json(B_);
  j["generation"] = generation_;
  j["eigen_generation"] = eigen_generation_;
  j["stop"] = stop_ ? Json{{"code", stop_->code}, {"message", stop_->message}} : Json(nullptr);
  j["rounds"] = rounds_.to_json();
  return j.dump(1);
}

void CmaEs::load(std::string_view text) {
  const Json j = internal::parse_state(text, method());
  if (!j.contains("options") || !j["options"].is_object())
    throw Error(ErrorCode::kDataLoss, "optimiser state: missing \"options\"");
  const Json& jo = j["options"];
  CmaEsOptions o;
  o.sigma0 = number_in(jo, "sigma0", 1e-300, 1e300);
  o.lambda = static_cast<int>(integer_in(jo, "lambda", 0, 1 << 24));
  o.diagonal = json_get<bool>(jo, "diagonal", "optimiser state");
  o.max_restarts = static_cast<int>(integer_in(jo, "max_restarts", 0, 1000));
  o.restart_lo = number_in(jo, "restart_lo", -1e300, 1e300);
  o.restart_hi = number_in(jo, "restart_hi", o.restart_lo, 1e300);
  o.tolx = number_in(jo, "tolx", 1e-300, 1e300);
  o.seed = internal::uint64_of(jo, "seed");
  const auto d = integer_in(j, "dim", 1, 1 << 20);
  CmaEs next(internal::vector_from_json(j, "x0", d), o);
  const int lambda = static_cast<int>(integer_in(j, "lambda", 2, 1 << 28));
  next.start(internal::vector_from_json(j, "mean", d), lambda);
  next.restarts_ = static_cast<int>(integer_in(j, "restarts", 0, o.max_restarts));
  next.sigma_ = number_in(j, "sigma", 1e-300, 1e300);
  next.ps_ = internal::vector_from_json(j, "ps", d);
  next.pc_ = internal::vector_from_json(j, "pc", d);
  next.D_ = internal::vector_from_json(j, "eigen_sqrt", d);
  next.C_ = internal::matrix_from_json(j, "cov", d, o.diagonal ? 1 : d);
  if (!o.diagonal) next.B_ = internal::matrix_from_json(j, "eigen_vectors", d, d);
  next.generation_ = integer_in(j, "generation", 0, 1LL << 50);
  next.eigen_generation_ = integer_in(j, "eigen_generation", 0, next.generation_);
  if (j.contains("stop") && j["stop"].is_object())
    next.stop_ = StopReason{json_get<std::string>(j["stop"], "code", "optimiser state"),
                            json_get<std::string>(j["stop"], "message", "optimiser state")};
  if (!j.contains("rounds")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing key \"rounds\"");
  next.rounds_.from_json(j["rounds"]);
  *this = std::move(next);
}

}  // namespace optidiff::zo
