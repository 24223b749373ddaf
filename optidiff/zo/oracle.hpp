// optidiff/zo/oracle.hpp: ranking oracles over a function f (research note, section 1).
//
// An oracle answers a Round: the ids of the round's k best candidates, best first (an (m,k)-ranking
// oracle), or f at every candidate for the value-based baselines. "Best" is the smallest f, or the
// largest with `maximize`. Every oracle counts the points it was shown (queries) and its calls, and
// rejects a NaN or infinite f with kInvalidArgument naming the candidate and round.
//
//   zo::ExactOracle oracle(f);                                   // sorted f
//   auto noisy = zo::make_oracle(f, "thurstone:0.1", seed);      // f + 0.1 N(0,1), fresh per call
//   zo::Feedback fb = oracle.answer(opt.ask());
//
// Noise models (ours, not the paper's; note section 1): thurstone:SIGMA (sort f + SIGMA eps, eps fresh
// per call), pl:TAU (Plackett-Luce: best remaining with probability ~ exp(-f/TAU); Bradley-Terry when
// m = 2), flip:P (each adjacent pair of the true order swapped with probability P), pairwise[:PAIRS]
// (PAIRS random pairwise comparisons as DAG edges where a round accepts edges; else a comparison sort).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "optidiff/core/rng.hpp"
#include "optidiff/zo/ask_tell.hpp"

namespace optidiff::zo {

using Objective = std::function<double(const Eigen::VectorXd&)>;

class Oracle {
 public:
  virtual ~Oracle() = default;
  virtual Feedback answer(const Round& round) = 0;
  std::uint64_t queries() const { return queries_; }  // points shown, all calls together
  std::uint64_t calls() const { return calls_; }
  // Noise-free f of the last call's candidates, where known (function oracles); empty otherwise.
  const std::vector<double>& true_values() const { return true_values_; }

 protected:
  std::uint64_t queries_ = 0, calls_ = 0;
  std::vector<double> true_values_;
};

// The common part of the oracles over a known f: evaluates, checks finiteness, counts, ranks.
class FunctionOracle : public Oracle {
 public:
  FunctionOracle(Objective f, bool maximize, std::uint64_t seed);
  Feedback answer(const Round& round) final;

 protected:
  // Scores to rank, smaller is better (f, or -f when maximising), plus the rng for noise.
  virtual std::vector<int> order(const std::vector<double>& score, int k) = 0;
  // Values returned to value-based optimisers (exact unless a subclass adds noise).
  virtual double observed_value(double f) { return f; }
  // A subclass may answer rounds that accept edges with edges instead of a ranking.
  virtual bool answer_edges(const std::vector<double>&, Feedback&) { return false; }
  Rng rng_;

 private:
  Objective f_;
  bool maximize_;
};

class ExactOracle final : public FunctionOracle {
 public:
  explicit ExactOracle(Objective f, bool maximize = false) : FunctionOracle(std::move(f), maximize, 0) {}

 private:
  std::vector<int> order(const std::vector<double>& score, int k) override;
};

class ThurstoneOracle final : public FunctionOracle {
 public:
  ThurstoneOracle(Objective f, double sigma, std::uint64_t seed, bool maximize = false);

 private:
  std::vector<int> order(const std::vector<double>& score, int k) override;
  double observed_value(double f) override { return f + sigma_ * rng_.normal(); }
  double sigma_;
};

class PlackettLuceOracle final : public FunctionOracle {
 public:
  PlackettLuceOracle(Objective f, double temperature, std::uint64_t seed, bool maximize = false);

 private:
  std::vector<int> order(const std::vector<double>& score, int k) override;
  double tau_;
};

class FlipOracle final : public FunctionOracle {
 public:
  FlipOracle(Objective f, double p, std::uint64_t seed, bool maximize = false);

 private:
  std::vector<int> order(const std::vector<double>& score, int k) override;
  double p_;
};

// Pairwise comparisons: `pairs` random distinct pairs per round as DAG edges (RankSgd gradient rounds),
// a comparison sort otherwise. comparisons() counts the pairwise judgements made.
class PairwiseOracle final : public FunctionOracle {
 public:
  PairwiseOracle(Objective f, int pairs, std::uint64_t seed, bool maximize = false);
  std::uint64_t comparisons() const { return comparisons_; }

 private:
  std::vector<int> order(const std::vector<double>& score, int k) override;
  bool answer_edges(const std::vector<double>& score, Feedback& out) override;
  int pairs_;
  std::uint64_t comparisons_ = 0;
};

// "exact", "thurstone:0.1", "pl:0.5", "flip:0.05", "pairwise" or "pairwise:20". kInvalidArgument otherwise.
std::unique_ptr<FunctionOracle> make_oracle(Objective f, const std::string& spec, std::uint64_t seed,
                                            bool maximize = false);

}  // namespace optidiff::zo
