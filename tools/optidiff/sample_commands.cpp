// optidiff sample: draw class-conditional samples from a denoiser with a plan-based sampler
// (ddim | ddpm | euler | heun) and classifier-free guidance; writes a PNG grid (or a 2-D scatter for the
// 2-D mixture) and optionally JSON. Also the diffusion step of `optidiff tour`.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

namespace dd = optidiff::diffusion;

struct SampleArgs {
  std::string model, class_name, sampler = "ddim", schedule = "rectified_flow", out = "samples.png", json,
              data_dir;
  int n = 16, steps = 50, batch = 64;
  double eta = 0, cfg = 1.5;
  std::uint64_t seed = 0;
};

struct LoadedModel {
  std::unique_ptr<dd::Denoiser> denoiser;
  std::vector<int64_t> sample_shape;  // per sample
  bool scatter = false;               // 2-D: draw a scatter plot instead of an image grid
  torch::ScalarType dtype = torch::kFloat64;
};

// --model: "" (the shipped flow-matching DiT), a DiT checkpoint, gmm (Fashion-MNIST-fitted mixture,
// 28x28), gmm2d (2-D toy, 10 classes) or a mixture spec *.json. --schedule applies to mixtures only.
LoadedModel load_model(const std::string& name, const std::string& schedule_name, const std::string& data_dir) {
  LoadedModel m;
  const dd::Schedule schedule = dd::Schedule::from_name(schedule_name);
  if (name == "gmm") {
    m.denoiser = std::make_unique<dd::GaussianMixtureDenoiser>(dd::fashion_mixture(data_dir), schedule);
    m.sample_shape = {1, 28, 28};
  } else if (name == "gmm2d") {
    m.denoiser = std::make_unique<dd::GaussianMixtureDenoiser>(dd::toy_mixture_2d(10), schedule);
    m.sample_shape = {2};
    m.scatter = true;
  } else if (name.size() > 5 && name.ends_with(".json")) {
    if (!std::filesystem::exists(name)) throw_not_found("--model file '" + name + "' does not exist");
    const dd::MixtureSpec spec = dd::parse_mixture_spec(read_json_file(name));
    m.sample_shape = {spec.dim};
    m.scatter = spec.dim == 2;
    m.denoiser = std::make_unique<dd::GaussianMixtureDenoiser>(spec, schedule);
  } else {
    const std::string path = name.empty() ? dd::default_model_path() : name;
    if (!std::filesystem::exists(path))
      throw_not_found(name.empty() ? "the shipped model " + path + " is missing (train it with `optidiff diffusion train`, "
                                                                   "or use --model gmm)"
                                   : "--model '" + name + "' is neither gmm, gmm2d, a mixture spec (*.json) nor an "
                                                          "existing checkpoint");
    m.denoiser = dd::load_denoiser(path);
    m.sample_shape = {1, 28, 28};
    m.dtype = torch::kFloat32;
  }
  return m;
}

// A class index from a name or index; Fashion-MNIST names when the model has 10 classes.
int resolve_class(const std::string& text, int num_classes) {
  if (text.empty()) throw_invalid("--class is required: a class name or index");
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    const int c = std::stoi(text);
    if (c < 0 || c >= num_classes)
      throw_invalid("--class is " + text + "; expected 0 <= class < " + std::to_string(num_classes));
    return c;
  }
  if (num_classes != data::kFashionClasses)
    throw_invalid("--class is '" + text + "'; this model has " + std::to_string(num_classes) +
                  " unnamed classes: give an index");
  return data::fashion_class_index(text);  // kInvalidArgument listing the names
}

std::string class_name(int c, int num_classes) {
  return num_classes == data::kFashionClasses ? std::string(data::fashion_short_names()[c]) : std::to_string(c);
}

// Distinct, readable colours for up to 10 classes (matplotlib's tab10).
constexpr std::array<std::array<std::uint8_t, 3>, 10> kPalette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                                               {214, 39, 40}, {148, 103, 189}, {140, 86, 75},
                                                               {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                                               {23, 190, 207}}};

