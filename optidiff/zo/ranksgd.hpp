// optidiff/zo/ranksgd.hpp: ZO-RankSGD (Tang, Rybin & Chang, arXiv 2303.03751). Minimises f from
// rankings alone.
//
// Algorithm 1 (line_search = false), one round per iteration:
//   ask:  x + mu xi_1, ..., x + mu xi_m with xi_i ~ N(0, I_d)           (m candidates)
//   tell: top-k ids (or any DAG of judgements)  ->  g = (1/|E|) sum c_i xi_i   (rank_estimator.hpp)
//         x <- x - eta_t g,   eta_t = step (constant) or step / sqrt(t + 1)
//
// Line-search variant (line_search = true), as in the official code (research note, section 3.3), with
// the paper's weights: gradient rounds as above accumulate D <- (a D + g)/(a + 1); the next round is a
// best-of-n pick among x - step gamma^j D (j = 0..n-3), the best perturbed sample and the incumbent x
// (last). A winner other than x becomes the new x and resets D; if x wins, D keeps averaging.
// `adapt_step` (ours, off by default, measured separately in the benchmark) multiplies step by 1/gamma
// when the longest step wins and by gamma when the incumbent, the best sample or the shortest step wins.
//
//   zo::RankSgd opt(x0, {.m = 10, .k = 10, .mu = 0.01, .step = 0.5, .line_search = true});
//   zo::Round r = opt.ask();  opt.tell(r.id, zo::TopK{{4, 2, 7}});   // round asks r.k ids
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/internal/round_state.hpp"
#include "optidiff/zo/rank_estimator.hpp"

namespace optidiff::zo {

enum class StepSchedule { kConstant, kInvSqrt };
const char* schedule_name(StepSchedule s);          // "constant", "inv_sqrt"
StepSchedule parse_schedule(const std::string& name);  // kInvalidArgument naming --schedule otherwise

struct RankSgdOptions {
  int m = 10;                  // candidates per gradient round, >= 2
  int k = 10;                  // ids ranked per gradient round, 1 <= k <= m
  double mu = 0.01;            // smoothing radius of the perturbations, > 0
  double step = 0.05;          // eta (Algorithm 1) or the longest line-search step, > 0
  StepSchedule schedule = StepSchedule::kConstant;  // Algorithm 1 only
  bool line_search = false;    // the practical variant (section 3.2-3.3)
  int ls_points = 0;           // n, candidates of a line-search round (>= 3); 0: same as m (>= 3)
  double gamma = 0.5;          // line-search shrink factor, in (0, 1)
  bool adapt_step = false;     // ours: move `step` towards the winning line-search step
  bool official_sd_compat = false;  // the official code's m - 2t weights (note 3.3)
  double min_step = 1e-12;     // stop ("step") once the step falls below this (adapt_step only)
  std::uint64_t seed = 0;
  // Keep the m perturbations of the pending round in memory when d*m is at most this; else regenerate
  // them from the round seed in tell() (O(d) memory instead of O(d m)).
  long long cache_max_elements = 1 << 16;
};

class RankSgd final : public AskTell {
 public:
  RankSgd(const Eigen::VectorXd& x0, const RankSgdOptions& options);  // validates; kInvalidArgument
  std::string method() const override { return options_.line_search ? "ranksgd-ls" : "ranksgd"; }
  int dim() const override { return static_cast<int>(x_.size()); }
  Round ask() override;
  void tell(std::uint64_t round_id, const Feedback& feedback) override;
  Eigen::VectorXd incumbent() const override { return x_; }
  std::optional<StopReason> stop_reason() const override;
  bool pending() const override { return rounds_.pending(); }
  std::uint64_t rounds_told() const override { return rounds_.told(); }
  std::string save() const override;
  void load(std::string_view state) override;

  const RankSgdOptions& options() const { return options_; }
  double step() const { return step_; }
  // The last direction estimate g (zero before the first gradient round).
  const Eigen::VectorXd& last_direction() const { return g_; }

 private:
  bool line_search_round() const { return options_.line_search && ls_next_; }
  int ls_n() const { return options_.ls_points > 0 ? options_.ls_points : options_.m; }
  Round make_round() const;
  void tell_gradient(const Feedback& feedback);
  void tell_line_search(const Feedback& feedback);

  RankSgdOptions options_;
  Eigen::VectorXd x_, g_, D_, prev_best_, work_;
  Eigen::MatrixXd xi_;          // cached perturbations of the pending round (empty if regenerated)
  double step_;
  std::uint64_t t_ = 0;         // gradient rounds told
  double accumulated_ = 0;      // a: directions averaged into D since the last accepted move
  bool ls_next_ = false;        // the next round is a line-search round
  internal::RoundState rounds_;
};

// Validates the options against d (throws kInvalidArgument naming the option).
void validate(const RankSgdOptions& o);

}  // namespace optidiff::zo
