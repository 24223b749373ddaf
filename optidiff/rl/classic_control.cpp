#include "optidiff/rl/classic_control.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "optidiff/core/rng.hpp"

namespace optidiff::rl {
namespace {

// CartPole-v1 constants (gymnasium/envs/classic_control/cartpole.py).
constexpr double kGravity = 9.8, kMassCart = 1.0, kMassPole = 0.1,
                 kTotalMass = kMassCart + kMassPole;
constexpr double kHalfLength = 0.5, kPoleMassLength = kMassPole * kHalfLength, kForceMag = 10.0,
                 kTau = 0.02;
constexpr double kThetaLimit = 12 * 2 * std::numbers::pi / 360, kXLimit = 2.4;

// Pendulum-v1 constants (gymnasium/envs/classic_control/pendulum.py).
constexpr double kMaxSpeed = 8, kMaxTorque = 2, kDt = 0.05, kG = 10.0, kM = 1.0, kL = 1.0;

double angle_normalize(double x) {
  const double two_pi = 2 * std::numbers::pi;
  double r = std::fmod(x + std::numbers::pi, two_pi);
  if (r < 0) r += two_pi;
  return r - std::numbers::pi;
}

}  // namespace

Eigen::VectorXd CartPole::do_reset(std::uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < 4; ++i) s_[i] = rng.uniform(-0.05, 0.05);
  return s_;
}

void CartPole::set_state(const Eigen::Vector4d& s) {
  reset(0);
  s_ = s;
}

Step CartPole::do_step(const Eigen::VectorXd& action) {
  const double force = action[0] > 0 ? kForceMag : -kForceMag;
  const double x = s_[0], x_dot = s_[1], theta = s_[2], theta_dot = s_[3];
  const double cos_t = std::cos(theta), sin_t = std::sin(theta);
  // Florian (2007), Eqs. (23)-(24) with no friction, as in Gymnasium.
  const double temp = (force + kPoleMassLength * theta_dot * theta_dot * sin_t) / kTotalMass;
  const double theta_acc = (kGravity * sin_t - cos_t * temp) /
                           (kHalfLength * (4.0 / 3.0 - kMassPole * cos_t * cos_t / kTotalMass));
  const double x_acc = temp - kPoleMassLength * theta_acc * cos_t / kTotalMass;
  // Gymnasium's default "euler" integrator: positions use the old velocities.
  s_ = Eigen::Vector4d(x + kTau * x_dot, x_dot + kTau * x_acc, theta + kTau * theta_dot,
                       theta_dot + kTau * theta_acc);
  Step st;
  st.obs = s_;
  st.terminated =
      s_[0] < -kXLimit || s_[0] > kXLimit || s_[2] < -kThetaLimit || s_[2] > kThetaLimit;
  st.reward =
      1.0;  // also on the step that terminates (Gymnasium's steps_beyond_terminated == None case)
  return st;
}

Scene CartPole::scene() const {
  Scene sc;
  sc.view_width = 2 * kXLimit + 1;
  sc.focus_x = 0;
  sc.focus_y = 0.5;
  sc.ground_y = 0;
  const double cart_y = 0.1, cart_half = 0.25;
  sc.parts.push_back({s_[0] - cart_half, cart_y, s_[0] + cart_half, cart_y, 0.08, 60, 60, 60});
  const double pole = 2 * kHalfLength;
  sc.parts.push_back({s_[0], cart_y, s_[0] + pole * std::sin(s_[2]),
                      cart_y + pole * std::cos(s_[2]), 0.03, 200, 140, 80});
  // The track limits.
  sc.parts.push_back({-kXLimit, 0, -kXLimit, 0.25, 0.01, 200, 0, 0});
  sc.parts.push_back({kXLimit, 0, kXLimit, 0.25, 0.01, 200, 0, 0});
  return sc;
}

Eigen::VectorXd Pendulum::obs() const {
  return Eigen::Vector3d(std::cos(th_), std::sin(th_), thdot_);
}

Eigen::VectorXd Pendulum::do_reset(std::uint64_t seed) {
  Rng rng(seed);
  th_ = rng.uniform(-std::numbers::pi, std::numbers::pi);
  thdot_ = rng.uniform(-1.0, 1.0);
  return obs();
}

void Pendulum::set_state(double theta, double theta_dot) {
  reset(0);
  th_ = theta;
  thdot_ = theta_dot;
}

Step Pendulum::do_step(const Eigen::VectorXd& action) {
  const double u = std::clamp(action[0], -kMaxTorque, kMaxTorque);
  const double cost = std::pow(angle_normalize(th_), 2) + 0.1 * thdot_ * thdot_ + 0.001 * u * u;
  double newthdot = thdot_ + (3 * kG / (2 * kL) * std::sin(th_) + 3.0 / (kM * kL * kL) * u) * kDt;
  newthdot = std::clamp(newthdot, -kMaxSpeed, kMaxSpeed);
  th_ = th_ + newthdot * kDt;
  thdot_ = newthdot;
  Step st;
  st.obs = obs();
  st.reward = -cost;
  return st;
}

Scene Pendulum::scene() const {
  Scene sc;
  sc.view_width = 2.6;
  sc.ground = false;
  // theta = 0 is upright (Gymnasium draws the rod at angle theta + pi/2 from the x axis).
  sc.parts.push_back({0, 0, -kL * std::sin(th_), kL * std::cos(th_), 0.06, 200, 80, 80});
  sc.parts.push_back({0, 0, 0, 0, 0.05, 40, 40, 40});
  return sc;
}

}  // namespace optidiff::rl
