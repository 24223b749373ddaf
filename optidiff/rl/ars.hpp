// optidiff/rl/ars.hpp: Augmented Random Search (Mania, Guy & Recht, "Simple random search of static
// linear policies is competitive for reinforcement learning", NeurIPS 2018), Algorithm 2, as an
// ask/tell optimiser over the flat policy parameters so that it runs through the same driver as
// ZO-RankSGD and CMA-ES. It is the value-based baseline: it needs the returns themselves.
//
// One round (one iteration j): N directions delta_k ~ N(0, I); 2N episodes at theta +- nu delta_k
// (columns 2k and 2k+1); the b directions with the largest max(r+, r-) are kept ("-t", line 6);
// then
//   theta <- theta + alpha / (b sigma_R) sum_{k <= b} (r+_k - r-_k) delta_k      (line 7, V1-t and
//   V2-t)
// with sigma_R the standard deviation of the 2b returns used. V2's observation normalisation lives
// in the policy (policy.hpp); V1-t is this optimiser with normalisation off. If sigma_R is 0 (all
// returns equal) the round carries no information and theta is left unchanged.
#pragma once

#include <Eigen/Dense>
#include <cstdint>

#include "optidiff/core/rng.hpp"
#include "optidiff/zo/ask_tell.hpp"

namespace optidiff::rl {

struct ArsOptions {
  int directions = 8;   // N
  int top = 0;          // b, 1 <= b <= N; 0: N
  double step = 0.02;   // alpha
  double noise = 0.03;  // nu
  std::uint64_t seed = 0;
};

class Ars final : public zo::AskTell {
 public:
  Ars(const Eigen::VectorXd& theta0, const ArsOptions& options);  // kInvalidArgument on bad options
  std::string method() const override { return "ars"; }
  int dim() const override { return static_cast<int>(theta_.size()); }
  zo::Round ask() override;
  void tell(std::uint64_t round_id,
            const zo::Feedback& feedback) override;  // Values: returns (larger is better)
  Eigen::VectorXd incumbent() const override { return theta_; }
  std::optional<zo::StopReason> stop_reason() const override { return std::nullopt; }
  bool pending() const override { return pending_; }
  std::uint64_t rounds_told() const override { return told_; }
  std::string save() const override;
  void load(std::string_view state) override;

  const ArsOptions& options() const { return options_; }
  int top() const { return options_.top > 0 ? options_.top : options_.directions; }

 private:
  void direction(int k, Eigen::VectorXd& out) const;  // delta_k of the pending round
  ArsOptions options_;
  Eigen::VectorXd theta_;
  Rng rng_;
  std::uint64_t id_ = 0, told_ = 0, round_seed_ = 0;
  bool pending_ = false;
};

}  // namespace optidiff::rl
