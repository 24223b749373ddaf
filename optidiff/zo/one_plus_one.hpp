// optidiff/zo/one_plus_one.hpp: the (1+1)-ES with the 1/5th success rule (Rechenberg 1973; the
// exp(1/3) / exp(-1/12) form of Kern et al., Natural Computing 2004, Section 3.1, damped by
// sqrt(d + 1) [recalled: verify]): each round shows the parent x and one offspring x + sigma z and needs
// the better of the two, a (2,1)-ranking oracle, i.e. one pairwise comparison:
//   offspring wins: x <- offspring, sigma <- sigma exp(1/3 / damp);  else sigma <- sigma exp(-1/12 / damp).
// The parent is shown again each round: rank-only, it cannot be compared across rounds otherwise.
//   zo::OnePlusOne es(x0, {.sigma0 = 1.0});
//   zo::Round r = es.ask();  es.tell(r.id, zo::TopK{{1}});   // id 1 = offspring better
#pragma once

#include <Eigen/Dense>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/internal/round_state.hpp"

namespace optidiff::zo {

struct OnePlusOneOptions {
  double sigma0 = 0.5;     // initial step size, > 0
  double min_sigma = 1e-15;  // stop ("sigma") below this
  std::uint64_t seed = 0;
};

class OnePlusOne final : public AskTell {
 public:
  OnePlusOne(const Eigen::VectorXd& x0, const OnePlusOneOptions& options);
  std::string method() const override { return "oneplusone"; }
  int dim() const override { return static_cast<int>(x_.size()); }
  Round ask() override;
  void tell(std::uint64_t round_id, const Feedback& feedback) override;
  Eigen::VectorXd incumbent() const override { return x_; }
  std::optional<StopReason> stop_reason() const override;
  bool pending() const override { return rounds_.pending(); }
  std::uint64_t rounds_told() const override { return rounds_.told(); }
  std::string save() const override;
  void load(std::string_view state) override;
  double sigma() const { return sigma_; }

 private:
  Round make_round() const;
  OnePlusOneOptions options_;
  Eigen::VectorXd x_;
  double sigma_;
  internal::RoundState rounds_;
};

}  // namespace optidiff::zo
