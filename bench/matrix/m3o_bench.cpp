// bench/matrix/m3o_bench: the measurements of docs/m3o.md. Driven by run_bench.py, which adds
// SciPy's linear_sum_assignment on the same cost matrices and draws the sweep.
//   m3o_bench paper  --out DIR [--seeds 10] [--patience 100]  paper simulation (note 2.5 a)
//   m3o_bench sweep  --out DIR [--seeds 3] [--patience 20]    rank, noise, missing one at a time
//   m3o_bench halves --out DIR [--n 100]                      Fashion-MNIST halves
//   m3o_bench lap    --out DIR                                JV on n = 100, 1000, 3000
//   m3o_bench timing --out DIR                                M3O time per iteration, SVD share
//   m3o_bench basin  --out DIR [--seeds 3]                    M3O and alternating started from a
//                                                             partly correct correspondence
//   m3o_bench trace  --out DIR [--seed 0] [--every 100]       one M3O run, a line per `every`
//                                                             iterations
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/matrix/assignment.hpp"
#include "optidiff/matrix/recover.hpp"

using namespace optidiff;
using namespace optidiff::matrix;

namespace {

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  return f;
}
int flag(const std::map<std::string, std::string>& f, const std::string& k, int d) {
  return f.count(k) ? std::stoi(f.at(k)) : d;
}

Json run_methods(const Simulation& sim, const ProxOptions& prox, int patience, std::uint64_t seed) {
  Json out = Json::object();
  for (Method m : kAllMethods) {
    RecoveryOptions o;
    o.method = m;
    o.prox = prox;
    o.seed = seed;
    o.m3o.temperature.patience = patience;
    const RecoveryResult r = recover(sim.observed, o, &sim.observed_row);
    const Metrics met = evaluate(sim, r);
    out[std::string(method_name(m))] = {{"rmse", met.rmse},
                                        {"rmse_blocks", met.rmse_blocks},
                                        {"objective", r.objective},
                                        {"permutation_errors", met.permutation_errors},
                                        {"iterations", r.iterations},
                                        {"seconds", r.seconds},
                                        {"svd_seconds", r.svd_seconds}};
  }
  return out;
}

void summarize(const Json& trials, const std::string& title, int matched) {
  Table t({"method", "rmse mean", "rmse (code)", "wrong rows mean", "exact runs", "seconds mean"},
          title);
  for (Method m : kAllMethods) {
    const std::string name(method_name(m));
    double rmse = 0, rb = 0, perr = 0, sec = 0;
    int exact = 0;
    for (const auto& tr : trials) {
      rmse += tr[name]["rmse"].get<double>();
      rb += tr[name]["rmse_blocks"].get<double>();
      perr += tr[name]["permutation_errors"].get<double>();
      sec += tr[name]["seconds"].get<double>();
      exact += tr[name]["permutation_errors"].get<int>() == 0;
    }
    const double k = double(trials.size());
    t.add_row({name, format_double(rmse / k), format_double(rb / k),
               format_fixed(perr / k, 1) + "/" + std::to_string(matched),
               std::to_string(exact) + "/" + std::to_string(trials.size()),
               format_fixed(sec / k, 2)});
  }
  t.print(std::cout);
}

// simulate()'s defaults are the paper's setting (note 2.5 a): 100x100, rank 5, noise 0.1, 60%
// missing, 2 groups of 30 columns.
void paper(const std::string& out, const std::map<std::string, std::string>& f) {
  const int seeds = flag(f, "seeds", 10), patience = flag(f, "patience", 100);
  Json trials = Json::array();
  for (int s = 0; s < seeds; ++s) {
    const Simulation sim = simulate({.seed = std::uint64_t(s)});
    trials.push_back(run_methods(sim, {.kind = ProxKind::kHard, .lambda = 0.55}, patience, s));
    for (const auto& [name, v] : trials.back().items())
      std::cerr << "paper: seed " << s << " " << name << ": wrong rows " << v["permutation_errors"]
                << ", rmse " << v["rmse"] << ", objective " << v["objective"] << ", iterations "
                << v["iterations"] << ", seconds " << v["seconds"] << "\n";
    // Written after every seed, so that an interrupted run keeps what it measured.
    write_json_file(out + "/paper.json", {{"patience", patience}, {"trials", trials}});
  }
  summarize(
      trials,
      "Paper simulation: 100x100, rank 5, noise 0.1, 60% missing, 2 groups of 30 (hard SVT 0.55)",
      200);
  write_json_file(out + "/paper.json", {{"patience", patience}, {"trials", trials}});
}

