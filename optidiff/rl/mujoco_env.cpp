#include "optidiff/rl/mujoco_env.hpp"

#include <mujoco/mujoco.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::rl {
namespace {

// MuJoCo prints its warnings (e.g. "Nan, Inf or huge value in QACC") on stdout by default, which
// would mix with the CLI's tables. The failure rule reads the warning counters in mjData instead,
// so the message itself is dropped here.
void quiet_warning(const char*) {}

// The model parser keeps global state; loading from several threads at once is not documented as
// safe.
std::mutex& load_mutex() {
  static std::mutex m;
  return m;
}

constexpr std::array<int, 3> kInstabilityWarnings = {mjWARN_BADQPOS, mjWARN_BADQVEL,
                                                     mjWARN_BADQACC};

}  // namespace

MujocoTask mujoco_task(const std::string& name) {
  MujocoTask t;
  t.name = name;
  if (name == "swimmer") {  // Swimmer-v4
    t.nq = 5, t.nv = 5, t.nu = 2;
    t.frame_skip = 4;
    t.skip_qpos = 2;
    t.ctrl_cost = 1e-4;
    t.reset_noise = 0.1;
    t.top_view = true;
  } else if (name == "hopper") {  // Hopper-v4
    t.nq = 6, t.nv = 6, t.nu = 3;
    t.frame_skip = 4;
    t.ctrl_cost = 1e-3;
    t.healthy_reward = 1.0;
    t.reset_noise = 5e-3;
    t.clip_qvel = 10;
    t.healthy_check = true;
  } else if (name == "halfcheetah") {  // HalfCheetah-v4
    t.nq = 9, t.nv = 9, t.nu = 6;
    t.frame_skip = 5;
    t.ctrl_cost = 0.1;
    t.reset_noise = 0.1;
    t.normal_qvel_noise = true;
  } else {
    throw_invalid("no MuJoCo task \"" + name + "\"; expected swimmer, hopper or halfcheetah");
  }
  return t;
}

MujocoEnv::MujocoEnv(const MujocoTask& task, const std::string& model_file) : task_(task) {
  if (!std::filesystem::exists(model_file))
    throw_not_found(task_.name + ": MJCF model " + model_file + " does not exist");
  char error[1024] = "";
  {
    std::lock_guard<std::mutex> lock(load_mutex());
    mju_user_warning = quiet_warning;
    m_ = mj_loadXML(model_file.c_str(), nullptr, error, sizeof(error));
  }
  if (!m_)
    throw_invalid(task_.name + ": MJCF model " + model_file +
                  " does not parse: " + std::string(error));
  if (m_->nq != task_.nq || m_->nv != task_.nv || m_->nu != task_.nu) {
    const std::string got = "nq = " + std::to_string(m_->nq) + ", nv = " + std::to_string(m_->nv) +
                            ", nu = " + std::to_string(m_->nu);
    mj_deleteModel(m_);
    m_ = nullptr;
    throw_invalid(task_.name + ": MJCF model " + model_file + " has " + got + "; the " +
                  task_.name + " task expects nq = " + std::to_string(task_.nq) +
                  ", nv = " + std::to_string(task_.nv) + ", nu = " + std::to_string(task_.nu));
  }
  d_ = mj_makeData(m_);
  if (!d_) {
    mj_deleteModel(m_);
    throw Error(ErrorCode::kUnavailable, task_.name + ": MuJoCo could not allocate mjData");
  }
}

MujocoEnv::~MujocoEnv() {
  if (d_) mj_deleteData(d_);
  if (m_) mj_deleteModel(m_);
}

int MujocoEnv::obs_dim() const { return task_.nq - task_.skip_qpos + task_.nv; }
double MujocoEnv::dt() const { return m_->opt.timestep * task_.frame_skip; }

Eigen::VectorXd MujocoEnv::observation() const {
  Eigen::VectorXd o(obs_dim());
  int j = 0;
  for (int i = task_.skip_qpos; i < task_.nq; ++i) o[j++] = d_->qpos[i];
  for (int i = 0; i < task_.nv; ++i)
    o[j++] = task_.clip_qvel > 0 ? std::clamp(d_->qvel[i], -task_.clip_qvel, task_.clip_qvel)
                                 : d_->qvel[i];
  return o;
}

