// optidiff/rl/render.hpp: pictures of rollouts, so a person can see what a policy learned.
//
// MuJoCo's own renderer needs an OpenGL context, which headless machines (CI, this project's
// servers) do not have; so we draw the 2-D projection every environment gives (Env::scene():
// capsules in the plane of motion) with a few lines of rasterising code, and write PNG frames
// through optidiff/core.
//   rl::Image img = rl::draw_scene(env.scene(), {.width = 320, .height = 240});
//   rl::VideoResult v = rl::write_video(env, policy, theta, seed, "out/video");  // frame_0000.png
//   ... sheet.png
#pragma once

#include <cstdint>
#include <string>

#include "optidiff/core/image.hpp"
#include "optidiff/rl/env.hpp"
#include "optidiff/rl/policy.hpp"

namespace optidiff::rl {

struct DrawOptions {
  int width = 320, height = 240;
  std::string caption;  // drawn in the top-left corner
};

Image draw_scene(const Scene& scene, const DrawOptions& options = {});

struct VideoResult {
  int frames = 0;     // PNG frames written
  int steps = 0;      // steps of the episode
  double ret = 0;     // its return
  std::string sheet;  // the contact sheet (12 frames in a grid)
};

// Runs one episode from env.reset(seed) and writes every `every`-th frame (0: enough to keep at
// most 200 frames) as DIR/frame_NNNN.png, plus DIR/sheet.png. Creates DIR.
VideoResult write_video(Env& env, const Policy& policy, const Eigen::VectorXd& theta,
                        std::uint64_t seed, const std::string& dir, int every = 0);

}  // namespace optidiff::rl
