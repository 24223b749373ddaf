// optidiff/rl/search.hpp: policy search from rankings of episodes, and its baselines, in one
// driver.
//
//   rl::TrainOptions o{.env = "swimmer", .method = "ranksgd", .m = 16, .k = 16, .episodes = 2000,
//   .seed = 1}; rl::TrainResult r = rl::train(o);     // r.history: [episodes, mean eval return];
//   r.final_return
//
// Each round the optimiser asks for m parameter vectors; m episodes run in parallel (one env per
// thread), all from the same start state (common random numbers: the round's seed), so that the
// ranking compares policies, not start states. Rank-only methods (ranksgd, ranksgd-ls, cmaes:
// optidiff::zo) see only the ranking an oracle makes of the returns: exact, or noisy
// (thurstone:SIGMA, pl:TAU, flip:P as in zo::make_oracle), and only the top k. ARS (ars: V2-t,
// ars-v1: V1-t) sees the returns. After every round the observation normaliser folds in the states
// of that round's episodes (ARS V2; all methods with --normalize). The budget counts training
// episodes; evaluation episodes (the history points and the final 10) are extra and reported
// separately.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optidiff/rl/policy.hpp"
#include "optidiff/rl/rollout.hpp"

namespace optidiff::rl {

struct TrainOptions {
  std::string env = "cartpole";
  std::string model_file;          // MJCF to use instead of the shipped one
  std::string method = "ranksgd";  // ranksgd, ranksgd-ls, cmaes, ars, ars-v1
  std::string noise = "exact";     // ranking oracle (rank-only methods)
  int m = 0;                       // episodes per round; 0: the env default. ars: m = 2N
  int k = 0;                       // ranked per round (0: m). ars: b, the top directions (0: N/2)
  double mu = 0;                   // perturbation radius (ARS nu; cmaes sigma0); 0: env default
  double step = 0;                 // step (ARS alpha; the longest line-search step); 0: env default
  long long episodes = 1000;       // training budget
  PolicyKind policy = PolicyKind::kLinear;
  int hidden = 16;
  bool normalize = true;    // forced off for ars-v1
  int horizon = 0;          // 0: the env's time limit
  int eval_points = 20;     // history points
  int eval_episodes = 3;    // episodes per history point
  int final_episodes = 10;  // episodes of the final evaluation
  int threads = 0;          // rollout threads; 0: optidiff::num_threads()
  std::uint64_t seed = 0;
  std::function<void(long long episodes, double last_eval)> on_round = {};
};

struct EvalResult {
  double mean = 0, stdev = 0;
  std::vector<double> returns;
  long long steps = 0;
  int failures = 0;
};

struct TrainResult {
  std::string env, method;
  PolicySpec spec;
  Eigen::VectorXd params;
  RunningStat normalizer;
  std::vector<std::array<double, 2>> history;  // [training episodes, mean eval return]
  std::vector<std::array<double, 2>>
      train_history;  // [training episodes, mean return of the round]
  EvalResult final_eval;
  long long episodes = 0, rounds = 0, env_steps = 0, eval_env_steps = 0;
  int failures = 0;  // training episodes ended by the failure rule
  int m = 0, k = 0;
  double mu = 0, step = 0, seconds = 0;
};

// Per-env defaults (m, mu, step), resolved into the options (and validated: kInvalidArgument naming
// the flag).
TrainOptions resolve(const TrainOptions& options);
TrainResult train(const TrainOptions& options);

// Mean return of `theta` over n episodes with seeds eval_seed(seed, 0..n-1).
EvalResult evaluate(RolloutPool& pool, const Policy& policy, const Eigen::VectorXd& theta, int n,
                    std::uint64_t seed, int horizon = 0);
std::uint64_t eval_seed(std::uint64_t seed, int i);

std::string rl_method_names();  // "ranksgd, ranksgd-ls, cmaes, ars, ars-v1"

}  // namespace optidiff::rl