struct ScatterSeries {
  torch::Tensor points;  // [n, 2] float64
  std::array<std::uint8_t, 3> color;
  int radius = 1;
};

// A square scatter plot of [-extent, extent]^2 with a title: hand-rolled because core has no plotting and
// a few thousand dots do not warrant a plotting library.
Image render_scatter(const std::vector<ScatterSeries>& series, const std::string& title, double extent = 3.0,
                     int size = 480) {
  Image img(size, size + 20, 3, 255);
  auto put = [&](int x, int y, const std::array<std::uint8_t, 3>& c) {
    if (x < 0 || y < 20 || x >= size || y >= size + 20) return;
    std::copy(c.begin(), c.end(), img.at(x, y));
  };
  for (int i = 0; i < size; ++i) {  // axes through the origin
    put(i, 20 + size / 2, {220, 220, 220});
    put(size / 2, 20 + i, {220, 220, 220});
  }
  for (const ScatterSeries& s : series) {
    const torch::Tensor p = s.points.to(torch::kFloat64).contiguous();
    const double* d = p.data_ptr<double>();
    for (int64_t i = 0; i < p.size(0); ++i) {
      const int cx = static_cast<int>((d[2 * i] / extent + 1) * 0.5 * size);
      const int cy = 20 + static_cast<int>((1 - d[2 * i + 1] / extent) * 0.5 * size);
      for (int dy = -s.radius; dy <= s.radius; ++dy)
        for (int dx = -s.radius; dx <= s.radius; ++dx)
          if (dx * dx + dy * dy <= s.radius * s.radius) put(cx + dx, cy + dy, s.color);
    }
  }
  draw_text(img, 4, 4, title);
  return img;
}

Image render_grid(const torch::Tensor& images, int columns, const std::vector<std::string>& labels = {}) {
  const torch::Tensor x = images.to(torch::kFloat32).reshape({images.size(0), 28, 28}).contiguous();
  std::vector<Image> tiles;
  for (int64_t i = 0; i < x.size(0); ++i) tiles.push_back(Image::from_gray(x[i].data_ptr<float>(), 28, 28, -1.f, 1.f));
  return image_grid(tiles, {.columns = columns, .labels = labels, .scale = 2});
}

struct SampleResult {
  torch::Tensor samples;  // [n, sample_shape...]
  dd::Plan plan;
  std::int64_t nfe = 0;
  double seconds = 0;
};

// Samples n images of class `label` in chunks of `batch` (results do not depend on batch: each sample's
// noise comes from its own stream).
SampleResult run_sampler(LoadedModel& m, const dd::PlanOptions& po, double cfg, int label, int n, int batch,
                         std::uint64_t seed) {
  SampleResult r;
  r.plan = dd::make_plan(m.denoiser->schedule(), po);
  const torch::Tensor noise = dd::draw_noise(r.plan, n, m.sample_shape, seed);
  const dd::DenoiseFn fn = dd::make_denoise_fn(*m.denoiser, r.plan.output, {.scale = cfg, .keep_halves = false});
  m.denoiser->reset_counters();
  Stopwatch sw;
  std::vector<torch::Tensor> chunks;
  for (int start = 0; start < n; start += batch) {
    const int end = std::min(n, start + batch);
    chunks.push_back(dd::sample(r.plan, fn, noise.slice(1, start, end), torch::full({end - start}, label, torch::kInt64),
                                m.dtype));
  }
  r.samples = torch::cat(chunks);
  r.seconds = sw.seconds();
  r.nfe = m.denoiser->nfe();
  return r;
}

void check_args(const SampleArgs& a) {
  if (a.steps < 1) throw_invalid("--steps is " + std::to_string(a.steps) + "; expected >= 1");
  dd::check_guidance_scale(a.cfg, "--cfg");
  if (a.n < 1) throw_invalid("--n is " + std::to_string(a.n) + "; expected >= 1");
  if (a.batch < 1) throw_invalid("--batch is " + std::to_string(a.batch) + "; expected >= 1");
}

