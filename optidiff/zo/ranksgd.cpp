#include "optidiff/zo/ranksgd.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/zo/internal/state_io.hpp"

namespace optidiff::zo {
namespace {
using internal::integer_in;
using internal::number_in;

}  // namespace

const char* schedule_name(StepSchedule s) { return s == StepSchedule::kConstant ? "constant" : "inv_sqrt"; }

StepSchedule parse_schedule(const std::string& name) {
  if (name == "constant") return StepSchedule::kConstant;
  if (name == "inv_sqrt") return StepSchedule::kInvSqrt;
  std::string what = "--schedule is \"";  // built in steps: GCC 12 misreports "lit" + str + "lit" (-Wrestrict)
  what += name;
  what += "\"; expected constant or inv_sqrt";
  throw_invalid(what);
}

void validate(const RankSgdOptions& o) {
  if (o.m < 2) throw_invalid("--m is " + std::to_string(o.m) + "; expected m >= 2 candidates per round");
  if (o.k < 1 || o.k > o.m)
    throw_invalid("--k is " + std::to_string(o.k) + "; expected 1 <= k <= --m (" + std::to_string(o.m) + ")");
  if (!(o.mu > 0) || !std::isfinite(o.mu)) throw_invalid("--mu is " + format_double(o.mu) + "; expected mu > 0");
  if (!(o.step > 0) || !std::isfinite(o.step))
    throw_invalid("--step is " + format_double(o.step) + "; expected step > 0");
  if (!(o.gamma > 0 && o.gamma < 1)) throw_invalid("--gamma is " + format_double(o.gamma) + "; expected 0 < gamma < 1");
  if (o.line_search) {
    const int n = o.ls_points > 0 ? o.ls_points : o.m;
    if (n < 3)
      throw_invalid("line search needs n >= 3 candidates (steps, best sample, incumbent); got n = " +
                    std::to_string(n) + " (set --ls-points or --m)");
  }
  if (o.ls_points < 0) throw_invalid("--ls-points is " + std::to_string(o.ls_points) + "; expected >= 0");
  if (!(o.min_step >= 0)) throw_invalid("min_step is " + format_double(o.min_step) + "; expected >= 0");
}

RankSgd::RankSgd(const Eigen::VectorXd& x0, const RankSgdOptions& options)
    : options_(options), x_(x0), step_(options.step), rounds_(options.seed) {
  validate(options_);
  if (x0.size() < 1) throw_invalid("x0 is empty; expected dimension d >= 1");
  if (!x0.allFinite()) throw_invalid("x0 has a non-finite entry; expected finite numbers");
  const auto d = x0.size();
  g_.setZero(d);
  D_.setZero(d);
  prev_best_ = x0;
  work_.resize(d);
}

Round RankSgd::make_round() const {
  Round r;
  r.id = rounds_.id();
  const auto d = x_.size();
  if (line_search_round()) {
    const int n = ls_n();
    r.kind = "line_search";
    r.k = 1;
    r.points.resize(d, n);
    double s = step_;
    for (int j = 0; j < n - 2; ++j, s *= options_.gamma) r.points.col(j) = x_ - s * D_;
    r.points.col(n - 2) = prev_best_;
    r.points.col(n - 1) = x_;
  } else {
    r.kind = "gradient";
    r.k = options_.k;
    r.accepts_edges = true;
    r.points.resize(d, options_.m);
    for (int i = 0; i < options_.m; ++i) {
      fill_perturbation(rounds_.seed(), i, r.points.col(i).data(), static_cast<int>(d));
      r.points.col(i) = x_ + options_.mu * r.points.col(i);
    }
  }
  return r;
}

Round RankSgd::ask() {
  if (rounds_.open()) xi_.resize(0, 0);
  Round r = make_round();
  if (!line_search_round() && xi_.size() == 0 &&
      static_cast<long long>(x_.size()) * options_.m <= options_.cache_max_elements) {
    xi_.resize(x_.size(), options_.m);
    for (int i = 0; i < options_.m; ++i)
      fill_perturbation(rounds_.seed(), i, xi_.col(i).data(), static_cast<int>(x_.size()));
  }
  return r;
}

void RankSgd::tell(std::uint64_t round_id, const Feedback& feedback) {
  rounds_.check(round_id, method());
  if (line_search_round())
    tell_line_search(feedback);
  else
    tell_gradient(feedback);
  rounds_.close();
  xi_.resize(0, 0);
}

void RankSgd::tell_gradient(const Feedback& feedback) {
  // Validate first: nothing changes on bad feedback.
  const RankWeights w = feedback_weights(feedback, options_.m, options_.k, options_.official_sd_compat);
  if (xi_.cols() == options_.m)
    rank_direction(w, xi_, g_);
  else
    rank_direction(w, rounds_.seed(), work_, g_);
  if (!options_.line_search) {
    const double eta = options_.schedule == StepSchedule::kConstant ? step_ : step_ / std::sqrt(double(t_) + 1.0);
    x_ -= eta * g_;  // Algorithm 1
  } else {
    // Running mean of the directions since the last accepted move (official code, note 3.3).
    D_ = (accumulated_ * D_ + g_) / (accumulated_ + 1.0);
    accumulated_ += 1.0;
    fill_perturbation(rounds_.seed(), w.best, work_.data(), static_cast<int>(work_.size()));
    prev_best_ = x_ + options_.mu * work_;
    ls_next_ = true;
  }
  ++t_;
}

void RankSgd::tell_line_search(const Feedback& feedback) {
  const int n = ls_n();
  const auto* top = std::get_if<TopK>(&feedback);
  if (!top)
    throw_invalid("a line-search round needs the id of the best candidate (a ranking of length 1), not " +
                  std::string(std::holds_alternative<Edges>(feedback) ? "edges" : "values"));
  const RankWeights w = topk_weights(*top, n, 1);  // validates the id
  const int j = w.best;
  if (j != n - 1) {
    // Move (to a step candidate or to the best perturbed sample) and restart the running mean.
    Round r = make_round();
    x_ = r.points.col(j);
    D_.setZero();
    accumulated_ = 0;
  }
  if (options_.adapt_step) {
    if (j == 0)
      step_ /= options_.gamma;
    else if (j >= n - 3)
      step_ *= options_.gamma;
  }
  ls_next_ = false;
}

std::optional<StopReason> RankSgd::stop_reason() const {
  if (step_ < options_.min_step)
    return StopReason{"step", "the line-search step fell below " + format_double(options_.min_step)};
  return std::nullopt;
}

std::string RankSgd::save() const {
  Json j = internal::state_header(method());
  const auto& o = options_;
  j["options"] = {{"m", o.m},
                  {"k", o.k},
                  {"mu", o.mu},
                  {"step", o.step},
                  {"schedule", schedule_name(o.schedule)},
                  {"line_search", o.line_search},
                  {"ls_points", o.ls_points},
                  {"gamma", o.gamma},
                  {"adapt_step", o.adapt_step},
                  {"official_sd_compat", o.official_sd_compat},
                  {"min_step", o.min_step},
                  {"seed", std::to_string(o.seed)},
                  {"cache_max_elements", o.cache_max_elements}};
  j["dim"] = x_.size();
  j["x"] = internal::vector_to_json(x_);
  j["current_step"] = step_;
  j["gradient_rounds"] = t_;
  j["accumulated"] = accumulated_;
  j["line_search_next"] = ls_next_;
  j["direction_mean"] = internal::vector_to_json(D_);
  j["best_sample"] = internal::vector_to_json(prev_best_);
  j["rounds"] = rounds_.to_json();
  return j.dump(1);
}

void RankSgd::load(std::string_view text) {
  const Json j = internal::parse_state(text, method());
  if (!j.contains("options") || !j["options"].is_object())
    throw Error(ErrorCode::kDataLoss, "optimiser state: missing \"options\"");
  const Json& jo = j["options"];
  RankSgdOptions o;
  o.m = static_cast<int>(integer_in(jo, "m", 2, 1 << 20));
  o.k = static_cast<int>(integer_in(jo, "k", 1, o.m));
  o.mu = number_in(jo, "mu", 1e-300, 1e300);
  o.step = number_in(jo, "step", 1e-300, 1e300);
  o.schedule = internal::as_data_loss([&] { return parse_schedule(json_get<std::string>(jo, "schedule", "optimiser state")); });
  o.line_search = json_get<bool>(jo, "line_search", "optimiser state");
  if (o.line_search != options_.line_search)
    throw Error(ErrorCode::kDataLoss, "optimiser state: line_search does not match the method");
  o.ls_points = static_cast<int>(integer_in(jo, "ls_points", 0, 1 << 20));
  o.gamma = number_in(jo, "gamma", 1e-12, 1 - 1e-12);
  o.adapt_step = json_get<bool>(jo, "adapt_step", "optimiser state");
  o.official_sd_compat = json_get<bool>(jo, "official_sd_compat", "optimiser state");
  o.min_step = number_in(jo, "min_step", 0, 1e300);
  o.seed = internal::uint64_of(jo, "seed");
  o.cache_max_elements = integer_in(jo, "cache_max_elements", 0, 1LL << 40);
  const auto d = integer_in(j, "dim", 1, 1LL << 31);
  Eigen::VectorXd x = internal::vector_from_json(j, "x", d);
  internal::as_data_loss([&] { validate(o); });
  RankSgd next(x, o);
  next.step_ = number_in(j, "current_step", 1e-300, 1e300);
  next.t_ = static_cast<std::uint64_t>(integer_in(j, "gradient_rounds", 0, 1LL << 62));
  next.accumulated_ = number_in(j, "accumulated", 0, 1e18);
  next.ls_next_ = json_get<bool>(j, "line_search_next", "optimiser state");
  if (next.ls_next_ && !o.line_search)
    throw Error(ErrorCode::kDataLoss, "optimiser state: line_search_next is true without line search");
  next.D_ = internal::vector_from_json(j, "direction_mean", d);
  next.prev_best_ = internal::vector_from_json(j, "best_sample", d);
  if (!j.contains("rounds")) throw Error(ErrorCode::kDataLoss, "optimiser state: missing key \"rounds\"");
  next.rounds_.from_json(j["rounds"]);
  *this = std::move(next);
}

}  // namespace optidiff::zo
