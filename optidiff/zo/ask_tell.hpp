// optidiff/zo/ask_tell.hpp: the one ask/tell interface shared by ZO-RankSGD, CMA-ES, ZO-SGD and the
// (1+1)-ES, so that benchmarks, the CLI and the ranking service swap optimisers freely.
//
// A round shows m candidate points (the columns of a d x m matrix) to an oracle: a test function, a noisy
// ranker, a person. The optimiser says what it needs back (Round::k best ids in order, or values for the
// value-based ZO-SGD), and the answer goes back with the round's id:
//
//   zo::RankSgd opt(x0, {.m = 8, .k = 3, .mu = 0.01, .step = 0.05});
//   while (!opt.stop_reason()) {
//     zo::Round r = opt.ask();                        // repeats the pending round until it is told
//     opt.tell(r.id, zo::TopK{{3, 1, 0}});            // candidate ids, best first
//   }
//   std::string saved = opt.save();                   // JSON: incumbent, step, pending round, RNG state
//   zo::RankSgd again = ...; again.load(saved);       // resumes bit-exactly, even between ask and tell
//
// Conventions: candidate ids are 0-based column indices; "best" is the oracle's notion (smallest f when
// minimising, largest when maximising), so rank-only optimisers never need to know the sense. Errors:
// a stale round id or a tell without ask is kFailedPrecondition; malformed feedback is kInvalidArgument;
// a state that is not this optimiser's (truncated, edited, other method) is kDataLoss. Every failed tell
// or load leaves the optimiser exactly as it was.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace optidiff::zo {

// What a round asks of the oracle.
enum class Want {
  kTopK,    // the ids of the k best candidates, best first; an (m, k)-ranking oracle
  kValues,  // f at every candidate (value-based baselines only)
};

struct Round {
  std::uint64_t id = 0;
  Eigen::MatrixXd points = {};  // d x m, one candidate per column
  Want want = Want::kTopK;
  int k = 0;                    // for kTopK: how many ids, 1 <= k <= m
  bool accepts_edges = false;   // true where any DAG of pairwise judgements is usable (RankSgd gradient rounds)
  std::string kind = {};        // "gradient", "line_search", "sample", "values": for people and logs
  int m() const { return static_cast<int>(points.cols()); }
  int dim() const { return static_cast<int>(points.rows()); }
};

// Feedback. TopK: ids best first. Edges: pairs (better, worse), which must form a DAG. Values: f per
// candidate (value-based optimisers only).
struct TopK {
  std::vector<int> ids = {};
};
struct Edges {
  std::vector<std::pair<int, int>> better_worse = {};
};
struct Values {
  std::vector<double> f = {};
};
using Feedback = std::variant<TopK, Edges, Values>;

// Why an optimiser stopped on its own (budgets are the driver's business).
struct StopReason {
  std::string code = {};     // "tolx", "conditioncov", "max_restarts", ...
  std::string message = {};  // one sentence for people
};

class AskTell {
 public:
  virtual ~AskTell() = default;
  virtual std::string method() const = 0;  // "ranksgd", "ranksgd-ls", "cmaes", "zosgd", "oneplusone"
  virtual int dim() const = 0;

  // The pending round; a new one if none is pending. Calling it twice returns the same round.
  virtual Round ask() = 0;
  // Answers round `round_id`. Throws (and changes nothing) on a stale id, no pending round, or feedback
  // of the wrong kind or shape.
  virtual void tell(std::uint64_t round_id, const Feedback& feedback) = 0;
  // The current recommendation: RankSgd's iterate, CMA-ES's mean, ZO-SGD's iterate, the ES's parent.
  virtual Eigen::VectorXd incumbent() const = 0;
  virtual std::optional<StopReason> stop_reason() const = 0;
  virtual bool pending() const = 0;
  virtual std::uint64_t rounds_told() const = 0;

  // The whole state as JSON text ("method", options, iterate, step, pending round, RNG state);
  // load(save()) continues bit-exactly. load validates everything and throws kDataLoss naming the key.
  virtual std::string save() const = 0;
  virtual void load(std::string_view state) = 0;
};

}  // namespace optidiff::zo
