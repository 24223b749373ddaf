// optidiff sparse-code: SPSC self-paced robust sparse coding and its baselines on digits, Fashion-MNIST or a
// CSV, with controlled corruptions, scored on clean held-out data (docs/spsc.md).
#include <cmath>
#include <filesystem>
#include <iostream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/sparse/corruption.hpp"
#include "optidiff/sparse/datasets.hpp"
#include "optidiff/sparse/evaluate.hpp"
#include "optidiff/sparse/spsc.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

struct SparseCodeArgs {
  std::string data = "digits", data_dir, level = "sample", regularizer = "mixture", corrupt = "none", json,
              atoms_png;
  int atoms = 64, max_sweeps = 30, admit_sweeps = 10, train_per_class = 100, test_per_class = 50, max_train = 0;
  double lambda = 0.1, initial_admitted = 0.5, age_growth = 1.15, max_admitted = 1.0, test_fraction = 0.3;
  bool l1_fidelity = false, full_size = false, csv_header = false, csv_labels = false, quiet_table = false;
  std::uint64_t seed = 0;
};

// Loads (train, clean held-out test) as the --data flag says.
std::pair<sparse::LabeledData, sparse::LabeledData> load_split(const SparseCodeArgs& a) {
  if (a.data == "fmnist") {
    const std::string dir = data::resolve_data_dir(a.data_dir);
    return {sparse::load_fashion_subset(dir, data::Split::kTrain, a.train_per_class, !a.full_size, a.seed),
            sparse::load_fashion_subset(dir, data::Split::kTest, a.test_per_class, !a.full_size, a.seed)};
  }
  sparse::LabeledData all;
  if (a.data == "digits") {
    all = sparse::load_digits();
  } else {
    if (!std::filesystem::exists(a.data))
      throw_not_found("--data is '" + a.data + "': no such file; expected fmnist, digits or a CSV file");
    all = sparse::load_csv(a.data, a.csv_header, a.csv_labels);
  }
  auto split = sparse::split_train_test(all, a.test_fraction, a.seed);
  if (a.max_train > 0) split.first = sparse::first_samples(split.first, a.max_train);
  return split;
}

Image atoms_image(const Eigen::MatrixXd& B, int rows, int cols) {
  std::vector<Image> tiles;
  for (Eigen::Index j = 0; j < B.cols(); ++j) {
    const Eigen::VectorXf b = B.col(j).cast<float>();
    const float lo = b.minCoeff(), hi = b.maxCoeff();
    tiles.push_back(Image::from_gray(b.data(), cols, rows, lo, hi > lo ? hi : lo + 1));
  }
  const int columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(B.cols()))));
  return image_grid(tiles, {.columns = columns, .labels = {}, .scale = std::max(1, 56 / std::max(rows, cols)), .padding = 2});
}