void sweep(const std::string& out, const std::map<std::string, std::string>& f) {
  const int seeds = flag(f, "seeds", 3), patience = flag(f, "patience", 20);
  Json rows = Json::array();
  struct Point {
    std::string axis;
    double value;
    SimulationOptions o;
  };
  std::vector<Point> points;
  const SimulationOptions base{.rows = 60,
                               .cols = 60,
                               .rank = 3,
                               .noise = 0.1,
                               .missing = 0.3,
                               .groups = 1,
                               .shuffled = 0.25};
  for (int r : {1, 2, 3, 5, 8}) {
    auto o = base;
    o.rank = r;
    points.push_back({"rank", double(r), o});
  }
  for (double nz : {0.0, 0.1, 0.3, 1.0}) {
    auto o = base;
    o.noise = nz;
    points.push_back({"noise", nz, o});
  }
  for (double mi : {0.0, 0.3, 0.6, 0.8}) {
    auto o = base;
    o.missing = mi;
    points.push_back({"missing", mi, o});
  }
  for (const auto& p : points) {
    Json trials = Json::array();
    for (int s = 0; s < seeds; ++s) {
      auto o = p.o;
      o.seed = s;
      const Simulation sim = simulate(o);
      trials.push_back(run_methods(sim, {.kind = ProxKind::kRank, .rank = o.rank}, patience, s));
    }
    rows.push_back({{"axis", p.axis}, {"value", p.value}, {"trials", trials}});
    std::cerr << "sweep: " << p.axis << " " << p.value << " done\n";
    write_json_file(out + "/sweep.json",
                    {{"base", "partial"}, {"patience", patience}, {"points", rows}});
  }
  write_json_file(
      out + "/sweep.json",
      {{"base", "60x60, rank 3, noise 0.1, 30% missing, 1 group of 15 columns, rank-k prox"},
       {"patience", patience},
       {"points", rows}});
}

void halves(const std::string& out, const std::map<std::string, std::string>& f) {
  const int n = flag(f, "n", 100);
  const auto d = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTest);
  const int h = d.rows, w = d.cols, half = w / 2;
  Eigen::MatrixXd m(n, h * w);
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c)
        m(i, c < half ? r * half + c : h * half + r * (w - half) + (c - half)) =
            d.pixel(i * 37 % d.size(), r, c);
  Json res = Json::object();
  for (double missing : {0.0, 0.3}) {
    const Simulation sim = shuffle_blocks(m, m, {h * half, h * (w - half)}, missing, 1);
    Json per = Json::object();
    for (Method meth : kAllMethods) {
      RecoveryOptions o;
      o.method = meth;
      o.prox = {.kind = ProxKind::kRank, .rank = 30};
      o.m3o.relative_epsilon = true;
      o.m3o.temperature = {.initial = 2, .minimum = 1e-4, .patience = 20};
      const RecoveryResult r = recover(sim.observed, o, &sim.observed_row);
      const Metrics met = evaluate(sim, r);
      per[std::string(method_name(meth))] = {{"rmse", met.rmse},
                                             {"rejoined", n - met.permutation_errors},
                                             {"iterations", r.iterations},
                                             {"seconds", r.seconds}};
      std::cerr << "halves: missing " << missing << " " << method_name(meth) << " rejoined "
                << n - met.permutation_errors << "/" << n << ", rmse " << met.rmse << "\n";
    }
    res[format_double(missing, 2)] = per;
  }
  write_json_file(out + "/halves.json", {{"n", n}, {"rank_k", 30}, {"results", res}});
}

