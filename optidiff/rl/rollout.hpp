// optidiff/rl/rollout.hpp: episodes, serial and in parallel.
//
//   rl::RolloutPool pool(rl::env_factory("hopper"), threads);
//   std::vector<rl::Episode> eps = pool.run(policy, thetas, seeds);   // eps[i]: thetas.col(i),
//   seeds[i]
//
// Each worker thread owns one environment; the episodes of a batch are handed out in index order,
// and every result depends only on (parameters, seed, normaliser), so the returns are the same bits
// for any thread count, and the same as run_episode one after another.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "optidiff/rl/env.hpp"
#include "optidiff/rl/policy.hpp"

namespace optidiff::rl {

struct Episode {
  double ret = 0;  // the undiscounted return
  int steps = 0;
  bool terminated = false, truncated = false;
  std::string failure;       // non-empty if the failure rule ended it
  RunningStat observations;  // the states visited (for ARS V2's normaliser)
};

// Runs one episode of `policy` with parameters theta from env.reset(seed), at most max_steps steps
// (0: the env's own limit). With `frames`, calls it with the scene after reset and after every
// step.
Episode run_episode(Env& env, const Policy& policy, const Eigen::VectorXd& theta,
                    std::uint64_t seed, int max_steps = 0,
                    const std::function<void(const Scene&)>& frames = {});

class RolloutPool {
 public:
  // Makes `threads` environments now (in this thread); threads <= 0 means optidiff::num_threads().
  RolloutPool(const EnvFactory& factory, int threads = 0);
  int threads() const { return static_cast<int>(envs_.size()); }
  Env& env(int i = 0) { return *envs_[static_cast<std::size_t>(i)]; }
  // One episode per column of thetas with seeds[i]; results in column order.
  std::vector<Episode> run(const Policy& policy, const Eigen::MatrixXd& thetas,
                           const std::vector<std::uint64_t>& seeds, int max_steps = 0);
  long long env_steps() const { return env_steps_; }

 private:
  std::vector<std::unique_ptr<Env>> envs_;
  long long env_steps_ = 0;
};

}  // namespace optidiff::rl
