// optidiff/zo/driver.hpp: the one loop that runs any ask/tell optimiser against an oracle.
//
//   zo::RunResult r = zo::minimize(opt, oracle, {.budget = 10000, .target = 1e-8});
//   r.history: [queries, best f so far] pairs, the first at the starting point (0 queries).
//
// Queries are points shown to the oracle (the cost of a person's time or of an evaluation). The best f
// so far is the noise-free f of the points shown, where the oracle knows it (COCO's convention).
#pragma once

#include <Eigen/Dense>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/oracle.hpp"

namespace optidiff::zo {

struct RoundInfo {
  std::uint64_t round = 0;
  long long queries = 0;
  double f_best = 0;
};

struct RunOptions {
  long long budget = 1000;  // points shown; no round starts that would exceed it
  double target = -std::numeric_limits<double>::infinity();  // stop once f_best <= target
  std::function<bool(const RoundInfo&)> on_round = {};         // called after each round; true stops
};

struct RunResult {
  long long queries = 0, oracle_calls = 0, rounds = 0;
  double f0 = 0, f_best = 0, f_final = 0;  // f(x0), best f of the points shown, f(incumbent) at the end
  Eigen::VectorXd x_best, x_final;
  std::vector<std::pair<long long, double>> history;
  std::string stop;  // "budget", "target", "callback" or the optimiser's StopReason code
};

// f is the noise-free objective, evaluated for reporting only (f(x0), f(incumbent)); not counted.
RunResult minimize(AskTell& optimiser, Oracle& oracle, const Objective& f, const RunOptions& options);

}  // namespace optidiff::zo
