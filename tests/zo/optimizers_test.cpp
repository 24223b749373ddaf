// The optimisers on problems with known answers, and the oracles' noise models.
#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/zo/cmaes.hpp"
#include "optidiff/zo/driver.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/one_plus_one.hpp"
#include "optidiff/zo/oracle.hpp"
#include "optidiff/zo/problems.hpp"
#include "optidiff/zo/ranksgd.hpp"
#include "optidiff/zo/zosgd.hpp"

namespace optidiff::zo {
namespace {

// ZO-RankSGD with line search and step adaptation on the paper's quadratic in 10-d: below 1e-6 within
// a fixed budget of points shown (exact oracle, full rankings).
TEST(RankSgd, ReachesOneInAMillionOnA10dQuadratic) {
  const Problem p = make_problem("quadratic", 10, 1);
  RankSgd opt(p.x0, {.m = 10, .k = 10, .mu = 1e-4, .step = 1.0, .line_search = true, .adapt_step = true, .seed = 3});
  ExactOracle oracle(p.f);
  const RunResult r = minimize(opt, oracle, p.f, {.budget = 5000, .target = 1e-6});
  EXPECT_LE(r.f_best, 1e-6) << "after " << r.queries << " queries, f0 = " << r.f0;
  EXPECT_EQ(r.stop, "target");
}

// Algorithm 1 with a constant step decreases f on the quadratic; maximising -f with a maximising oracle
// gives the same iterates (rank-only: the oracle owns the sense).
TEST(RankSgd, Algorithm1DescendsAndMaximisationMirrorsIt) {
  const Problem p = make_problem("quadratic", 20, 2);
  RankSgd a(p.x0, {.m = 10, .k = 5, .mu = 0.01, .step = 0.05, .seed = 1});
  RankSgd b(p.x0, {.m = 10, .k = 5, .mu = 0.01, .step = 0.05, .seed = 1});
  ExactOracle min_oracle(p.f);
  ExactOracle max_oracle([&p](const Eigen::VectorXd& x) { return -p.f(x); }, /*maximize=*/true);
  const RunResult ra = minimize(a, min_oracle, p.f, {.budget = 3000});
  minimize(b, max_oracle, [&p](const Eigen::VectorXd& x) { return -p.f(x); }, {.budget = 3000});
  EXPECT_LT(ra.f_final, 0.2 * ra.f0);
  EXPECT_EQ(a.incumbent(), b.incumbent());
}

TEST(RankSgd, InvSqrtScheduleAndEdgesFeedback) {
  const Problem p = make_problem("quadratic", 10, 4);
  RankSgd opt(p.x0, {.m = 8, .k = 8, .mu = 0.01, .step = 0.3, .schedule = StepSchedule::kInvSqrt, .seed = 2});
  PairwiseOracle oracle(p.f, 12, 9);  // 12 random comparisons per round as DAG edges
  const RunResult r = minimize(opt, oracle, p.f, {.budget = 4000});
  EXPECT_LT(r.f_final, 0.5 * r.f0);
  EXPECT_GT(oracle.comparisons(), 0u);
}

// Hansen's tutorial budgets for CMA-ES in 10-d (default lambda = 10): sphere ~1.5e3 evaluations to 1e-10,
// ellipsoid (cond 1e6) ~1.2e4, Rosenbrock ~6e3 (plus a local-optimum risk). Rank-only here.
struct CmaCase {
  const char* name;
  int budget;
};
class CmaEsSolves : public ::testing::TestWithParam<CmaCase> {};

TEST_P(CmaEsSolves, TenDimensional) {
  const int d = 10;
  Objective f;
  Eigen::VectorXd x0 = Eigen::VectorXd::Constant(d, 0.5);
  const std::string name = GetParam().name;
  if (name == "sphere") f = [](const Eigen::VectorXd& x) { return x.squaredNorm(); };
  if (name == "ellipsoid")
    f = [](const Eigen::VectorXd& x) {
      double r = 0;
      for (int i = 0; i < x.size(); ++i) r += std::pow(1e6, i / (x.size() - 1.0)) * x[i] * x[i];
      return r;
    };
  if (name == "rosenbrock") {
    f = make_problem("rosenbrock", d, 1).f;
    x0.setZero();
  }
  CmaEs es(x0, {.sigma0 = 0.5, .seed = 4});
  ExactOracle oracle(f);
  const RunResult r = minimize(es, oracle, f, {.budget = GetParam().budget, .target = 1e-10});
  EXPECT_LE(r.f_best, 1e-10) << name << ": " << r.queries << " queries, stop " << r.stop;
  EXPECT_EQ(es.lambda(), 10);
}

INSTANTIATE_TEST_SUITE_P(Textbook, CmaEsSolves,
                         ::testing::Values(CmaCase{"sphere", 2500}, CmaCase{"ellipsoid", 20000},
                                           CmaCase{"rosenbrock", 12000}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CmaEs, IpopRestartsDoubleLambda) {
  // A loose tolx makes every run stop early on the sphere; each stop restarts with twice the population.
  const Objective f = [](const Eigen::VectorXd& x) { return x.squaredNorm(); };
  CmaEs es(Eigen::VectorXd::Ones(4), {.sigma0 = 1.0, .max_restarts = 2, .restart_lo = -1, .restart_hi = 1, .tolx = 1e-3});
  const int lambda0 = es.lambda();
  ExactOracle oracle(f);
  const RunResult r = minimize(es, oracle, f, {.budget = 100000});
  EXPECT_EQ(r.stop, "tolx");
  EXPECT_EQ(es.restarts(), 2);
  EXPECT_EQ(es.lambda(), 4 * lambda0);
  EXPECT_LT(r.f_best, 1e-4);
}

TEST(CmaEs, SepCmaSolvesAHighDimensionalEllipsoid) {
  const int d = 200;
  const Objective f = [](const Eigen::VectorXd& x) {
    double r = 0;
    for (int i = 0; i < x.size(); ++i) r += std::pow(100.0, i / (x.size() - 1.0)) * x[i] * x[i];
    return r;
  };
  CmaEs es(Eigen::VectorXd::Ones(d), {.sigma0 = 1.0, .diagonal = true, .seed = 1});
  ExactOracle oracle(f);
  const RunResult r = minimize(es, oracle, f, {.budget = 60000, .target = 1e-6});
  EXPECT_LE(r.f_best, 1e-6) << r.queries;
  EXPECT_EQ(es.covariance().cols(), 1);
}

TEST(ZoSgd, DescendsWithValuesAndAscendsWhenMaximising) {
  const Problem p = make_problem("quadratic", 10, 1);
  ZoSgd down(p.x0, {.m = 11, .mu = 1e-3, .step = 0.2, .seed = 1});
  ExactOracle oracle(p.f);
  const RunResult r = minimize(down, oracle, p.f, {.budget = 5000});
  EXPECT_LT(r.f_final, 1e-3 * r.f0);
  const Objective neg = [&p](const Eigen::VectorXd& x) { return -p.f(x); };
  ZoSgd up(p.x0, {.m = 11, .mu = 1e-3, .step = 0.2, .maximize = true, .seed = 1});
  ExactOracle max_oracle(neg, true);
  minimize(up, max_oracle, neg, {.budget = 5000});
  EXPECT_LT((up.incumbent() - down.incumbent()).norm(), 1e-9);
}

TEST(OnePlusOne, OneFifthRuleSolvesTheSphere) {
  const Objective f = [](const Eigen::VectorXd& x) { return x.squaredNorm(); };
  OnePlusOne es(Eigen::VectorXd::Ones(10), {.sigma0 = 1.0, .seed = 2});
  ExactOracle oracle(f);
  const RunResult r = minimize(es, oracle, f, {.budget = 20000, .target = 1e-8});
  EXPECT_LE(r.f_best, 1e-8);
  EXPECT_LT(es.sigma(), 1e-3);
}

// Plackett-Luce with m = 2 is Bradley-Terry: P(0 best) = 1 / (1 + exp((f0 - f1) / tau)).
TEST(Oracles, PlackettLuceIsBradleyTerryForTwo) {
  Eigen::MatrixXd pts(1, 2);
  pts << 0.0, 1.0;
  const Round r{.id = 1, .points = pts, .k = 1};
  PlackettLuceOracle pl([](const Eigen::VectorXd& x) { return x[0]; }, 0.5, 3);
  const int n = 40000;
  int zero_first = 0;
  for (int i = 0; i < n; ++i) zero_first += std::get<TopK>(pl.answer(r)).ids[0] == 0;
  const double p = 1 / (1 + std::exp((0.0 - 1.0) / 0.5));
  EXPECT_NEAR(zero_first / double(n), p, 4 * std::sqrt(p * (1 - p) / n));
  EXPECT_EQ(pl.queries(), 2u * n);
  EXPECT_EQ(pl.calls(), static_cast<std::uint64_t>(n));
}

// Thurstone: P(0 before 1) = Phi((f1 - f0) / (sigma sqrt 2)); flips: adjacent swap with probability p.
TEST(Oracles, ThurstoneAndFlipRates) {
  Eigen::MatrixXd pts(1, 3);
  pts << 0.0, 0.1, 5.0;
  const Round r{.id = 1, .points = pts, .k = 3};
  const Objective f = [](const Eigen::VectorXd& x) { return x[0]; };
  ThurstoneOracle th(f, 0.1, 5);
  FlipOracle fl(f, 0.2, 6);
  ExactOracle ex(f);
  EXPECT_EQ(std::get<TopK>(ex.answer(r)).ids, (std::vector<int>{0, 1, 2}));
  const int n = 40000;
  int th_ok = 0, fl_first = 0;
  for (int i = 0; i < n; ++i) {
    th_ok += std::get<TopK>(th.answer(r)).ids[0] == 0;
    fl_first += std::get<TopK>(fl.answer(r)).ids[0] == 0;
  }
  const double p_th = 0.5 * std::erfc(-(0.1 / (0.1 * std::sqrt(2.0))) / std::sqrt(2.0));
  EXPECT_NEAR(th_ok / double(n), p_th, 4 * std::sqrt(p_th * (1 - p_th) / n));
  EXPECT_NEAR(fl_first / double(n), 0.8, 4 * std::sqrt(0.16 / n));
}

TEST(Oracles, SpecsAndBadSpecs) {
  const Objective f = [](const Eigen::VectorXd& x) { return x.squaredNorm(); };
  EXPECT_NE(dynamic_cast<ThurstoneOracle*>(make_oracle(f, "thurstone:0.1", 1).get()), nullptr);
  EXPECT_NE(dynamic_cast<PairwiseOracle*>(make_oracle(f, "pairwise:5", 1).get()), nullptr);
  for (const char* bad : {"thurstone", "thurstone:abc", "pl:-1", "flip:2", "gauss:1", "pairwise:1.5"}) {
    try {
      make_oracle(f, bad, 1);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace optidiff::zo
