// optidiff fed bench: every strategy of the benchmark on the same federation, accuracy against rounds
// and uplink bytes, resumable over hours.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/fed/noise.hpp"
#include "optidiff/fed/train.hpp"
#include "tools/optidiff/commands.hpp"

namespace optidiff::cli {
namespace {

// Every finished run is appended as one JSON line to the results file (<--json without .json>.jsonl), so
// a sweep of hours survives a stop: `--resume` skips the runs already there. The first line records
// the configuration every run depends on; a file made with another one is refused. Seeds are the
// outer loop, so seed 0 of every (alpha, E, strategy) cell is done before seed 1 starts, and the
// tables are made from whatever runs exist, with the number of seeds of each cell.

struct BenchArgs {
  bool quick = false, resume = false, summary_only = false;
  int rounds = 300, seeds = 3, clients = 100, per_round = 10, eval_every = 10, test_samples = 0,
      train_samples = 0;
  int centralised_steps = 500;
  std::vector<double> alphas = {0.1, 1.0};
  std::vector<int> local_steps = {1, 5};
  std::vector<std::string> strategies;
  std::string json = "fed_bench.json", data_dir;
  std::uint64_t seed = 0;
};

// The benchmark's entries with their tuned settings: bench/fed/tune.sh (Fashion-MNIST, CNN, 100 clients,
// 10 per round, E = 5, alpha 0.1 and 1, 100 rounds, seed 100), picked by bench/fed/pick_tuned.py; the
// grids and scores are in docs/federated.md. Options not set here are the strategy's defaults.
struct BenchEntry {
  std::string label, strategy;
  std::function<void(fed::StrategyOptions&)> tune;
};
std::vector<BenchEntry> bench_entries() {
  return {
      {"fedavg", "fedavg", [](auto& o) { o.lr = 0.2; }},
      {"zsignfedavg z=1", "zsignfedavg", [](auto& o) { o.z = 1, o.sigma = 0.01, o.lr = 0.2; }},
      {"zsignfedavg z=inf", "zsignfedavg",
       [](auto& o) { o.z = fed::kZInfinity, o.sigma = 0.01, o.lr = 0.2; }},
      {"signsgd", "signsgd", [](auto& o) { o.server_lr = 3e-3, o.lr = 0.05; }},
      {"ef-signsgd", "ef-signsgd", [](auto& o) { o.lr = 0.2; }},
      {"sto-signsgd", "sto-signsgd", [](auto& o) { o.server_lr = 1e-2, o.lr = 0.05; }},
      {"fedlion", "fedlion", [](auto& o) { o.lr = 1e-3; }},
      {"fedadam", "fedadam", [](auto& o) { o.lr = 0.05, o.server_lr = 1e-2; }},
      {"fedyogi", "fedyogi", [](auto& o) { o.lr = 0.2, o.server_lr = 1e-2; }},
      {"fedams", "fedams", [](auto& o) { o.lr = 0.05, o.server_lr = 0.1; }},
      {"fafed", "fafed", [](auto& o) { o.lr = 1e-2; }},
      {"fedda", "fedda", [](auto& o) { o.lr = 0.3; }},
  };
}

fed::StrategyOptions entry_options(const BenchEntry& entry, int local_steps) {
  auto o = fed::default_options(entry.strategy);
  o.local_steps = local_steps;
  entry.tune(o);
  return o;
}

Json options_json(const fed::StrategyOptions& o) {
  return {{"lr", o.lr},
          {"momentum", o.momentum},
          {"server_lr", o.server_lr},
          {"server_momentum", o.server_momentum},
          {"z", o.z},
          {"sigma", o.sigma},
          {"debias", o.debias},
          {"majority_vote", o.majority_vote},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"weight_decay", o.weight_decay},
          {"eps", o.eps},
          {"tau", o.tau}};
}

// What every run of the sweep depends on besides its cell (alpha, E, entry) and seed. The grid
// itself (alphas, E, seeds, strategies) may grow between invocations; these may not.
Json bench_header(const BenchArgs& a) {
  Json entries = Json::object();
  for (const auto& e : bench_entries()) {
    Json j = options_json(entry_options(e, 1));
    j["strategy"] = e.strategy;
    entries[e.label] = j;
  }
  return {{"optidiff_fed_bench", 1},
          {"model", "cnn"},
          {"partition", "dirichlet-columns"},
          {"batch", fed::FashionTaskOptions{}.batch},
          {"rounds", a.rounds},
          {"clients", a.clients},
          {"per_round", a.per_round},
          {"eval_every", a.eval_every},
          {"train_samples", a.train_samples},
          {"test_samples", a.test_samples},
          {"entries", entries}};
}

// "" if equal, else the first differing member as "rounds is 300 there, 200 now".
std::string first_difference(const Json& there, const Json& now, const std::string& path) {
  if (there.is_object() && now.is_object()) {
    for (const auto& [key, value] : now.items()) {
      const std::string sub = path.empty() ? key : path + "." + key;
      if (!there.contains(key)) return sub + " is missing there, " + value.dump() + " now";
      if (auto d = first_difference(there.at(key), value, sub); !d.empty()) return d;
    }
    for (const auto& [key, value] : there.items())
      if (!now.contains(key))
        return (path.empty() ? key : path + "." + key) + " is " + value.dump() +
               " there, missing now";
    return "";
  }
  return there == now ? "" : path + " is " + there.dump() + " there, " + now.dump() + " now";
}

std::string runs_path(const std::string& json) {
  const std::string ext = ".json";
  if (json.size() > ext.size() && json.compare(json.size() - ext.size(), ext.size(), ext) == 0)
    return json.substr(0, json.size() - ext.size()) + ".jsonl";
  return json + ".jsonl";
}

std::string run_key(const std::string& label, double alpha, int e, std::uint64_t seed) {
  return label + " | alpha " + Json(alpha).dump() + " | E " + std::to_string(e) + " | seed " +
         std::to_string(seed);
}
std::string run_key(const Json& run) {
  return run_key(json_get<std::string>(run, "label", "run"), json_get<double>(run, "alpha", "run"),
                 json_get<int>(run, "local_steps", "run"),
                 json_get<std::uint64_t>(run, "seed", "run"));
}

void append_line(const std::string& path, const Json& j) {
  const std::string line = j.dump() + "\n";
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f)
    throw Error(ErrorCode::kUnavailable, "cannot append to " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size() &&
                  std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok)
    throw Error(ErrorCode::kUnavailable, "cannot append to " + path + ": " + std::strerror(errno));
}

