// optidiff recover [simulate | images]: M3O low-rank recovery with unknown correspondence, and
// baselines.
//   optidiff recover simulate --rows 100 --cols 100 --rank 5 --missing 0.6 --groups 2
//   optidiff recover images --n 200 --missing 0.2 --out halves.png
//   optidiff recover --input M.csv --mask MASK.csv --blocks 40,30,30 --out RECOVERED.csv
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/matrix/csv.hpp"
#include "optidiff/matrix/recover.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

// Flags shared by every form: which method, which prox, the annealing schedule.
struct SolverArgs {
  std::string method = "m3o", prox = "hard", svd = "auto";
  double lambda = 0.55, epsilon = 0.1, epsilon_min = 1e-6;
  int rank_k = 5, patience = 100, max_iterations = 50000, restarts = 1;
  bool relative_epsilon = false;
  std::uint64_t seed = 0;
};

void add_solver_options(CLI::App* cmd, SolverArgs& a) {
  cmd->add_option("--method", a.method, "m3o, alternating, separate or oracle")
      ->capture_default_str();
  cmd->add_option("--prox", a.prox,
                  "Singular-value step: soft (SVT), hard (threshold) or rank (rank-k)")
      ->capture_default_str();
  cmd->add_option("--lambda", a.lambda, "Threshold of soft/hard prox")->capture_default_str();
  cmd->add_option("--rank-k", a.rank_k, "Kept rank of --prox rank")->capture_default_str();
  cmd->add_option("--svd", a.svd, "auto, full or randomized (partial SVD)")->capture_default_str();
  cmd->add_option("--epsilon", a.epsilon, "Initial Sinkhorn temperature")->capture_default_str();
  cmd->add_option("--epsilon-min", a.epsilon_min, "Stop once the temperature falls below this")
      ->capture_default_str();
  cmd->add_flag("--relative-epsilon", a.relative_epsilon,
                "Temperatures in units of the median initial cost");
  cmd->add_option("--patience", a.patience,
                  "Halve the temperature after this many stale iterations")
      ->capture_default_str();
  cmd->add_option("--max-iterations", a.max_iterations, "Outer iterations at most")
      ->capture_default_str();
  cmd->add_option("--restarts", a.restarts,
                  "M3O runs from random starts; the lowest objective wins")
      ->capture_default_str();
  cmd->add_option("--seed", a.seed, "Random seed (data, start, randomized SVD)")
      ->capture_default_str();
}

matrix::RecoveryOptions solver_options(const SolverArgs& a) {
  matrix::RecoveryOptions o;
  o.method = matrix::parse_method(a.method);
  o.prox = {.kind = matrix::parse_prox_kind(a.prox),
            .lambda = a.lambda,
            .rank = a.rank_k,
            .svd = matrix::parse_svd_mode(a.svd)};
  matrix::validate(o.prox);
  o.m3o.temperature.initial = a.epsilon;
  o.m3o.temperature.minimum = a.epsilon_min;
  o.m3o.temperature.patience = a.patience;
  o.m3o.relative_epsilon = a.relative_epsilon;
  o.m3o.max_iterations = a.max_iterations;
  o.m3o.restarts = a.restarts;
  o.m3o.on_iteration = [](const matrix::M3OStatus& s) {
    if (s.iteration % 1000 == 0)
      log_info("m3o: start " + std::to_string(s.restart + 1) + ", iteration " +
               std::to_string(s.iteration) + ", objective " + format_double(s.objective, 6) +
               ", epsilon " + format_double(s.epsilon, 3) + ", certainty " +
               format_double(s.certainty, 3));
  };
  o.seed = a.seed;
  matrix::validate(o.m3o);
  return o;
}

void check_rank(const SolverArgs& a, Eigen::Index rows, Eigen::Index cols) {
  if (a.prox == "rank" && a.rank_k > std::min(rows, cols))
    throw_invalid("--rank-k is " + std::to_string(a.rank_k) +
                  "; expected at most min(rows, cols) = " + std::to_string(std::min(rows, cols)) +
                  " (the rank cannot exceed the matrix size)");
}