void lap(const std::string& out, const std::map<std::string, std::string>&) {
  Json runs = Json::array();
  for (int n : {100, 1000, 3000}) {
    Rng rng(n);
    Eigen::MatrixXd c(n, n);
    for (int k = 0; k < c.size(); ++k) c.data()[k] = rng.uniform();
    const std::string path = out + "/lap_" + std::to_string(n) + ".f64";
    {
      // Row-major raw doubles, read by run_bench.py with numpy.fromfile.
      std::ofstream f(path, std::ios::binary);
      Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm = c;
      f.write(reinterpret_cast<const char*>(rm.data()),
              std::streamsize(sizeof(double) * rm.size()));
    }
    const int reps = n <= 100 ? 50 : (n <= 1000 ? 3 : 1);
    double best = 1e300, cost = 0;
    for (int r = 0; r < reps; ++r) {
      Stopwatch sw;
      const Assignment a = solve_assignment(c);
      best = std::min(best, sw.seconds());
      cost = a.cost;
    }
    runs.push_back(
        {{"n", n}, {"seconds", best}, {"cost", cost}, {"file", path}, {"repetitions", reps}});
    std::cerr << "lap: n=" << n << " " << best << " s\n";
  }
  write_json_file(out + "/lap.json", {{"runs", runs}});
}

void timing(const std::string& out, const std::map<std::string, std::string>&) {
  Json runs = Json::array();
  for (int n : {100, 300, 1000}) {
    const Simulation sim =
        simulate({.rows = n, .cols = n, .rank = 5, .noise = 0.1, .missing = 0.6, .groups = 2});
    for (SvdMode mode : {SvdMode::kFull, SvdMode::kRandomized}) {
      M3OOptions o;
      o.prox = {.kind = ProxKind::kRank, .rank = 5, .svd = mode};
      o.max_iterations = n >= 1000 ? 5 : 20;
      const RecoveryResult r = m3o(sim.observed, o);
      const double per = r.seconds / r.iterations;
      runs.push_back({{"n", n},
                      {"svd", svd_mode_name(mode)},
                      {"iterations", r.iterations},
                      {"seconds_per_iteration", per},
                      {"svd_share", r.svd_seconds / r.seconds},
                      {"assignment_share", r.assignment_seconds / r.seconds}});
      std::cerr << "timing: n=" << n << " " << svd_mode_name(mode) << " " << per
                << " s/iter, svd share " << r.svd_seconds / r.seconds << "\n";
    }
  }
  write_json_file(out + "/timing.json", {{"runs", runs}});
}

// The paper simulation started from a correspondence that is right for a fraction `known` of the
// rows (the others moved along one cycle, so all of them are wrong): the start is the completion of
// the matrix unshuffled by that correspondence. M3O runs from there at a low starting temperature
// (1e-3, the sharp end of the schedule; the default 0.1 makes the plan uniform and forgets the
// start), the alternating baseline as usual. The objective of each end point tells local from
// global minima.
void basin(const std::string& out, const std::map<std::string, std::string>& f) {
  const int seeds = flag(f, "seeds", 3);
  Json rows = Json::array();
  Table t(
      {"seed", "known rows", "m3o wrong", "m3o objective", "m3o iterations", "alternating wrong"},
      "Paper simulation started from a partly correct correspondence (wrong rows of 200)");
  for (int s = 0; s < seeds; ++s) {
    const Simulation sim = simulate({.seed = std::uint64_t(s)});
    const int n = sim.observed.rows();
    for (double known : {0.0, 0.5, 0.75, 0.9, 1.0}) {
      std::vector<std::vector<int>> guess = sim.observed_row;
      int moved = int(std::lround((1 - known) * n));
      if (moved == 1) moved = 2;
      for (std::size_t g = 0; g < guess.size(); ++g) {
        const std::vector<int> order = random_permutation(n, 1000 * s + 10 * g + 7);
        for (int k = 0; k < moved; ++k)
          guess[g][order[k]] = sim.observed_row[g][order[(k + 1) % moved]];
      }
      const ProxOptions prox{.kind = ProxKind::kHard, .lambda = 0.55};
      const Eigen::MatrixXd start = oracle_completion(sim.observed, guess, {.prox = prox}).estimate;
      M3OOptions o;
      o.prox = prox;
      o.seed = std::uint64_t(s);
      o.start = start;
      o.temperature.initial = 1e-3;
      const RecoveryResult m = m3o(sim.observed, o);
      const RecoveryResult a = alternating_minimization(
          sim.observed, {.prox = prox, .start = start, .seed = std::uint64_t(s)});
      const int mw = evaluate(sim, m).permutation_errors, aw = evaluate(sim, a).permutation_errors;
      t.add_row({std::to_string(s), format_fixed(100 * known, 0) + "%", std::to_string(mw),
                 format_double(m.objective, 6), std::to_string(m.iterations), std::to_string(aw)});
      rows.push_back({{"seed", s},
                      {"known", known},
                      {"m3o_wrong", mw},
                      {"m3o_objective", m.objective},
                      {"m3o_iterations", m.iterations},
                      {"alternating_wrong", aw}});
      std::cerr << "basin: seed " << s << " known " << known << " m3o " << mw << " alternating "
                << aw << "\n";
    }
  }
  t.print(std::cout);
  write_json_file(out + "/basin.json", {{"rows", rows}});
}