Json run_sparse_code(const SparseCodeArgs& a, bool print) {
  sparse::SpscOptions o{.atoms = a.atoms, .lambda = a.lambda, .level = sparse::parse_level(a.level),
                        .regularizer = sparse::parse_regularizer(a.regularizer), .l1_fidelity = a.l1_fidelity,
                        .initial_admitted = a.initial_admitted, .age_growth = a.age_growth,
                        .max_admitted = a.max_admitted, .admit_sweeps = a.admit_sweeps, .max_sweeps = a.max_sweeps,
                        .seed = a.seed};
  sparse::validate(o);
  const sparse::Corruption corruption = sparse::parse_corruption(a.corrupt);
  auto [train, test] = load_split(a);
  if (!a.atoms_png.empty() && train.image_rows == 0)
    throw_invalid("--atoms-png needs image-shaped samples; " + train.name + " has " + std::to_string(train.X.rows()) +
                  " features, not a square number");
  Rng rng = Rng(a.seed).stream(1);
  const auto corrupted = sparse::corrupt(train.X, corruption, train.image_rows, train.image_cols, train.X.minCoeff(),
                                         train.X.maxCoeff(), rng);
  const std::string method = a.l1_fidelity ? "L1-fidelity SC"
                             : o.level == sparse::Level::kNone
                                 ? "plain SC"
                                 : "SPSC-" + a.level + " (" + a.regularizer + ")";
  if (print) {
    std::cout << "sparse-code: " << method << " on " << train.name << ": " << train.X.cols() << " train / "
              << test.X.cols() << " clean test samples of " << train.X.rows() << " features; K = " << a.atoms
              << ", lambda = " << format_double(a.lambda) << ", corruption " << corruption.str() << " ("
              << format_fixed(100 * corrupted.corrupted_elements, 1) << "% of elements), seed " << a.seed << "\n";
  }
  Progress bar("sparse-code", a.max_sweeps);
  o.on_sweep = [&bar](int sweep, int) { bar.update(sweep); };
  Stopwatch sw;
  const sparse::SpscResult r = sparse::spsc(corrupted.data, o);
  const double seconds = sw.seconds();
  bar.finish();
  const auto scores = sparse::score_dictionary(r.dictionary, a.lambda, corrupted.data, train.labels, test.X,
                                               test.labels, train.classes, a.seed);
  const auto& last = r.history.back();
  auto or_null = [](double v) { return std::isnan(v) ? Json(nullptr) : Json(v); };
  Json history = Json::array();
  for (const auto& h : r.history)
    history.push_back({{"sweep", h.sweep}, {"age", h.age}, {"objective", h.objective},
                       {"sc_objective", h.sc_objective}, {"admitted", h.admitted}, {"mean_weight", h.mean_weight},
                       {"lasso_iterations", h.lasso_iterations}, {"seconds", h.seconds}});
  Json out = {{"method", method},
              {"data", train.name},
              {"level", a.level},
              {"regularizer", a.regularizer},
              {"l1_fidelity", a.l1_fidelity},
              {"corruption", corruption.str()},
              {"atoms", a.atoms},
              {"lambda", a.lambda},
              {"seed", a.seed},
              {"train_samples", train.X.cols()},
              {"test_samples", test.X.cols()},
              {"features", train.X.rows()},
              {"objective", last.objective},
              {"sc_objective", last.sc_objective},
              {"admitted", last.admitted},
              {"sweeps", r.history.size()},
              {"stop_reason", r.stop_reason},
              {"clean_reconstruction_error", scores.clean_reconstruction_error},
              {"accuracy", or_null(scores.accuracy)},
              {"kmeans_acc", or_null(scores.kmeans_acc)},
              {"nmi", or_null(scores.nmi)},
              {"mean_nonzeros", scores.mean_nonzeros},
              {"seconds", seconds},
              {"history", history}};
  if (print) {
    Table sweeps({"sweep", "age", "objective", "SC objective", "admitted", "mean v", "FISTA its", "s"},
                 "\nSweeps (" + r.stop_reason + ")");
    const std::size_t n = r.history.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (n > 12 && i >= 5 && i + 5 < n) continue;  // first and last five of a long run
      const auto& h = r.history[i];
      sweeps.add_row({std::to_string(h.sweep), format_double(h.age), format_double(h.objective, 6),
                      format_double(h.sc_objective, 6), format_fixed(h.admitted, 3), format_fixed(h.mean_weight, 3),
                      std::to_string(h.lasso_iterations), format_fixed(h.seconds, 2)});
    }
    sweeps.print(std::cout);
    auto fmt = [](double v) { return std::isnan(v) ? std::string("n/a") : format_fixed(v, 4); };
    Table t({"method", "objective", "clean recon error", "accuracy", "k-means ACC", "NMI", "nonzeros", "seconds"},
            "\nResult (scored on clean held-out data)");
    t.add_row({method, format_double(last.objective, 6), fmt(scores.clean_reconstruction_error), fmt(scores.accuracy),
               fmt(scores.kmeans_acc), fmt(scores.nmi), format_fixed(scores.mean_nonzeros, 1),
               format_fixed(seconds, 2)});
    t.print(std::cout);
  }
  if (!a.atoms_png.empty()) {
    write_png(a.atoms_png, atoms_image(r.dictionary, train.image_rows, train.image_cols));
    if (print) std::cout << "wrote " << a.atoms_png << ": " << a.atoms << " atoms\n";
  }
  if (!a.json.empty()) write_json_file(a.json, out);
  return out;
}

}  // namespace

