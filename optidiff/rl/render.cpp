#include "optidiff/rl/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/rl/rollout.hpp"

namespace optidiff::rl {
namespace {

void put(Image& img, int x, int y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  std::uint8_t* p = img.at(x, y);
  p[0] = r, p[1] = g, p[2] = b;
}

}  // namespace

Image draw_scene(const Scene& sc, const DrawOptions& o) {
  Image img(o.width, o.height, 3, 255);
  const double scale = o.width / sc.view_width;  // pixels per metre
  const auto px = [&](double x) { return (x - sc.focus_x) * scale + o.width / 2.0; };
  const auto py = [&](double y) { return o.height / 2.0 - (y - sc.focus_y) * scale; };
  if (sc.ground) {
    const int gy = static_cast<int>(std::lround(py(sc.ground_y)));
    for (int y = std::max(0, gy); y < o.height; ++y)
      for (int x = 0; x < o.width; ++x) put(img, x, y, 200, 215, 200);
    // A tick every metre, so that motion shows when the camera follows the body.
    const double left = sc.focus_x - sc.view_width / 2, right = sc.focus_x + sc.view_width / 2;
    for (double t = std::ceil(left); t <= right; t += 1.0)
      for (int y = gy; y < gy + 8; ++y)
        put(img, static_cast<int>(std::lround(px(t))), y, 90, 110, 90);
  } else {
    // No ground (top view or pendulum): a light grid every metre instead.
    const double left = sc.focus_x - sc.view_width / 2, right = sc.focus_x + sc.view_width / 2;
    for (double t = std::ceil(left); t <= right; t += 1.0)
      for (int y = 0; y < o.height; ++y)
        put(img, static_cast<int>(std::lround(px(t))), y, 225, 225, 225);
  }
  for (const Capsule& c : sc.parts) {
    const double x0 = px(c.x0), y0 = py(c.y0), x1 = px(c.x1), y1 = py(c.y1),
                 r = std::max(1.0, c.radius * scale);
    const int bx0 = static_cast<int>(std::floor(std::min(x0, x1) - r)),
              bx1 = static_cast<int>(std::ceil(std::max(x0, x1) + r));
    const int by0 = static_cast<int>(std::floor(std::min(y0, y1) - r)),
              by1 = static_cast<int>(std::ceil(std::max(y0, y1) + r));
    const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    for (int y = std::max(0, by0); y <= std::min(o.height - 1, by1); ++y)
      for (int x = std::max(0, bx0); x <= std::min(o.width - 1, bx1); ++x) {
        // Distance from the pixel centre to the segment.
        const double t =
            len2 > 0 ? std::clamp(((x - x0) * dx + (y - y0) * dy) / len2, 0.0, 1.0) : 0.0;
        const double ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
        if (ex * ex + ey * ey <= r * r) put(img, x, y, c.r, c.g, c.b);
      }
  }
  if (!o.caption.empty()) draw_text(img, 4, 4, o.caption);
  return img;
}

VideoResult write_video(Env& env, const Policy& policy, const Eigen::VectorXd& theta,
                        std::uint64_t seed, const std::string& dir, int every) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw_invalid("--video " + dir + ": cannot create the directory (" + ec.message() + ")");
  if (every <= 0) every = std::max(1, (env.max_steps() + 199) / 200);
  VideoResult v;
  std::vector<Image> sheet_frames;
  std::vector<std::string> labels;
  std::vector<Scene> scenes;
  const Episode ep =
      run_episode(env, policy, theta, seed, 0, [&](const Scene& s) { scenes.push_back(s); });
  v.steps = ep.steps;
  v.ret = ep.ret;
  for (std::size_t t = 0; t < scenes.size(); t += static_cast<std::size_t>(every)) {
    char name[64];
    std::snprintf(name, sizeof(name), "/frame_%04d.png", v.frames);
    const std::string caption =
        env.name() + "  step " + std::to_string(t) + " / " + std::to_string(ep.steps);
    write_png(dir + name, draw_scene(scenes[t], {.caption = caption}));
    ++v.frames;
  }
  const int n = 12;
  for (int i = 0; i < n; ++i) {
    const std::size_t t = scenes.size() <= 1 ? 0 : i * (scenes.size() - 1) / (n - 1);
    sheet_frames.push_back(draw_scene(scenes[t], {.width = 240, .height = 180, .caption = ""}));
    labels.push_back("step " + std::to_string(t));
  }
  v.sheet = dir + "/sheet.png";
  write_png(v.sheet, image_grid(sheet_frames, {.columns = 4, .labels = labels}));
  return v;
}

}  // namespace optidiff::rl
