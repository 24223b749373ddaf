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
#include "optidiff/diffusion/cfg_rejection.hpp"
#include "optidiff/diffusion/classifier.hpp"
#include "optidiff/diffusion/dit_denoiser.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/parallel/solver.hpp"
#include "optidiff/diffusion/sampler.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

namespace dd = optidiff::diffusion;

// Parallel sampling (--parallel): ParaTAA, FP or ParaDiGMS (optidiff/diffusion/parallel/solver.hpp). The
// has_* flags record which options were given: the defaults of the others depend on the method.
struct ParallelArgs {
  std::string method, warm_start_from, save_trajectory, convergence_png;
  int window = 0, order = 0, memory = 0, max_iters = 0, variation_steps = 0;
  double tol = 0;
  bool check = false, has_window = false, has_order = false, has_memory = false, has_tol = false;
  bool any() const {
    return has_window || has_order || has_memory || has_tol || check || max_iters != 0 || variation_steps != 0 ||
           !warm_start_from.empty() || !save_trajectory.empty() || !convergence_png.empty();
  }
};

struct SampleArgs {
  std::string model, class_name, sampler = "ddim", schedule = "rectified_flow", out = "samples.png", json,
              data_dir, precision = "auto";
  int n = 16, steps = 50, batch = 64;
  double eta = 0, cfg = 1.5;
  std::uint64_t seed = 0;
  // CFG-Rejection (--reject): N candidates, keep K at step tau.
  bool reject = false;
  int candidates = 20, keep = 4, at_step = 10;
  std::string asd = "paper";
  ParallelArgs par;
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

// The --json keys every mode of `optidiff sample` shares: model, plan and sampling settings.
Json sampling_json(const SampleArgs& a, const LoadedModel& m, const dd::Plan& plan, int label) {
  return {{"model", a.model},
          {"model_description", m.denoiser->describe()},
          {"schedule", m.denoiser->schedule().name()},
          {"prediction", dd::prediction_name(m.denoiser->prediction())},
          {"sampler", a.sampler},
          {"steps", a.steps},
          {"eta", plan.eta},
          {"cfg", a.cfg},
          {"seed", a.seed},
          {"class", label},
          {"class_name", class_name(label, m.denoiser->num_classes())}};
}

// --reject: CFG-Rejection (cfg_rejection.hpp) on --candidates N, keeping --keep K at step --at-step.
void run_reject(const SampleArgs& a, LoadedModel& m, const dd::PlanOptions& po, int label) {
  if (a.cfg == 1.0) throw_invalid("--reject needs classifier-free guidance: at --cfg 1 the conditional and "
                                  "unconditional predictions are not compared, so there is no score difference");
  const dd::RejectionOptions ro{.keep = a.keep, .at_step = a.at_step, .variant = dd::parse_asd_variant(a.asd)};
  ro.validate(a.candidates, a.steps);
  const dd::Plan plan = dd::make_plan(m.denoiser->schedule(), po);
  const torch::Tensor noise = dd::draw_noise(plan, a.candidates, m.sample_shape, a.seed);
  const dd::DenoiseFn fn = dd::make_denoise_fn(*m.denoiser, plan.output, {.scale = a.cfg});
  Stopwatch sw;
  const dd::RejectionResult r = dd::sample_with_rejection(
      plan, fn, *m.denoiser, noise, torch::full({a.candidates}, label, torch::kInt64), m.dtype, ro);
  const double seconds = sw.seconds();
  const std::int64_t best_of_n_nfe = 2LL * a.candidates * plan.evaluations();
  std::vector<std::string> labels;
  for (const auto i : r.kept) labels.push_back("#" + std::to_string(i));
  if (m.scatter)
    write_png(a.out, render_scatter({{r.samples, kPalette[label % 10], 3}}, "kept " + std::to_string(a.keep) + " of " +
                                                                            std::to_string(a.candidates) + " by ASD"));
  else
    write_png(a.out, render_grid(r.samples, std::min(a.keep, 8), labels));
  Table t({"candidate", "ASD", "kept"}, std::string("accumulated score difference (") + dd::asd_variant_name(ro.variant) +
                                          ") after " + std::to_string(a.at_step) + " of " + std::to_string(a.steps) +
                                          " steps");
  for (const auto i : dd::top_k_indices(r.asd, a.candidates))
    t.add_row({std::to_string(i), format_double(r.asd[i], 5), std::find(r.kept.begin(), r.kept.end(), i) != r.kept.end() ? "yes" : ""});
  t.print(std::cout);
  Table s({"kept", "NFE", "best-of-N NFE", "saving", "seconds", "out"});
  s.add_row({std::to_string(a.keep) + "/" + std::to_string(a.candidates), std::to_string(r.nfe),
             std::to_string(best_of_n_nfe), format_fixed(100.0 * (1.0 - double(r.nfe) / best_of_n_nfe), 1) + "%",
             format_fixed(seconds, 2), a.out});
  s.print(std::cout);
  if (!a.json.empty()) {
    Json j = sampling_json(a, m, plan, label);
    j.update(Json{{"candidates", a.candidates},
                  {"keep", a.keep},
                  {"at_step", a.at_step},
                  {"asd_variant", dd::asd_variant_name(ro.variant)},
                  {"asd", r.asd},
                  {"kept", r.kept},
                  {"nfe", r.nfe},
                  {"best_of_n_nfe", best_of_n_nfe},
                  {"seconds", seconds},
                  {"out", a.out}});
    write_json_file(a.json, j);
  }
}

// --out: a scatter over the mixture's data for 2-D models, else an image grid.
void write_samples(const SampleArgs& a, LoadedModel& m, const torch::Tensor& samples, int label) {
  if (m.scatter) {
    auto* gmm = dynamic_cast<dd::GaussianMixtureDenoiser*>(m.denoiser.get());
    Rng data_rng = Rng(a.seed).stream(~0ull);
    std::vector<ScatterSeries> series{{gmm->sample_data(2000, gmm->null_label(), data_rng), {200, 200, 200}, 1},
                                      {samples, kPalette[label % 10], 2}};
    write_png(a.out, render_scatter(series, "class " + class_name(label, m.denoiser->num_classes()) + ", " + a.sampler +
                                                " " + std::to_string(a.steps) + " steps, cfg " + format_double(a.cfg, 3)));
  } else {
    write_png(a.out, render_grid(samples, std::min(a.n, 8)));
  }
}

// The method's defaults for every option not given on the command line.
dd::ParallelOptions parallel_options(const ParallelArgs& p) {
  const dd::ParallelMethod method = dd::parse_parallel_method(p.method);
  dd::ParallelOptions o = dd::parallel_defaults(method);
  if (method == dd::ParallelMethod::kFp && (p.has_order || p.has_memory))
    throw_invalid("--order and --memory do not apply to --parallel fp (order 1, memory 1); FP+ is --parallel paratAA "
                  "--memory 1");
  if (p.has_window) o.window = p.window;
  if (p.has_order) o.order = p.order;
  if (p.has_memory) o.memory = p.memory;
  if (p.has_tol) {
    if (!std::isfinite(p.tol) || p.tol <= 0) throw_invalid("--tol is " + format_double(p.tol, 6) + "; expected a positive number");
    if (method == dd::ParallelMethod::kParadigms) o.tolerance = p.tol;
    else o.tol1 = o.tol2 = p.tol;
  }
  o.max_iters = p.max_iters;
  o.validate();
  return o;
}

// --parallel: solves the plan with all timesteps at once; --check also samples sequentially (same noise, float64)
// and reports the RMS difference. Writes the samples, the convergence plot and optionally the trajectory.
void run_parallel(const SampleArgs& a, LoadedModel& m, const dd::PlanOptions& po, int label) {
  const ParallelArgs& p = a.par;
  dd::ParallelOptions opt = parallel_options(p);
  const dd::Plan plan = dd::make_plan(m.denoiser->schedule(), po);
  const torch::Tensor noise = dd::draw_noise(plan, a.n, m.sample_shape, a.seed);
  const torch::Tensor labels = torch::full({a.n}, label, torch::kInt64);
  const dd::DenoiseFn fn = dd::make_denoise_fn(*m.denoiser, plan.output, {.scale = a.cfg, .keep_halves = false});
  if (!p.warm_start_from.empty())
    opt.warm_start = dd::WarmStart{dd::load_warm_start(p.warm_start_from, plan, a.n, m.sample_shape), p.variation_steps};
  else if (p.variation_steps != 0)
    throw_invalid("--variation-steps needs --warm-start-from");
  m.denoiser->reset_counters();
  Stopwatch sw;
  const dd::ParallelResult r = dd::solve_parallel(plan, fn, noise, labels, opt, nullptr, m.denoiser.get());
  const double seconds = sw.seconds();
  Json rms = nullptr, seq_nfe = nullptr, seq_seconds = nullptr;
  if (p.check) {
    m.denoiser->reset_counters();
    Stopwatch seq_sw;
    const torch::Tensor seq = dd::sample(plan, fn, noise, labels, torch::kFloat64);
    seq_seconds = seq_sw.seconds();
    seq_nfe = m.denoiser->nfe();
    rms = (r.x0 - seq).pow(2).mean().sqrt().item<double>();
  }
  write_samples(a, m, r.x0, label);
  const std::string method = dd::parallel_method_name(opt.method);
  const std::string convergence = p.convergence_png.empty()
                                      ? std::filesystem::path(a.out).replace_extension("").string() + "_convergence.png"
                                      : p.convergence_png;
  write_png(convergence, dd::render_convergence(r, method + ", " + a.sampler + " " + std::to_string(a.steps) +
                                                       " steps, cfg " + format_double(a.cfg, 3) + ": " +
                                                       std::to_string(r.rounds) + " rounds"));
  if (!p.save_trajectory.empty())
    dd::save_trajectory(p.save_trajectory, r.trajectory, plan,
                        {{"class", label}, {"seed", a.seed}, {"cfg", a.cfg}, {"model", m.denoiser->describe()}});
  const bool paradigms = opt.method == dd::ParallelMethod::kParadigms;
  const int order = opt.order == 0 ? opt.window : opt.order;
  const double tol = paradigms ? opt.tolerance : opt.tol1;
  Table t({"method", "W", "k", "m", "tol", "rounds", "NFE", "seconds", "rms vs sequential", "sequential NFE",
           "sequential seconds"},
          r.stop_reason);
  t.add_row({method, std::to_string(opt.window), paradigms ? "-" : std::to_string(order),
             paradigms ? "-" : std::to_string(opt.memory), format_double(tol, 3), std::to_string(r.rounds),
             std::to_string(r.nfe), format_fixed(seconds, 2), p.check ? format_double(rms.get<double>(), 3) : "-",
             p.check ? std::to_string(seq_nfe.get<std::int64_t>()) : "-",
             p.check ? format_fixed(seq_seconds.get<double>(), 2) : "-"});
  t.print(std::cout);
  std::cout << "samples: " << a.out << ", convergence: " << convergence << "\n";
  if (a.json.empty()) return;
  Json history = Json::array();
  for (const dd::RoundRecord& rec : r.history)
    history.push_back({{"round", rec.round}, {"window_lo", rec.window_lo}, {"window_hi", rec.window_hi},
                       {"finished", rec.finished}, {"accelerated", rec.accelerated}, {"nfe", rec.nfe},
                       {"residual", rec.residual}});
  Json j = sampling_json(a, m, plan, label);
  j.update(Json{{"n", a.n},
                {"parallel", method},
                {"window", opt.window},
                {"order", paradigms ? Json(nullptr) : Json(order)},
                {"memory", paradigms ? Json(nullptr) : Json(opt.memory)},
                {"lambda", opt.lambda},
                {"tol1", opt.tol1},
                {"tol2", opt.tol2},
                {"tolerance", opt.tolerance},
                {"max_iters", opt.max_iters},
                {"warm_start_from", p.warm_start_from},
                {"variation_steps", p.variation_steps},
                {"rounds", r.rounds},
                {"converged", r.converged},
                {"stop_reason", r.stop_reason},
                {"nfe", r.nfe},
                {"seconds", seconds},
                {"rms_vs_sequential", rms},
                {"sequential_nfe", seq_nfe},
                {"sequential_seconds", seq_seconds},
                {"threshold", r.threshold},
                {"history", history},
                {"out", a.out},
                {"convergence_png", convergence}});
  write_json_file(a.json, j);
}

void run_sample(const SampleArgs& a) {
  // Sampling needs no autograd graph (PNO, which does, calls the library directly).
  torch::NoGradGuard no_grad;
  check_args(a);
  if (a.reject && !a.par.method.empty()) throw_invalid("--parallel and --reject cannot be combined");
  if (a.par.method.empty() && a.par.any())
    throw_invalid("--window, --order, --memory, --tol, --max-iters, --warm-start-from, --variation-steps, "
                  "--save-trajectory, --convergence-png and --check need --parallel paratAA|paradigms|fp");
  const dd::SamplerKind kind = dd::parse_sampler(a.sampler);
  LoadedModel m = load_model(a.model, a.schedule, a.data_dir);
  if (auto* dit = dynamic_cast<dd::DitDenoiser*>(m.denoiser.get())) {
    // Parallel sampling compares against sequential sampling at a tolerance: fp32 unless asked for bf16.
    const auto p = dd::parse_precision(a.precision);
    dit->set_precision(!a.par.method.empty() && p == dd::Precision::kAuto ? dd::Precision::kFp32 : p);
  } else {
    dd::parse_precision(a.precision);  // validated for every model; mixtures are exact float64
  }
  const int num_classes = m.denoiser->num_classes();
  const int label = resolve_class(a.class_name, num_classes);
  dd::PlanOptions po{.sampler = kind, .steps = a.steps, .eta = a.eta};
  {
    Table t({"model", "sampler", "steps", "eta", "cfg", "class", "n", "seed"}, "optidiff sample");
    t.add_row({m.denoiser->describe(), a.sampler, std::to_string(a.steps), format_double(a.eta, 3),
               format_double(a.cfg, 3), class_name(label, num_classes),
               std::to_string(a.reject ? a.candidates : a.n), std::to_string(a.seed)});
    t.print(std::cout);
  }
  if (a.reject) return run_reject(a, m, po, label);
  if (!a.par.method.empty()) return run_parallel(a, m, po, label);
  const SampleResult r = run_sampler(m, po, a.cfg, label, a.n, a.batch, a.seed);
  write_samples(a, m, r.samples, label);
  Table t({"images", "NFE", "NFE per image", "seconds", "images/s", "out"});
  t.add_row({std::to_string(a.n), std::to_string(r.nfe), std::to_string(r.nfe / a.n), format_fixed(r.seconds, 2),
             format_double(a.n / std::max(r.seconds, 1e-9), 4), a.out});
  t.print(std::cout);
  if (!a.json.empty()) {
    Json j = sampling_json(a, m, r.plan, label);
    j.update(Json{{"n", a.n},
                  {"nfe", r.nfe},
                  {"nfe_per_sample", r.nfe / a.n},
                  {"seconds", r.seconds},
                  {"out", a.out}});
    write_json_file(a.json, j);
  }
}

}  // namespace

