// optidiff/fed/train.hpp: one federated training run from a flat configuration: what `optidiff fed train`,
// the benchmark and the tour call. Builds the strategy, runs (or resumes) the Federation on a Task,
// checkpoints to <checkpoint_dir>/federation.ckpt and returns the history.
//   fed::TrainConfig c;  c.strategy = "zsignfedavg";  c.options = fed::default_options("zsignfedavg");
//   auto task = fed::make_fashion_task(c.task);
//   fed::TrainResult r = fed::train(c, *task);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "optidiff/fed/simulation.hpp"
#include "optidiff/fed/strategies.hpp"
#include "optidiff/fed/task.hpp"

namespace optidiff::fed {

struct TrainConfig {
  std::string strategy = "fedavg";
  StrategyOptions options;       // options.local_steps is E
  FashionTaskOptions task;       // data, partition, model, batch, seed
  FederationOptions federation;  // per_round, rounds, eval_every, dropout, seed (checkpoint_path is set by train)
  std::string checkpoint_dir;    // "" = none
  bool resume = false;           // continue <checkpoint_dir>/federation.ckpt
};

// The settings a checkpoint must match (all but "rounds" are compared on resume).
Json config_json(const TrainConfig& c, const Strategy& strategy);

struct TrainResult {
  Json config;
  std::vector<HistoryPoint> history;
  double test_accuracy = 0;
  std::uint64_t uplink_bytes = 0, downlink_bytes = 0;
  std::size_t num_parameters = 0;
  std::size_t uplink_bytes_per_client = 0, downlink_bytes_per_client = 0;  // one round, encoded
  int rounds_run = 0;        // rounds run by this call (fewer than `rounds` after a resume)
  double client_steps = 0;   // local steps run by this call (replies x E)
  double train_seconds = 0;  // wall clock of the rounds, evaluation excluded
};
Json to_json(const TrainResult& r);

TrainResult train(const TrainConfig& c, Task& task, const std::function<void(const RoundStats&)>& on_round = {},
                  const ClientExecutor& executor = {});

}  // namespace optidiff::fed