Json result_json(const SolverArgs& a, const matrix::RecoveryResult& r, const matrix::Metrics* m) {
  Json j = {{"method", a.method},
            {"prox", a.prox},
            {"lambda", a.lambda},
            {"rank_k", a.rank_k},
            {"seed", a.seed},
            {"restarts", a.restarts},
            {"iterations", r.iterations},
            {"seconds", r.seconds},
            {"svd_seconds", r.svd_seconds},
            {"assignment_seconds", r.assignment_seconds},
            {"objective", r.objective},
            {"stop_reason", r.stop_reason},
            {"argmax_collisions", r.argmax_collisions}};
  if (m) {
    j["rmse"] = m->rmse;
    j["rmse_blocks"] = m->rmse_blocks;
    j["permutation_errors"] = m->permutation_errors;
  }
  j["observed_row"] = r.observed_row;
  return j;
}

void print_result(const std::string& title, const SolverArgs& a, const matrix::RecoveryResult& r,
                  const matrix::Metrics& m, int matched_rows) {
  Table t(
      {"method", "rmse", "rmse (code)", "wrong rows", "iterations", "seconds", "svd share", "stop"},
      title);
  t.add_row({a.method, format_double(m.rmse), format_double(m.rmse_blocks),
             std::to_string(m.permutation_errors) + "/" + std::to_string(matched_rows),
             std::to_string(r.iterations), format_fixed(r.seconds, 2),
             format_fixed(r.seconds > 0 ? r.svd_seconds / r.seconds : 0, 2), r.stop_reason});
  t.print(std::cout);
}

void print_settings(const SolverArgs& a) {
  std::cout << "method " << a.method << ", prox " << a.prox
            << (a.prox == "rank" ? " k=" + std::to_string(a.rank_k)
                                 : " lambda=" + format_double(a.lambda))
            << ", epsilon " << format_double(a.epsilon) << (a.relative_epsilon ? " (relative)" : "")
            << " -> " << format_double(a.epsilon_min) << ", patience " << a.patience
            << ", restarts " << a.restarts << ", seed " << a.seed << "\n";
}

// ---- simulate -----------------------------------------------------------------------------------
struct SimulateArgs {
  matrix::SimulationOptions sim;
  SolverArgs solver;
  std::string json;
};

void run_simulate(const SimulateArgs& a) {
  matrix::SimulationOptions so = a.sim;
  so.seed = a.solver.seed;
  const matrix::Simulation sim = matrix::simulate(so);
  check_rank(a.solver, so.rows, so.cols);
  print_settings(a.solver);
  const matrix::RecoveryResult r =
      matrix::recover(sim.observed, solver_options(a.solver), &sim.observed_row);
  const matrix::Metrics m = matrix::evaluate(sim, r);
  print_result("M3O simulation: " + std::to_string(so.rows) + "x" + std::to_string(so.cols) +
                   ", rank " + std::to_string(so.rank) + ", noise " + format_double(so.noise) +
                   ", " + format_double(100 * so.missing) + "% missing, " +
                   std::to_string(so.groups) + " groups",
               a.solver, r, m, so.rows * so.groups);
  if (!a.json.empty()) {
    Json j = result_json(a.solver, r, &m);
    j["rows"] = so.rows, j["cols"] = so.cols, j["rank"] = so.rank, j["noise"] = so.noise;
    j["missing"] = so.missing, j["groups"] = so.groups, j["shuffled"] = so.shuffled;
    j["true_observed_row"] = sim.observed_row;
    write_json_file(a.json, j);
  }
}

// ---- images: Fashion-MNIST halves ---------------------------------------------------------------
struct ImagesArgs {
  int n = 200;
  double missing = 0.2;
  std::string data_dir, out = "recover_halves.png", json;
  SolverArgs solver;
};

struct HalvesRun {
  matrix::Metrics metrics;
  matrix::RecoveryResult result;
  int n = 0;
};

