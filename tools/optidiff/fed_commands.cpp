// optidiff fed train (fed bench is in fed_bench.cpp): federated learning on Fashion-MNIST with
// z-SignFedAvg, FedLion and baselines.
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "optidiff/core/error.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/core/log.hpp"
#include "optidiff/core/progress.hpp"
#include "optidiff/core/table.hpp"
#include "optidiff/core/threads.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/fed/noise.hpp"
#include "optidiff/fed/train.hpp"
#include "tools/optidiff/commands.hpp"

#ifdef OPTIDIFF_HAVE_MPI
#include <mpi.h>

#include "optidiff/fed/mpi_runner.hpp"
#endif

namespace optidiff::cli {
namespace {

// Strategy flags: only those the user gives override the strategy's defaults
// (fed::default_options).
struct StrategyFlags {
  fed::StrategyOptions given;
  std::string z = "1";
  bool no_debias = false, majority_vote = false;
  std::vector<std::pair<CLI::Option*, std::function<void(fed::StrategyOptions&)>>> setters;
};

void add_strategy_flags(CLI::App* cmd, StrategyFlags& f) {
  auto add = [&](const char* flag, double fed::StrategyOptions::*field, const char* help) {
    auto* opt = cmd->add_option(flag, f.given.*field, help);
    f.setters.emplace_back(opt,
                           [&f, field](fed::StrategyOptions& o) { o.*field = f.given.*field; });
  };
  add("--lr", &fed::StrategyOptions::lr,
      "Client learning rate (default per strategy: 0.05; fedlion, fafed 1e-3; fedda 0.1)");
  add("--momentum", &fed::StrategyOptions::momentum,
      "Local SGD momentum; FedDA's beta (default 0; fedda 0.9)");
  add("--server-lr", &fed::StrategyOptions::server_lr,
      "Server learning rate eta (default 1; signsgd, sto-signsgd 1e-3; fedadam/yogi/ams 1e-2)");
  add("--server-momentum", &fed::StrategyOptions::server_momentum,
      "Server heavy-ball beta_s, fedavg and zsignfedavg (default 0)");
  add("--sigma", &fed::StrategyOptions::sigma, "zsignfedavg noise scale, >= 0 (default 0.01)");
  add("--beta1", &fed::StrategyOptions::beta1, "Lion/Adam/FedOpt beta1 in [0,1) (default 0.9)");
  add("--beta2", &fed::StrategyOptions::beta2,
      "Lion/Adam/FedOpt beta2 in [0,1) (default 0.99; fedlion 0.9; fafed 0.999)");
  add("--weight-decay", &fed::StrategyOptions::weight_decay,
      "Lion/AdamW decoupled weight decay (default 0)");
  add("--eps", &fed::StrategyOptions::eps, "AdamW epsilon, fafed (default 1e-6)");
  add("--tau", &fed::StrategyOptions::tau, "FedOpt adaptivity tau (default 1e-3)");
  auto* z = cmd->add_option(
      "--z", f.z, "zsignfedavg noise family: 1 (Gaussian), 2, 3, ... or inf (uniform) (default 1)");
  f.setters.emplace_back(z, [&f](fed::StrategyOptions& o) { o.z = fed::parse_z(f.z); });
  auto* nd =
      cmd->add_flag("--no-debias", f.no_debias,
                    "zsignfedavg: server scale kappa = 1 (author code) instead of sigma/eta_z");
  f.setters.emplace_back(nd, [](fed::StrategyOptions& o) { o.debias = false; });
  auto* mv = cmd->add_flag("--majority-vote", f.majority_vote,
                           "zsignfedavg: server takes sign(sum of signs)");
  f.setters.emplace_back(mv, [](fed::StrategyOptions& o) { o.majority_vote = true; });
}

fed::StrategyOptions resolve(const std::string& strategy, int local_steps, const StrategyFlags& f) {
  auto o = fed::default_options(strategy);
  o.local_steps = local_steps;
  for (const auto& [opt, set] : f.setters)
    if (opt->count() > 0) set(o);
  fed::validate(strategy, o);
  return o;
}

struct TrainArgs {
  std::string strategy = "fedavg", partition = "iid", model = "cnn", data_dir, json, checkpoint,
              runner = "sim";
  int clients = 100, per_round = 10, local_steps = 5, rounds = 50, eval_every = 10, batch = 32;
  int train_samples = 0, test_samples = 0;
  double alpha = 1.0, dropout = 0, timeout = 60;
  std::uint64_t seed = 0;
  bool resume = false;
  StrategyFlags flags;
};

void add_run_flags(CLI::App* cmd, TrainArgs& a) {
  cmd->add_option("--clients", a.clients, "Number of clients N")->capture_default_str();
  cmd->add_option("--per-round", a.per_round, "Clients sampled per round n (1 <= n <= N)")
      ->capture_default_str();
  cmd->add_option("--local-steps", a.local_steps, "Local steps E per round")->capture_default_str();
  cmd->add_option("--batch", a.batch, "Client minibatch size (drawn with replacement)")
      ->capture_default_str();
  cmd->add_option("--partition", a.partition,
                  "iid, shards, dirichlet (per class) or dirichlet-columns (authors')")
      ->capture_default_str();
  cmd->add_option("--alpha", a.alpha, "Dirichlet concentration")->capture_default_str();
  cmd->add_option("--model", a.model, "cnn (26,010 parameters) or resnet20 (GroupNorm, 269,434)")
      ->capture_default_str();
  cmd->add_option("--train-samples", a.train_samples, "Use the first n training images (0 = all)")
      ->capture_default_str();
  cmd->add_option("--test-samples", a.test_samples, "Evaluate on the first n test images (0 = all)")
      ->capture_default_str();
  cmd->add_option("--dropout", a.dropout,
                  "Fraction of sampled clients that fail each round, in [0, 1)")
      ->capture_default_str();
  cmd->add_option("--eval-every", a.eval_every, "Evaluate every R rounds (and after the last)")
      ->capture_default_str();
  cmd->add_option("--seed", a.seed, "Random seed (partition, model, sampling, minibatches, noise)")
      ->capture_default_str();
  add_data_dir_option(cmd, a.data_dir);
}

fed::TrainConfig make_config(const TrainArgs& a) {
  fed::TrainConfig c;
  c.strategy = a.strategy;
  c.options = resolve(a.strategy, a.local_steps, a.flags);
  c.task = {.model = fed::parse_model(a.model),
            .clients = a.clients,
            .partition = fed::parse_partition(a.partition),
            .alpha = a.alpha,
            .batch = a.batch,
            .train_samples = a.train_samples,
            .test_samples = a.test_samples,
            .seed = a.seed,
            .data_dir = a.data_dir};
  if (a.per_round < 1 || a.per_round > a.clients)
    throw_invalid("--per-round is " + std::to_string(a.per_round) +
                  "; expected 1 <= per-round <= --clients (" + std::to_string(a.clients) + ")");
  c.federation = {.per_round = a.per_round,
                  .rounds = a.rounds,
                  .eval_every = a.eval_every,
                  .dropout = a.dropout,
                  .seed = a.seed};
  c.checkpoint_dir = a.checkpoint;
  c.resume = a.resume;
  return c;
}

void print_history(const fed::TrainResult& r, const std::string& title) {
  Table t({"round", "test acc", "test loss", "train loss", "uplink", "downlink", "seconds"}, title);
  for (const auto& p : r.history)
    t.add_row({std::to_string(p.round), format_fixed(p.accuracy, 4), format_fixed(p.loss, 4),
               format_fixed(p.train_loss, 4), megabytes(double(p.uplink_bytes)),
               megabytes(double(p.downlink_bytes)), format_fixed(p.seconds, 1)});
  t.print(std::cout);
}

void report(const TrainArgs& a, const fed::TrainConfig& c, const fed::TrainResult& r) {
  std::cout << "settings: " << r.config.at("options").dump() << "\n";
  std::cout << "per client and round: uplink " << r.uplink_bytes_per_client << " bytes, downlink "
            << r.downlink_bytes_per_client << " bytes (" << r.num_parameters << " parameters)\n";
  print_history(r, "\n" + c.strategy + " on Fashion-MNIST");
  std::cout << "final test accuracy " << format_fixed(r.test_accuracy, 4) << " after round "
            << (r.history.empty() ? 0 : r.history.back().round) << "\n";
  if (a.json.empty()) return;
  Json j = fed::to_json(r);
  // The thread settings the numbers depend on (OpenBLAS's summation order follows its thread count).
  auto env = [](const char* name) { return std::getenv(name) ? Json(std::getenv(name)) : Json(); };
  j["process"] = {{"threads", num_threads()},
                  {"openblas_threads", env("OPENBLAS_NUM_THREADS")},
                  {"omp_wait_policy", env("OMP_WAIT_POLICY")}};
  write_json_file(a.json, j);
}

// --runner mpi: every rank builds the same task; rank 0 serves and reports, the others run clients.
void run_train_mpi(const TrainArgs& a, const fed::TrainConfig& c) {
#ifdef OPTIDIFF_HAVE_MPI
  int initialised = 0;
  MPI_Initialized(&initialised);
  // No barrier in MPI_Finalize: Open MPI 4.1's finalize fence can wait forever for a rank that was
  // killed (seen under mpirun --enable-recovery); fed::train_mpi ends with a stop/acknowledge
  // handshake instead. Read at MPI_Init, and set the same way on every rank; an explicit setting by
  // the user is kept.
  if (!initialised) ::setenv("OMPI_MCA_async_mpi_finalize", "1", 0);
  if (!initialised) MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank != 0) {
    set_quiet(true);
    Progress::set_mode(Progress::Mode::kSilent);
  }
  try {
    auto task = fed::make_fashion_task(c.task);
    if (rank == 0)
      std::cout << "optidiff fed train --runner mpi: " << c.strategy << ", rank 0 serves "
                << size - 1 << " client rank(s), timeout " << format_double(a.timeout, 3) << " s\n";
    Progress bar("fed train " + c.strategy, a.rounds);
    const auto r =
        fed::train_mpi(c, *task, {.timeout_seconds = a.timeout}, [&](const fed::RoundStats& s) {
          bar.update(s.round, std::to_string(s.replies) + " replies");
        });
    bar.finish();
    if (r) report(a, c, *r);
  } catch (...) {
    MPI_Finalize();
    throw;
  }
  MPI_Finalize();
#else
  (void)a;
  (void)c;
  throw_invalid(
      "--runner mpi: this optidiff was built without Open MPI (install libopenmpi-dev and "
      "rebuild)");
#endif
}

void run_train(const TrainArgs& a) {
  const auto c = make_config(a);
  if (a.runner == "mpi") return run_train_mpi(a, c);
  if (a.runner != "sim") throw_invalid("--runner is \"" + a.runner + "\"; expected sim or mpi");
  auto task = fed::make_fashion_task(c.task);
  std::cout << "optidiff fed train: " << c.strategy << ", " << a.clients << " clients, "
            << a.per_round << " per round, E = " << a.local_steps << ", " << a.partition
            << " (alpha " << format_double(a.alpha, 3) << "), " << a.model << ", seed " << a.seed
            << "\n";
  Progress bar("fed train " + c.strategy, a.rounds);
  auto r = fed::train(c, *task, [&](const fed::RoundStats& s) {
    bar.update(s.round,
               std::to_string(s.replies) + " replies, train loss " + format_fixed(s.train_loss, 3));
  });
  bar.finish();
  report(a, c, r);
}

}  // namespace

