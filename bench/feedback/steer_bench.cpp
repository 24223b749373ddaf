// bench/feedback/steer_bench.cpp: does ranking feedback steer the images? (issue 11)
//
// A simulated rater whose preference is a fixed classifier's score for a target class (the
// project's evaluation classifier, models/classifier: log p(target | image)) answers image-steering
// sessions of the unconditional DiT through the real HTTP API, exactly as the page does: it decodes
// the PNGs it is shown, ranks the top k of each gradient round and picks the best of each
// line-search round (research note section 3.3). One iteration = one gradient round + one
// line-search round. As a control, a rater that answers at random runs the same sessions (same
// seeds, same settings): the elitist line search alone would let its incumbent drift, but only
// informed rankings should make the target score rise. Usage: steer_bench [--iterations 15]
// [--seeds 4] [--target Bag] [--steps 20] [--m 6] [--k 3]
//                    [--threads 2] [--json out.json] [--grid best.png]
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <thread>

#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/threads.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/core/torch_threads.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/feedback/dit_renderer.hpp"
#include "optidiff/feedback/png.hpp"
#include "optidiff/feedback/server.hpp"

// After Eigen (via server.hpp): httplib.h pulls in <resolv.h>, whose `_res` macro breaks Eigen's
// headers.
#include <httplib.h>

using namespace optidiff;