// One writer per results file (flock on <file>.lock, released when the process ends however it
// ends): two sweeps on one file would both run, and append, the same missing runs.
class RunsLock {
 public:
  explicit RunsLock(const std::string& path) : lock_(path + ".lock") {
    fd_ = ::open(lock_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(ErrorCode::kUnavailable, "cannot open " + lock_ + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(ErrorCode::kFailedPrecondition,
                  path + " is in use by another optidiff fed bench (" + lock_ +
                      " is locked); wait for it to finish or stop it first");
    }
  }
  ~RunsLock() { ::close(fd_); }
  RunsLock(const RunsLock&) = delete;
  RunsLock& operator=(const RunsLock&) = delete;

 private:
  std::string lock_;
  int fd_ = -1;
};

// The runs already in `path` (checked against `header`); creates the file with the header if
// absent.
std::vector<Json> open_runs_file(const std::string& path, const Json& header, bool resume,
                                 bool summary_only) {
  if (!std::filesystem::exists(path)) {
    if (summary_only) throw_not_found("--summary-only: no results file " + path);
    append_line(path, header);
    return {};
  }
  if (!resume && !summary_only)
    throw Error(
        ErrorCode::kFailedPrecondition,
        path + " exists; pass --resume to continue that sweep (same configuration), or remove it");
  const std::string text = read_text_file(path);
  std::vector<Json> runs;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) {
      // A run killed while appending leaves a line without its newline: drop it, the run is redone.
      log_warning(path + ": line " + std::to_string(line_no) +
                  " is incomplete (a run stopped while writing it); " +
                  "it is removed and that run is done again");
      if (!summary_only) std::filesystem::resize_file(path, pos);
      break;
    }
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    Json j = parse_json(line, path + " line " + std::to_string(line_no));
    if (line_no == 1) {
      if (!j.is_object() || !j.contains("optidiff_fed_bench"))
        throw_data_loss(
            path +
            " is not an optidiff fed bench results file (its first line has no configuration)");
      if (const auto d = first_difference(j, header, ""); !d.empty())
        throw Error(ErrorCode::kFailedPrecondition, path +
                                                        " was made with another configuration (" +
                                                        d + "); use another --json or remove it");
      continue;
    }
    run_key(j);  // validates the keys
    runs.push_back(std::move(j));
  }
  if (line_no == 0) throw_data_loss(path + " is empty (no configuration line); remove it");
  return runs;
}

