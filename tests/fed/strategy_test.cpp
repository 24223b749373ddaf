// Strategies on a closed-form least-squares federation (tests/fed/synthetic.hpp): the exact references of
// research note Sec. 7 (centralised Lion, sign-of-delta FedAvg, unbiasedness), byte accounting, resume,
// dropout and bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "optidiff/core/error.hpp"
#include "optidiff/fed/noise.hpp"
#include "optidiff/fed/strategies.hpp"
#include "tests/fed/synthetic.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::fed {
namespace {
using testing::SyntheticTask;

Json config_of(const std::string& name, int clients, int per_round) {
  return {{"strategy", name}, {"clients", clients}, {"per_round", per_round}, {"rounds", 0}};
}

std::unique_ptr<Strategy> make(const std::string& name, StrategyOptions o, const Task& task) {
  return make_strategy(name, o, task.layout());
}

// --- Every strategy (a contract suite, as Flower's fedopt_test.py) ---------------------------------

StrategyOptions test_options(const std::string& name) {
  StrategyOptions o = default_options(name);
  o.local_steps = 3;
  if (name == "signsgd") o.server_lr = 0.01;
  if (name == "sto-signsgd") o.server_lr = 0.03;  // noisier votes: |Delta_j| << B for most j
  if (name == "zsignfedavg") o.sigma = 0.05, o.z = kZInfinity;
  if (name == "fedlion" || name == "fafed") o.lr = 0.01;
  if (name == "fedadam" || name == "fedyogi" || name == "fedams") o.server_lr = 0.03;
  return o;
}

class EveryStrategy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryStrategy, LowersTheObjective) {
  SyntheticTask task(8, 12, 20, 4, 1, {5, 7});
  auto s = make(GetParam(), test_options(GetParam()), task);
  Federation fed(task, *s, {.per_round = 4, .rounds = 30, .eval_every = 30, .seed = 2}, config_of(GetParam(), 8, 4));
  fed.run();
  ASSERT_EQ(fed.history().size(), 2u);
  EXPECT_LT(fed.history().back().loss, 0.8 * fed.history().front().loss) << GetParam();
  for (float v : s->model()) ASSERT_TRUE(std::isfinite(v));
}

// Bytes counted are the encoded buffers, and equal the per-coordinate formula of the note's table.
TEST_P(EveryStrategy, CountsTheEncodedBytes) {
  const std::string name = GetParam();
  SyntheticTask task(6, 1000, 10, 2, 1, {600, 400});
  auto o = test_options(name);
  auto s = make(name, o, task);
  Federation fed(task, *s, {.per_round = 3, .rounds = 2, .seed = 1}, config_of(name, 6, 3));
  const std::uint64_t down = message_bytes(s->downlink(1));
  std::uint64_t up = 0;
  for (const auto& spec : s->uplink_spec()) up += encoded_bytes(spec);
  fed.run_round();
  EXPECT_EQ(fed.uplink_bytes(), 3 * up);
  EXPECT_EQ(fed.downlink_bytes(), 3 * down);
  const std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_client = {
      // strategy: {uplink bytes, downlink bytes} for d = 1000 in 2 tensors, E = 3
      {"fedavg", {4000, 4000}},         {"signsgd", {125, 4000}},  {"sto-signsgd", {125, 4000}},
      {"ef-signsgd", {125 + 8, 4000}},  {"zsignfedavg", {125, 4000}},
      {"fedlion", {375 + 4000, 8000}},  // ceil(log2(7)) = 3 bits + fp32 momentum; x and m down
      {"fedadam", {4000, 4000}},        {"fedyogi", {4000, 4000}}, {"fedams", {4000, 4000}},
      {"fafed", {12000, 12004}},        // x, m, v up; x, m, v and the step count down
      {"fedda", {8000, 8000}}};
  EXPECT_EQ(up, per_client.at(name).first) << name;
  EXPECT_EQ(down, per_client.at(name).second) << name;
}

