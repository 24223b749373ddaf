// `optidiff rank rl` and `rank rl-eval` through the built binary: the JSON keys the issue asks for,
// same seed same bits, saved policies replay to the same return, videos, and the bad-input errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {
using testing::expect_cli_error;
using testing::run_cli;

TEST(RlCli, TrainJsonSavePolicyReplayAndVideo) {
  testing::TempDir dir;
  const std::vector<std::string> args = {
      "-q", "rank", "rl", "--env", "cartpole", "--method", "ranksgd", "--episodes",
      "80", "--m",  "8",  "--k",   "4",        "--seed",   "2",       "--json"};
  auto a = args, b = args;
  a.insert(a.end(),
           {dir.file("a.json"), "--save-policy", dir.file("p.json"), "--video", dir.file("video")});
  b.push_back(dir.file("b.json"));
  const auto r = run_cli(a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run_cli(b).exit_code, 0);
  const Json j = read_json_file(dir.file("a.json"));
  for (const char* key :
       {"env", "method", "episodes", "final_return", "history", "final_returns", "m", "k", "noise",
        "seed", "train_history", "env_steps", "steps_per_second"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["env"], "cartpole");
  EXPECT_EQ(j["method"], "ranksgd");
  EXPECT_EQ(j["k"], 4);
  EXPECT_LE(j["episodes"].get<long long>(), 80);
  EXPECT_EQ(j["final_returns"].size(), 10u);
  EXPECT_EQ(j["history"][0][0], 0);
  EXPECT_EQ(j["history"], read_json_file(dir.file("b.json"))["history"]);  // same seed, same bits
  EXPECT_EQ(j["final_return"], read_json_file(dir.file("b.json"))["final_return"]);
  EXPECT_TRUE(std::filesystem::exists(dir.file("video/frame_0000.png")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("video/sheet.png")));
  // Replaying the saved policy on the same evaluation seed gives the training run's final return.
  const auto e = run_cli({"-q", "rank", "rl-eval", "--env", "cartpole", "--policy",
                          dir.file("p.json"), "--seed", "2", "--json", dir.file("e.json")});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(read_json_file(dir.file("e.json"))["mean_return"], j["final_return"]);
  EXPECT_NE(e.out.find("mean_return"), std::string::npos);
}

TEST(RlCli, MujocoRunAndBadInput) {
  testing::TempDir dir;
  const auto r =
      run_cli({"-q", "rank", "rl", "--env", "hopper", "--method", "ars", "--episodes", "16",
               "--horizon", "50", "--eval-points", "1", "--eval-episodes", "1", "--json",
               dir.file("h.json"), "--save-policy", dir.file("h-policy.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_json_file(dir.file("h.json"))["method"], "ars");
  // A policy for another env, and one of the wrong size.
  expect_cli_error(
      run_cli({"rank", "rl-eval", "--env", "swimmer", "--policy", dir.file("h-policy.json")}), 1,
      "is for env \"hopper\"; expected a policy trained on \"swimmer\"");
  Json p = read_json_file(dir.file("h-policy.json"));
  p["params"].push_back(0.5);
  write_json_file(dir.file("long.json"), p);
  expect_cli_error(
      run_cli({"rank", "rl-eval", "--env", "hopper", "--policy", dir.file("long.json")}), 1,
      "\"params\" has 34 numbers; expected 33");
  // An MJCF that does not parse.
  std::ofstream(dir.file("bad.xml")) << "<mujoco><worldbody><body>";
  expect_cli_error(run_cli({"rank", "rl", "--env", "hopper", "--model", dir.file("bad.xml")}), 1,
                   "does not parse");
  expect_cli_error(run_cli({"rank", "rl", "--env", "walker"}), 1, "--env is \"walker\"");
  expect_cli_error(run_cli({"rank", "rl", "--method", "ppo"}), 1, "--method is \"ppo\"");
  expect_cli_error(run_cli({"rank", "rl", "--m", "8", "--k", "9"}), 1, "--k is 9");
  expect_cli_error(run_cli({"rank", "rl", "--noise", "gauss"}), 1, "--noise is \"gauss\"");
  expect_cli_error(run_cli({"rank", "rl", "--policy-kind", "cnn"}), 1, "--policy-kind is \"cnn\"");
  expect_cli_error(
      run_cli({"rank", "rl-eval", "--env", "hopper", "--policy", dir.file("none.json")}), 1,
      "none.json");
}

TEST(RlCli, MlpPolicyOnPendulum) {
  testing::TempDir dir;
  const auto r =
      run_cli({"-q", "rank", "rl", "--env", "pendulum", "--method", "cmaes", "--policy-kind", "mlp",
               "--hidden", "8", "--episodes", "64", "--json", dir.file("p.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("p.json"));
  EXPECT_EQ(j["policy"], "mlp");
  EXPECT_EQ(j["num_params"], 8 * 3 + 8 + 8 + 1);
  EXPECT_LT(j["final_return"].get<double>(), 0);  // Pendulum's rewards are costs
}

}  // namespace
}  // namespace optidiff
