#include "optidiff/zo/one_plus_one.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/zo/internal/state_io.hpp"
#include "optidiff/zo/rank_estimator.hpp"

namespace optidiff::zo {

OnePlusOne::OnePlusOne(const Eigen::VectorXd& x0, const OnePlusOneOptions& options)
    : options_(options), x_(x0), sigma_(options.sigma0), rounds_(options.seed) {
  if (x0.size() < 1) throw_invalid("x0 is empty; expected dimension d >= 1");
  if (!x0.allFinite()) throw_invalid("x0 has a non-finite entry; expected finite numbers");
  if (!(options.sigma0 > 0) || !std::isfinite(options.sigma0))
    throw_invalid("--sigma0 is " + format_double(options.sigma0) + "; expected sigma0 > 0");
  if (!(options.min_sigma >= 0)) throw_invalid("min_sigma is " + format_double(options.min_sigma) + "; expected >= 0");
}

Round OnePlusOne::make_round() const {
  Round r;
  r.id = rounds_.id();
  r.kind = "sample";
  r.k = 1;
  r.points.resize(x_.size(), 2);
  r.points.col(0) = x_;
  fill_perturbation(rounds_.seed(), 0, r.points.col(1).data(), dim());
  r.points.col(1) = x_ + sigma_ * r.points.col(1);
  return r;
}

Round OnePlusOne::ask() {
  rounds_.open();
  return make_round();
}

void OnePlusOne::tell(std::uint64_t round_id, const Feedback& feedback) {
  rounds_.check(round_id, method());
  const auto* top = std::get_if<TopK>(&feedback);
  if (!top) throw_invalid("oneplusone needs the better of its 2 points (a ranking of length 1)");
  const int winner = topk_weights(*top, 2, 1).best;
  const double damp = std::sqrt(dim() + 1.0);
  if (winner == 1) {
    x_ = make_round().points.col(1);
    sigma_ *= std::exp(1.0 / 3.0 / damp);
  } else {
    sigma_ *= std::exp(-1.0 / 12.0 / damp);
  }
  rounds_.close();
}

std::optional<StopReason> OnePlusOne::stop_reason() const {
  if (sigma_ < options_.min_sigma) return StopReason{"sigma", "sigma fell below " + format_double(options_.min_sigma)};
  return std::nullopt;
}

std::string OnePlusOne::save() const {
  Json j = internal::state_header(method());
  j["options"] = {{"sigma0", options_.sigma0}, {"min_sigma", options_.min_sigma}, {"seed", std::to_string(options_.seed)}};
  j["dim"] = x_.size();
  j["x"] = internal::vector_to_json(x_);
  j["sigma"] = sigma_;
  j["rounds"] = rounds_.to_json();
  return j.dump(1);
}

void OnePlusOne::load(std::string_view text) {
  const Json j = internal::parse_state(text, method());
  if (!j.contains("options")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing \"options\"");
  OnePlusOneOptions o;
  o.sigma0 = internal::number_in(j["options"], "sigma0", 1e-300, 1e300);
  o.min_sigma = internal::number_in(j["options"], "min_sigma", 0, 1e300);
  o.seed = internal::uint64_of(j["options"], "seed");
  const auto d = internal::integer_in(j, "dim", 1, 1LL << 31);
  OnePlusOne next(internal::vector_from_json(j, "x", d), o);
  next.sigma_ = internal::number_in(j, "sigma", 0, 1e300);
  if (!j.contains("rounds")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing key \"rounds\"");
  next.rounds_.from_json(j["rounds"]);
  *this = std::move(next);
}

}  // namespace optidiff::zo