// Rows are test images; the reference block holds each image's left 14 columns (392 pixels), the
// shuffled block the right halves in an unknown order. A correct recovery re-joins every pair.
HalvesRun run_halves(const std::string& data_dir, int n, double missing, const SolverArgs& a,
                     const std::string& png) {
  const auto d = data::load_fashion_mnist(data::resolve_data_dir(data_dir), data::Split::kTest);
  if (n < 2 || static_cast<std::size_t>(n) > d.size())
    throw_invalid("--n is " + std::to_string(n) +
                  "; expected 2 <= n <= " + std::to_string(d.size()));
  const int h = d.rows, w = d.cols, half = w / 2;
  std::vector<std::size_t> idx(d.size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng(a.seed);
  for (int i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng.uniform_int(d.size() - i)]);
  Eigen::MatrixXd m(n, h * w);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        m(i, c < half ? r * half + c : h * half + r * (w - half) + (c - half)) =
            d.pixel(idx[i], r, c);
  check_rank(a, m.rows(), m.cols());
  const matrix::Simulation sim =
      matrix::shuffle_blocks(m, m, {h * half, h * (w - half)}, missing, a.seed);
  HalvesRun run;
  run.n = n;
  run.result = matrix::recover(sim.observed, solver_options(a), &sim.observed_row);
  run.metrics = matrix::evaluate(sim, run.result);
  if (!png.empty()) {
    // Up to 16 pairs: the true image, the re-joined halves (observed pixels), the recovered image.
    std::vector<Image> images;
    std::vector<std::string> labels;
    const int show = std::min(n, 16);
    auto to_image = [&](auto pixel) {
      std::vector<float> px(h * w);
      for (int r = 0; r < h; ++r)
        for (int c = 0; c < w; ++c) px[r * w + c] = static_cast<float>(pixel(r, c));
      return Image::from_gray(px.data(), w, h);
    };
    for (int i = 0; i < show; ++i) {
      const int j = run.result.observed_row[0][i];
      auto col = [&](int r, int c) {
        return c < half ? r * half + c : h * half + r * (w - half) + (c - half);
      };
      images.push_back(to_image([&](int r, int c) { return m(i, col(r, c)); }));
      labels.push_back("true");
      images.push_back(to_image([&](int r, int c) {
        const int k = col(r, c);
        return c < half ? sim.observed.values(i, k) : sim.observed.values(j, k);
      }));
      labels.push_back(j == sim.observed_row[0][i] ? "joined ok" : "joined X");
      images.push_back(to_image([&](int r, int c) { return run.result.estimate(i, col(r, c)); }));
      labels.push_back("recovered");
    }
    write_png(png, image_grid(images, {.columns = 6, .labels = labels, .scale = 2}));
  }
  return run;
}

void run_images(const ImagesArgs& a) {
  print_settings(a.solver);
  const HalvesRun run = run_halves(a.data_dir, a.n, a.missing, a.solver, a.out);
  print_result("Fashion-MNIST halves: " + std::to_string(a.n) +
                   " test images, left halves as reference, " + format_double(100 * a.missing) +
                   "% pixels missing",
               a.solver, run.result, run.metrics, a.n);
  std::cout << "re-joined correctly: " << (a.n - run.metrics.permutation_errors) << " of " << a.n
            << " halves; wrote " << a.out << "\n";
  if (!a.json.empty()) {
    Json j = result_json(a.solver, run.result, &run.metrics);
    j["n"] = a.n, j["missing"] = a.missing, j["rejoined"] = a.n - run.metrics.permutation_errors;
    j["png"] = a.out;
    write_json_file(a.json, j);
  }
}

// ---- a user's own matrix ------------------------------------------------------------------------
struct UserArgs {
  std::vector<std::string> inputs, masks;
  std::string blocks, out, json;
  SolverArgs solver;
};

std::vector<int> parse_blocks(const std::string& spec) {
  std::vector<int> widths;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 1)
      throw_invalid("--blocks is '" + spec +
                    "'; expected comma-separated positive column counts, reference "
                    "block first (e.g. 40,30,30)");
    widths.push_back(v);
  }
  if (widths.size() < 2)
    throw_invalid("--blocks is '" + spec +
                  "'; expected a reference block and at least one shuffled block");
  return widths;
}