void add_sample_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Draw class-conditional samples with ddim|ddpm|euler|heun and CFG");
  auto a = std::make_shared<SampleArgs>();
  cmd->add_option("--model", a->model,
                  "DiT checkpoint (default: the shipped models/dit-flow-small/model.ckpt), gmm (Fashion-MNIST-fitted "
                  "Gaussian mixture), gmm2d (2-D toy mixture) or a mixture spec *.json");
  cmd->add_option("--class", a->class_name, "Class name (sneaker, ...) or index")->required();
  auto* n_opt = cmd->add_option("--n", a->n, "Number of samples (with --reject: use --candidates)")->capture_default_str();
  cmd->add_option("--steps", a->steps, "Sampling steps T")->capture_default_str();
  cmd->add_option("--sampler", a->sampler, "ddim, ddpm, euler or heun")->capture_default_str();
  cmd->add_option("--eta", a->eta, "DDIM eta in [0, 1] (0: deterministic)")->capture_default_str();
  cmd->add_option("--cfg", a->cfg, "Classifier-free guidance scale w >= 0 (1: conditional)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed (noise of sample i: stream i)")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "Mixture models only: rectified_flow, linear, squaredcos_cap_v2")
      ->capture_default_str();
  cmd->add_option("--batch", a->batch, "Samples per model call (results do not depend on it)")->capture_default_str();
  cmd->add_option("--precision", a->precision,
                  "DiT arithmetic: fp32, bf16 (CPU autocast) or auto (bf16 where the CPU has native bf16; "
                  "fp32 with --parallel)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "Output PNG")->capture_default_str();
  cmd->add_flag("--reject", a->reject,
                "CFG-Rejection: run --candidates for --at-step steps, finish the --keep with the highest accumulated "
                "score difference")
      ->excludes(n_opt);
  cmd->add_option("--candidates", a->candidates, "CFG-Rejection: N candidates, sampled in one batch")
      ->capture_default_str();
  cmd->add_option("--keep", a->keep, "CFG-Rejection: K survivors, 1 <= K <= N")->capture_default_str();
  cmd->add_option("--at-step", a->at_step, "CFG-Rejection: tau, the step at which candidates are selected, 1 <= tau < steps")
      ->capture_default_str();
  cmd->add_option("--asd", a->asd, "CFG-Rejection: paper (sum of squared score differences) or code (mean of the "
                                   "released code's norm)")
      ->capture_default_str();
  cmd->add_option("--parallel", a->par.method,
                  "Parallel sampling, all timesteps at once, one batched model call per round: paratAA (ParaTAA), "
                  "fp (plain fixed point) or paradigms (ParaDiGMS)");
  auto* window_opt = cmd->add_option("--window", a->par.window,
                                     "Parallel: window W, unknowns per round (default: paratAA and fp 100, paradigms 10)");
  auto* order_opt = cmd->add_option("--order", a->par.order, "ParaTAA: order k of the unrolled equations, 1 <= k <= W "
                                                             "(default: k = W)");
  auto* memory_opt = cmd->add_option("--memory", a->par.memory, "ParaTAA: TAA memory m >= 1 (default 2; 1: no "
                                                                "acceleration, FP+)");
  auto* tol_opt = cmd->add_option("--tol", a->par.tol, "Parallel: tolerance (paratAA and fp: tol1 = tol2, default "
                                                       "1e-3; paradigms: default 0.1)");
  cmd->add_option("--max-iters", a->par.max_iters, "Parallel: cap on rounds (0: none; never more than --steps)")
      ->capture_default_str();
  cmd->add_option("--warm-start-from", a->par.warm_start_from,
                  "Parallel: initial guess from a trajectory written by --save-trajectory (same model schedule, "
                  "sampler, steps and n)");
  cmd->add_option("--variation-steps", a->par.variation_steps,
                  "Parallel, with --warm-start-from: solve only the last V steps, keeping x_{>=V} (0: all steps, the "
                  "pure warm start)")
      ->capture_default_str();
  cmd->add_option("--save-trajectory", a->par.save_trajectory, "Parallel: write the solved trajectory x_0..x_T");
  cmd->add_option("--convergence-png", a->par.convergence_png,
                  "Parallel: residual per timestep per round (default: <out>_convergence.png)");
  cmd->add_flag("--check", a->par.check,
                "Parallel: also sample sequentially with the same noise and report the RMS difference");
  add_json_option(cmd, a->json);
  add_data_dir_option(cmd, a->data_dir);
  cmd->callback([a, window_opt, order_opt, memory_opt, tol_opt] {
    a->par.has_window = window_opt->count() > 0;
    a->par.has_order = order_opt->count() > 0;
    a->par.has_memory = memory_opt->count() > 0;
    a->par.has_tol = tol_opt->count() > 0;
    run_sample(*a);
  });
}

