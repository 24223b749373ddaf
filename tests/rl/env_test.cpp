// Environments: CartPole and Pendulum steps against hand-checked values (computed from Gymnasium's
// equations, see classic_control.hpp), the MuJoCo tasks' reward and termination rules, determinism,
// and the failure rule (NaN actions, simulations that blow up, MJCF files that do not parse).
#include <gtest/gtest.h>
#include <mujoco/mujoco.h>

#include <cmath>
#include <fstream>

#include "optidiff/core/error.hpp"
#include "optidiff/rl/classic_control.hpp"
#include "optidiff/rl/env.hpp"
#include "optidiff/rl/mujoco_env.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::rl {
namespace {

Eigen::VectorXd vec(std::initializer_list<double> v) {
  Eigen::VectorXd x(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double a : v) x[i++] = a;
  return x;
}

TEST(CartPole, StepFromRestPushingRight) {
  CartPole env;
  env.set_state(Eigen::Vector4d::Zero());
  const Step s = env.step(vec({1.0}));
  // temp = 10/1.1; theta_acc = -temp / (0.5 (4/3 - 0.1/1.1)) = -14.6341...; x_acc = 9.7560...; tau
  // = 0.02.
  EXPECT_DOUBLE_EQ(s.obs[0], 0.0);
  EXPECT_DOUBLE_EQ(s.obs[1], 0.1951219512195122);
  EXPECT_DOUBLE_EQ(s.obs[2], 0.0);
  EXPECT_DOUBLE_EQ(s.obs[3], -0.2926829268292683);
  EXPECT_EQ(s.reward, 1.0);
  EXPECT_FALSE(s.terminated);
  EXPECT_FALSE(s.truncated);
}

TEST(CartPole, StepFromAMovingStatePushingLeft) {
  CartPole env;
  env.set_state(Eigen::Vector4d(0.1, -0.2, 0.05, 0.3));
  const Step s = env.step(vec({-0.3}));  // a[0] <= 0: push left
  EXPECT_NEAR(s.obs[0], 0.096, 1e-15);
  EXPECT_NEAR(s.obs[1], -0.3957976546439626, 1e-15);
  EXPECT_NEAR(s.obs[2], 0.056, 1e-15);
  EXPECT_NEAR(s.obs[3], 0.6080233136061515, 1e-15);
}

TEST(CartPole, TerminatesOffTheTrackAndTruncatesAt500) {
  CartPole env;
  env.set_state(Eigen::Vector4d(2.39, 1.0, 0.0, 0.0));
  const Step s = env.step(vec({1.0}));  // x = 2.39 + 0.02 = 2.41 > 2.4
  EXPECT_TRUE(s.terminated);
  EXPECT_EQ(s.reward, 1.0);                   // the terminating step is rewarded too
  EXPECT_THROW(env.step(vec({1.0})), Error);  // the episode is over

  // Balanced at rest in the middle with alternating pushes: reaches the time limit.
  env.reset(3);
  Step last;
  int t = 0;
  Eigen::VectorXd obs = env.reset(3);
  do {
    last = env.step(vec({obs[2] + 0.5 * obs[3] > 0 ? 1.0 : -1.0}));  // a simple stabilising rule
    obs = last.obs;
    ++t;
  } while (!last.terminated && !last.truncated);
  EXPECT_TRUE(last.truncated);
  EXPECT_EQ(t, 500);
}

TEST(Pendulum, StepMatchesTheEquations) {
  Pendulum env;
  env.set_state(1.0, 0.5);
  const Step s = env.step(vec({1.5}));
  EXPECT_NEAR(env.theta(), 1.0678051619302962, 1e-15);
  EXPECT_NEAR(env.theta_dot(), 1.3561032386059226, 1e-15);
  EXPECT_NEAR(s.reward, -1.02725, 1e-15);
  EXPECT_NEAR(s.obs[0], std::cos(1.0678051619302962), 1e-15);
  EXPECT_NEAR(s.obs[1], std::sin(1.0678051619302962), 1e-15);
  // Torque clipped to 2, speed clipped to 8, the angle normalised to [-pi, pi) in the cost.
  env.set_state(3.5, -7.9);
  const Step c = env.step(vec({5.0}));
  EXPECT_NEAR(env.theta(), 3.106845628961639, 1e-14);
  EXPECT_NEAR(env.theta_dot(), -7.863087420767215, 1e-14);
  EXPECT_NEAR(c.reward, -13.991120454100328, 1e-12);
  EXPECT_FALSE(c.terminated);
}

TEST(Env, ResetIsDeterministicPerSeed) {
  for (const char* name : {"cartpole", "pendulum", "swimmer", "hopper", "halfcheetah"}) {
    auto a = make_env(name), b = make_env(name);
    EXPECT_EQ(a->reset(5), b->reset(5)) << name;
    EXPECT_NE(a->reset(5), a->reset(6)) << name;
  }
}

TEST(Env, SizesFollowGymnasium) {
  struct Size {
    const char* name;
    int obs, act, steps;
  };
  for (const Size s :
       {Size{"cartpole", 4, 1, 500}, Size{"pendulum", 3, 1, 200}, Size{"swimmer", 8, 2, 1000},
        Size{"hopper", 11, 3, 1000}, Size{"halfcheetah", 17, 6, 1000}}) {
    auto env = make_env(s.name);
    EXPECT_EQ(env->obs_dim(), s.obs) << s.name;
    EXPECT_EQ(env->act_dim(), s.act) << s.name;
    EXPECT_EQ(env->max_steps(), s.steps) << s.name;
    EXPECT_EQ(env->reset(0).size(), s.obs) << s.name;
  }
  EXPECT_NEAR(MujocoEnv(mujoco_task("swimmer"), default_model_file("swimmer")).dt(), 0.04, 1e-15);
  EXPECT_NEAR(MujocoEnv(mujoco_task("hopper"), default_model_file("hopper")).dt(), 0.008, 1e-15);
  EXPECT_NEAR(MujocoEnv(mujoco_task("halfcheetah"), default_model_file("halfcheetah")).dt(), 0.05,
              1e-15);
}

TEST(Mujoco, RewardIsForwardVelocityMinusControlCost) {
  for (const char* name : {"swimmer", "halfcheetah", "hopper"}) {
    MujocoEnv env(mujoco_task(name), default_model_file(name));
    env.reset(1);
    const double x0 = env.data()->qpos[0];
    Eigen::VectorXd a = Eigen::VectorXd::Constant(env.act_dim(), 0.5);
    a[0] = 1.7;  // beyond ctrlrange: MuJoCo clamps the control, the cost uses the action as given
    const Step s = env.step(a);
    const MujocoTask t = mujoco_task(name);
    const double expected =
        (env.data()->qpos[0] - x0) / env.dt() - t.ctrl_cost * a.squaredNorm() + t.healthy_reward;
    EXPECT_NEAR(s.reward, expected, 1e-12) << name;
    EXPECT_NE(env.data()->qpos[0], x0) << name;
  }
}

TEST(Mujoco, HopperTerminatesWhenUnhealthy) {
  MujocoEnv env(mujoco_task("hopper"), default_model_file("hopper"));
  Eigen::VectorXd qpos = Eigen::VectorXd::Zero(6), qvel = Eigen::VectorXd::Zero(6);
  qpos[1] = 1.25;
  env.set_state(qpos, qvel);
  EXPECT_FALSE(env.step(Eigen::VectorXd::Zero(3)).terminated);
  qpos[2] = 0.25;  // torso angle beyond 0.2 rad
  env.set_state(qpos, qvel);
  EXPECT_TRUE(env.step(Eigen::VectorXd::Zero(3)).terminated);
  qpos[2] = 0;
  // (The height rule z > 0.7 cannot be set up in isolation: lowering the torso pushes the foot into
  // the floor and the contact lifts it back within the step. The fall below covers it.)
  qvel[0] = 150;  // a velocity outside (-100, 100): unhealthy by the state range
  env.set_state(qpos, qvel);
  EXPECT_TRUE(env.step(Eigen::VectorXd::Zero(3)).terminated);
  // Doing nothing, the hopper falls over well before the time limit.
  env.reset(0);
  int t = 0;
  Step s;
  do {
    s = env.step(Eigen::VectorXd::Zero(3));
    ++t;
  } while (!s.terminated && !s.truncated);
  EXPECT_TRUE(s.terminated);
  EXPECT_LT(t, 1000);
  const double z = env.data()->qpos[1], angle = env.data()->qpos[2];
  EXPECT_TRUE(z <= 0.7 || std::abs(angle) >= 0.2) << "z " << z << ", angle " << angle;
}

TEST(FailureRule, NonFiniteActionEndsTheEpisodeWithThePenalty) {
  for (const char* name : {"cartpole", "pendulum", "swimmer", "hopper", "halfcheetah"}) {
    auto env = make_env(name);
    env->reset(0);
    Eigen::VectorXd a = Eigen::VectorXd::Zero(env->act_dim());
    a[0] = std::nan("");
    const Step s = env->step(a);
    EXPECT_TRUE(s.terminated) << name;
    EXPECT_EQ(s.reward, -kFailurePenalty) << name;
    EXPECT_EQ(s.failure, "non-finite action") << name;
    EXPECT_TRUE(s.obs.allFinite()) << name;
  }
}

TEST(FailureRule, UnstableSimulationEndsTheEpisodeWithThePenalty) {
  MujocoEnv env(mujoco_task("halfcheetah"), default_model_file("halfcheetah"));
  Eigen::VectorXd qpos = Eigen::Map<const Eigen::VectorXd>(env.model()->qpos0, 9);
  Eigen::VectorXd qvel = Eigen::VectorXd::Zero(9);
  qvel[3] = 1e12;  // beyond MuJoCo's mjMAXVAL: mj_step warns (bad qvel) and resets the data
  env.set_state(qpos, qvel);
  const Step s = env.step(Eigen::VectorXd::Zero(6));
  EXPECT_TRUE(s.terminated);
  EXPECT_EQ(s.reward, -kFailurePenalty);
  EXPECT_NE(s.failure.find("simulation unstable"), std::string::npos) << s.failure;
  // The next episode is clean again.
  env.reset(1);
  EXPECT_TRUE(env.step(Eigen::VectorXd::Zero(6)).failure.empty());
}

TEST(BadInput, MjcfThatDoesNotParse) {
  testing::TempDir dir;
  const std::string bad = dir.file("bad.xml");
  std::ofstream(bad) << "<mujoco><worldbody><body name=\"a\"><geom type=\"sphere\" "
                        "size=\"0.1\"/></worldbody></mujoco>";
  try {
    make_env("hopper", bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("does not parse"), std::string::npos) << e.what();
  }
  // Parses, but is not a hopper.
  const std::string other = dir.file("other.xml");
  std::ofstream(other)
      << "<mujoco><worldbody><body><joint type=\"hinge\"/><geom type=\"sphere\" size=\"0.1\"/>"
         "</body></worldbody></mujoco>";
  try {
    make_env("hopper", other);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expects nq = 6"), std::string::npos) << e.what();
  }
  try {
    make_env("hopper", dir.file("missing.xml"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_THROW(make_env("walker"), Error);
  EXPECT_THROW(make_env("cartpole", bad), Error);  // classic control has no model file
  auto env = make_env("cartpole");
  EXPECT_THROW(env->step(vec({1.0})), Error);  // no reset yet
  env->reset(0);
  EXPECT_THROW(env->step(vec({1.0, 2.0})), Error);  // wrong action size
}

}  // namespace
}  // namespace optidiff::rl
