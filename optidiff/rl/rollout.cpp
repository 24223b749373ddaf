#include "optidiff/rl/rollout.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "optidiff/core/error.hpp"
#include "optidiff/core/threads.hpp"

namespace optidiff::rl {

Episode run_episode(Env& env, const Policy& policy, const Eigen::VectorXd& theta,
                    std::uint64_t seed, int max_steps,
                    const std::function<void(const Scene&)>& frames) {
  if (policy.spec().obs_dim != env.obs_dim() || policy.spec().act_dim != env.act_dim())
    throw_invalid("policy for obs_dim " + std::to_string(policy.spec().obs_dim) + ", act_dim " +
                  std::to_string(policy.spec().act_dim) + " does not fit env " + env.name() +
                  " (obs_dim " + std::to_string(env.obs_dim()) + ", act_dim " +
                  std::to_string(env.act_dim()) + ")");
  Episode ep;
  ep.observations = RunningStat(env.obs_dim());
  Eigen::VectorXd obs = env.reset(seed);
  if (frames) frames(env.scene());
  const int limit = max_steps > 0 ? max_steps : env.max_steps();
  for (int t = 0; t < limit; ++t) {
    ep.observations.push(obs);
    const Step s = env.step(policy.act(theta, obs));
    ep.ret += s.reward;
    ++ep.steps;
    if (frames) frames(env.scene());
    obs = s.obs;
    if (s.terminated || s.truncated) {
      ep.terminated = s.terminated;
      ep.truncated = s.truncated;
      ep.failure = s.failure;
      break;
    }
  }
  if (!ep.terminated && !ep.truncated) ep.truncated = true;  // a shorter horizon than the env's
  return ep;
}

RolloutPool::RolloutPool(const EnvFactory& factory, int threads) {
  const int n = threads > 0 ? threads : std::max(1, num_threads());
  for (int i = 0; i < n; ++i) envs_.push_back(factory());
}

std::vector<Episode> RolloutPool::run(const Policy& policy, const Eigen::MatrixXd& thetas,
                                      const std::vector<std::uint64_t>& seeds, int max_steps) {
  const int m = static_cast<int>(thetas.cols());
  OPTIDIFF_CHECK(static_cast<int>(seeds.size()) == m);
  std::vector<Episode> out(static_cast<std::size_t>(m));
  std::atomic<int> next{0};
  std::vector<std::exception_ptr> errors(envs_.size());
  const auto work = [&](std::size_t w) {
    try {
      for (int i = next++; i < m; i = next++)
        out[static_cast<std::size_t>(i)] = run_episode(
            *envs_[w], policy, thetas.col(i), seeds[static_cast<std::size_t>(i)], max_steps);
    } catch (...) {
      errors[w] = std::current_exception();
      next = m;
    }
  };
  const std::size_t workers = std::min<std::size_t>(envs_.size(), static_cast<std::size_t>(m));
  if (workers <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  for (const auto& ep : out) env_steps_ += ep.steps;
  return out;
}

}  // namespace optidiff::rl
