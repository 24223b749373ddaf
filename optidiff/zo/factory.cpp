#include "optidiff/zo/factory.hpp"

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/zo/cmaes.hpp"
#include "optidiff/zo/one_plus_one.hpp"
#include "optidiff/zo/zosgd.hpp"

namespace optidiff::zo {

std::string method_names() { return "ranksgd, ranksgd-ls, cmaes, zosgd, oneplusone"; }

std::unique_ptr<AskTell> make_optimizer(const Eigen::VectorXd& x0, const MethodSettings& s) {
  const auto pick = [](double v, double dflt) { return v != 0 ? v : dflt; };
  if (s.m < 0) throw_invalid("--m is " + std::to_string(s.m) + "; expected m >= 2 (or 0 for the default)");
  if (s.k < 0) throw_invalid("--k is " + std::to_string(s.k) + "; expected k >= 1 (or 0 for k = m)");
  if (s.method == "ranksgd" || s.method == "ranksgd-ls") {
    RankSgdOptions o;
    o.m = s.m > 0 ? s.m : 10;
    o.k = s.k > 0 ? s.k : o.m;
    o.mu = pick(s.mu, 0.01);
    o.line_search = s.method == "ranksgd-ls";
    o.step = pick(s.step, o.line_search ? 0.5 : 0.05);
    o.schedule = s.schedule;
    o.adapt_step = s.adapt_step;
    o.ls_points = s.ls_points;
    o.seed = s.seed;
    return std::make_unique<RankSgd>(x0, o);
  }
  if (s.method == "cmaes") {
    CmaEsOptions o;
    o.sigma0 = pick(s.sigma0, 0.5);
    o.lambda = s.m;
    if (s.k > 0 && s.m > 0 && s.k < s.m / 2)
      throw_invalid("--k is " + std::to_string(s.k) + "; cmaes needs the mu = m/2 = " + std::to_string(s.m / 2) +
                    " best ranked, so expected k >= " + std::to_string(s.m / 2));
    o.max_restarts = s.restarts;
    o.restart_lo = s.restart_lo;
    o.restart_hi = s.restart_hi;
    o.diagonal = s.diagonal;
    o.seed = s.seed;
    return std::make_unique<CmaEs>(x0, o);
  }
  if (s.method == "zosgd") {
    ZoSgdOptions o;
    o.m = s.m > 0 ? s.m : 10;
    o.mu = pick(s.mu, 0.01);
    o.step = pick(s.step, 1e-3);
    o.schedule = s.schedule;
    o.maximize = s.maximize;
    o.seed = s.seed;
    return std::make_unique<ZoSgd>(x0, o);
  }
  if (s.method == "oneplusone") {
    OnePlusOneOptions o;
    o.sigma0 = pick(s.sigma0, 0.5);
    o.seed = s.seed;
    return std::make_unique<OnePlusOne>(x0, o);
  }
  throw_invalid("--method is \"" + s.method + "\"; expected one of " + method_names());
}

std::unique_ptr<AskTell> load_optimizer(std::string_view state) {
  Json j;
  try {
    j = Json::parse(state);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kDataLoss, std::string("optimiser state: not valid JSON (truncated or edited?): ") + e.what());
  }
  if (!j.is_object() || !j.contains("method") || !j["method"].is_string())
    throw Error(ErrorCode::kDataLoss, "optimiser state: missing \"method\"; expected a file written by optidiff rank init");
  const std::string method = j["method"].get<std::string>();
  const Eigen::VectorXd x0 = Eigen::VectorXd::Zero(1);
  std::unique_ptr<AskTell> opt;
  if (method == "ranksgd" || method == "ranksgd-ls" || method == "cmaes" || method == "zosgd" || method == "oneplusone")
    opt = make_optimizer(x0, MethodSettings{.method = method});
  else
    throw Error(ErrorCode::kDataLoss, "optimiser state: \"method\" is \"" + method + "\"; expected one of " + method_names());
  opt->load(state);
  return opt;
}

}  // namespace optidiff::zo
