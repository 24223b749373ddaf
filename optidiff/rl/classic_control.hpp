// optidiff/rl/classic_control.hpp: CartPole-v1 and Pendulum-v1 from their published equations, as
// Gymnasium implements them (gymnasium/envs/classic_control/cartpole.py, pendulum.py).
//
// CartPole (Barto, Sutton & Anderson 1983; Florian 2007's corrected equations): state (x, x_dot,
// theta, theta_dot), explicit Euler with tau = 0.02 s, force +-10 N, reward 1 on every step
// including the last, terminated when |x| > 2.4 or |theta| > 12 degrees, truncated at 500 steps;
// start state uniform in
// [-0.05, 0.05]^4. Action: a[0] > 0 pushes right (Gymnasium's action 1), otherwise left.
// Pendulum: theta_dot += (3 g / (2 l) sin theta + 3 / (m l^2) u) dt, clipped to [-8, 8];
// theta += theta_dot dt (semi-implicit Euler), g = 10, m = l = 1, dt = 0.05, u clipped to [-2, 2];
// reward -(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2); observation (cos, sin,
// theta_dot); start theta ~ U[-pi, pi], theta_dot ~ U[-1, 1]; truncated at 200 steps, never
// terminated. The start states are drawn with our RNG, so they are not NumPy's for the same seed.
#pragma once

#include "optidiff/rl/env.hpp"

namespace optidiff::rl {

class CartPole final : public Env {
 public:
  std::string name() const override { return "cartpole"; }
  int obs_dim() const override { return 4; }
  int act_dim() const override { return 1; }
  int max_steps() const override { return 500; }
  Scene scene() const override;
  // For tests: put the system in a known state (x, x_dot, theta, theta_dot); the episode restarts.
  void set_state(const Eigen::Vector4d& s);
  const Eigen::Vector4d& state() const { return s_; }

 private:
  Eigen::VectorXd do_reset(std::uint64_t seed) override;
  Step do_step(const Eigen::VectorXd& action) override;
  Eigen::Vector4d s_ = Eigen::Vector4d::Zero();
};

class Pendulum final : public Env {
 public:
  std::string name() const override { return "pendulum"; }
  int obs_dim() const override { return 3; }
  int act_dim() const override { return 1; }
  int max_steps() const override { return 200; }
  Scene scene() const override;
  void set_state(double theta, double theta_dot);  // for tests; the episode restarts
  double theta() const { return th_; }
  double theta_dot() const { return thdot_; }

 private:
  Eigen::VectorXd do_reset(std::uint64_t seed) override;
  Step do_step(const Eigen::VectorXd& action) override;
  Eigen::VectorXd obs() const;
  double th_ = 0, thdot_ = 0;
};

}  // namespace optidiff::rl
