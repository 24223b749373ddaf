// The ask/tell contract, run over every optimiser (a TEST_P suite): rounds repeat until told, save/load
// between ask and tell resumes bit-exactly, and every bad input is refused without changing the state.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "optidiff/core/error.hpp"
#include "optidiff/zo/ask_tell.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/oracle.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::zo {
namespace {

double sphere(const Eigen::VectorXd& x) { return x.squaredNorm(); }

MethodSettings settings_for(const std::string& method) {
  MethodSettings s{.method = method, .m = 6, .k = 3, .seed = 11};
  if (method == "cmaes") s.k = 0;
  if (method == "zosgd") s.step = 0.01;
  return s;
}

Eigen::VectorXd start(int d = 5) { return Eigen::VectorXd::LinSpaced(d, -1.0, 2.0); }

class AskTellContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<AskTell> make() const { return make_optimizer(start(), settings_for(GetParam())); }
};

using testing::expect_error;

TEST_P(AskTellContract, AskRepeatsThePendingRound) {
  auto opt = make();
  EXPECT_FALSE(opt->pending());
  const Round a = opt->ask(), b = opt->ask();
  EXPECT_TRUE(opt->pending());
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.points, b.points);
  EXPECT_EQ(a.dim(), 5);
  EXPECT_EQ(opt->method(), GetParam());
}

TEST_P(AskTellContract, SaveLoadBetweenAskAndTellIsBitExact) {
  auto plain = make(), resumed = make();
  ExactOracle o1(sphere), o2(sphere);
  for (int t = 0; t < 25; ++t) {
    const Round r1 = plain->ask();
    plain->tell(r1.id, o1.answer(r1));
    const Round r2 = resumed->ask();
    auto restored = load_optimizer(resumed->save());  // stopped between ask and tell
    const Round r3 = restored->ask();
    ASSERT_EQ(r3.id, r2.id);
    ASSERT_EQ(r3.points, r2.points);
    restored->tell(r3.id, o2.answer(r3));
    resumed = load_optimizer(restored->save());  // and between tell and ask
  }
  EXPECT_EQ(plain->incumbent(), resumed->incumbent());
  EXPECT_EQ(plain->save(), resumed->save());
  EXPECT_EQ(plain->rounds_told(), 25u);
}

TEST_P(AskTellContract, TellWithoutAskOrStaleIdIsRefused) {
  auto opt = make();
  ExactOracle oracle(sphere);
  expect_error([&] { opt->tell(1, TopK{{0}}); }, ErrorCode::kFailedPrecondition, "no round is pending");
  const Round r = opt->ask();
  const std::string before = opt->save();
  expect_error([&] { opt->tell(r.id + 1, oracle.answer(r)); }, ErrorCode::kFailedPrecondition, "pending round is");
  EXPECT_EQ(opt->save(), before);
  opt->tell(r.id, oracle.answer(r));
  expect_error([&] { opt->tell(r.id, oracle.answer(r)); }, ErrorCode::kFailedPrecondition, "no round is pending");
}

TEST_P(AskTellContract, BadFeedbackLeavesTheStateUnchanged) {
  auto opt = make();
  const Round r = opt->ask();
  const std::string before = opt->save();
  std::vector<Feedback> bad;
  if (r.want == Want::kValues) {
    bad = {Values{{1.0, 2.0}}, TopK{{0}}, Values{std::vector<double>(r.m(), std::nan(""))}};
  } else {
    std::vector<int> repeated(r.k, 0), out_of_range(r.k, 0), too_long(r.k + 1);
    for (int i = 0; i < r.k; ++i) out_of_range[i] = i;
    out_of_range.back() = r.m();
    for (int i = 0; i <= r.k; ++i) too_long[i] = i % r.m();
    bad = {TopK{out_of_range}, TopK{too_long}, TopK{{}}, Values{std::vector<double>(r.m(), 1.0)}};
    if (r.k >= 2) bad.push_back(TopK{repeated});
  }
  for (const auto& fb : bad) {
    expect_error([&] { opt->tell(r.id, fb); }, ErrorCode::kInvalidArgument, "");
    EXPECT_EQ(opt->save(), before);
  }
}

TEST_P(AskTellContract, CorruptStatesAreDataLossAndChangeNothing) {
  auto opt = make();
  opt->ask();
  const std::string good = opt->save(), before = opt->save();
  Json j = Json::parse(good);
  std::vector<std::string> bad = {good.substr(0, good.size() / 2), "", "[1,2,3]", "{\"format\": \"other\"}"};
  {
    Json e = j;
    e["dim"] = -4;
    bad.push_back(e.dump());
  }
  {
    Json e = j;
    e["rounds"]["pending"] = "yes";
    bad.push_back(e.dump());
  }
  {
    Json e = j;
    e["options"]["seed"] = "not a number";
    bad.push_back(e.dump());
  }
  {
    Json e = j;
    e["rounds"]["rounds_told"] = "7";  // disagrees with round_id and pending
    bad.push_back(e.dump());
  }
  for (const auto& text : bad) {
    expect_error([&] { opt->load(text); }, ErrorCode::kDataLoss, "optimiser state");
    EXPECT_EQ(opt->save(), before);
  }
  // A state of another method.
  const std::string other = GetParam() == "cmaes" ? "ranksgd" : "cmaes";
  auto foreign = make_optimizer(start(), settings_for(other));
  expect_error([&] { opt->load(foreign->save()); }, ErrorCode::kDataLoss, "expected \"" + GetParam() + "\"");
  EXPECT_EQ(opt->save(), before);
}

TEST_P(AskTellContract, NonFiniteOracleValuesAreRefused) {
  auto opt = make();
  int calls = 0;
  // An oracle over f that turns NaN after 3 calls and inf after that (fault injection by wrapping f).
  ExactOracle oracle([&calls](const Eigen::VectorXd& x) {
    return calls >= 3 ? std::numeric_limits<double>::quiet_NaN() : x.squaredNorm();
  });
  for (; calls < 3; ++calls) {
    const Round r = opt->ask();
    opt->tell(r.id, oracle.answer(r));
  }
  const Round r = opt->ask();
  expect_error([&] { oracle.answer(r); }, ErrorCode::kInvalidArgument, "f is nan at candidate 0");
  EXPECT_EQ(oracle.calls(), 3u);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, AskTellContract,
                         ::testing::Values("ranksgd", "ranksgd-ls", "cmaes", "zosgd", "oneplusone"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

TEST(Factory, UnknownMethodAndBadOptions) {
  expect_error([] { make_optimizer(start(), {.method = "sgd"}); }, ErrorCode::kInvalidArgument, "--method is \"sgd\"");
  expect_error([] { make_optimizer(start(), {.method = "ranksgd", .m = 8, .k = 9}); }, ErrorCode::kInvalidArgument,
               "--k is 9; expected 1 <= k <= --m (8)");
  expect_error([] { make_optimizer(start(), {.method = "ranksgd-ls", .m = 2, .k = 1}); }, ErrorCode::kInvalidArgument,
               "n >= 3");
  expect_error([] { make_optimizer(start(), {.method = "cmaes", .m = 10, .k = 3}); }, ErrorCode::kInvalidArgument,
               "expected k >= 5");
  expect_error([] { load_optimizer("{\"method\": \"sgd\"}"); }, ErrorCode::kDataLoss, "\"sgd\"");
  expect_error([] { load_optimizer("{truncated"); }, ErrorCode::kDataLoss, "not valid JSON");
}

}  // namespace
}  // namespace optidiff::zo