namespace {

// The 112 x 112 PNG (4x nearest-neighbour upscaling) back to the 28 x 28 image in [-1, 1].
torch::Tensor image_of(const std::string& data_url) {
  const Image img = decode_png(feedback::png_from_data_url(data_url));
  const int scale = img.width / 28;
  torch::Tensor x = torch::empty({1, 1, 28, 28}, torch::kFloat32);
  float* p = x.data_ptr<float>();
  for (int y = 0; y < 28; ++y)
    for (int c = 0; c < 28; ++c) p[y * 28 + c] = *img.at(c * scale, y * scale) / 255.f * 2.f - 1.f;
  return x;
}

struct Rater {
  diffusion::Classifier& classifier;
  int target;
  std::vector<double> scores(const std::vector<std::string>& urls) {
    std::vector<torch::Tensor> xs;
    for (const auto& u : urls) xs.push_back(image_of(u));
    torch::NoGradGuard g;
    const torch::Tensor lp =
        torch::log_softmax(classifier->forward(torch::cat(xs)), 1).select(1, target).contiguous();
    return {lp.data_ptr<float>(), lp.data_ptr<float>() + lp.size(0)};
  }
};

struct Run {
  std::vector<double> best_score;  // log p(target | best image) after 0..iterations
  std::vector<double> best_prob;
  std::vector<std::string> best_png;  // data URLs
};

Json post(httplib::Client& c, const std::string& path, const std::string& token, const Json& body) {
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  auto r = c.Post(path.c_str(), h, body.dump(), "application/json");
  if (!r || r->status != 200)
    throw std::runtime_error(path + ": " + (r ? r->body : std::string("no reply")));
  return Json::parse(r->body);
}

Run steer(httplib::Client& c, Rater& rater, bool informed, std::uint64_t seed, int iterations,
          int steps, int m, int k) {
  Json created = post(c, "/api/sessions", "",
                      {{"kind", "image"},
                       {"class", "unconditional"},
                       {"sampler", "euler"},
                       {"steps", steps},
                       {"m", m},
                       {"k", k},
                       {"seed", seed}});
  const std::string token = created["token"], id = created["session"]["id"];
  Run run;
  auto record = [&](const Json& session) {
    const std::string url = session["best"]["png"];
    const double s = rater.scores({url})[0];
    run.best_score.push_back(s);
    run.best_prob.push_back(std::exp(s));
    run.best_png.push_back(url);
  };
  record(created["session"]);
  Rng noise(seed ^ 0xabcdef);
  for (int it = 0; it < iterations; ++it) {
    Json session;
    for (int half = 0; half < 2; ++half) {  // a gradient round, then a line-search round
      const Json round = post(c, "/api/sessions/" + id + "/ask", token, Json::object())["round"];
      std::vector<std::string> urls;
      for (const Json& img : round["images"]) urls.push_back(img["png"]);
      std::vector<double> s = rater.scores(urls);
      if (!informed)
        for (double& v : s) v = noise.normal();
      std::vector<int> order(s.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
        return s[static_cast<std::size_t>(a)] > s[static_cast<std::size_t>(b)];
      });
      order.resize(static_cast<std::size_t>(round["k"].get<int>()));
      session = post(c, "/api/sessions/" + id + "/tell", token,
                     {{"round", round["round"]}, {"ranking", order}})["session"];
    }
    record(session);
  }
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 15, seeds = 4, steps = 20, m = 6, k = 3, threads = 2;
  std::string target_name = "Bag", json_path, grid_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], v = argv[i + 1];
    if (key == "--iterations")
      iterations = std::stoi(v);
    else if (key == "--seeds")
      seeds = std::stoi(v);
    else if (key == "--target")
      target_name = v;
    else if (key == "--steps")
      steps = std::stoi(v);
    else if (key == "--m")
      m = std::stoi(v);
    else if (key == "--k")
      k = std::stoi(v);
    else if (key == "--threads")
      threads = std::stoi(v);
    else if (key == "--json")
      json_path = v;
    else if (key == "--grid")
      grid_path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  install_torch_thread_hook();
  set_num_threads(threads);
  const int target = data::fashion_class_index(target_name);
  diffusion::Classifier classifier =
      diffusion::load_classifier(diffusion::default_classifier_path());
  classifier->eval();
  Rater rater{classifier, target};

  const auto dir =
      std::filesystem::temp_directory_path() / ("optidiff-steer-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  feedback::DitRenderer renderer;
  feedback::ServerOptions options;
  options.port = 0;
  options.db = (dir / "steer.db").string();
  feedback::Server server(options, &renderer);
  const int port = server.bind();
  std::thread serving([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600);

  Stopwatch sw;
  std::vector<Run> informed, control;
  for (int s = 0; s < seeds; ++s) {
    informed.push_back(
        steer(c, rater, true, static_cast<std::uint64_t>(s), iterations, steps, m, k));
    control.push_back(
        steer(c, rater, false, static_cast<std::uint64_t>(s), iterations, steps, m, k));
    std::fprintf(stderr, "seed %d: log p(%s) %.3f -> %.3f (ranked), %.3f (random answers)\n", s,
                 target_name.c_str(), informed.back().best_score.front(),
                 informed.back().best_score.back(), control.back().best_score.back());
  }
  const double seconds = sw.seconds();
  server.stop();
  serving.join();
  std::filesystem::remove_all(dir);

  auto mean_at = [&](const std::vector<Run>& runs, int t, bool prob) {
    double sum = 0;
    for (const Run& r : runs)
      sum += prob ? r.best_prob[static_cast<std::size_t>(t)]
                  : r.best_score[static_cast<std::size_t>(t)];
    return sum / static_cast<double>(runs.size());
  };
  Table t({"iteration", "rounds answered", "mean log p (ranked)", "mean p (ranked)",
           "mean log p (random)", "mean p (random)"});
  for (int it = 0; it <= iterations; it += (it < 5 ? 1 : 5))
    t.add_row(
        {std::to_string(it), std::to_string(2 * it), format_fixed(mean_at(informed, it, false), 3),
         format_fixed(mean_at(informed, it, true), 3), format_fixed(mean_at(control, it, false), 3),
         format_fixed(mean_at(control, it, true), 3)});
  t.print(std::cout);
  std::cout << "target " << target_name << ", " << seeds << " seeds, " << iterations
            << " iterations, euler " << steps << " steps, m " << m << ", k " << k << ", "
            << format_fixed(seconds, 1) << " s\n";

  if (!grid_path.empty()) {
    // Best image after each iteration, one row per seed (ranked rater).
    std::vector<Image> tiles;
    std::vector<std::string> labels;
    for (const Run& r : informed)
      for (std::size_t i = 0; i < r.best_png.size(); ++i) {
        tiles.push_back(decode_png(feedback::png_from_data_url(r.best_png[i])));
        labels.push_back(format_fixed(r.best_prob[i], 2));
      }
    write_png(grid_path,
              image_grid(tiles, {.columns = iterations + 1, .labels = labels, .scale = 1}));
  }
  if (!json_path.empty()) {
    auto runs_json = [](const std::vector<Run>& runs) {
      Json a = Json::array();
      for (const Run& r : runs)
        a.push_back({{"best_log_p", r.best_score}, {"best_p", r.best_prob}});
      return a;
    };
    write_json_file(json_path, {{"target", target_name},
                                {"iterations", iterations},
                                {"rounds_per_iteration", 2},
                                {"seeds", seeds},
                                {"sampler", "euler"},
                                {"steps", steps},
                                {"m", m},
                                {"k", k},
                                {"threads", threads},
                                {"seconds", seconds},
                                {"ranked", runs_json(informed)},
                                {"random", runs_json(control)}});
  }
  return 0;
}