std::string megabytes(double bytes) { return format_double(bytes / 1e6, 4) + " MB"; }

void add_fed_commands(CLI::App& app) {
  auto* fed = app.add_subcommand(
      "fed", "Federated learning: z-SignFedAvg, FedLion and baselines on Fashion-MNIST");
  fed->require_subcommand(1);

  auto a = std::make_shared<TrainArgs>();
  auto* train = fed->add_subcommand(
      "train", "Train a model across simulated clients and report accuracy and traffic");
  std::string names;
  for (const auto& n : fed::strategy_names()) names += (names.empty() ? "" : ", ") + n;
  train->add_option("--strategy", a->strategy, names)->capture_default_str();
  train
      ->add_option("--rounds", a->rounds,
                   "Rounds to run (a resumed run continues up to this round)")
      ->capture_default_str();
  add_run_flags(train, *a);
  add_strategy_flags(train, a->flags);
  train->add_option("--checkpoint", a->checkpoint,
                    "Directory for federation.ckpt (written at every evaluation)");
  train->add_flag("--resume", a->resume, "Continue the run in --checkpoint");
  train
      ->add_option("--runner", a->runner,
                   "sim (in-process simulation) or mpi (under mpirun: rank 0 serves)")
      ->capture_default_str();
  train
      ->add_option("--timeout", a->timeout,
                   "--runner mpi: seconds a client rank may take per round")
      ->capture_default_str();
  add_json_option(train, a->json);
  train->callback([a] { run_train(*a); });

  add_fed_bench_command(fed);
}