// First history point at or above target: {round, cumulative uplink bytes}; {-1, 0} if never.
std::pair<int, double> to_target(const Json& history, double target) {
  for (const auto& p : history)
    if (p.at("accuracy").get<double>() >= target)
      return {p.at("round").get<int>(), p.at("uplink_bytes").get<double>()};
  return {-1, 0};
}

// Plain centralised minibatch SGD on the same model and batch: steps per second (the simulation's
// peer).
double centralised_steps_per_second(fed::Task& task, int steps, std::uint64_t seed) {
  auto& objective = task.client(0);
  std::vector<float> x = task.initial_model(), g(x.size());
  Rng rng(seed);
  Stopwatch sw;
  for (int s = 0; s < steps; ++s) {
    objective.gradient(x, g, rng);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= 0.05f * g[j];
  }
  return steps / sw.seconds();
}

// Tables and the summary JSON from the runs of the grid that exist, however many seeds each cell
// has.
Json summarise(const BenchArgs& a, const std::vector<BenchEntry>& entries,
               const std::vector<Json>& all, bool print) {
  std::set<std::string> grid;
  for (std::uint64_t s = 0; s < std::uint64_t(a.seeds); ++s)
    for (double alpha : a.alphas)
      for (int e : a.local_steps)
        for (const auto& entry : entries) grid.insert(run_key(entry.label, alpha, e, a.seed + s));
  Json runs = Json::array(), cells = Json::array();
  for (const auto& r : all)
    if (grid.count(run_key(r))) runs.push_back(r);
  Table summary({"alpha", "E", "strategy", "seeds", "final acc", "best acc", "gain last 20%",
                 "uplink/client/round", "uplink total", "steps/s"},
                "\nFashion-MNIST, CNN, " + std::to_string(a.clients) + " clients, " +
                    std::to_string(a.per_round) + " per round, " + std::to_string(a.rounds) +
                    " rounds, dirichlet-columns; mean over the seeds done (" +
                    std::to_string(runs.size()) + " of " + std::to_string(grid.size()) + " runs)");
  Table target_table({"alpha", "E", "target", "strategy", "seeds reaching", "rounds to target",
                      "uplink to target"},
                     "\nRounds and uplink bytes to the target accuracy (0.95 x the best mean final "
                     "accuracy of the "
                     "setting), mean over the seeds that reach it");
  double sps_sum = 0;
  for (const auto& r : runs) sps_sum += r.at("client_steps_per_second").get<double>();
  for (double alpha : a.alphas) {
    for (int e : a.local_steps) {
      std::map<std::string, std::vector<const Json*>> cell;
      for (const auto& r : runs)
        if (r.at("alpha").get<double>() == alpha && r.at("local_steps").get<int>() == e)
          cell[r.at("label").get<std::string>()].push_back(&r);
      double best = 0;
      for (const auto& [label, rs] : cell) {
        double mean = 0;
        for (const Json* r : rs) mean += r->at("test_accuracy").get<double>() / double(rs.size());
        best = std::max(best, mean);
      }
      const double target = std::floor(0.95 * best * 100) / 100;
      for (const auto& entry : entries) {
        const auto& rs = cell[entry.label];
        if (rs.empty()) {
          summary.add_row({format_double(alpha, 2), std::to_string(e), entry.label, "0", "-", "-",
                           "-", "-", "-", "-"});
          continue;
        }
        const double n = double(rs.size());
        double final_acc = 0, best_acc = 0, gain = 0, up = 0, rounds_sum = 0, bytes_sum = 0,
               sps = 0;
        int reached = 0;
        for (const Json* r : rs) {
          const auto& h = r->at("history");
          final_acc += r->at("test_accuracy").get<double>() / n;
          double b = 0, at80 = 0;
          for (const auto& p : h) {
            b = std::max(b, p.at("accuracy").get<double>());
            if (p.at("round").get<double>() <= 0.8 * a.rounds)
              at80 = p.at("accuracy").get<double>();
          }
          best_acc += b / n;
          gain += (r->at("test_accuracy").get<double>() - at80) / n;
          up += r->at("uplink_bytes").get<double>() / n;
          sps += r->at("client_steps_per_second").get<double>() / n;
          const auto [round, bytes] = to_target(h, target);
          if (round >= 0) ++reached, rounds_sum += round, bytes_sum += bytes;
        }
        const auto per_client =
            rs.front()->at("uplink_bytes_per_client_round").get<std::uint64_t>();
        summary.add_row({format_double(alpha, 2), std::to_string(e), entry.label,
                         std::to_string(rs.size()), format_fixed(final_acc, 4),
                         format_fixed(best_acc, 4), format_fixed(gain, 4),
                         std::to_string(per_client) + " B", megabytes(up), format_fixed(sps, 0)});
        target_table.add_row({format_double(alpha, 2), std::to_string(e), format_fixed(target, 2),
                              entry.label,
                              std::to_string(reached) + "/" + std::to_string(rs.size()),
                              reached ? format_fixed(rounds_sum / reached, 0) : "not reached",
                              reached ? megabytes(bytes_sum / reached) : "-"});
        cells.push_back({{"alpha", alpha},
                         {"local_steps", e},
                         {"label", entry.label},
                         {"seeds", rs.size()},
                         {"final_accuracy", final_acc},
                         {"best_accuracy", best_acc},
                         {"gain_last_20_percent", gain},
                         {"target", target},
                         {"seeds_reaching_target", reached},
                         {"rounds_to_target", reached ? Json(rounds_sum / reached) : Json()},
                         {"uplink_bytes_to_target", reached ? Json(bytes_sum / reached) : Json()},
                         {"uplink_bytes_per_client_round", per_client},
                         {"uplink_bytes", up}});
      }
    }
  }
  if (print) {
    summary.print(std::cout);
    target_table.print(std::cout);
  }
  return Json{
      {"runs", runs},
      {"cells", cells},
      {"runs_done", runs.size()},
      {"runs_planned", grid.size()},
      {"rounds", a.rounds},
      {"seeds", a.seeds},
      {"alphas", a.alphas},
      {"local_steps", a.local_steps},
      {"simulated_client_steps_per_second", runs.empty() ? 0.0 : sps_sum / double(runs.size())}};
}

