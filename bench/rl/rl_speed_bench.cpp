// rl_speed_bench: environment steps per second per core, for our MuJoCo tasks, against raw mj_step
// on the same mjModel and mjData (the reference; bench/rl/run_bench.py adds MuJoCo's own testspeed
// sample).
//
//   rl_speed_bench [--steps N] [--json FILE]
//
// "wrapper" runs whole episodes through Env::step with a linear policy (observation normalisation
// on), i.e. what training pays per step: the policy, the observation, the reward, the failure
// checks and the running statistics. "raw" calls mj_step frame_skip times per step with the same
// controls, nothing else. Both replay the same episodes (start states and controls). The ratio
// wrapper/raw is what our wrapper costs. One thread, so the numbers are per core.
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/rl/mujoco_env.hpp"
#include "optidiff/rl/rollout.hpp"

using namespace optidiff;

int main(int argc, char** argv) {
  long long target_steps = 20000;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--steps") && i + 1 < argc)
      target_steps = std::stoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      json = argv[++i];
    else {
      std::fprintf(stderr, "usage: rl_speed_bench [--steps N] [--json FILE]\n");
      return 2;
    }
  }
  Json out = Json::array();
  std::printf("%-12s %14s %14s %14s %8s\n", "env", "env steps/s", "raw steps/s", "mj_step/s raw",
              "ratio");
  for (const std::string name : {"swimmer", "hopper", "halfcheetah"}) {
    const rl::MujocoTask task = rl::mujoco_task(name);
    rl::MujocoEnv env(task, rl::default_model_file(name));
    rl::Policy policy({.kind = rl::PolicyKind::kLinear,
                       .obs_dim = env.obs_dim(),
                       .act_dim = env.act_dim(),
                       .hidden = 16,
                       .normalize = true});
    // Small random weights: the body moves, as in training, but rarely falls at once.
    Rng rng(7);
    Eigen::VectorXd theta(policy.num_params());
    for (Eigen::Index i = 0; i < theta.size(); ++i) theta[i] = 0.05 * rng.normal();
    // The episodes to time, and their actions (recorded untimed, so that the raw loop replays
    // exactly the same controls from the same start states: the same physics work).
    std::vector<std::vector<Eigen::VectorXd>> actions;
    long long steps = 0;
    for (std::uint64_t ep = 0; steps < target_steps; ++ep) {
      actions.emplace_back();
      Eigen::VectorXd obs = env.reset(ep);
      for (;;) {
        actions.back().push_back(policy.act(theta, obs));
        const rl::Step s = env.step(actions.back().back());
        obs = s.obs;
        ++steps;
        if (s.terminated || s.truncated) break;
      }
    }
    // Best of 3 repetitions of each, alternating, because the machine is shared.
    double wrapper = 0, raw = 0;
    for (int rep = 0; rep < 3; ++rep) {
      Stopwatch sw;
      long long check = 0;
      for (std::size_t ep = 0; ep < actions.size(); ++ep)
        check += rl::run_episode(env, policy, theta, ep).steps;
      wrapper = std::max(wrapper, static_cast<double>(steps) / sw.seconds());
      if (check != steps)
        std::fprintf(stderr, "warning: %s replay took %lld steps, expected %lld\n", name.c_str(),
                     check, steps);
      // Raw: the same model and data, frame_skip mj_steps per env step with the recorded controls.
      const mjModel* m = env.model();
      mjData* d = env.data();
      sw.restart();
      for (std::size_t ep = 0; ep < actions.size(); ++ep) {
        env.reset(ep);
        for (const auto& a : actions[ep]) {
          for (int u = 0; u < m->nu; ++u) d->ctrl[u] = a[u];
          for (int f = 0; f < task.frame_skip; ++f) mj_step(m, d);
        }
      }
      raw = std::max(raw, static_cast<double>(steps) / sw.seconds());
    }
    std::printf("%-12s %14.0f %14.0f %14.0f %8.3f\n", name.c_str(), wrapper, raw,
                raw * task.frame_skip, wrapper / raw);
    out.push_back({{"env", name},
                   {"frame_skip", task.frame_skip},
                   {"env_steps_per_s", wrapper},
                   {"raw_env_steps_per_s", raw},
                   {"raw_mj_step_per_s", raw * task.frame_skip},
                   {"wrapper_over_raw", wrapper / raw},
                   {"steps", steps},
                   {"episodes", actions.size()}});
  }
  if (!json.empty()) write_json_file(json, Json{{"speed", out}});
  return 0;
}