std::vector<TourRow> tour_fed(const TourContext& ctx) {
  std::vector<TourRow> rows;
  fed::FashionTaskOptions t{.model = fed::ModelKind::kCnn,
                            .clients = 20,
                            .partition = fed::PartitionKind::kDirichletColumns,
                            .alpha = 1.0,
                            .train_samples = 6000,
                            .test_samples = 2000,
                            .seed = ctx.seed,
                            .data_dir = ctx.data_dir};
  auto task = fed::make_fashion_task(t);
  for (const std::string name : {"fedavg", "zsignfedavg"}) {
    Stopwatch sw;
    fed::TrainConfig c;
    c.strategy = name;
    c.options = fed::default_options(name);
    c.options.local_steps = 5;
    c.task = t;
    c.federation = {.per_round = 5, .rounds = 30, .eval_every = 30, .seed = ctx.seed};
    const auto r = fed::train(c, *task);
    write_json_file((std::filesystem::path(ctx.out_dir) / ("fed_" + name + ".json")).string(),
                    fed::to_json(r));
    rows.push_back({"fed", name + ": 20 clients, 5/round, E=5, 30 rounds (CNN)",
                    "test acc " + format_fixed(r.test_accuracy, 3) + ", uplink " +
                        std::to_string(r.uplink_bytes_per_client) + " B/client/round",
                    sw.seconds()});
  }
  return rows;
}

}  // namespace optidiff::cli
