#include "optidiff/sparse/spsc.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/sparse/dictionary.hpp"
#include "optidiff/sparse/lasso.hpp"

namespace optidiff::sparse {

void validate(const SpscOptions& o) {
  auto bad = [](const std::string& name, double v, const std::string& want) {
    throw_invalid(name + " is " + format_double(v, 6) + "; expected " + want);
  };
  if (o.atoms < 1) bad("--atoms", o.atoms, "K >= 1");
  if (!(o.lambda > 0) || !std::isfinite(o.lambda)) bad("--lambda", o.lambda, "lambda > 0");
  if (!(o.initial_admitted > 0 && o.initial_admitted <= 1)) bad("initial_admitted", o.initial_admitted, "(0, 1]");
  if (!(o.max_admitted > 0 && o.max_admitted <= 1)) bad("max_admitted", o.max_admitted, "(0, 1]");
  if (!(o.age_growth > 1)) bad("age_growth", o.age_growth, "> 1");
  if (o.max_sweeps < 1) bad("max_sweeps", o.max_sweeps, ">= 1");
  if (o.admit_sweeps < 1) bad("admit_sweeps", o.admit_sweeps, ">= 1");
  if (o.lasso_iterations < 1) bad("lasso_iterations", o.lasso_iterations, ">= 1");
  if (o.dictionary_passes < 1) bad("dictionary_passes", o.dictionary_passes, ">= 1");
  if (!(o.tolerance >= 0)) bad("tolerance", o.tolerance, ">= 0");
  if (!(o.l1_epsilon > 0)) bad("l1_epsilon", o.l1_epsilon, "> 0");
  if (o.l1_fidelity && o.level != Level::kNone)
    throw_invalid("--l1-fidelity is the L1 robust sparse coding baseline; use it with --level none (got --level " +
                  std::string(level_name(o.level)) + ")");
}

Eigen::ArrayXXd unit_losses(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X,
                            Level level) {
  const Eigen::ArrayXXd r2 = (X - B * S).array().square();
  switch (level) {
    case Level::kSample: return r2.colwise().sum();
    case Level::kFeature: return r2.rowwise().sum();
    case Level::kElement: return r2;
    case Level::kNone: break;
  }
  throw_invalid("unit_losses: level none has no units");
}

Weights weights_from_units(Level level, const Eigen::ArrayXXd& v) {
  switch (level) {
    case Level::kSample: return Weights::samples(v.row(0).transpose().matrix());
    case Level::kFeature: return Weights::features(v.col(0).matrix());
    case Level::kElement: return Weights::elements(v.matrix());
    case Level::kNone: break;
  }
  return Weights::none();
}

namespace {

double sc_objective(const Eigen::MatrixXd& B, const Eigen::MatrixXd& S, const Eigen::MatrixXd& X, double lambda) {
  return weighted_objective(B, S, X, Weights::none(), lambda);
}

bool small_change(double previous, double current, double tol) {
  return std::abs(current - previous) <= tol * std::max(std::abs(current), 1e-300);
}

}  // namespace

SpscResult spsc(const Eigen::MatrixXd& X, const SpscOptions& o) {
  validate(o);
  if (X.size() == 0) throw_invalid("the data matrix is empty");
  if (!X.allFinite()) throw_invalid("the data contain NaN or infinite values");
  Stopwatch sw;
  Rng rng(o.seed);
  SpscResult r;
  r.dictionary = initial_dictionary(X, o.atoms, rng);
  Eigen::MatrixXd& B = r.dictionary;
  const LassoOptions lasso{.lambda = o.lambda, .max_iterations = o.lasso_iterations, .tolerance = o.lasso_tolerance};
  const DictionaryUpdateOptions dict{.passes = o.dictionary_passes};
  r.codes = lasso_fista(B, X, lasso).codes;
  Eigen::MatrixXd& S = r.codes;
  double previous = std::numeric_limits<double>::infinity();
  r.stop_reason = "reached max_sweeps (" + std::to_string(o.max_sweeps) + ")";

  if (o.level == Level::kNone) {
    const double eps = o.l1_epsilon * std::sqrt(X.squaredNorm() / static_cast<double>(X.size()));
    for (int sweep = 1; sweep <= o.max_sweeps; ++sweep) {
      Weights w;
      if (o.l1_fidelity) w = Weights::elements((X - B * S).cwiseAbs().cwiseMax(eps).cwiseInverse());
      const auto codes = lasso_fista(B, X, lasso, w, S);
      S = codes.codes;
      update_dictionary(B, S, X, w, dict);
      const double sc = sc_objective(B, S, X, o.lambda);
      const double f = o.l1_fidelity ? (X - B * S).cwiseAbs().sum() + o.lambda * S.cwiseAbs().sum() : sc;
      r.history.push_back({sweep, 0, f, sc, 1, 1, codes.iterations, sw.seconds()});
      if (o.on_sweep) o.on_sweep(sweep, o.max_sweeps);
      if (small_change(previous, f, o.tolerance)) {
        r.stop_reason = "relative objective change <= " + format_double(o.tolerance, 3) + " at sweep " +
                        std::to_string(sweep);
        break;
      }
      previous = f;
    }
    return r;
  }

  // SPSC. The age schedule: at sweep t the age is max(growth * previous age, the age that admits a fraction
  // p_t of the units), p_t rising linearly from initial_admitted to max_admitted over admit_sweeps sweeps,
  // and never above the age that admits max_admitted. The floor matters at the element and feature levels,
  // where most units (background pixels) have near-zero loss and the quantiles are far apart.
  Eigen::ArrayXXd losses = unit_losses(B, S, X, o.level);
  SelfPacedAge age;
  bool frozen = false, capped = false;
  for (int sweep = 1; sweep <= o.max_sweeps; ++sweep) {
    if (!frozen) {
      const double p = std::min(o.max_admitted, o.initial_admitted + (1 - o.initial_admitted) * (sweep - 1) /
                                                                         static_cast<double>(o.admit_sweeps));
      const SelfPacedAge floor = age_for_zero_weight_loss(o.regularizer, quantile(losses, p));
      if (sweep == 1 || floor.age > age.age * o.age_growth) {
        age = floor;
      } else {
        age.age *= o.age_growth;
        age.gamma *= o.age_growth;
      }
      capped = false;
      if (o.max_admitted < 1) {
        const SelfPacedAge cap = age_for_zero_weight_loss(o.regularizer, quantile(losses, o.max_admitted));
        if (age.age >= cap.age) age = cap, capped = true;
      }
    }
    // V-step (closed form), S-step (weighted lasso), B-step (weighted BCD).
    const Eigen::ArrayXXd v = self_paced_weights(o.regularizer, age, losses);
    r.weights = weights_from_units(o.level, v);
    const auto codes = lasso_fista(B, X, lasso, r.weights, S);
    S = codes.codes;
    update_dictionary(B, S, X, r.weights, dict);
    losses = unit_losses(B, S, X, o.level);
    double penalty = 0;
    for (Eigen::Index i = 0; i < v.size(); ++i) penalty += self_paced_penalty(o.regularizer, age, v(i));
    const double f = 0.5 * (v * losses).sum() + o.lambda * S.cwiseAbs().sum() + 0.5 * penalty;
    const double admitted = static_cast<double>((v > 0).count()) / static_cast<double>(v.size());
    r.history.push_back(
        {sweep, age.age, f, sc_objective(B, S, X, o.lambda), admitted, v.mean(), codes.iterations, sw.seconds()});
    if (o.on_sweep) o.on_sweep(sweep, o.max_sweeps);
    // Every unit admitted with the current losses: the age has done its work and freezes.
    if (!frozen && zero_weight_loss(o.regularizer, age) > losses.maxCoeff()) frozen = true;
    if ((frozen || capped) && small_change(previous, f, o.tolerance)) {
      r.stop_reason = std::string(frozen ? "all units admitted" : "age capped at max_admitted") +
                      " and relative objective change <= " + format_double(o.tolerance, 3) + " at sweep " +
                      std::to_string(sweep);
      break;
    }
    previous = f;
  }
  return r;
}

}  // namespace optidiff::sparse