void run_user(const UserArgs& a) {
  if (a.inputs.empty())
    throw_invalid("--input is required (or use `recover simulate` / `recover images`)");
  if (a.solver.method == "oracle")
    throw_invalid(
        "--method oracle needs the true permutations; use m3o, alternating or separate on your own "
        "matrix");
  std::vector<Eigen::MatrixXd> files, masks;
  for (const auto& p : a.inputs) files.push_back(matrix::read_csv_matrix(p));
  for (const auto& p : a.masks) masks.push_back(matrix::read_csv_matrix(p));
  if (!masks.empty() && masks.size() != files.size())
    throw_invalid("got " + std::to_string(masks.size()) + " --mask file(s) for " +
                  std::to_string(files.size()) + " --input file(s); expected one mask per input");
  // A missing value (NaN / empty field) in the input is a missing entry too.
  const bool user_masks = !masks.empty();
  if (!user_masks)
    for (const auto& f : files) masks.push_back(Eigen::MatrixXd::Ones(f.rows(), f.cols()));
  for (std::size_t f = 0; f < files.size(); ++f) {
    Eigen::MatrixXd& mk = masks[f];
    if (user_masks && (mk.rows() != files[f].rows() || mk.cols() != files[f].cols()))
      throw_invalid("--mask " + a.masks[f] + " is " + std::to_string(mk.rows()) + "x" +
                    std::to_string(mk.cols()) + "; expected " + std::to_string(files[f].rows()) +
                    "x" + std::to_string(files[f].cols()) + ", the shape of --input " +
                    a.inputs[f]);
    for (Eigen::Index j = 0; j < mk.cols(); ++j)
      for (Eigen::Index i = 0; i < mk.rows(); ++i)
        if (std::isnan(files[f](i, j))) mk(i, j) = 0, files[f](i, j) = 0;
  }
  std::vector<Eigen::MatrixXd> blocks, block_masks;
  if (files.size() == 1) {
    if (a.blocks.empty())
      throw_invalid("--blocks is required with a single --input (e.g. --blocks 40,30,30)");
    const auto widths = parse_blocks(a.blocks);
    const long total = std::accumulate(widths.begin(), widths.end(), 0L);
    if (total != files[0].cols())
      throw_invalid("--blocks " + a.blocks + " covers " + std::to_string(total) + " columns; " +
                    a.inputs[0] + " has " + std::to_string(files[0].cols()));
    for (std::size_t b = 0, c = 0; b < widths.size(); c += widths[b], ++b) {
      blocks.push_back(files[0].middleCols(c, widths[b]));
      block_masks.push_back(masks[0].middleCols(c, widths[b]));
    }
  } else {
    blocks = files;
    block_masks = masks;
    if (!a.blocks.empty()) {
      const auto widths = parse_blocks(a.blocks);
      for (std::size_t b = 0; b < files.size(); ++b)
        if (widths.size() != files.size() || widths[b] != files[b].cols())
          throw_invalid("--blocks " + a.blocks + " does not match the column counts of the " +
                        std::to_string(files.size()) + " --input files");
    }
  }
  matrix::Observation obs;
  try {
    obs = matrix::observation_from_blocks(blocks, block_masks);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) + " (in " + a.inputs[0] +
                              (a.inputs.size() > 1 ? ", ..." : "") + ")");
  }
  check_rank(a.solver, obs.values.rows(), obs.values.cols());
  print_settings(a.solver);
  const matrix::RecoveryResult r = matrix::recover(obs, solver_options(a.solver));
  // Fit on the observed entries, with the shuffled rows put where the method placed them.
  double sq = 0;
  long count = 0;
  for (int b = 0; b < static_cast<int>(obs.blocks.size()); ++b) {
    const int c = obs.block_start(b);
    for (int i = 0; i < obs.rows(); ++i) {
      const int src = b == 0 ? i : r.observed_row[b - 1][i];
      for (int k = c; k < c + obs.blocks[b]; ++k)
        if (obs.mask(src, k) != 0)
          sq += std::pow(r.estimate(i, k) - obs.values(src, k), 2), ++count;
    }
  }
  const double fit_rmse = std::sqrt(sq / std::max(1L, count));
  Table t({"method", "rows", "blocks", "observed", "fit rmse", "objective", "iterations", "seconds",
           "stop"},
          "M3O on " + a.inputs[0]);
  t.add_row({a.solver.method, std::to_string(obs.rows()), std::to_string(obs.blocks.size()),
             std::to_string(count), format_double(fit_rmse), format_double(r.objective),
             std::to_string(r.iterations), format_fixed(r.seconds, 2), r.stop_reason});
  t.print(std::cout);
  if (!a.out.empty()) {
    matrix::write_csv_matrix(a.out, r.estimate);
    std::cout << "wrote the recovered matrix (reference row order) to " << a.out << "\n";
  }
  if (!a.json.empty()) {
    Json j = result_json(a.solver, r, nullptr);
    j["fit_rmse"] = fit_rmse;
    j["rows"] = obs.rows();
    j["blocks"] = obs.blocks;
    write_json_file(a.json, j);
  }
}

}  // namespace

