#include "optidiff/rl/ars.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/table.hpp"

namespace optidiff::rl {
namespace {

void validate(const ArsOptions& o) {
  if (o.directions < 1)
    throw_invalid("ARS directions N is " + std::to_string(o.directions) +
                  "; expected N >= 1 (--m = 2N)");
  if (o.top < 0 || o.top > o.directions)
    throw_invalid("ARS top directions b is " + std::to_string(o.top) +
                  "; expected 1 <= b <= N = " + std::to_string(o.directions));
  if (!(o.step > 0) || !std::isfinite(o.step))
    throw_invalid("--step is " + format_double(o.step) + "; expected > 0");
  if (!(o.noise > 0) || !std::isfinite(o.noise))
    throw_invalid("--mu is " + format_double(o.noise) + "; expected > 0");
}

}  // namespace

Ars::Ars(const Eigen::VectorXd& theta0, const ArsOptions& options)
    : options_(options), theta_(theta0), rng_(options.seed) {
  validate(options_);
  if (theta0.size() < 1 || !theta0.allFinite())
    throw_invalid("ARS: theta0 must be non-empty and finite");
}

void Ars::direction(int k, Eigen::VectorXd& out) const {
  out.resize(theta_.size());
  Rng(round_seed_)
      .stream(static_cast<std::uint64_t>(k))
      .fill_normal(out.data(), static_cast<std::size_t>(out.size()));
}

zo::Round Ars::ask() {
  if (!pending_) {
    ++id_;
    round_seed_ = rng_();
    pending_ = true;
  }
  zo::Round r;
  r.id = id_;
  r.kind = "values";
  r.want = zo::Want::kValues;
  r.k = 2 * options_.directions;
  r.points.resize(theta_.size(), 2 * options_.directions);
  Eigen::VectorXd delta;
  for (int k = 0; k < options_.directions; ++k) {
    direction(k, delta);
    r.points.col(2 * k) = theta_ + options_.noise * delta;
    r.points.col(2 * k + 1) = theta_ - options_.noise * delta;
  }
  return r;
}

void Ars::tell(std::uint64_t round_id, const zo::Feedback& feedback) {
  if (!pending_ || round_id != id_)
    throw Error(ErrorCode::kFailedPrecondition, "ars: round " + std::to_string(round_id) +
                                                    " is not the pending round; call ask() first");
  const auto* v = std::get_if<zo::Values>(&feedback);
  const int n = options_.directions;
  if (!v)
    throw_invalid("ars is value-based: expected the returns of the " + std::to_string(2 * n) +
                  " episodes");
  if (static_cast<int>(v->f.size()) != 2 * n)
    throw_invalid("ars: got " + std::to_string(v->f.size()) +
                  " returns; expected 2N = " + std::to_string(2 * n));
  for (double f : v->f)
    if (!std::isfinite(f))
      throw_invalid("ars: a return is " + format_double(f) + "; expected finite values");
  // Line 6: order the directions by max(r+, r-), best first (ties by index, so the order is
  // deterministic).
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const auto score = [&](int k) { return std::max(v->f[2 * k], v->f[2 * k + 1]); };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score(a) > score(b); });
  const int b = top();
  double mean = 0, sq = 0;
  for (int i = 0; i < b; ++i)
    for (int s = 0; s < 2; ++s) mean += v->f[2 * order[i] + s];
  mean /= 2 * b;
  for (int i = 0; i < b; ++i)
    for (int s = 0; s < 2; ++s) sq += std::pow(v->f[2 * order[i] + s] - mean, 2);
  const double sigma_r = std::sqrt(sq / (2 * b));
  if (sigma_r > 1e-12) {
    Eigen::VectorXd step = Eigen::VectorXd::Zero(theta_.size()), delta;
    for (int i = 0; i < b; ++i) {
      const int k = order[i];
      direction(k, delta);
      step += (v->f[2 * k] - v->f[2 * k + 1]) * delta;
    }
    theta_ += options_.step / (b * sigma_r) * step;  // line 7
  }
  pending_ = false;
  ++told_;
}

std::string Ars::save() const {
  const auto st = rng_.state();
  Json j = {{"format", "optidiff-zo-state"},
            {"version", 1},
            {"method", "ars"},
            {"options",
             {{"directions", options_.directions},
              {"top", options_.top},
              {"step", options_.step},
              {"noise", options_.noise},
              {"seed", std::to_string(options_.seed)}}},
            {"theta", std::vector<double>(theta_.data(), theta_.data() + theta_.size())},
            {"rng",
             {std::to_string(rng_.seed()), std::to_string(st[0]), std::to_string(st[1]),
              std::to_string(st[2]), std::to_string(st[3])}},
            {"id", std::to_string(id_)},
            {"told", std::to_string(told_)},
            {"round_seed", std::to_string(round_seed_)},
            {"pending", pending_}};
  return j.dump(1);
}

void Ars::load(std::string_view text) {
  const Json j = parse_json(std::string(text), "ars state");
  const std::string what = "ars state";
  if (json_get<std::string>(j, "method", what) != "ars")
    throw_data_loss(what + ": \"method\" is not \"ars\"");
  const auto u64 = [&](const std::string& s) {
    try {
      std::size_t used = 0;
      const auto x = std::stoull(s, &used);
      if (used == s.size()) return static_cast<std::uint64_t>(x);
    } catch (const std::exception&) {
    }
    throw_data_loss(what + ": \"" + s + "\" is not an unsigned 64-bit integer");
  };
  const Json& jo = j.at("options");
  ArsOptions o;
  o.directions = json_get<int>(jo, "directions", what);
  o.top = json_get<int>(jo, "top", what);
  o.step = json_get<double>(jo, "step", what);
  o.noise = json_get<double>(jo, "noise", what);
  o.seed = u64(json_get<std::string>(jo, "seed", what));
  const auto theta = json_get<std::vector<double>>(j, "theta", what);
  Eigen::VectorXd t =
      Eigen::Map<const Eigen::VectorXd>(theta.data(), static_cast<Eigen::Index>(theta.size()));
  Ars next = [&] {
    try {
      return Ars(t, o);
    } catch (const Error& e) {
      throw_data_loss(what + ": " + e.what());
    }
  }();
  const auto r = json_get<std::vector<std::string>>(j, "rng", what);
  if (r.size() != 5) throw_data_loss(what + ": \"rng\" needs 5 entries");
  next.rng_.set_state(u64(r[0]), {u64(r[1]), u64(r[2]), u64(r[3]), u64(r[4])});
  next.id_ = u64(json_get<std::string>(j, "id", what));
  next.told_ = u64(json_get<std::string>(j, "told", what));
  next.round_seed_ = u64(json_get<std::string>(j, "round_seed", what));
  next.pending_ = json_get<bool>(j, "pending", what);
  *this = std::move(next);
}

}  // namespace optidiff::rl