void add_sparse_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("sparse-code",
                                 "SPSC self-paced robust sparse coding (or plain / L1 sparse coding) with corruptions");
  auto a = std::make_shared<SparseCodeArgs>();
  cmd->add_option("--data", a->data, "fmnist, digits (scikit-learn's 8x8) or a CSV file (one sample per line)")
      ->capture_default_str();
  cmd->add_option("--atoms", a->atoms, "Dictionary size K (>= 1)")->capture_default_str();
  cmd->add_option("--lambda", a->lambda, "l1 penalty on the codes (> 0), objective 1/2||X-BS||^2 + lambda|S|_1")
      ->capture_default_str();
  cmd->add_option("--level", a->level, "Self-paced weights on: none (plain sparse coding), sample, feature, element")
      ->capture_default_str();
  cmd->add_option("--regularizer", a->regularizer, "Self-paced regulariser: hard, linear or mixture")
      ->capture_default_str();
  cmd->add_flag("--l1-fidelity", a->l1_fidelity, "Baseline: L1 data term ||X-BS||_1 (with --level none)");
  cmd->add_option("--corrupt", a->corrupt,
                  "Corrupt the training data: none or KIND:FRACTION, KIND outlier|saltpepper|block|deadpixel, "
                  "0 <= FRACTION < 1")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed (subset, split, corruption, initial dictionary)")
      ->capture_default_str();
  add_json_option(cmd, a->json);
  cmd->add_option("--atoms-png", a->atoms_png, "Draw the learned atoms as a PNG grid");
  cmd->add_option("--max-sweeps", a->max_sweeps, "Outer V/S/B sweeps")->capture_default_str();
  cmd->add_option("--initial-admitted", a->initial_admitted, "Fraction of units admitted at the start (0, 1]")
      ->capture_default_str();
  cmd->add_option("--age-growth", a->age_growth, "Age multiplier per sweep (> 1)")->capture_default_str();
  cmd->add_option("--max-admitted", a->max_admitted, "The age stops growing at this admitted fraction (0, 1]")
      ->capture_default_str();
  cmd->add_option("--admit-sweeps", a->admit_sweeps, "Sweeps by which --max-admitted of the units is admitted")
      ->capture_default_str();
  cmd->add_option("--train-per-class", a->train_per_class, "fmnist: training images per class")
      ->capture_default_str();
  cmd->add_option("--test-per-class", a->test_per_class, "fmnist: clean test images per class")
      ->capture_default_str();
  cmd->add_flag("--full-size", a->full_size, "fmnist: keep 28x28 (default: 2x2-averaged to 14x14)");
  cmd->add_option("--test-fraction", a->test_fraction, "digits/CSV: held-out fraction")->capture_default_str();
  cmd->add_option("--max-train", a->max_train, "digits/CSV: use at most this many training samples (0: all)")
      ->capture_default_str();
  cmd->add_flag("--csv-header", a->csv_header, "CSV: skip the first line");
  cmd->add_flag("--csv-labels", a->csv_labels, "CSV: the last column is an integer class label");
  add_data_dir_option(cmd, a->data_dir);
  cmd->callback([a] { run_sparse_code(*a, true); });
}

std::vector<TourRow> tour_sparse(const TourContext& ctx) {
  std::vector<TourRow> rows;
  for (const std::string level : {"none", "sample"}) {
    SparseCodeArgs a;
    a.atoms = 32;
    a.level = level;
    a.regularizer = "hard";
    a.max_admitted = 0.8;
    a.corrupt = "outlier:0.2";
    a.max_sweeps = 15;
    a.seed = ctx.seed;
    if (level == "sample") a.atoms_png = (std::filesystem::path(ctx.out_dir) / "sparse_atoms.png").string();
    Stopwatch sw;
    const Json j = run_sparse_code(a, false);
    rows.push_back({"sparse",
                    j["method"].get<std::string>() + ", digits with 20% outlier samples, K = 32",
                    "clean recon error " + format_fixed(j["clean_reconstruction_error"].get<double>(), 3) +
                        ", accuracy " + format_fixed(j["accuracy"].get<double>(), 3) +
                        (a.atoms_png.empty() ? "" : "; atoms in " + a.atoms_png),
                    sw.seconds()});
  }
  return rows;
}

}  // namespace optidiff::cli
