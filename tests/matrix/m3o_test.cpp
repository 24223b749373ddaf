// M3O and its baselines on problems with a known answer; the prox operators against closed forms;
// the input checks of Observation and the simulation.
#include "optidiff/matrix/m3o.hpp"

#include <gtest/gtest.h>

#include <Eigen/SVD>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/matrix/recover.hpp"

namespace optidiff::matrix {
namespace {

Eigen::MatrixXd low_rank_plus_noise(int n, int m, int r, double noise, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd U(n, r), V(r, m), E(n, m);
  rng.fill_normal(U.data(), U.size());
  rng.fill_normal(V.data(), V.size());
  rng.fill_normal(E.data(), E.size());
  return U * V + noise * E;
}

TEST(Prox, MatchesClosedFormsFromTheFullSvd) {
  const Eigen::MatrixXd y = low_rank_plus_noise(60, 40, 4, 0.3, 1);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(y, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd s = svd.singularValues();
  const double lambda = 0.5 * (s[3] + s[4]);  // between the 4th and 5th singular value
  auto reference = [&](auto shrink) {
    Eigen::VectorXd t = s.unaryExpr(shrink);
    return Eigen::MatrixXd(svd.matrixU() * t.asDiagonal() * svd.matrixV().transpose());
  };
  for (SvdMode mode : {SvdMode::kFull, SvdMode::kRandomized}) {
    // The range finder captures the top-4 space up to (sigma_24 / sigma_4)^5 with 2 power
    // iterations.
    const double tol = (mode == SvdMode::kFull ? 1e-12 : 1e-6) * y.norm();
    Prox soft({.kind = ProxKind::kSoft, .lambda = lambda, .svd = mode});
    const ProxResult ps = soft(y);
    EXPECT_LT((ps.X - reference([&](double v) { return std::max(0.0, v - lambda); })).norm(), tol);
    EXPECT_EQ(ps.rank, 4);
    EXPECT_NEAR(ps.penalty, lambda * (s.head(4).array() - lambda).sum(), tol);
    Prox hard({.kind = ProxKind::kHard, .lambda = lambda, .svd = mode});
    const ProxResult ph = hard(y);
    EXPECT_LT((ph.X - reference([&](double v) { return v > lambda ? v : 0.0; })).norm(), tol);
    EXPECT_NEAR(ph.penalty, 0.5 * lambda * lambda * 4, 1e-12);
    Prox rank({.kind = ProxKind::kRank, .rank = 4, .svd = mode});
    EXPECT_LT((rank(y).X - ph.X).norm(), 2 * tol);
  }
}

TEST(Prox, RandomizedSvdRecoversTheLeadingTriplets) {
  const Eigen::MatrixXd a = low_rank_plus_noise(300, 200, 6, 1e-3, 2);
  Rng rng(3);
  const TruncatedSvd t = randomized_svd(a, 6, rng);
  const TruncatedSvd f = full_svd(a);
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(t.s[i], f.s[i], 1e-9 * f.s[0]);
  EXPECT_THROW(randomized_svd(a, 201, rng), Error);
}

TEST(M3O, RecoversThePermutationExactlyWithoutNoise) {
  // Noiseless, fully observed, rank 2, a reference block three times wider than the shuffled one.
  const Simulation sim = simulate({.rows = 30,
                                   .cols = 60,
                                   .rank = 2,
                                   .noise = 0,
                                   .missing = 0,
                                   .groups = 1,
                                   .shuffled = 0.25,
                                   .seed = 1});
  M3OOptions o;
  o.temperature.patience = 20;
  const RecoveryResult r = m3o(sim.observed, o);
  const Metrics m = evaluate(sim, r);
  EXPECT_EQ(m.permutation_errors, 0);
  EXPECT_EQ(r.observed_row, sim.observed_row);
  EXPECT_LT(m.rmse, 1e-3);
  EXPECT_EQ(r.argmax_collisions, 0);
}

TEST(M3O, RecoversTwoGroupsWithIndependentPermutations) {
  const Simulation sim = simulate({.rows = 30,
                                   .cols = 90,
                                   .rank = 2,
                                   .noise = 0,
                                   .missing = 0,
                                   .groups = 2,
                                   .shuffled = 1.0 / 3,
                                   .seed = 1});
  ASSERT_NE(sim.observed_row[0], sim.observed_row[1]);
  M3OOptions o;
  o.prox = {.kind = ProxKind::kRank, .rank = 2};
  o.temperature.patience = 20;
  const RecoveryResult r = m3o(sim.observed, o);
  EXPECT_EQ(evaluate(sim, r).permutation_errors, 0);
}

TEST(M3O, TheTruthIsAFixedPointInThePaperSetting) {
  // Note 2.5 a (100x100, rank 5, noise 0.1, 60% missing, 2 groups of 30). Started from the oracle's
  // completion (which knows P) at the sharp end of the schedule, M3O must keep every row: an error
  // of sign or scale in the cost, the Danskin gradient, Sinkhorn or the step would move it away.
  // (From a random start it usually stops in a local minimum of higher objective: docs/m3o.md.)
  const Simulation sim = simulate(
      {.rows = 100, .cols = 100, .rank = 5, .noise = 0.1, .missing = 0.6, .groups = 2, .seed = 0});
  const ProxOptions prox{.kind = ProxKind::kHard, .lambda = 0.55};
  M3OOptions o;
  o.prox = prox;
  o.start = oracle_completion(sim.observed, sim.observed_row, {.prox = prox}).estimate;
  o.temperature.initial = 1e-3;
  o.max_iterations = 300;
  const RecoveryResult r = m3o(sim.observed, o);
  const Metrics m = evaluate(sim, r);
  EXPECT_EQ(m.permutation_errors, 0);
  EXPECT_LT(m.rmse, 0.002);  // the oracle's own RMSE is 0.0011
  o.start = Eigen::MatrixXd::Zero(3, 3);
  EXPECT_THROW(m3o(sim.observed, o), Error);
}

TEST(M3O, RestartsKeepTheStartWithTheLowestObjective) {
  // The tour's case: the first random start ends in a local minimum; a later start finds the
  // permutation, and the objective alone (no truth) picks it.
  const Simulation sim = simulate({.rows = 40,
                                   .cols = 60,
                                   .rank = 2,
                                   .noise = 0.05,
                                   .missing = 0.2,
                                   .groups = 1,
                                   .shuffled = 0.25,
                                   .seed = 0});
  M3OOptions o;
  o.temperature.patience = 10;
  const RecoveryResult one = m3o(sim.observed, o);
  o.restarts = 3;
  const RecoveryResult three = m3o(sim.observed, o);
  EXPECT_GT(evaluate(sim, one).permutation_errors, 10);
  EXPECT_EQ(evaluate(sim, three).permutation_errors, 0);
  EXPECT_LT(three.objective, one.objective);
  EXPECT_GT(three.iterations, one.iterations);  // iterations add up over the starts
  o.restarts = 0;
  EXPECT_THROW(m3o(sim.observed, o), Error);
}

TEST(Baselines, OracleBoundsTheOthers) {
  const Simulation sim = simulate(
      {.rows = 40, .cols = 40, .rank = 3, .noise = 0.1, .missing = 0.3, .groups = 2, .seed = 3});
  RecoveryOptions o;
  o.prox = {.kind = ProxKind::kRank, .rank = 3};
  o.m3o.temperature.patience = 20;
  o.method = Method::kOracle;
  const Metrics oracle = evaluate(sim, recover(sim.observed, o, &sim.observed_row));
  EXPECT_EQ(oracle.permutation_errors, 0);
  EXPECT_LT(oracle.rmse, 0.01);  // entries are ~0.05; noise 0.005 before completion
  for (Method m : {Method::kM3O, Method::kAlternating, Method::kSeparate}) {
    o.method = m;
    const Metrics other = evaluate(sim, recover(sim.observed, o, &sim.observed_row));
    EXPECT_LE(oracle.rmse, other.rmse) << method_name(m);
  }
  o.method = Method::kOracle;
  EXPECT_THROW(recover(sim.observed, o), Error);  // the oracle needs the truth
}

TEST(Baselines, SeparateCompletionKeepsTheObservedOrder) {
  const Simulation sim = simulate({.rows = 30,
                                   .cols = 60,
                                   .rank = 2,
                                   .noise = 0,
                                   .missing = 0,
                                   .groups = 1,
                                   .shuffled = 0.25,
                                   .seed = 4});
  const RecoveryResult sep =
      separate_completion(sim.observed, {.prox = {.kind = ProxKind::kRank, .rank = 2}});
  // Each block is rank <= 2 and fully observed: completion reproduces the observed blocks exactly.
  EXPECT_LT((sep.estimate - sim.observed.values).norm(), 1e-8);
  EXPECT_EQ(evaluate(sim, sep).permutation_errors,
            30 - int(std::count_if(sim.observed_row[0].begin(), sim.observed_row[0].end(),
                                   [i = 0](int j) mutable { return j == i++; })));
}

TEST(Problem, RejectsBadObservations) {
  const Eigen::MatrixXd a = Eigen::MatrixXd::Ones(5, 3), b = Eigen::MatrixXd::Ones(4, 2);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] {
              observation_from_blocks({a, b});
            }).find("block 2 has 4 rows; expected 5"),
            std::string::npos);
  const Eigen::MatrixXd b5 = Eigen::MatrixXd::Ones(5, 2);
  EXPECT_NE(message([&] {
              observation_from_blocks({a, b5}, {a, Eigen::MatrixXd::Ones(5, 3)});
            }).find("mask of block 2 is 5x3; expected 5x2"),
            std::string::npos);
  Eigen::MatrixXd mask = Eigen::MatrixXd::Ones(5, 2);
  mask.row(3).setZero();
  EXPECT_NE(message([&] {
              observation_from_blocks({a, b5}, {a, mask});
            }).find("row 4 of block 2 has all entries missing"),
            std::string::npos);
  mask.row(3).setConstant(0.5);
  EXPECT_NE(message([&] {
              observation_from_blocks({a, b5}, {a, mask});
            }).find("expected 0 (missing) or 1"),
            std::string::npos);
  EXPECT_NE(message([&] { observation_from_blocks({a}); }).find("at least one shuffled block"),
            std::string::npos);
  EXPECT_NE(
      message([&] { simulate({.rows = 10, .cols = 10, .rank = 11}); }).find("rank cannot exceed"),
      std::string::npos);
  EXPECT_NE(message([&] { simulate({.missing = 1.0}); }).find("--missing"), std::string::npos);
  const Simulation sim = simulate({.rows = 10, .cols = 10, .rank = 2});
  M3OOptions o;
  o.prox = {.kind = ProxKind::kRank, .rank = 11};
  EXPECT_NE(message([&] { m3o(sim.observed, o); }).find("--rank-k is 11"), std::string::npos);
}