void run_bench(const BenchArgs& in) {
  BenchArgs a = in;
  if (a.quick)
    a.rounds = 40, a.seeds = 1, a.alphas = {1.0}, a.local_steps = {5}, a.eval_every = 10,
    a.test_samples = 2000;
  auto entries = bench_entries();
  if (!a.strategies.empty()) {
    std::erase_if(entries, [&](const BenchEntry& e) {
      return std::find(a.strategies.begin(), a.strategies.end(), e.label) == a.strategies.end() &&
             std::find(a.strategies.begin(), a.strategies.end(), e.strategy) == a.strategies.end();
    });
    if (entries.empty()) throw_invalid("--strategies matched none of the benchmark's entries");
  }
  if (a.rounds < 1)
    throw_invalid("--rounds is " + std::to_string(a.rounds) + "; expected rounds >= 1");
  if (a.seeds < 1) throw_invalid("--seeds is " + std::to_string(a.seeds) + "; expected seeds >= 1");
  const std::string path = runs_path(a.json);
  std::optional<RunsLock> lock;
  if (!a.summary_only) lock.emplace(path);
  std::vector<Json> runs = open_runs_file(path, bench_header(a), a.resume, a.summary_only);
  std::set<std::string> done;
  for (const auto& r : runs) done.insert(run_key(r));
  Stopwatch total;
  int ran = 0, skipped = 0;
  if (!a.summary_only) {
    // Seed-major: a complete first seed of every cell comes before any second seed.
    for (int s = 0; s < a.seeds; ++s) {
      const std::uint64_t seed = a.seed + std::uint64_t(s);
      for (double alpha : a.alphas) {
        std::unique_ptr<fed::Task> task;  // built only if a run of this (seed, alpha) is missing
        fed::FashionTaskOptions t{.model = fed::ModelKind::kCnn,
                                  .clients = a.clients,
                                  .partition = fed::PartitionKind::kDirichletColumns,
                                  .alpha = alpha,
                                  .train_samples = a.train_samples,
                                  .test_samples = a.test_samples,
                                  .seed = seed,
                                  .data_dir = a.data_dir};
        for (int e : a.local_steps) {
          for (const auto& entry : entries) {
            if (done.count(run_key(entry.label, alpha, e, seed))) {
              ++skipped;
              continue;
            }
            if (!task) task = fed::make_fashion_task(t);
            fed::TrainConfig c;
            c.strategy = entry.strategy;
            c.options = entry_options(entry, e);
            c.task = t;
            c.federation = {.per_round = a.per_round,
                            .rounds = a.rounds,
                            .eval_every = a.eval_every,
                            .seed = seed};
            Progress bar("bench " + entry.label + " alpha " + format_double(alpha, 2) + " E " +
                             std::to_string(e) + " seed " + std::to_string(seed),
                         a.rounds);
            const auto r =
                fed::train(c, *task, [&](const fed::RoundStats& st) { bar.update(st.round); });
            bar.finish("acc " + format_fixed(r.test_accuracy, 4));
            Json j = fed::to_json(r);
            j["label"] = entry.label;
            j["alpha"] = alpha;
            j["local_steps"] = e;
            j["seed"] = seed;
            append_line(path, j);  // durable before the next run starts
            done.insert(run_key(j));
            runs.push_back(std::move(j));
            ++ran;
            write_json_file(a.json, summarise(a, entries, runs, false));
          }
        }
      }
    }
    if (skipped > 0) std::cout << "skipped " << skipped << " run(s) already in " << path << "\n";
  }
  Json out = summarise(a, entries, runs, true);
  // The simulation's overhead: its client steps per second against plain centralised SGD, timed in
  // the same invocation (so under the same load) and only when this invocation trained something.
  if (ran > 0 && a.centralised_steps > 0) {
    fed::FashionTaskOptions t{.clients = 1,
                              .train_samples = a.train_samples,
                              .test_samples = 100,
                              .seed = a.seed,
                              .data_dir = a.data_dir};
    auto central_task = fed::make_fashion_task(t);
    const double central = centralised_steps_per_second(*central_task, a.centralised_steps, a.seed);
    const double simulated = out.at("simulated_client_steps_per_second").get<double>();
    out["centralised_steps_per_second"] = central;
    std::cout << "\nsimulated client steps/s " << format_fixed(simulated, 0)
              << " vs centralised SGD steps/s " << format_fixed(central, 0) << " (ratio "
              << format_fixed(simulated / central, 3) << ")";
  }
  out["seconds"] = total.seconds();
  std::cout << "\nran " << ran << " run(s) in " << format_fixed(total.seconds(), 0) << " s; "
            << out.at("runs_done").get<std::size_t>() << " of "
            << out.at("runs_planned").get<std::size_t>() << " runs of the grid are done\n";
  write_json_file(a.json, out);
  std::cout << "wrote " << a.json << " (runs: " << path << "; plot: python3 bench/fed/plot_fed.py "
            << a.json << ")\n";
}

}  // namespace

