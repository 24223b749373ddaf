// optidiff/rl/env.hpp: reinforcement-learning environments behind one interface.
//
//   auto env = rl::make_env("hopper");            // cartpole, pendulum, swimmer, hopper,
//   halfcheetah Eigen::VectorXd obs = env->reset(seed);       // same seed, same start state
//   rl::Step s = env->step(action);               // obs, reward, terminated, truncated
//
// Every environment owns its whole simulation state (MuJoCo envs their own mjData), so one env per
// thread runs rollouts in parallel. Actions are real vectors of act_dim(); CartPole reads a[0] > 0
// as "push right" (Gymnasium's discrete action 1). The base class counts steps and truncates at
// max_steps(), and applies the failure rule: a non-finite action, or a simulation that blows up (a
// non-finite state, or MuJoCo's bad-qpos/qvel/qacc warnings), ends the episode at once with reward
// -kFailurePenalty for that step and Step::failure saying why (docs/rl.md, "Bad input").
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace optidiff::rl {

// The reward of the step on which an episode fails (NaN action, unstable simulation).
inline constexpr double kFailurePenalty = 100.0;

struct Step {
  Eigen::VectorXd obs;
  double reward = 0;
  bool terminated = false;  // the task ended (fell over, left the track, failed)
  bool truncated = false;   // the time limit was reached
  std::string failure;      // non-empty when the episode ended by the failure rule
};

// A 2-D drawing of the current state for the renderer: capsules (segments with a radius), in
// metres.
struct Capsule {
  double x0, y0, x1, y1, radius;
  std::uint8_t r, g, b;
};
struct Scene {
  std::vector<Capsule> parts;
  double focus_x = 0, focus_y = 0;  // the point the camera follows
  double view_width = 4;            // metres across the picture
  bool ground = true;               // draw the ground line y = ground_y
  double ground_y = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  virtual std::string name() const = 0;
  virtual int obs_dim() const = 0;
  virtual int act_dim() const = 0;
  virtual int max_steps() const = 0;  // Gymnasium's TimeLimit
  virtual Scene scene() const = 0;

  // Draws the start state from `seed` (Gymnasium's reset distribution, with our RNG).
  Eigen::VectorXd reset(std::uint64_t seed);
  // One step; throws kFailedPrecondition if the episode is over or reset was never called, and
  // kInvalidArgument if the action has the wrong size.
  Step step(const Eigen::VectorXd& action);
  int steps() const { return t_; }

 protected:
  virtual Eigen::VectorXd do_reset(std::uint64_t seed) = 0;
  virtual Step do_step(const Eigen::VectorXd& action) = 0;

 private:
  int t_ = 0;
  bool live_ = false;
};

using EnvFactory = std::function<std::unique_ptr<Env>()>;

// name: cartpole, pendulum, swimmer, hopper, halfcheetah. model_file: an MJCF file to use instead
// of the shipped model (MuJoCo tasks only; "" for the shipped one). Throws kInvalidArgument naming
// --env.
std::unique_ptr<Env> make_env(const std::string& name, const std::string& model_file = "");
// A factory that makes independent copies (one per rollout thread).
EnvFactory env_factory(const std::string& name, const std::string& model_file = "");
std::string env_names();  // "cartpole, pendulum, swimmer, hopper, halfcheetah"
// The shipped MJCF of a MuJoCo task ("" for classic control).
std::string default_model_file(const std::string& name);

}  // namespace optidiff::rl