TEST(Problem, SimulationFollowsTheGenerator) {
  const Simulation s = simulate(
      {.rows = 100, .cols = 100, .rank = 5, .noise = 0.1, .missing = 0.6, .groups = 2, .seed = 9});
  EXPECT_EQ(s.observed.blocks, (std::vector<int>{40, 30, 30}));
  // Exactly 60% hidden per block (no row came back: 0.6^30 is tiny), and the truth has rank 5.
  for (int b = 0; b < 3; ++b)
    EXPECT_EQ(s.observed.mask.middleCols(s.observed.block_start(b), s.observed.blocks[b]).sum(),
              std::round(0.4 * 100 * s.observed.blocks[b]));
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(s.truth);
  EXPECT_GT(svd.singularValues()[4], 1e-3);
  EXPECT_LT(svd.singularValues()[5], 1e-10);
  // The observed shuffled rows are the noisy truth's rows, moved.
  const int c = s.observed.block_start(1);
  for (int i = 0; i < 100; ++i)
    for (int k = c; k < c + 30; ++k)
      if (s.observed.mask(s.observed_row[0][i], k) != 0) {
        EXPECT_NEAR(s.observed.values(s.observed_row[0][i], k), s.truth(i, k), 0.02 * 0.6);
      }
  // Same seed, same bits.
  const Simulation t = simulate(
      {.rows = 100, .cols = 100, .rank = 5, .noise = 0.1, .missing = 0.6, .groups = 2, .seed = 9});
  EXPECT_EQ(t.observed.values, s.observed.values);
}

}  // namespace
}  // namespace optidiff::matrix
