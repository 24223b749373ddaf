#include "optidiff/fed/train.hpp"

#include <filesystem>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {

Json config_json(const TrainConfig& c, const Strategy& strategy) {
  return {{"strategy", c.strategy},
          {"options", strategy.describe()},
          {"clients", c.task.clients},
          {"per_round", c.federation.per_round},
          {"partition", partition_name(c.task.partition)},
          {"alpha", c.task.alpha},
          {"model", model_name(c.task.model)},
          {"batch", c.task.batch},
          {"train_samples", c.task.train_samples},
          {"test_samples", c.task.test_samples},
          {"dropout", c.federation.dropout},
          {"eval_every", c.federation.eval_every},
          {"seed", c.federation.seed},
          {"rounds", c.federation.rounds}};
}

Json to_json(const TrainResult& r) {
  Json history = Json::array();
  for (const auto& p : r.history) history.push_back(to_json(p));
  return {{"strategy", r.config.at("strategy")},
          {"rounds", r.config.at("rounds")},
          {"test_accuracy", r.test_accuracy},
          {"uplink_bytes", r.uplink_bytes},
          {"downlink_bytes", r.downlink_bytes},
          {"uplink_bytes_per_client_round", r.uplink_bytes_per_client},
          {"downlink_bytes_per_client_round", r.downlink_bytes_per_client},
          {"num_parameters", r.num_parameters},
          {"client_steps_per_second", r.train_seconds > 0 ? r.client_steps / r.train_seconds : 0.0},
          {"config", r.config},
          {"history", history}};
}

TrainResult train(const TrainConfig& c, Task& task, const std::function<void(const RoundStats&)>& on_round,
                  const ClientExecutor& executor) {
  if (task.num_clients() != c.task.clients)
    throw_invalid("task has " + std::to_string(task.num_clients()) + " clients; configuration says " +
                  std::to_string(c.task.clients));
  auto strategy = make_strategy(c.strategy, c.options, task.layout());
  FederationOptions fo = c.federation;
  std::string path;
  if (!c.checkpoint_dir.empty()) {
    std::filesystem::create_directories(c.checkpoint_dir);
    path = (std::filesystem::path(c.checkpoint_dir) / "federation.ckpt").string();
    if (!c.resume && std::filesystem::exists(path))
      throw Error(ErrorCode::kFailedPrecondition, path + " exists; pass --resume to continue it, or choose another "
                                                         "--checkpoint directory");
    fo.checkpoint_path = path;
  } else if (c.resume) {
    throw_invalid("--resume needs --checkpoint DIR (the directory of the run to continue)");
  }
  TrainResult r;
  r.config = config_json(c, *strategy);
  Federation fed(task, *strategy, fo, r.config);
  if (executor) fed.set_executor(executor);
  if (c.resume) {
    if (!std::filesystem::exists(path)) throw_not_found("--resume: no checkpoint at " + path);
    fed.load(path);
  }
  r.num_parameters = task.layout().dim();
  r.downlink_bytes_per_client = message_bytes(strategy->downlink(fed.next_round()));
  for (const auto& spec : strategy->uplink_spec()) r.uplink_bytes_per_client += encoded_bytes(spec);
  const int first = fed.next_round();
  double train_seconds = 0;
  fed.run([&](const RoundStats& s) {
    train_seconds += s.seconds;
    r.client_steps += double(s.replies) * c.options.local_steps;
    if (on_round) on_round(s);
  });
  r.rounds_run = std::max(0, fed.next_round() - first);
  r.train_seconds = train_seconds;
  r.history = fed.history();
  r.test_accuracy = r.history.empty() ? 0.0 : r.history.back().accuracy;
  r.uplink_bytes = fed.uplink_bytes();
  r.downlink_bytes = fed.downlink_bytes();
  return r;
}

}  // namespace optidiff::fed