void run_sample(const SampleArgs& a) {
  check_args(a);
  const dd::SamplerKind kind = dd::parse_sampler(a.sampler);
  LoadedModel m = load_model(a.model, a.schedule, a.data_dir);
  const int num_classes = m.denoiser->num_classes();
  const int label = resolve_class(a.class_name, num_classes);
  dd::PlanOptions po{.sampler = kind, .steps = a.steps, .eta = a.eta};
  {
    Table t({"model", "sampler", "steps", "eta", "cfg", "class", "n", "seed"}, "optidiff sample");
    t.add_row({m.denoiser->describe(), a.sampler, std::to_string(a.steps), format_double(a.eta, 3),
               format_double(a.cfg, 3), class_name(label, num_classes), std::to_string(a.n), std::to_string(a.seed)});
    t.print(std::cout);
  }
  const SampleResult r = run_sampler(m, po, a.cfg, label, a.n, a.batch, a.seed);
  if (m.scatter) {
    auto* gmm = dynamic_cast<dd::GaussianMixtureDenoiser*>(m.denoiser.get());
    Rng data_rng = Rng(a.seed).stream(~0ull);
    std::vector<ScatterSeries> series{{gmm->sample_data(2000, gmm->null_label(), data_rng), {200, 200, 200}, 1},
                                      {r.samples, kPalette[label % 10], 2}};
    write_png(a.out, render_scatter(series, "class " + class_name(label, num_classes) + ", " + a.sampler + " " +
                                                std::to_string(a.steps) + " steps, cfg " + format_double(a.cfg, 3)));
  } else {
    write_png(a.out, render_grid(r.samples, std::min(a.n, 8)));
  }
  Table t({"images", "NFE", "NFE per image", "seconds", "images/s", "out"});
  t.add_row({std::to_string(a.n), std::to_string(r.nfe), std::to_string(r.nfe / a.n), format_fixed(r.seconds, 2),
             format_double(a.n / std::max(r.seconds, 1e-9), 4), a.out});
  t.print(std::cout);
  if (!a.json.empty())
    write_json_file(a.json, {{"model", a.model},
                             {"model_description", m.denoiser->describe()},
                             {"schedule", m.denoiser->schedule().name()},
                             {"prediction", dd::prediction_name(m.denoiser->prediction())},
                             {"sampler", a.sampler},
                             {"steps", a.steps},
                             {"eta", r.plan.eta},
                             {"cfg", a.cfg},
                             {"seed", a.seed},
                             {"class", label},
                             {"class_name", class_name(label, num_classes)},
                             {"n", a.n},
                             {"nfe", r.nfe},
                             {"nfe_per_sample", r.nfe / a.n},
                             {"seconds", r.seconds},
                             {"out", a.out}});
}

}  // namespace

void add_sample_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Draw class-conditional samples with ddim|ddpm|euler|heun and CFG");
  auto a = std::make_shared<SampleArgs>();
  cmd->add_option("--model", a->model,
                  "DiT checkpoint (default: the shipped models/dit-flow-small/model.ckpt), gmm (Fashion-MNIST-fitted "
                  "Gaussian mixture), gmm2d (2-D toy mixture) or a mixture spec *.json");
  cmd->add_option("--class", a->class_name, "Class name (sneaker, ...) or index")->required();
  cmd->add_option("--n", a->n, "Number of samples")->capture_default_str();
  cmd->add_option("--steps", a->steps, "Sampling steps T")->capture_default_str();
  cmd->add_option("--sampler", a->sampler, "ddim, ddpm, euler or heun")->capture_default_str();
  cmd->add_option("--eta", a->eta, "DDIM eta in [0, 1] (0: deterministic)")->capture_default_str();
  cmd->add_option("--cfg", a->cfg, "Classifier-free guidance scale w >= 0 (1: conditional)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed (noise of sample i: stream i)")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "Mixture models only: rectified_flow, linear, squaredcos_cap_v2")
      ->capture_default_str();
  cmd->add_option("--batch", a->batch, "Samples per model call (results do not depend on it)")->capture_default_str();
  cmd->add_option("--out", a->out, "Output PNG")->capture_default_str();
  add_json_option(cmd, a->json);
  add_data_dir_option(cmd, a->data_dir);
  cmd->callback([a] { run_sample(*a); });
}