// CFG-Rejection beside its reference at the same number of kept samples: 16 shirts (the hardest class),
// keep 4 by ASD after 5 of 20 Euler steps at w = 2, against 4 candidates finished without selection.
TourRow tour_cfg_rejection(LoadedModel& m, const TourContext& ctx) {
  Stopwatch sw;
  const int label = data::fashion_class_index("shirt"), n = 16, keep = 4;
  const dd::Plan plan = dd::make_plan(m.denoiser->schedule(), {.sampler = dd::SamplerKind::kEuler, .steps = 20});
  const torch::Tensor noise = dd::draw_noise(plan, n, m.sample_shape, ctx.seed);
  const torch::Tensor labels = torch::full({n}, label, torch::kInt64);
  const dd::DenoiseFn fn = dd::make_denoise_fn(*m.denoiser, plan.output, {.scale = 2.0});
  const dd::RejectionResult r =
      dd::sample_with_rejection(plan, fn, *m.denoiser, noise, labels, m.dtype, {.keep = keep, .at_step = 5});
  const torch::Tensor plain = dd::sample(plan, fn, noise.slice(1, 0, keep), labels.slice(0, 0, keep), m.dtype);
  dd::Classifier classifier = dd::load_classifier(dd::default_classifier_path());
  auto confidence = [&](const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    classifier->eval();
    return torch::softmax(classifier->forward(x.to(torch::kFloat32)), 1).select(1, label).mean().item<double>();
  };
  return {"cfg-rejection", "16 shirt candidates, keep 4 by ASD at step 5 of 20 (w 2) vs 4 without selection",
          "classifier confidence " + format_fixed(confidence(r.samples), 3) + " vs " + format_fixed(confidence(plain), 3) +
              "; " + std::to_string(r.nfe) + " vs " + std::to_string(2 * keep * plan.steps()) + " NFE",
          sw.seconds()};
}