void add_fed_bench_command(CLI::App* fed) {
  auto b = std::make_shared<BenchArgs>();
  auto* bench = fed->add_subcommand(
      "bench", "Compare every strategy: accuracy against rounds and uplink bytes");
  bench->add_flag("--quick", b->quick,
                  "Minutes: alpha 1, E 5, 40 rounds, one seed, 2,000 test images");
  bench->add_option("--rounds", b->rounds, "Rounds per run")->capture_default_str();
  bench->add_flag("--resume", b->resume,
                  "Continue the results file of --json (.jsonl): skip the runs already there (same "
                  "configuration)");
  bench->add_flag("--summary-only", b->summary_only,
                  "Run nothing: tables and --json from the runs already done");
  bench
      ->add_option("--centralised-steps", b->centralised_steps,
                   "Steps of the centralised SGD timing (0 = skip)")
      ->capture_default_str();
  bench->add_option("--seeds", b->seeds, "Seeds per setting")->capture_default_str();
  bench->add_option("--alphas", b->alphas, "Dirichlet alphas (column-normalised)")
      ->delimiter(',')
      ->capture_default_str();
  bench->add_option("--local-steps", b->local_steps, "Values of E")
      ->delimiter(',')
      ->capture_default_str();
  bench->add_option("--strategies", b->strategies, "Only these entries (labels or strategy names)")
      ->delimiter(',');
  bench->add_option("--clients", b->clients, "Clients")->capture_default_str();
  bench->add_option("--per-round", b->per_round, "Clients per round")->capture_default_str();
  bench->add_option("--eval-every", b->eval_every, "Evaluate every R rounds")
      ->capture_default_str();
  bench->add_option("--test-samples", b->test_samples, "Test images (0 = all)")
      ->capture_default_str();
  bench->add_option("--train-samples", b->train_samples, "Training images (0 = all)")
      ->capture_default_str();
  bench->add_option("--seed", b->seed, "First seed")->capture_default_str();
  bench
      ->add_option("--json", b->json,
                   "Summary file; every run is appended to the same name with .jsonl")
      ->capture_default_str();
  add_data_dir_option(bench, b->data_dir);
  bench->callback([b] { run_bench(*b); });
}

}  // namespace optidiff::cli