// A run checkpointed and resumed equals an uninterrupted run, bit for bit (dropout on, EF residuals kept).
TEST_P(EveryStrategy, ResumeEqualsAnUninterruptedRun) {
  const std::string name = GetParam();
  optidiff::testing::TempDir dir;
  const FederationOptions base{.per_round = 3, .rounds = 6, .eval_every = 2, .dropout = 0.34, .seed = 9};
  SyntheticTask task(7, 20, 10, 3, 3);
  auto straight = make(name, test_options(name), task);
  Federation a(task, *straight, base, config_of(name, 7, 3));
  a.run();

  auto first = make(name, test_options(name), task);
  auto o = base;
  o.rounds = 4;
  o.checkpoint_path = dir.file("fed.ckpt");
  Federation b(task, *first, o, config_of(name, 7, 3));
  b.run();
  auto second = make(name, test_options(name), task);
  o.rounds = 6;
  Federation c(task, *second, o, config_of(name, 7, 3));
  c.load(dir.file("fed.ckpt"));
  EXPECT_EQ(c.next_round(), 5);
  c.run();
  ASSERT_EQ(straight->model().size(), second->model().size());
  EXPECT_EQ(std::vector<float>(straight->model().begin(), straight->model().end()),
            std::vector<float>(second->model().begin(), second->model().end()));
  ASSERT_EQ(a.history().size(), c.history().size());
  for (std::size_t i = 0; i < a.history().size(); ++i) {
    EXPECT_EQ(a.history()[i].round, c.history()[i].round);
    EXPECT_EQ(a.history()[i].loss, c.history()[i].loss);
    EXPECT_EQ(a.history()[i].uplink_bytes, c.history()[i].uplink_bytes);
    EXPECT_EQ(a.history()[i].downlink_bytes, c.history()[i].downlink_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Fed, EveryStrategy, ::testing::ValuesIn(strategy_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// --- Exact references ------------------------------------------------------------------------------

// Centralised Lion (Chen et al. 2023): c = b1 m + (1-b1) g; x -= lr (sign(c) + wd x); m = b2 m + (1-b2) g.
// FedLion with N = n = 1 runs exactly these steps (momentum carried across rounds); only the server's
// x - lr * sum(signs) regrouping of the float subtractions differs, hence the 1e-5 tolerance.
TEST(FedLion, OneClientEqualsCentralisedLion) {
  for (double wd : {0.0, 0.1}) {
    SyntheticTask task(1, 10, 16, 4, 5);
    StrategyOptions o = default_options("fedlion");
    o.local_steps = 4;
    o.lr = 0.01;
    o.weight_decay = wd;
    auto s = make("fedlion", o, task);
    const int rounds = 6;
    Federation fed(task, *s, {.per_round = 1, .rounds = rounds, .eval_every = rounds, .seed = 11},
                   config_of("fedlion", 1, 1));
    fed.run();

    std::vector<float> x(10, 0.0f), m(10, 0.0f), g(10);
    for (int t = 1; t <= rounds; ++t) {
      Rng rng = round_stream(11, t, 2);  // the client's stream of round t
      for (int s = 0; s < o.local_steps; ++s) {
        task.client(0).gradient(x, g, rng);
        for (int j = 0; j < 10; ++j) {
          const float c = float(o.beta1) * m[j] + float(1 - o.beta1) * g[j];
          x[j] -= float(o.lr) * ((c > 0) - (c < 0) + float(wd) * x[j]);
          m[j] = float(o.beta2) * m[j] + float(1 - o.beta2) * g[j];
        }
      }
    }
    for (int j = 0; j < 10; ++j) EXPECT_NEAR(s->model()[j], x[j], 1e-5) << "wd " << wd << " coordinate " << j;
  }
}

// Sec. 7 test 5: with lambda = 0 the uplink Delta is an integer vector with |Delta| <= E.
TEST(FedLion, IntegerUplinkWithinE) {
  SyntheticTask task(2, 30, 8, 2, 1);
  StrategyOptions o = default_options("fedlion");
  o.local_steps = 5;
  auto s = make("fedlion", o, task);
  s->initialize(task.initial_model());
  ClientState state;
  Rng rng(1);
  ClientContext ctx{1, 0, task.client(0), state, rng};
  const Reply r = s->fit(s->downlink(1), ctx);
  ASSERT_EQ(r.uplink[0].spec.encoding, Encoding::kPackedInt);
  EXPECT_EQ(r.uplink[0].spec.bits, 4);  // ceil(log2(11))
  for (auto v : decode_ints(r.uplink[0])) EXPECT_LE(std::abs(v), 5);
}

// sigma = 0 turns z-SignFedAvg into FedAvg on sign(Delta_i): x1 = x0 + eta * mean_i sign(Delta_i), kappa = 1.
TEST(ZSignFedAvg, SigmaZeroIsSignOfDeltaFedAvg) {
  SyntheticTask task(5, 16, 10, 3, 2);
  StrategyOptions o = default_options("zsignfedavg");
  o.sigma = 0;
  o.local_steps = 2;
  o.server_lr = 0.01;
  auto s = make("zsignfedavg", o, task);
  Federation fed(task, *s, {.per_round = 5, .rounds = 1, .seed = 4}, config_of("zsignfedavg", 5, 5));
  fed.run_round();
  std::vector<double> mean(16, 0.0);
  for (int c = 0; c < 5; ++c) {
    Rng rng = round_stream(4, 1, 2 + std::uint64_t(c));
    std::vector<float> y(16, 0.0f), g(16);
    for (int e = 0; e < 2; ++e) {
      task.client(c).gradient(y, g, rng);
      for (int j = 0; j < 16; ++j) y[j] -= float(o.lr) * g[j];
    }
    for (int j = 0; j < 16; ++j) mean[j] += (y[j] >= 0 ? 1.0 : -1.0) / 5;
  }
  for (int j = 0; j < 16; ++j) EXPECT_FLOAT_EQ(s->model()[j], float(0.01 * mean[j])) << j;
}

// z = inf, sigma >= max |Delta|, kappa = sigma, eta = 1: E[x1 - x0] = mean Delta (FedAvg's step). With 400
// clients holding the same data and full-batch gradients every Delta_i is the same Delta, so each
// coordinate of x1 - x0 is a mean of 400 i.i.d. +-sigma with mean Delta_j.
TEST(ZSignFedAvg, UniformNoiseIsUnbiasedWhenSigmaCoversDelta) {
  const int n = 400, d = 24;
  SyntheticTask task(1, d, 16, 16, 8);  // batch 16 = all rows: deterministic gradient
  std::vector<float> delta(d, 0.0f), g(d);
  {
    Rng unused(0);
    std::vector<float> y(d, 0.0f);
    for (int e = 0; e < 2; ++e) {
      task.client(0).gradient(y, g, unused);
      for (int j = 0; j < d; ++j) y[j] -= 0.1f * g[j];
    }
    delta = y;
  }
  double max_abs = 0;
  for (float v : delta) max_abs = std::max(max_abs, double(std::abs(v)));
  ASSERT_GT(max_abs, 0.0);
  // n copies of client 0.
  class Copies final : public Task {
   public:
    Copies(SyntheticTask& t, int n) : t_(t), n_(n) {}
    int num_clients() const override { return n_; }
    Objective& client(int) override { return t_.client(0); }
    ModelLayout layout() const override { return t_.layout(); }
    std::vector<float> initial_model() const override { return t_.initial_model(); }
    Evaluation evaluate(std::span<const float> x) override { return t_.evaluate(x); }
   private:
    SyntheticTask& t_;
    int n_;
  } copies(task, n);
  StrategyOptions o = default_options("zsignfedavg");
  o.z = kZInfinity;
  o.sigma = 1.5 * max_abs;
  o.local_steps = 2;
  o.lr = 0.1;
  auto s = make("zsignfedavg", o, copies);
  Federation fed(copies, *s, {.per_round = n, .rounds = 1, .seed = 5}, config_of("zsignfedavg", n, n));
  fed.run_round();
  double chi2 = 0;
  for (int j = 0; j < d; ++j) {
    const double p = delta[j] / o.sigma;
    const double se = o.sigma * std::sqrt(1 - p * p) / std::sqrt(double(n));
    EXPECT_NEAR(s->model()[j], delta[j], 4.5 * se) << j;
    chi2 += std::pow((s->model()[j] - delta[j]) / se, 2);
  }
  EXPECT_LT(chi2, 2.0 * d) << "sum of squared z-scores over " << d << " coordinates";
  EXPECT_GT(chi2, 0.3 * d);
}

// --- Dropout, bad replies, bad options -----------------------------------------------------------------

TEST(Federation, DropoutFailsAFixedFractionAndCountsTheirDownlink) {
  SyntheticTask task(10, 8, 5, 2, 1);
  auto s = make("fedavg", default_options("fedavg"), task);
  Federation fed(task, *s, {.per_round = 4, .rounds = 3, .dropout = 0.5, .seed = 1}, config_of("fedavg", 10, 4));
  const auto r = fed.run_round();
  EXPECT_EQ(r.replies, 2);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_NE(r.failures[0].reason.find("dropped"), std::string::npos);
  EXPECT_EQ(r.downlink_bytes, 4u * 32);
  EXPECT_EQ(r.uplink_bytes, 2u * 32);
}

// A reply of the wrong length is rejected with a reason naming the client and both sizes; the round goes on
// with the others, and equals a round in which that client dropped out.
TEST(Federation, WrongLengthReplyBecomesAFailure) {
  SyntheticTask task(4, 40, 5, 2, 1);
  auto s = make("zsignfedavg", default_options("zsignfedavg"), task);
  Federation fed(task, *s, {.per_round = 4, .rounds = 1, .seed = 3}, config_of("zsignfedavg", 4, 4));
  int victim = -1;
  fed.set_executor([&](int t, std::span<const int> clients, const Message& down, std::vector<Reply>& replies,
                       std::vector<Failure>& failures) {
    fed.run_clients_in_process(t, clients, down, replies, failures);
    victim = replies[1].client;
    replies[1].uplink[0].bytes.resize(3);  // 40 signs need 5 bytes
  });
  const auto r = fed.run_round();
  EXPECT_EQ(r.replies, 3);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].client, victim);
  EXPECT_NE(r.failures[0].reason.find("client " + std::to_string(victim)), std::string::npos) << r.failures[0].reason;
  EXPECT_NE(r.failures[0].reason.find("3 bytes"), std::string::npos) << r.failures[0].reason;
  EXPECT_NE(r.failures[0].reason.find("(5 bytes)"), std::string::npos) << r.failures[0].reason;
  EXPECT_EQ(r.uplink_bytes, 3u * 5 + 3);  // what arrived is counted
}

TEST(Federation, AllClientsFailingKeepsTheModel) {
  SyntheticTask task(3, 6, 5, 2, 1);
  auto s = make("fedavg", default_options("fedavg"), task);
  Federation fed(task, *s, {.per_round = 3, .rounds = 1, .seed = 3}, config_of("fedavg", 3, 3));
  fed.set_executor([](int, std::span<const int> clients, const Message&, std::vector<Reply>&,
                      std::vector<Failure>& failures) {
    for (int c : clients) failures.push_back({c, "timed out"});
  });
  const auto r = fed.run_round();
  EXPECT_EQ(r.replies, 0);
  EXPECT_EQ(std::vector<float>(s->model().begin(), s->model().end()), task.initial_model());
}

void expect_invalid(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "no error; expected one containing " << fragment;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Strategies, RejectOptionsOutOfRange) {
  const ModelLayout layout{{4}};
  auto with = [&](const std::string& name, auto edit) {
    return [=] {
      StrategyOptions o = default_options(name);
      edit(o);
      make_strategy(name, o, layout);
    };
  };
  expect_invalid(with("zsignfedavg", [](StrategyOptions& o) { o.sigma = -0.1; }), "--sigma");
  expect_invalid(with("zsignfedavg", [](StrategyOptions& o) { o.z = 0; }), "--z is 0");
  expect_invalid(with("fedlion", [](StrategyOptions& o) { o.beta1 = 1.0; }), "--beta1 is 1");
  expect_invalid(with("fedlion", [](StrategyOptions& o) { o.beta2 = -0.5; }), "--beta2");
  expect_invalid(with("fedavg", [](StrategyOptions& o) { o.server_momentum = 1.0; }), "--server-momentum");
  expect_invalid(with("fedavg", [](StrategyOptions& o) { o.local_steps = 0; }), "--local-steps is 0");
  expect_invalid(with("fedavg", [](StrategyOptions& o) { o.lr = -1; }), "--lr");
  expect_invalid([&] { make_strategy("fedprox", StrategyOptions{}, layout); }, "expected one of fedavg");
}

TEST(Federation, RejectsMorePerRoundThanClients) {
  SyntheticTask task(5, 4, 5, 2, 1);
  auto s = make("fedavg", default_options("fedavg"), task);
  expect_invalid([&] { Federation(task, *s, {.per_round = 6}, config_of("fedavg", 5, 6)); }, "--per-round is 6");
  expect_invalid([&] { Federation(task, *s, {.per_round = 2, .dropout = 1.0}, config_of("fedavg", 5, 2)); },
                 "--dropout");
}

TEST(Federation, CheckpointFromAnotherConfigurationIsRefused) {
  optidiff::testing::TempDir dir;
  SyntheticTask task(5, 4, 5, 2, 1);
  auto s = make("fedavg", default_options("fedavg"), task);
  Federation a(task, *s, {.per_round = 2, .rounds = 1, .checkpoint_path = dir.file("c")}, config_of("fedavg", 5, 2));
  a.run();
  Federation b(task, *s, {.per_round = 3, .rounds = 2}, config_of("fedavg", 5, 3));
  try {
    b.load(dir.file("c"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("per_round = 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace optidiff::fed
