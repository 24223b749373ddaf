#include "optidiff/fed/strategies.hpp"

#include <cmath>
#include <limits>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/internal/base.hpp"
#include "optidiff/fed/noise.hpp"

namespace optidiff::fed {
namespace {

void check_range(const char* flag, double v, double lo, double hi, bool hi_open, const char* expected) {
  const bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok) throw_invalid(std::string(flag) + " is " + std::to_string(v) + "; expected " + expected);
}
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"fedavg",  "signsgd", "ef-signsgd", "sto-signsgd",
                                                 "zsignfedavg", "fedlion", "fedadam", "fedyogi",
                                                 "fedams",  "fafed",   "fedda"};
  return names;
}

StrategyOptions default_options(std::string_view name) {
  StrategyOptions o;
  if (name == "signsgd" || name == "sto-signsgd") o.server_lr = 1e-3;
  if (name == "fedlion") o.lr = 1e-3, o.beta2 = 0.9;  // FedLion repo: lr 1e-3, beta1 0.9, beta2 0.9
  if (name == "fedadam" || name == "fedyogi" || name == "fedams") o.server_lr = 1e-2;
  if (name == "fafed") o.lr = 1e-3, o.beta2 = 0.999, o.eps = 1e-6;  // avg_adam_*.py
  if (name == "fedda") o.lr = 0.1, o.momentum = 0.9;                // avg_fedDA_emnist.py: lr 0.1, glr 1
  return o;
}

void validate(std::string_view name, const StrategyOptions& o) {
  bool known = false;
  for (const auto& n : strategy_names()) known |= n == name;
  if (!known) {
    std::string list;
    for (const auto& n : strategy_names()) list += (list.empty() ? "" : ", ") + n;
    throw_invalid("--strategy is \"" + std::string(name) + "\"; expected one of " + list);
  }
  if (o.local_steps < 1 || o.local_steps > (1 << 20))
    throw_invalid("--local-steps is " + std::to_string(o.local_steps) + "; expected 1 <= E <= 1048576");
  check_range("--lr", o.lr, 0, kInf, true, "a finite lr > 0");
  if (o.lr == 0) throw_invalid("--lr is 0; expected a finite lr > 0");
  check_range("--server-lr", o.server_lr, 0, kInf, true, "a finite server lr > 0");
  if (o.server_lr == 0) throw_invalid("--server-lr is 0; expected a finite server lr > 0");
  check_range("--momentum", o.momentum, 0, 1, true, "0 <= momentum < 1");
  check_range("--server-momentum", o.server_momentum, 0, 1, true, "0 <= server momentum < 1");
  check_range("--sigma", o.sigma, 0, kInf, true, "a finite sigma >= 0");
  check_range("--beta1", o.beta1, 0, 1, true, "0 <= beta1 < 1");
  check_range("--beta2", o.beta2, 0, 1, true, "0 <= beta2 < 1");
  check_range("--weight-decay", o.weight_decay, 0, kInf, true, "a finite weight decay >= 0");
  check_range("--eps", o.eps, 0, kInf, true, "a finite eps > 0");
  if (o.eps == 0) throw_invalid("--eps is 0; expected a finite eps > 0");
  check_range("--tau", o.tau, 0, kInf, true, "a finite tau > 0");
  if (o.tau == 0) throw_invalid("--tau is 0; expected a finite tau > 0");
  if (o.z < 1) throw_invalid("--z is " + std::to_string(o.z) + "; expected z >= 1 (1 = Gaussian, inf = uniform)");
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, const StrategyOptions& o, const ModelLayout& layout) {
  validate(name, o);
  if (layout.dim() == 0) throw_invalid("the model has no parameters");
  using namespace internal;
  if (name == "fedavg") return make_fedavg(o, layout);
  if (name == "signsgd" || name == "ef-signsgd" || name == "sto-signsgd") return make_sign_sgd(name, o, layout);
  if (name == "zsignfedavg") return make_z_sign_fedavg(o, layout);
  if (name == "fedlion") return make_fedlion(o, layout);
  if (name == "fedadam" || name == "fedyogi" || name == "fedams") return make_fedopt(name, o, layout);
  if (name == "fafed") return make_fafed(o, layout);
  return make_fedda(o, layout);
}

}  // namespace optidiff::fed