Eigen::VectorXd MujocoEnv::do_reset(std::uint64_t seed) {
  mj_resetData(m_, d_);
  Rng rng(seed);
  const double c = task_.reset_noise;
  for (int i = 0; i < task_.nq; ++i) d_->qpos[i] = m_->qpos0[i] + rng.uniform(-c, c);
  for (int i = 0; i < task_.nv; ++i)
    d_->qvel[i] = task_.normal_qvel_noise ? c * rng.normal() : rng.uniform(-c, c);
  mj_forward(m_, d_);
  return observation();
}

void MujocoEnv::set_state(const Eigen::VectorXd& qpos, const Eigen::VectorXd& qvel) {
  if (qpos.size() != task_.nq || qvel.size() != task_.nv)
    throw_invalid(task_.name + ": set_state needs " + std::to_string(task_.nq) + " qpos and " +
                  std::to_string(task_.nv) + " qvel entries");
  reset(0);
  for (int i = 0; i < task_.nq; ++i) d_->qpos[i] = qpos[i];
  for (int i = 0; i < task_.nv; ++i) d_->qvel[i] = qvel[i];
  mj_forward(m_, d_);
}

bool MujocoEnv::healthy() const {
  // Hopper-v4's is_healthy: strict inequalities on z, the torso angle and state_vector()[2:].
  const double z = d_->qpos[1], angle = d_->qpos[2];
  for (int i = 2; i < task_.nq; ++i)
    if (!(std::abs(d_->qpos[i]) < task_.max_abs_state)) return false;
  for (int i = 0; i < task_.nv; ++i)
    if (!(std::abs(d_->qvel[i]) < task_.max_abs_state)) return false;
  return z > task_.min_z && std::abs(angle) < task_.max_abs_angle;
}

Step MujocoEnv::do_step(const Eigen::VectorXd& action) {
  std::array<int, kInstabilityWarnings.size()> before{};
  for (std::size_t w = 0; w < kInstabilityWarnings.size(); ++w)
    before[w] = d_->warning[kInstabilityWarnings[w]].number;
  const double x_before = d_->qpos[0];
  for (int i = 0; i < task_.nu; ++i) d_->ctrl[i] = action[i];
  Step s;
  for (int f = 0; f < task_.frame_skip && s.failure.empty(); ++f) {
    mj_step(m_, d_);
    for (std::size_t w = 0; w < kInstabilityWarnings.size(); ++w)
      if (d_->warning[kInstabilityWarnings[w]].number > before[w]) {
        static const char* const kWhat[] = {"qpos", "qvel", "qacc"};
        s.failure =
            std::string("simulation unstable (MuJoCo: NaN, Inf or huge value in ") + kWhat[w] + ")";
      }
  }
  s.obs = observation();
  if (!s.failure.empty()) return s;  // the base class applies the penalty
  const double x_velocity = (d_->qpos[0] - x_before) / dt();
  s.reward = task_.forward_weight * x_velocity - task_.ctrl_cost * action.squaredNorm();
  if (task_.healthy_check) {
    s.reward += task_.healthy_reward;  // terminate_when_unhealthy: the bonus is paid on every step
    s.terminated = !healthy();
  }
  return s;
}

Scene MujocoEnv::scene() const {
  mj_kinematics(m_,
                d_);  // geom poses of the current qpos (mj_step computes them before integrating)
  Scene sc;
  const int torso = 1;  // the first body after the world
  sc.focus_x = d_->xpos[3 * torso + 0];
  sc.focus_y = task_.top_view ? d_->xpos[3 * torso + 1] : 0.5;
  sc.ground = !task_.top_view;
  sc.view_width = task_.top_view ? 6 : 4;
  for (int g = 0; g < m_->ngeom; ++g) {
    if (m_->geom_type[g] != mjGEOM_CAPSULE) continue;
    const double* p = d_->geom_xpos + 3 * g;
    const double* R = d_->geom_xmat + 9 * g;
    const double ax = R[2], ay = R[5],
                 az = R[8];  // the capsule's local z axis in world coordinates
    const double half = m_->geom_size[3 * g + 1], radius = m_->geom_size[3 * g];
    const float* rgba = m_->geom_rgba + 4 * g;
    const auto c = [&](int i) {
      return static_cast<std::uint8_t>(std::clamp(rgba[i], 0.f, 1.f) * 255);
    };
    const double u0 = p[0] - half * ax, u1 = p[0] + half * ax;
    const double v0 = task_.top_view ? p[1] - half * ay : p[2] - half * az;
    const double v1 = task_.top_view ? p[1] + half * ay : p[2] + half * az;
    sc.parts.push_back({u0, v0, u1, v1, radius, c(0), c(1), c(2)});
  }
  return sc;
}

}  // namespace optidiff::rl
