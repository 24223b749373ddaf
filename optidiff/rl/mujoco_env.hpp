// optidiff/rl/mujoco_env.hpp: MuJoCo locomotion tasks that follow Gymnasium's v4 environments
// (gymnasium/envs/mujoco/{swimmer,hopper,half_cheetah}_v4.py) on MJCF models in
// optidiff/rl/models/.
//
//   task         frame skip  dt     observation                      reward per step
//   swimmer      4           0.04   qpos[2:], qvel        (8)        dx/dt - 1e-4 |a|^2
//   hopper       4           0.008  qpos[1:], clip(qvel, +-10) (11)  dx/dt + 1 (healthy) - 1e-3
//   |a|^2 halfcheetah  5           0.05   qpos[1:], qvel        (17)       dx/dt - 0.1 |a|^2
//
// dx/dt is the root's x displacement over the step divided by dt. Start state: qpos0 + U[-c, c]
// noise and qvel U[-c, c] (c = 0.1 swimmer, 5e-3 hopper) except halfcheetah's qvel ~ 0.1 N(0, 1).
// Hopper terminates when unhealthy: z <= 0.7, |angle| >= 0.2, or any of qpos[2:], qvel outside
// (-100, 100). All truncate at 1000 steps. Actions are written to ctrl unclipped (MuJoCo clamps
// them to ctrlrange), and the control cost uses the unclipped action, as Gymnasium does.
#pragma once

#include <string>

#include "optidiff/rl/env.hpp"

struct mjModel_;
struct mjData_;

namespace optidiff::rl {

struct MujocoTask {
  std::string name;
  int nq = 0, nv = 0, nu = 0;  // what the MJCF must have
  int frame_skip = 1;
  int skip_qpos = 1;  // leading qpos entries left out of the observation
  double forward_weight = 1, ctrl_cost = 0, healthy_reward = 0;
  double reset_noise = 0;
  bool normal_qvel_noise = false;  // halfcheetah: qvel noise ~ reset_noise N(0, 1)
  double clip_qvel = 0;            // > 0: observation clips qvel to [-clip, clip] (hopper)
  bool healthy_check = false;      // hopper's termination rule
  double min_z = 0.7, max_abs_angle = 0.2, max_abs_state = 100;
  bool top_view = false;  // swimmer moves in the x-y plane; the others in x-z
};

MujocoTask mujoco_task(const std::string& name);  // swimmer, hopper, halfcheetah

class MujocoEnv final : public Env {
 public:
  // Loads and checks the MJCF (kInvalidArgument with MuJoCo's parser message if it does not parse,
  // or if its nq/nv/nu do not match the task).
  MujocoEnv(const MujocoTask& task, const std::string& model_file);
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  std::string name() const override { return task_.name; }
  int obs_dim() const override;
  int act_dim() const override { return task_.nu; }
  int max_steps() const override { return 1000; }
  Scene scene() const override;

  double dt() const;  // timestep * frame_skip
  // For tests and the speed benchmark: the raw model and data, and a way to set qpos/qvel.
  const mjModel_* model() const { return m_; }
  mjData_* data() { return d_; }
  void set_state(const Eigen::VectorXd& qpos, const Eigen::VectorXd& qvel);  // restarts the episode

 private:
  Eigen::VectorXd do_reset(std::uint64_t seed) override;
  Step do_step(const Eigen::VectorXd& action) override;
  Eigen::VectorXd observation() const;
  bool healthy() const;

  MujocoTask task_;
  mjModel_* m_ = nullptr;
  mjData_* d_ = nullptr;
};

}  // namespace optidiff::rl
