#include "optidiff/zo/zosgd.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/zo/internal/state_io.hpp"
#include "optidiff/zo/rank_estimator.hpp"

namespace optidiff::zo {
namespace {
using internal::integer_in;
using internal::number_in;

void validate(const ZoSgdOptions& o) {
  if (o.m < 2) throw_invalid("--m is " + std::to_string(o.m) + "; expected m >= 2 (x and at least one perturbation)");
  if (!(o.mu > 0) || !std::isfinite(o.mu)) throw_invalid("--mu is " + format_double(o.mu) + "; expected mu > 0");
  if (!(o.step > 0) || !std::isfinite(o.step)) throw_invalid("--step is " + format_double(o.step) + "; expected step > 0");
}
}  // namespace

ZoSgd::ZoSgd(const Eigen::VectorXd& x0, const ZoSgdOptions& options) : options_(options), x_(x0), rounds_(options.seed) {
  validate(options_);
  if (x0.size() < 1) throw_invalid("x0 is empty; expected dimension d >= 1");
  if (!x0.allFinite()) throw_invalid("x0 has a non-finite entry; expected finite numbers");
  work_.resize(x0.size());
}

Round ZoSgd::ask() {
  rounds_.open();
  Round r;
  r.id = rounds_.id();
  r.kind = "values";
  r.want = Want::kValues;
  r.k = options_.m;
  r.points.resize(x_.size(), options_.m);
  r.points.col(0) = x_;
  for (int i = 1; i < options_.m; ++i) {
    fill_perturbation(rounds_.seed(), i, r.points.col(i).data(), dim());
    r.points.col(i) = x_ + options_.mu * r.points.col(i);
  }
  return r;
}

void ZoSgd::tell(std::uint64_t round_id, const Feedback& feedback) {
  rounds_.check(round_id, method());
  const auto* v = std::get_if<Values>(&feedback);
  if (!v) throw_invalid("zosgd is value-based: expected f at each of the " + std::to_string(options_.m) + " points");
  if (static_cast<int>(v->f.size()) != options_.m)
    throw_invalid("zosgd: got " + std::to_string(v->f.size()) + " values; expected " + std::to_string(options_.m));
  for (std::size_t i = 0; i < v->f.size(); ++i)
    if (!std::isfinite(v->f[i]))
      throw_invalid("zosgd: value " + std::to_string(i) + " is " + format_double(v->f[i]) + "; expected finite");
  Eigen::VectorXd g = Eigen::VectorXd::Zero(x_.size());
  const double sign = options_.maximize ? -1.0 : 1.0;
  for (int i = 1; i < options_.m; ++i) {
    fill_perturbation(rounds_.seed(), i, work_.data(), dim());
    g += (sign * (v->f[i] - v->f[0]) / options_.mu) * work_;
  }
  g /= (options_.m - 1);
  const double eta = options_.schedule == StepSchedule::kConstant ? options_.step : options_.step / std::sqrt(t_ + 1.0);
  x_ -= eta * g;
  ++t_;
  rounds_.close();
}

std::string ZoSgd::save() const {
  Json j = internal::state_header(method());
  const auto& o = options_;
  j["options"] = {{"m", o.m}, {"mu", o.mu}, {"step", o.step},
                  {"schedule", schedule_name(o.schedule)},
                  {"maximize", o.maximize}, {"seed", std::to_string(o.seed)}};
  j["dim"] = x_.size();
  j["x"] = internal::vector_to_json(x_);
  j["steps"] = t_;
  j["rounds"] = rounds_.to_json();
  return j.dump(1);
}

void ZoSgd::load(std::string_view text) {
  const Json j = internal::parse_state(text, method());
  if (!j.contains("options")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing \"options\"");
  const Json& jo = j["options"];
  ZoSgdOptions o;
  o.m = static_cast<int>(integer_in(jo, "m", 2, 1 << 20));
  o.mu = number_in(jo, "mu", 1e-300, 1e300);
  o.step = number_in(jo, "step", 1e-300, 1e300);
  o.schedule = internal::as_data_loss([&] { return parse_schedule(json_get<std::string>(jo, "schedule", "optimiser state")); });
  o.maximize = json_get<bool>(jo, "maximize", "optimiser state");
  o.seed = internal::uint64_of(jo, "seed");
  const auto d = integer_in(j, "dim", 1, 1LL << 31);
  ZoSgd next(internal::vector_from_json(j, "x", d), o);
  next.t_ = static_cast<std::uint64_t>(integer_in(j, "steps", 0, 1LL << 62));
  if (!j.contains("rounds")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing key \"rounds\"");
  next.rounds_.from_json(j["rounds"]);
  *this = std::move(next);
}

}  // namespace optidiff::zo
