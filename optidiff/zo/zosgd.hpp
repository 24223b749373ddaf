// optidiff/zo/zosgd.hpp: ZO-SGD, the value-based reference (Nesterov & Spokoiny 2017, Gaussian
// smoothing; Ghadimi & Lan 2013): each round shows x and x + mu u_i (i = 1..m-1, u_i ~ N(0, I_d)) and
// needs f at all of them (Want::kValues), then
//   g = 1/(m-1) sum_i (f(x + mu u_i) - f(x)) / mu * u_i,    x <- x - eta_t g,
// eta_t = step (constant) or step / sqrt(t + 1). With `maximize` it ascends. It is the baseline that
// sees values, i.e. more information than the rank-only methods (paper, section 4).
//   zo::ZoSgd opt(x0, {.m = 10, .mu = 0.01, .step = 1e-3});
//   zo::Round r = opt.ask();  opt.tell(r.id, zo::Values{{f0, f1, ...}});
#pragma once

#include <Eigen/Dense>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/internal/round_state.hpp"
#include "optidiff/zo/ranksgd.hpp"

namespace optidiff::zo {

struct ZoSgdOptions {
  int m = 10;              // points per round (x and m-1 perturbations), >= 2
  double mu = 0.01;        // smoothing radius, > 0
  double step = 1e-3;      // eta, > 0
  StepSchedule schedule = StepSchedule::kConstant;
  bool maximize = false;
  std::uint64_t seed = 0;
};

class ZoSgd final : public AskTell {
 public:
  ZoSgd(const Eigen::VectorXd& x0, const ZoSgdOptions& options);
  std::string method() const override { return "zosgd"; }
  int dim() const override { return static_cast<int>(x_.size()); }
  Round ask() override;
  void tell(std::uint64_t round_id, const Feedback& feedback) override;
  Eigen::VectorXd incumbent() const override { return x_; }
  std::optional<StopReason> stop_reason() const override { return std::nullopt; }
  bool pending() const override { return rounds_.pending(); }
  std::uint64_t rounds_told() const override { return rounds_.told(); }
  std::string save() const override;
  void load(std::string_view state) override;

 private:
  ZoSgdOptions options_;
  Eigen::VectorXd x_, work_;
  std::uint64_t t_ = 0;
  internal::RoundState rounds_;
};

}  // namespace optidiff::zo