// One M3O run of the paper simulation with its trajectory: objective, temperature, certainty, step,
// rows matched wrongly by the row-wise argmax and by exact rounding of the current plan, RMSE.
void trace(const std::string& out, const std::map<std::string, std::string>& f) {
  const int seed = flag(f, "seed", 0), every = flag(f, "every", 100);
  const Simulation sim = simulate({.seed = std::uint64_t(seed)});
  M3OOptions o;
  o.seed = std::uint64_t(seed);
  o.temperature.patience = flag(f, "patience", 100);
  Json lines = Json::array();
  o.on_iteration = [&](const M3OStatus& s) {
    if (s.iteration % every != 0 && s.iteration > 3) return;
    int argmax_wrong = 0, exact_wrong = 0;
    for (std::size_t g = 0; g < s.plans->size(); ++g) {
      const Eigen::MatrixXd& pi = (*s.plans)[g];
      const std::vector<int> rounded = round_to_permutation(pi);
      for (int i = 0; i < pi.rows(); ++i) {
        Eigen::Index j = 0;
        pi.row(i).maxCoeff(&j);
        argmax_wrong += int(j) != sim.observed_row[g][i];
        exact_wrong += rounded[i] != sim.observed_row[g][i];
      }
    }
    const double rmse =
        std::sqrt((*s.estimate - sim.truth).squaredNorm() / double(sim.truth.size()));
    std::printf(
        "%6d obj %.6f eps %.3e cert %.4f step %.3f argmax-wrong %3d exact-wrong %3d rmse %.5f\n",
        s.iteration, s.objective, s.epsilon, s.certainty, s.step, argmax_wrong, exact_wrong, rmse);
    std::fflush(stdout);
    lines.push_back({{"iteration", s.iteration},
                     {"objective", s.objective},
                     {"epsilon", s.epsilon},
                     {"certainty", s.certainty},
                     {"step", s.step},
                     {"argmax_wrong", argmax_wrong},
                     {"exact_wrong", exact_wrong},
                     {"rmse", rmse}});
  };
  const RecoveryResult r = m3o(sim.observed, o);
  const Metrics m = evaluate(sim, r);
  std::printf("returned: wrong rows %d, rmse %.5f, iterations %d, stop: %s\n", m.permutation_errors,
              m.rmse, r.iterations, r.stop_reason.c_str());
  write_json_file(out + "/trace.json", {{"seed", seed},
                                        {"trace", lines},
                                        {"permutation_errors", m.permutation_errors},
                                        {"rmse", m.rmse},
                                        {"iterations", r.iterations}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: m3o_bench paper|sweep|halves|lap|timing --out DIR [--seeds N] [--patience "
                 "P] [--n N]\n");
    return 2;
  }
  const std::string mode = argv[1];
  const auto f = parse_flags(argc, argv);
  const std::string out = f.count("out") ? f.at("out") : "bench-matrix-out";
  std::filesystem::create_directories(out);
  try {
    if (mode == "paper")
      paper(out, f);
    else if (mode == "sweep")
      sweep(out, f);
    else if (mode == "halves")
      halves(out, f);
    else if (mode == "lap")
      lap(out, f);
    else if (mode == "timing")
      timing(out, f);
    else if (mode == "trace")
      trace(out, f);
    else if (mode == "basin")
      basin(out, f);
    else {
      std::fprintf(stderr, "m3o_bench: unknown mode '%s'\n", mode.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "m3o_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
