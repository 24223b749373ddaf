// optidiff/fed/strategy.hpp: the Strategy interface (after Flower's strategy.py: configure a round,
// the client's local work, aggregate with failures passed in). The simulation (simulation.hpp) and the
// MPI runner are two drivers of the same Strategy, so a new algorithm is one file in strategies/.
//
// A round, as every driver runs it:
//   clients  = strategy.configure_round(t, available, per_round, rng)   // who trains
//   down     = strategy.downlink(t)                                     // the same message to each
//   reply_i  = strategy.fit(down, ctx_i)          // client side: const, state only in ctx_i.state
//   strategy.check_reply(reply_i)                 // wrong payload sizes -> a Failure, not a crash
//   strategy.aggregate(t, replies, failures)      // no replies: the model is kept
// Clients are stateless workers except for ClientState (EF-SignSGD's residual), which the driver keeps
// per client and checkpoints.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/fed/codec.hpp"
#include "optidiff/fed/objective.hpp"
#include "optidiff/fed/state_io.hpp"

namespace optidiff::fed {

// Named fp32 vectors a client keeps between the rounds it takes part in.
using ClientState = std::map<std::string, std::vector<float>>;

struct ClientContext {
  int round = 0;
  int client = 0;
  Objective& objective;
  ClientState& state;
  Rng& rng;  // this client's stream for this round: minibatches and compressor noise
};

struct Reply {
  int client = 0;
  Message uplink;
  std::size_t num_examples = 0;
  double train_loss = 0;  // mean minibatch loss over the local steps (not counted as traffic)
};

struct Failure {
  int client = 0;
  std::string reason;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The settings, printed before round 1 and stored in --json and checkpoints.
  virtual Json describe() const = 0;

  // Server: sets the global model x_0 and resets every server state.
  virtual void initialize(std::span<const float> x0) = 0;
  // Who trains in round t: per_round of `available`, uniformly without replacement (default).
  virtual std::vector<int> configure_round(int round, std::span<const int> available, int per_round, Rng& rng);
  virtual Message downlink(int round) const = 0;
  // Client: local work from the downlink message; must not touch server state.
  virtual Reply fit(const Message& downlink, ClientContext& ctx) const = 0;
  // The shape every reply's uplink must have.
  virtual std::vector<PayloadSpec> uplink_spec() const = 0;
  // Throws Error(kDataLoss) naming the client, the payload and both sizes if reply does not match.
  void check_reply(const Reply& reply) const;
  // Server: combines the replies of round t (averaging over the replies received).
  virtual void aggregate(int round, std::span<const Reply> replies, std::span<const Failure> failures) = 0;

  virtual std::span<const float> model() const = 0;
  // Server state for checkpoints (arrays prefixed "server/").
  virtual void save(StateDict& out) const = 0;
  virtual void load(const StateDict& in) = 0;
};

}  // namespace optidiff::fed
