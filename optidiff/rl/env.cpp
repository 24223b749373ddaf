#include "optidiff/rl/env.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/rl/classic_control.hpp"
#include "optidiff/rl/mujoco_env.hpp"

namespace optidiff::rl {

Eigen::VectorXd Env::reset(std::uint64_t seed) {
  t_ = 0;
  live_ = true;
  return do_reset(seed);
}

Step Env::step(const Eigen::VectorXd& action) {
  if (!live_)
    throw Error(
        ErrorCode::kFailedPrecondition,
        name() + ": step() after the episode ended or before reset(); call reset(seed) first");
  if (action.size() != act_dim())
    throw_invalid(name() + ": action has " + std::to_string(action.size()) +
                  " entries; expected act_dim = " + std::to_string(act_dim()));
  Step s;
  if (!action.allFinite()) {
    // The failure rule: the step is not simulated; the observation stays the last valid one's size.
    s.obs = Eigen::VectorXd::Zero(obs_dim());
    s.reward = -kFailurePenalty;
    s.terminated = true;
    s.failure = "non-finite action";
  } else {
    s = do_step(action);
    if (s.failure.empty() && (!s.obs.allFinite() || !std::isfinite(s.reward)))
      s.failure = "non-finite state or reward";
    if (!s.failure.empty()) {
      s.obs = s.obs.allFinite() ? s.obs : Eigen::VectorXd::Zero(obs_dim());
      s.reward = -kFailurePenalty;
      s.terminated = true;
    }
  }
  ++t_;
  if (!s.terminated && t_ >= max_steps()) s.truncated = true;
  if (s.terminated || s.truncated) live_ = false;
  return s;
}

std::string env_names() { return "cartpole, pendulum, swimmer, hopper, halfcheetah"; }

std::string default_model_file(const std::string& name) {
  if (name == "swimmer") return std::string(OPTIDIFF_RL_MODEL_DIR) + "/swimmer.xml";
  if (name == "hopper") return std::string(OPTIDIFF_RL_MODEL_DIR) + "/hopper.xml";
  if (name == "halfcheetah") return std::string(OPTIDIFF_RL_MODEL_DIR) + "/half_cheetah.xml";
  return "";
}

std::unique_ptr<Env> make_env(const std::string& name, const std::string& model_file) {
  if (name == "cartpole" || name == "pendulum") {
    if (!model_file.empty())
      throw_invalid("--model is for MuJoCo tasks; " + name + " has no MJCF model");
    if (name == "cartpole") return std::make_unique<CartPole>();
    return std::make_unique<Pendulum>();
  }
  if (name == "swimmer" || name == "hopper" || name == "halfcheetah")
    return std::make_unique<MujocoEnv>(mujoco_task(name),
                                       model_file.empty() ? default_model_file(name) : model_file);
  throw_invalid("--env is \"" + name + "\"; expected one of " + env_names());
}

EnvFactory env_factory(const std::string& name, const std::string& model_file) {
  make_env(name, model_file);  // validate now, in the caller's thread
  return [name, model_file] { return make_env(name, model_file); };
}

}  // namespace optidiff::rl