void add_recover_commands(CLI::App& app) {
  auto* recover = app.add_subcommand(
      "recover", "M3O: low-rank recovery when the rows of some blocks arrive in an unknown order");
  recover->require_subcommand(0, 1);
  auto user = std::make_shared<UserArgs>();
  recover->add_option("--input", user->inputs,
                      "CSV matrix [A, B1, ..] (or one CSV per block, reference first)");
  recover->add_option("--mask", user->masks,
                      "CSV of 0/1, same shape as --input (1 = observed; default: all)");
  recover->add_option("--blocks", user->blocks, "Column widths, reference first, e.g. 40,30,30");
  recover->add_option("--out", user->out, "Write the recovered matrix (CSV) here");
  add_json_option(recover, user->json);
  add_solver_options(recover, user->solver);
  recover->callback([recover, user] {
    if (recover->get_subcommands().empty()) run_user(*user);
  });

  auto sim = std::make_shared<SimulateArgs>();
  auto* s = recover->add_subcommand("simulate",
                                    "The paper's simulation (generate_matrix.m) and one method");
  s->add_option("--rows", sim->sim.rows, "Rows n")->capture_default_str();
  s->add_option("--cols", sim->sim.cols, "Columns m")->capture_default_str();
  s->add_option("--rank", sim->sim.rank, "Rank of M")->capture_default_str();
  s->add_option("--noise", sim->sim.noise,
                "Noise standard deviation (before the 2/max(n,m) scaling)")
      ->capture_default_str();
  s->add_option("--missing", sim->sim.missing, "Fraction of missing entries per block")
      ->capture_default_str();
  s->add_option("--groups", sim->sim.groups, "Shuffled groups G")->capture_default_str();
  s->add_option("--shuffled", sim->sim.shuffled, "Fraction of columns in the shuffled groups")
      ->capture_default_str();
  add_solver_options(s, sim->solver);
  add_json_option(s, sim->json);
  s->callback([sim] { run_simulate(*sim); });

  auto img = std::make_shared<ImagesArgs>();
  img->solver.prox = "rank";
  img->solver.rank_k = 30;
  img->solver.relative_epsilon = true;
  img->solver.epsilon = 2;
  img->solver.epsilon_min = 1e-4;
  img->solver.patience = 20;
  auto* im =
      recover->add_subcommand("images", "Fashion-MNIST: re-join left and right image halves");
  im->add_option("--n", img->n, "Test images (rows)")->capture_default_str();
  im->add_option("--missing", img->missing, "Fraction of missing pixels per half")
      ->capture_default_str();
  im->add_option("--out", img->out, "PNG: true, re-joined and recovered images")
      ->capture_default_str();
  add_data_dir_option(im, img->data_dir);
  add_solver_options(im, img->solver);
  add_json_option(im, img->json);
  im->callback([img] { run_images(*img); });
}

std::vector<TourRow> tour_matrix(const TourContext& ctx) {
  // A case M3O solves: rank 2, a reference block three times as wide as the shuffled one. M3O is a
  // local method (docs/m3o.md): single starts can stop in a local minimum, so the tour keeps the
  // best of 3 random starts by objective. Alternating minimisation from the same start stays wrong.
  Stopwatch sw;
  matrix::SimulationOptions so{.rows = 40,
                               .cols = 60,
                               .rank = 2,
                               .noise = 0.05,
                               .missing = 0.2,
                               .groups = 1,
                               .shuffled = 0.25,
                               .seed = ctx.seed};
  const matrix::Simulation sim = matrix::simulate(so);
  std::vector<TourRow> rows;
  for (matrix::Method method : {matrix::Method::kM3O, matrix::Method::kAlternating}) {
    sw.restart();
    matrix::RecoveryOptions o;
    o.method = method;
    o.seed = ctx.seed;
    o.m3o.temperature.patience = 10;
    o.m3o.restarts = 3;
    const auto r = matrix::recover(sim.observed, o, &sim.observed_row);
    const auto m = matrix::evaluate(sim, r);
    const std::string name =
        method == matrix::Method::kM3O ? "m3o (best of 3 starts)" : "alternating";
    rows.push_back({"matrix", name + ": 40x60 rank 2, 15 shuffled columns, 20% missing",
                    "wrong rows " + std::to_string(m.permutation_errors) + "/40, rmse " +
                        format_double(m.rmse, 3),
                    sw.seconds()});
  }
  return rows;
}

}  // namespace optidiff::cli