std::vector<TourRow> tour_diffusion(const TourContext& ctx) {
  std::vector<TourRow> rows;
  const std::string model_path = dd::default_model_path();
  if (std::filesystem::exists(model_path)) {
    // The shipped DiT: 8 samples per class, Euler 20 steps at w = 3, one row per class.
    Stopwatch sw;
    LoadedModel m = load_model("", "rectified_flow", "");
    std::vector<torch::Tensor> all;
    std::vector<std::string> labels;
    std::int64_t nfe = 0;
    for (int c = 0; c < m.denoiser->num_classes(); ++c) {
      const SampleResult r = run_sampler(m, {.sampler = dd::SamplerKind::kEuler, .steps = 20}, 3.0, c, 8, 8, ctx.seed);
      all.push_back(r.samples);
      nfe += r.nfe;
      for (int i = 0; i < 8; ++i) labels.push_back(i == 0 ? class_name(c, m.denoiser->num_classes()) : "");
    }
    const std::string out = ctx.out_dir + "/diffusion_dit_samples.png";
    write_png(out, render_grid(torch::cat(all), 8, labels));
    rows.push_back({"diffusion", "shipped DiT: 8 samples per class, euler 20 steps, cfg 3 -> " + out,
                    std::to_string(nfe / (8 * m.denoiser->num_classes())) + " NFE per image", sw.seconds()});
    // The eval numbers recorded in the model's manifest (written by the training/eval commands).
    const std::string manifest = std::filesystem::path(model_path).parent_path().string() + "/manifest.json";
    if (std::filesystem::exists(manifest)) {
      const Json j = read_json_file(manifest);
      std::string measured;
      // manifest "eval": {n, steps, floor_train_vs_test_frechet, results: [{cfg, class_accuracy, frechet_distance}]}
      if (j.contains("eval") && j["eval"].contains("results") && j["eval"]["results"].is_array())
        for (const auto& r : j["eval"]["results"]) {
          if (!r.contains("cfg") || !r.contains("class_accuracy") || !r.contains("frechet_distance")) continue;
          measured += measured.empty() ? "" : "; ";
          measured += "w " + format_double(r["cfg"].get<double>(), 3) + ": accuracy " +
                      format_fixed(r["class_accuracy"].get<double>(), 3) + ", Frechet " +
                      format_fixed(r["frechet_distance"].get<double>(), 1);
        }
      if (!measured.empty() && j["eval"].contains("floor_train_vs_test_frechet"))
        measured += " (floor " + format_fixed(j["eval"]["floor_train_vs_test_frechet"].get<double>(), 1) + ")";
      rows.push_back({"diffusion", "eval numbers from " + manifest, measured.empty() ? "(none recorded)" : measured, 0.0});
    }
    return rows;
  }
  // No checkpoint: the exact 2-D mixture, 10 classes x 100 samples, Heun 20 steps at w = 2, coloured by class.
  Stopwatch sw;
  LoadedModel m = load_model("gmm2d", "rectified_flow", "");
  std::vector<ScatterSeries> series;
  std::int64_t nfe = 0;
  for (int c = 0; c < 10; ++c) {
    const SampleResult r = run_sampler(m, {.sampler = dd::SamplerKind::kHeun, .steps = 20}, 2.0, c, 100, 100, ctx.seed);
    series.push_back({r.samples, kPalette[c], 2});
    nfe += r.nfe;
  }
  const std::string out = ctx.out_dir + "/diffusion_gmm2d.png";
  write_png(out, render_scatter(series, "exact 2-D mixture, heun 20 steps, cfg 2"));
  rows.push_back({"diffusion", "exact 2-D Gaussian mixture (no DiT checkpoint): 1000 samples, heun 20 steps, cfg 2 -> " + out,
                  std::to_string(nfe / 1000) + " NFE per sample", sw.seconds()});
  return rows;
}

}  // namespace optidiff::cli