// ParaTAA beside sequential sampling in the paper's headline setting, DDIM-100 (one sample, w = 3).
TourRow tour_parallel(LoadedModel& m, const TourContext& ctx, int label) {
  Stopwatch sw;
  const dd::Plan plan = dd::make_plan(m.denoiser->schedule(), {.sampler = dd::SamplerKind::kDdim, .steps = 100});
  const torch::Tensor noise = dd::draw_noise(plan, 1, m.sample_shape, ctx.seed);
  const torch::Tensor labels = torch::full({1}, label, torch::kInt64);
  const dd::DenoiseFn fn = dd::make_denoise_fn(*m.denoiser, plan.output, {.scale = 3.0, .keep_halves = false});
  Stopwatch seq_sw;
  const torch::Tensor seq = dd::sample(plan, fn, noise, labels, torch::kFloat64);
  const double seq_seconds = seq_sw.seconds();
  Stopwatch par_sw;
  const dd::ParallelResult r =
      dd::solve_parallel(plan, fn, noise, labels, dd::parallel_defaults(dd::ParallelMethod::kParaTaa));
  const double par_seconds = par_sw.seconds();
  const std::string out = ctx.out_dir + "/diffusion_paratAA_convergence.png";
  write_png(out, dd::render_convergence(r, "ParaTAA, ddim 100 steps, cfg 3: " + std::to_string(r.rounds) + " rounds"));
  const double rms = (r.x0 - seq).pow(2).mean().sqrt().item<double>();
  return {"paratAA", "DDIM-100 at w 3, ParaTAA (W 100, k 100, m 2, tol 1e-3) beside sequential -> " + out,
          std::to_string(r.rounds) + " rounds vs 100 sequential steps, RMS difference " + format_double(rms, 2) + "; " +
              format_fixed(par_seconds, 1) + " s vs " + format_fixed(seq_seconds, 1) + " s on this CPU",
          sw.seconds()};
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
    if (std::filesystem::exists(dd::default_classifier_path())) rows.push_back(tour_cfg_rejection(m, ctx));
    rows.push_back(tour_parallel(m, ctx, data::fashion_class_index("sneaker")));
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
  rows.push_back(tour_parallel(m, ctx, 3));
  return rows;
}

}  // namespace optidiff::cli
