// optidiff rank minimize | init | ask | tell | bench: rank-only optimisation (ZO-RankSGD and its peers)
// on test functions, and a file-based ask/tell loop in which a person or another program is the oracle.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/zo/driver.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/oracle.hpp"
#include "optidiff/zo/problems.hpp"
#include "tools/optidiff/commands.hpp"
#include "tools/optidiff/zo_bench.hpp"

namespace optidiff::cli {
namespace {

struct MethodArgs {
  zo::MethodSettings s;
  std::string schedule = "constant";
};

// The optimiser flags shared by minimize and init.
void add_method_options(CLI::App* cmd, MethodArgs& a) {
  cmd->add_option("--method", a.s.method, "ranksgd, ranksgd-ls, cmaes, zosgd or oneplusone")->capture_default_str();
  cmd->add_option("--m", a.s.m, "Candidates per round (cmaes: lambda); 0: the method's default")->capture_default_str();
  cmd->add_option("--k", a.s.k, "Ids ranked per round (0: k = m); cmaes always asks mu = m/2")->capture_default_str();
  cmd->add_option("--mu", a.s.mu, "Smoothing radius of the perturbations (0: 0.01)")->capture_default_str();
  cmd->add_option("--step", a.s.step, "Step eta, or the longest line-search step (0: method default)")
      ->capture_default_str();
  cmd->add_option("--schedule", a.schedule, "ranksgd/zosgd step schedule: constant or inv_sqrt")->capture_default_str();
  cmd->add_flag("--adapt-step", a.s.adapt_step, "ranksgd-ls: move the step towards the winning line-search step");
  cmd->add_option("--ls-points", a.s.ls_points, "ranksgd-ls: candidates per line-search round (0: m)")
      ->capture_default_str();
  cmd->add_option("--sigma0", a.s.sigma0, "cmaes / oneplusone initial step size (0: 0.5)")->capture_default_str();
  cmd->add_option("--restarts", a.s.restarts, "cmaes: IPOP restarts")->capture_default_str();
  cmd->add_flag("--diagonal", a.s.diagonal, "cmaes: sep-CMA-ES (diagonal covariance, for large d)");
  cmd->add_option("--seed", a.s.seed, "Random seed")->capture_default_str();
}

zo::MethodSettings finish_settings(const MethodArgs& a) {
  zo::MethodSettings s = a.s;
  s.schedule = zo::parse_schedule(a.schedule);
  return s;
}

std::vector<double> parse_numbers(const std::string& text, const std::string& what) {
  std::vector<double> v;
  std::string token;
  std::stringstream in(text);
  while (in >> token) {
    std::stringstream parts(token);
    std::string piece;
    while (std::getline(parts, piece, ',')) {
      if (piece.empty()) continue;
      try {
        std::size_t used = 0;
        const double x = std::stod(piece, &used);
        if (used != piece.size() || !std::isfinite(x)) throw std::invalid_argument(piece);
        v.push_back(x);
      } catch (const std::exception&) {
        throw_invalid(what + ": \"" + piece + "\" is not a finite number");
      }
    }
  }
  return v;
}

std::vector<int> parse_ranking(const std::string& text) {
  std::vector<int> ids;
  std::stringstream in(text);
  std::string piece;
  while (std::getline(in, piece, ',')) {
    const auto b = piece.find_first_not_of(" \t"), e = piece.find_last_not_of(" \t");
    piece = b == std::string::npos ? "" : piece.substr(b, e - b + 1);
    if (piece.empty() || piece.find_first_not_of("0123456789") != std::string::npos || piece.size() > 9)
      throw_invalid("--ranking " + text + ": \"" + piece + "\" is not a candidate id; expected ids like 3,1,0 (best first)");
    ids.push_back(std::stoi(piece));
  }
  if (ids.empty()) throw_invalid("--ranking is empty; expected ids like 3,1,0 (best first)");
  return ids;
}

// ---- minimize ----------------------------------------------------------------------------------

struct MinimizeArgs {
  MethodArgs method;
  std::string function = "rosenbrock", noise = "exact", json;
  int dim = 10;
  long long budget = 10000;
  std::uint64_t instance = 1;
  double target = -INFINITY;
};

void run_minimize(const MinimizeArgs& a) {
  const zo::MethodSettings s = finish_settings(a.method);
  if (a.budget < 1) throw_invalid("--budget is " + std::to_string(a.budget) + "; expected >= 1 query");
  const zo::Problem p = zo::make_problem(a.function, a.dim, a.instance);
  auto opt = zo::make_optimizer(p.x0, s);
  auto oracle = zo::make_oracle(p.f, a.noise, s.seed ^ 0x5eed);
  std::cerr << "optidiff rank minimize: " << opt->method() << " on " << p.name << " (d = " << p.dim
            << ", f_opt = " << format_double(p.f_opt, 8) << "), oracle " << a.noise << ", budget " << a.budget
            << " queries, seed " << s.seed << "\n";
  Progress bar("rank", a.budget);
  Stopwatch sw;
  const zo::RunResult r = zo::minimize(*opt, *oracle, p.f,
                                       {.budget = a.budget,
                                        .target = a.target,
                                        .on_round = [&](const zo::RoundInfo& i) {
                                          bar.update(i.queries, "best f - f_opt " + format_double(i.f_best - p.f_opt, 3));
                                          return false;
                                        }});
  bar.finish();
  const double seconds = sw.seconds();
  Table t({"method", "function", "dim", "queries", "f_best - f_opt", "f_final - f_opt", "stop", "seconds"});
  t.add_row({opt->method(), p.name, std::to_string(p.dim), std::to_string(r.queries), format_double(r.f_best - p.f_opt, 4),
             format_double(r.f_final - p.f_opt, 4), r.stop, format_fixed(seconds, 2)});
  t.print(std::cout);
  if (!a.json.empty()) {
    Json history = Json::array();
    for (auto [q, f] : r.history) history.push_back({q, f});
    write_json_file(a.json, Json{{"method", opt->method()},
                                 {"function", p.name},
                                 {"dim", p.dim},
                                 {"instance", a.instance},
                                 {"noise", a.noise},
                                 {"seed", s.seed},
                                 {"budget", a.budget},
                                 {"queries", r.queries},
                                 {"oracle_calls", r.oracle_calls},
                                 {"rounds", r.rounds},
                                 {"f0", r.f0},
                                 {"f_opt", p.f_opt},
                                 {"f_best", r.f_best},
                                 {"f_final", r.f_final},
                                 {"x_final", std::vector<double>(r.x_final.data(), r.x_final.data() + r.x_final.size())},
                                 {"stop", r.stop},
                                 {"seconds", seconds},
                                 {"history", history}});
  }
}

// ---- init / ask / tell -------------------------------------------------------------------------

struct StateArgs {
  MethodArgs method;
  std::string state, x0_file, ranking, values;
  int dim = 0;
  bool force = false;
};

std::unique_ptr<zo::AskTell> read_state(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw_not_found("--state " + path + " does not exist; create it with optidiff rank init");
  try {
    return zo::load_optimizer(read_text_file(path));
  } catch (const Error& e) {
    throw Error(e.code(), "--state " + path + ": " + e.what());
  }
}

void run_init(const StateArgs& a) {
  if (a.state.empty()) throw_invalid("--state is required");
  if (!a.force && std::filesystem::exists(a.state))
    throw Error(ErrorCode::kFailedPrecondition,
                "--state " + a.state + " already exists; pass --force to replace it (its run would be lost)");
  Eigen::VectorXd x0;
  if (!a.x0_file.empty()) {
    const std::vector<double> v = parse_numbers(read_text_file(a.x0_file), "--x0 " + a.x0_file);
    if (a.dim != 0 && static_cast<int>(v.size()) != a.dim)
      throw_invalid("--x0 " + a.x0_file + " has " + std::to_string(v.size()) + " numbers; expected --dim = " +
                    std::to_string(a.dim));
    x0 = Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
  } else {
    if (a.dim < 1) throw_invalid("--dim is " + std::to_string(a.dim) + "; expected d >= 1 (or give --x0 FILE)");
    x0 = Eigen::VectorXd::Zero(a.dim);
  }
  auto opt = zo::make_optimizer(x0, finish_settings(a.method));
  write_text_atomic(a.state, opt->save());
  std::cout << "wrote " << a.state << ": " << opt->method() << ", d = " << opt->dim()
            << "; next: optidiff rank ask --state " << a.state << "\n";
}

void run_ask(const StateArgs& a) {
  auto opt = read_state(a.state);
  const zo::Round r = opt->ask();
  write_text_atomic(a.state, opt->save());  // the pending round (its seed) is part of the state
  std::ostringstream csv;
  csv.precision(17);
  csv << "id";
  for (int j = 0; j < r.dim(); ++j) csv << ",x" << j;
  csv << "\n";
  for (int i = 0; i < r.m(); ++i) {
    csv << i;
    for (int j = 0; j < r.dim(); ++j) csv << "," << r.points(j, i);
    csv << "\n";
  }
  std::cout << csv.str();
  if (r.want == zo::Want::kValues)
    log_info("round " + std::to_string(r.id) + " (" + r.kind + "): give f at every id: optidiff rank tell --state " +
             a.state + " --values f0,f1,...");
  else
    log_info("round " + std::to_string(r.id) + " (" + r.kind + "): rank the " + std::to_string(r.k) + " best of " +
             std::to_string(r.m()) + " ids, best first: optidiff rank tell --state " + a.state + " --ranking ...");
}

void run_tell(const StateArgs& a) {
  auto opt = read_state(a.state);
  if (!opt->pending())
    throw Error(ErrorCode::kFailedPrecondition,
                "--state " + a.state + " has no pending round; run optidiff rank ask --state " + a.state + " first");
  if (a.ranking.empty() == a.values.empty()) throw_invalid("give exactly one of --ranking IDS or --values F0,F1,...");
  const zo::Round r = opt->ask();  // the pending round, unchanged
  zo::Feedback fb;
  if (!a.ranking.empty())
    fb = zo::TopK{parse_ranking(a.ranking)};
  else
    fb = zo::Values{parse_numbers(a.values, "--values")};
  opt->tell(r.id, fb);  // throws on bad feedback; the file is untouched then
  write_text_atomic(a.state, opt->save());
  const Eigen::VectorXd x = opt->incumbent();
  std::ostringstream s;
  s.precision(6);
  for (Eigen::Index i = 0; i < std::min<Eigen::Index>(x.size(), 8); ++i) s << (i ? ", " : "") << x[i];
  if (x.size() > 8) s << ", ...";
  std::cout << "told round " << r.id << " (" << r.kind << "); incumbent [" << s.str() << "]\n";
}

}  // namespace

void add_zo_commands(CLI::App& app) {
  auto* rank = app.add_subcommand("rank", "Rank-only optimisation: ZO-RankSGD, CMA-ES, ZO-SGD, (1+1)-ES; BBOB");
  rank->require_subcommand(1);

  auto mn = std::make_shared<MinimizeArgs>();
  auto* minimize = rank->add_subcommand("minimize", "Minimise a test function through a (noisy) ranking oracle");
  minimize->add_option("--function", mn->function, "quadratic, rosenbrock, or a BBOB function (f1..f24 or its name)")
      ->capture_default_str();
  minimize->add_option("--dim", mn->dim, "Dimension d")->capture_default_str();
  minimize->add_option("--instance", mn->instance, "BBOB instance (or the quadratic's seed)")->capture_default_str();
  minimize->add_option("--budget", mn->budget, "Queries (points shown to the oracle)")->capture_default_str();
  minimize->add_option("--noise", mn->noise, "exact, thurstone:SIGMA, pl:TAU, flip:P, pairwise[:PAIRS]")
      ->capture_default_str();
  minimize->add_option("--target", mn->target, "Stop once the best f is at most this");
  add_method_options(minimize, mn->method);
  add_json_option(minimize, mn->json);
  minimize->callback([mn] { run_minimize(*mn); });

  auto init_args = std::make_shared<StateArgs>();
  auto* init = rank->add_subcommand("init", "Start a file-based ask/tell run (you are the oracle)");
  init->add_option("--state", init_args->state, "State file (JSON) to create")->required();
  init->add_option("--dim", init_args->dim, "Dimension d (x0 = 0 unless --x0 is given)");
  init->add_option("--x0", init_args->x0_file, "File with the d numbers of the starting point");
  init->add_flag("--force", init_args->force, "Replace an existing state file");
  add_method_options(init, init_args->method);
  init->callback([init_args] { run_init(*init_args); });

  auto ask_args = std::make_shared<StateArgs>();
  auto* ask = rank->add_subcommand("ask", "Print the pending round's points as CSV (id,x0,x1,...)");
  ask->add_option("--state", ask_args->state, "State file from optidiff rank init")->required();
  ask->callback([ask_args] { run_ask(*ask_args); });

  auto tell_args = std::make_shared<StateArgs>();
  auto* tell = rank->add_subcommand("tell", "Answer the pending round: ids best first (or values for zosgd)");
  tell->add_option("--state", tell_args->state, "State file from optidiff rank init")->required();
  tell->add_option("--ranking", tell_args->ranking, "Candidate ids, best first, e.g. 3,1,0");
  tell->add_option("--values", tell_args->values, "f at every id, for the value-based zosgd");
  tell->callback([tell_args] { run_tell(*tell_args); });

  auto bench_args = std::make_shared<RankBenchOptions>();
  auto* bench = rank->add_subcommand("bench", "ZO-RankSGD vs CMA-ES, ZO-SGD, (1+1)-ES: paper problems, BBOB ECDF, speed");
  bench->add_flag("--quick", bench_args->quick, "A reduced run (minutes on 2 cores)");
  bench->add_option("--parts", bench_args->parts, "Comma-separated subset of paper,bbob,speed")->capture_default_str();
  bench->add_option("--bbob-dims", bench_args->bbob_dims, "BBOB dimensions, comma-separated")->capture_default_str();
  bench->add_option("--bbob-budget", bench_args->bbob_budget_per_dim, "BBOB budget per run, in queries / d")
      ->capture_default_str();
  bench->add_option("--seed", bench_args->seed, "Random seed")->capture_default_str();
  bench->add_option("--plot", bench_args->plot, "Write the curves as PNG (FILE.png; the ECDF goes to FILE-bbob.png)");
  add_json_option(bench, bench_args->json);
  bench->callback([bench_args] { run_rank_bench(*bench_args); });
}

std::vector<TourRow> tour_zo(const TourContext& ctx) {
  std::vector<TourRow> rows;
  const zo::Problem p = zo::make_problem("rosenbrock", 10, 1);
  const long long budget = 6000;
  struct Entry {
    const char* label;
    zo::MethodSettings s;
  };
  const Entry entries[] = {
      {"ZO-RankSGD+LS (10,10) ranks", {.method = "ranksgd-ls", .m = 10, .k = 10, .step = 0.5, .adapt_step = true, .seed = ctx.seed}},
      {"CMA-ES (10,5) ranks", {.method = "cmaes", .m = 10, .sigma0 = 0.5, .seed = ctx.seed}}};
  for (const auto& e : entries) {
    Stopwatch sw;
    auto opt = zo::make_optimizer(p.x0, e.s);
    zo::ExactOracle oracle(p.f);
    const zo::RunResult r = zo::minimize(*opt, oracle, p.f, {.budget = budget});
    rows.push_back({"zo", std::string(e.label) + " on Rosenbrock d=10, " + std::to_string(budget) + " queries",
                    "f " + format_double(r.f0, 3) + " -> best " + format_double(r.f_best, 3), sw.seconds()});
  }
  return rows;
}

}  // namespace optidiff::cli
