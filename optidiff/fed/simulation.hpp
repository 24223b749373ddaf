// optidiff/fed/simulation.hpp: the federation: a Task (clients' objectives, model, evaluation), a
// Strategy and the round loop, with byte accounting, dropout, evaluation, checkpoint and resume.
//
// Round t (1-based), every random choice drawn from a counter-based stream of the root seed, so a run
// is a function of (seed, configuration) and a resumed run continues bit-identically:
//   available  = clients with at least one sample (empty clients never train; a warning names them)
//   sampled    = strategy.configure_round(t, available, per_round, stream(t, 0))
//   dropped    = round(dropout * per_round) of the sampled, chosen with stream(t, 1): they received the
//                downlink (counted) but never reply; they are passed to aggregate() as Failures
//   replies    = strategy.fit(downlink, ctx) for the others, client c drawing from stream(t, 2 + c)
//   a reply whose payloads do not match strategy.uplink_spec() (or whose fit threw) becomes a Failure
//   with the reason, e.g. "client 7: uplink payload 0 has 812 bytes; expected PackedSign1 of ...";
//   its bytes still count as uplink traffic
//   aggregate  over the valid replies (none: the model is kept)
// Traffic: downlink bytes = sampled clients x the encoded downlink message; uplink = encoded replies.
//   fed::Federation fed(task, *strategy, {.per_round = 10, .rounds = 50}, config);
//   fed.run();                       // or fed.load(path) first to resume
//   fed.history().back().accuracy;
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/core/timing.hpp"
#include "optidiff/fed/strategy.hpp"

namespace optidiff::fed {

// What the federation learns: the clients' objectives, the model's layout and its evaluation.
class Task {
 public:
  virtual ~Task() = default;
  virtual int num_clients() const = 0;
  virtual Objective& client(int i) = 0;
  virtual ModelLayout layout() const = 0;
  virtual std::vector<float> initial_model() const = 0;
  struct Evaluation {
    double accuracy = 0, loss = 0;
  };
  virtual Evaluation evaluate(std::span<const float> x) = 0;
};

struct FederationOptions {
  int per_round = 10;     // clients sampled per round, 1 <= per_round <= clients with data
  int rounds = 100;       // last round to run
  int eval_every = 10;    // evaluate (and checkpoint) every R rounds, and after the last round
  double dropout = 0;     // fraction of the sampled clients that fail each round, in [0, 1)
  std::uint64_t seed = 0;
  std::string checkpoint_path = {};  // "" = no checkpoints
};

struct HistoryPoint {
  int round = 0;
  double accuracy = 0, loss = 0;   // test set, after the round
  double train_loss = 0;           // mean of the replies' local minibatch losses in that round
  std::uint64_t uplink_bytes = 0;  // cumulative, all clients
  std::uint64_t downlink_bytes = 0;
  double seconds = 0;              // wall clock since the start of this process's run (not restored)
};

struct RoundStats {
  int round = 0;
  int replies = 0;
  std::vector<Failure> failures;
  std::uint64_t uplink_bytes = 0, downlink_bytes = 0;  // this round
  double train_loss = 0;
  double seconds = 0;  // wall clock of the round (clients and aggregation)
};

// Runs the sampled, non-dropped clients of one round; replies and failures are appended. The default
// runs them in this process; the MPI runner and fault-injection tests provide their own.
using ClientExecutor = std::function<void(int round, std::span<const int> clients, const Message& downlink,
                                          std::vector<Reply>& replies, std::vector<Failure>& failures)>;

class Federation {
 public:
  // config: the run's settings (strategy, data, model, seed ...); a checkpoint resumes only into the same
  // config (all keys but "rounds"). The strategy is initialised with the task's initial model.
  Federation(Task& task, Strategy& strategy, const FederationOptions& options, Json config);

  void set_executor(ClientExecutor executor) { executor_ = std::move(executor); }
  // The in-process executor (what set_executor replaces); exposed for wrappers.
  void run_clients_in_process(int round, std::span<const int> clients, const Message& downlink,
                              std::vector<Reply>& replies, std::vector<Failure>& failures);

  RoundStats run_round();
  void evaluate();  // appends a HistoryPoint for the last completed round
  // Rounds next_round()..options.rounds, evaluating every eval_every and at the end (checkpointing then).
  void run(const std::function<void(const RoundStats&)>& on_round = {});

  void save(const std::string& path) const;
  // Restores a checkpoint; Error(kFailedPrecondition) naming the differing setting if it was made by
  // another configuration, kDataLoss if the file is corrupt.
  void load(const std::string& path);

  int next_round() const { return next_round_; }
  const std::vector<HistoryPoint>& history() const { return history_; }
  std::uint64_t uplink_bytes() const { return uplink_bytes_; }
  std::uint64_t downlink_bytes() const { return downlink_bytes_; }
  std::span<const int> available_clients() const { return available_; }
  const Json& config() const { return config_; }
  std::map<int, ClientState>& client_states() { return client_states_; }

 private:
  Task& task_;
  Strategy& strategy_;
  FederationOptions options_;
  Json config_;
  ClientExecutor executor_;
  std::vector<int> available_;
  std::map<int, ClientState> client_states_;
  std::vector<HistoryPoint> history_;
  int next_round_ = 1;
  std::uint64_t uplink_bytes_ = 0, downlink_bytes_ = 0;
  double last_train_loss_ = 0;
  Stopwatch clock_;
};

// Rng stream keys of round t: 0 = sampling, 1 = dropout, 2 + c = client c.
Rng round_stream(std::uint64_t seed, int round, std::uint64_t key);

Json to_json(const HistoryPoint& p);

}  // namespace optidiff::fed
