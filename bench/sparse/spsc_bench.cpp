// bench/sparse/spsc_bench: SPSC (sample, feature, element level), plain sparse coding, L1-fidelity sparse
// coding and scikit-learn's DictionaryLearning / MiniBatchDictionaryLearning, on one dataset under each
// corruption kind and fraction, all scored by the same protocol (sparse::score_dictionary): clean held-out
// reconstruction error, a linear classifier on the codes, k-means ACC and NMI on the codes. scikit-learn
// runs in the same run on the same corrupted training sets (sklearn_dictionary.py). It then prints the
// speed ratio for a dictionary of the same size and writes JSON (and a plot, with --plot).
//   spsc_bench --data digits --fractions 0,0.1,0.2,0.3,0.4 --json spsc.json --plot spsc.png
#include <CLI/CLI.hpp>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/sparse/corruption.hpp"
#include "optidiff/sparse/datasets.hpp"
#include "optidiff/sparse/evaluate.hpp"
#include "optidiff/sparse/spsc.hpp"

namespace sp = optidiff::sparse;
using optidiff::Json;

namespace {

struct Method {
  std::string name;
  sp::Level level;
  bool l1;
};

void write_samples_csv(const std::string& path, const Eigen::MatrixXd& X) {
  std::ofstream f(path);
  f.precision(9);
  for (Eigen::Index i = 0; i < X.cols(); ++i)
    for (Eigen::Index j = 0; j < X.rows(); ++j) f << X(j, i) << (j + 1 == X.rows() ? '\n' : ',');
  if (!f) optidiff::throw_data_loss("cannot write " + path);
}

Eigen::MatrixXd read_atoms_csv(const std::string& path, Eigen::Index m) {
  const auto rows = sp::parse_numeric_csv(optidiff::read_text_file(path), path, false);
  Eigen::MatrixXd B(m, static_cast<Eigen::Index>(rows.size()));
  for (std::size_t j = 0; j < rows.size(); ++j) {
    if (static_cast<Eigen::Index>(rows[j].size()) != m) optidiff::throw_data_loss(path + ": wrong atom length");
    for (Eigen::Index r = 0; r < m; ++r) B(r, static_cast<Eigen::Index>(j)) = rows[j][r];
  }
  return B;
}

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stod(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app("SPSC benchmark: robustness to corruption and speed against scikit-learn");
  std::string data = "digits", kinds_arg = "outlier,saltpepper,block", fractions_arg = "0,0.1,0.2,0.3,0.4",
              regularizer = "mixture", json_path = "spsc_bench.json", plot_path, work_dir = "spsc_bench_work",
              python = "/usr/bin/python3";
  int atoms = 64, sweeps = 20, train_per_class = 100, test_per_class = 50, max_train = 0;
  double lambda = 0.1, max_admitted = 1.0;
  std::uint64_t seed = 0;
  bool no_sklearn = false;
  app.add_option("--data", data, "digits or fmnist")->capture_default_str();
  app.add_option("--kinds", kinds_arg, "Corruption kinds, comma-separated")->capture_default_str();
  app.add_option("--fractions", fractions_arg, "Corruption fractions, comma-separated")->capture_default_str();
  app.add_option("--atoms", atoms, "Dictionary size K")->capture_default_str();
  app.add_option("--lambda", lambda, "l1 penalty (scikit-learn's alpha)")->capture_default_str();
  app.add_option("--sweeps", sweeps, "Outer sweeps (scikit-learn: max_iter)")->capture_default_str();
  app.add_option("--regularizer", regularizer, "SPSC regulariser")->capture_default_str();
  app.add_option("--max-admitted", max_admitted, "SPSC age cap (admitted fraction)")->capture_default_str();
  app.add_option("--train-per-class", train_per_class, "fmnist training images per class")->capture_default_str();
  app.add_option("--test-per-class", test_per_class, "fmnist test images per class")->capture_default_str();
  app.add_option("--max-train", max_train, "digits: at most this many training samples (0: all)");
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  app.add_option("--json", json_path, "Results JSON")->capture_default_str();
  app.add_option("--plot", plot_path, "Write a PNG plot of the metrics against the fraction");
  app.add_option("--work-dir", work_dir, "Where the corrupted sets and scikit-learn's atoms go")->capture_default_str();
  app.add_option("--python", python, "Python with scikit-learn")->capture_default_str();
  app.add_flag("--no-sklearn", no_sklearn, "Skip scikit-learn");
  CLI11_PARSE(app, argc, argv);

  sp::LabeledData train, test;
  if (data == "fmnist") {
    const std::string dir = optidiff::data::resolve_data_dir("");
    train = sp::load_fashion_subset(dir, optidiff::data::Split::kTrain, train_per_class, true, seed);
    test = sp::load_fashion_subset(dir, optidiff::data::Split::kTest, test_per_class, true, seed);
  } else {
    std::tie(train, test) = sp::split_train_test(sp::load_digits(), 0.3, seed);
    if (max_train > 0) train = sp::first_samples(train, max_train);
  }
  std::filesystem::create_directories(work_dir);
  const std::vector<Method> methods = {{"plain SC", sp::Level::kNone, false},
                                       {"SPSC-sample", sp::Level::kSample, false},
                                       {"SPSC-feature", sp::Level::kFeature, false},
                                       {"SPSC-element", sp::Level::kElement, false},
                                       {"L1 SC", sp::Level::kNone, true}};
  struct Setting {
    sp::Corruption corruption;
    Eigen::MatrixXd X;
    std::string csv;
  };
  std::vector<Setting> settings;
  const auto fractions = parse_list(fractions_arg);
  std::stringstream ks(kinds_arg);
  std::vector<std::string> kinds;
  for (std::string k; std::getline(ks, k, ',');) kinds.push_back(k);
  bool have_clean = false;
  for (const auto& kind : kinds)
    for (double f : fractions) {
      if (f == 0 && have_clean) continue;  // one clean setting shared by every kind
      const sp::Corruption c = f == 0 ? sp::Corruption{} : sp::parse_corruption(kind + ":" + std::to_string(f));
      have_clean |= f == 0;
      optidiff::Rng rng = optidiff::Rng(seed).stream(1);
      const auto cd = sp::corrupt(train.X, c, train.image_rows, train.image_cols, train.X.minCoeff(),
                                  train.X.maxCoeff(), rng);
      const std::string csv = (std::filesystem::path(work_dir) / ("setting" + std::to_string(settings.size()) + ".csv")).string();
      settings.push_back({c, cd.data, csv});
    }

  std::cout << "bench/sparse: " << train.name << ", " << train.X.cols() << " train / " << test.X.cols()
            << " clean test samples, " << train.X.rows() << " features; K = " << atoms << ", lambda = " << lambda
            << ", " << sweeps << " sweeps, SPSC regulariser " << regularizer << ", max_admitted " << max_admitted
            << ", seed " << seed << "; " << settings.size() << " settings\n";
  Json rows = Json::array();
  auto add_row = [&](const Setting& s, const std::string& method, double seconds, double cpu_seconds,
                     const Eigen::MatrixXd& B, double objective) {
    const auto sc = sp::score_dictionary(B, lambda, s.X, train.labels, test.X, test.labels, train.classes, seed);
    rows.push_back({{"kind", std::string(sp::corruption_name(s.corruption.kind))},
                    {"fraction", s.corruption.fraction},
                    {"method", method},
                    {"seconds", seconds},
                    {"cpu_seconds", cpu_seconds},
                    {"objective", objective},
                    {"clean_reconstruction_error", sc.clean_reconstruction_error},
                    {"accuracy", sc.accuracy},
                    {"kmeans_acc", sc.kmeans_acc},
                    {"nmi", sc.nmi},
                    {"mean_nonzeros", sc.mean_nonzeros}});
    std::cout << "  " << s.corruption.str() << " " << method << ": recon " << optidiff::format_fixed(sc.clean_reconstruction_error, 4)
              << " acc " << optidiff::format_fixed(sc.accuracy, 3) << " kmACC " << optidiff::format_fixed(sc.kmeans_acc, 3)
              << " NMI " << optidiff::format_fixed(sc.nmi, 3) << " nnz " << optidiff::format_fixed(sc.mean_nonzeros, 1)
              << " (" << optidiff::format_fixed(seconds, 2) << " s, CPU " << optidiff::format_fixed(cpu_seconds, 2)
              << " s)\n"
              << std::flush;
  };
  for (const auto& s : settings) {
    write_samples_csv(s.csv, s.X);
    for (const auto& m : methods) {
      sp::SpscOptions o{.atoms = atoms, .lambda = lambda, .level = m.level,
                        .regularizer = sp::parse_regularizer(regularizer), .l1_fidelity = m.l1,
                        .max_admitted = max_admitted, .max_sweeps = sweeps, .seed = seed};
      optidiff::Stopwatch sw;
      const std::clock_t cpu = std::clock();
      const auto r = sp::spsc(s.X, o);
      const double cpu_seconds = double(std::clock() - cpu) / CLOCKS_PER_SEC;
      add_row(s, m.name, sw.seconds(), cpu_seconds, r.dictionary, r.history.back().sc_objective);
    }
  }
  Json sk_times;
  if (!no_sklearn) {
    const std::string times = (std::filesystem::path(work_dir) / "sklearn_times.json").string();
    const auto script = std::filesystem::path(OPTIDIFF_SOURCE_DIR) / "bench/sparse/sklearn_dictionary.py";
    std::string cmd = "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 " + python + " " + script.string() +
                      " --atoms " + std::to_string(atoms) + " --alpha " + std::to_string(lambda) + " --max-iter " +
                      std::to_string(sweeps) + " --seed " + std::to_string(seed) + " --out-json " + times;
    for (const auto& s : settings) cmd += " " + s.csv;
    std::cout << "running scikit-learn: " << cmd.substr(0, 160) << " ...\n" << std::flush;
    if (std::system(cmd.c_str()) != 0) optidiff::throw_data_loss("scikit-learn script failed: " + cmd);
    sk_times = optidiff::read_json_file(times);
    for (const auto& s : settings) {
      const std::string base = s.csv.substr(0, s.csv.size() - 4);
      for (const std::string tag : {"dl", "mbdl"}) {
        const Eigen::MatrixXd B = read_atoms_csv(base + "." + tag + ".csv", train.X.rows());
        const Json& t = sk_times[s.csv];
        add_row(s, tag == "dl" ? "sklearn DL" : "sklearn MiniBatchDL", t[tag + "_seconds"].get<double>(),
                t[tag + "_cpu_seconds"].get<double>(), B, NAN);
      }
    }
  }

  // Side-by-side tables: one per metric, rows = settings, columns = methods.
  std::vector<std::string> names;
  for (const auto& r : rows)
    if (std::find(names.begin(), names.end(), r["method"].get<std::string>()) == names.end())
      names.push_back(r["method"]);
  for (const std::string metric : {"clean_reconstruction_error", "accuracy", "kmeans_acc", "nmi", "cpu_seconds"}) {
    std::vector<std::string> header = {"corruption"};
    header.insert(header.end(), names.begin(), names.end());
    optidiff::Table t(header, "\n" + metric);
    for (const auto& s : settings) {
      std::vector<std::string> row = {s.corruption.str()};
      for (const auto& name : names)
        for (const auto& r : rows)
          if (r["method"] == name && r["kind"] == std::string(sp::corruption_name(s.corruption.kind)) &&
              r["fraction"] == s.corruption.fraction)
            row.push_back(optidiff::format_fixed(r[metric].get<double>(), metric == "cpu_seconds" ? 2 : 4));
      t.add_row(row);
    }
    t.print(std::cout);
  }
  Json speed;
  if (!no_sklearn) {
    // CPU seconds (one thread each): the 2-core machine is shared, so wall time measures the neighbours.
    double ours = 0, dl = 0, mb = 0;
    for (const auto& r : rows) {
      if (r["method"] == "plain SC") ours += r["cpu_seconds"].get<double>();
      if (r["method"] == "sklearn DL") dl += r["cpu_seconds"].get<double>();
      if (r["method"] == "sklearn MiniBatchDL") mb += r["cpu_seconds"].get<double>();
    }
    speed = {{"plain_sc_cpu_seconds", ours}, {"sklearn_dl_cpu_seconds", dl}, {"sklearn_mbdl_cpu_seconds", mb},
             {"speedup_vs_dl", dl / ours}, {"speedup_vs_mbdl", mb / ours}};
    std::cout << "\nspeed, K = " << atoms << ", " << sweeps << " sweeps/iterations, summed over " << settings.size()
              << " settings, 1 thread, CPU time: optidiff plain SC " << optidiff::format_fixed(ours, 2)
              << " s, scikit-learn DictionaryLearning " << optidiff::format_fixed(dl, 2) << " s (ratio "
              << optidiff::format_fixed(dl / ours, 2) << "x), MiniBatchDictionaryLearning "
              << optidiff::format_fixed(mb, 2) << " s (ratio " << optidiff::format_fixed(mb / ours, 2) << "x)\n";
  }
  Json out = {{"data", train.name}, {"train_samples", train.X.cols()}, {"test_samples", test.X.cols()},
              {"features", train.X.rows()}, {"atoms", atoms}, {"lambda", lambda}, {"sweeps", sweeps},
              {"regularizer", regularizer}, {"max_admitted", max_admitted}, {"seed", seed}, {"rows", rows},
              {"speed", speed}};
  optidiff::write_json_file(json_path, out);
  std::cout << "wrote " << json_path << "\n";
  if (!plot_path.empty()) {
    const auto plot = std::filesystem::path(OPTIDIFF_SOURCE_DIR) / "bench/sparse/plot_spsc.py";
    const std::string cmd = python + " " + plot.string() + " " + json_path + " " + plot_path;
    if (std::system(cmd.c_str()) != 0) optidiff::log_warning("plot failed: " + cmd);
  }
  return 0;
} catch (const optidiff::Error& e) {
  std::cerr << "spsc_bench: error: " << e.what() << "\n";
  return 1;
}
