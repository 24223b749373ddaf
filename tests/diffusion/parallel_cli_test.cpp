// optidiff sample --parallel: pinned --json keys, the convergence plot, warm start files, clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

using testing::run_cli;
using testing::TempDir;

std::vector<std::string> base_args(const TempDir& dir, const std::string& cls = "2") {
  return {"sample", "--model", "gmm2d", "--schedule", "linear", "--class", cls, "--n", "3", "--steps", "30",
          "--cfg", "3", "--seed", "4", "--out", dir.file("s.png")};
}

TEST(ParallelCli, ParaTaaWritesPinnedJsonAndMatchesSequential) {
  TempDir dir;
  auto args = base_args(dir);
  args.insert(args.end(), {"--parallel", "paratAA", "--tol", "1e-6", "--check", "--json", dir.file("p.json"),
                           "--save-trajectory", dir.file("traj.ckpt")});
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("s.png")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("s_convergence.png")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("traj.ckpt")));
  const Json j = read_json_file(dir.file("p.json"));
  for (const char* key : {"rounds", "nfe", "seconds", "rms_vs_sequential", "converged", "parallel", "window", "order",
                          "memory", "tol1", "tol2", "sequential_nfe", "sequential_seconds", "history", "threshold",
                          "convergence_png"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["parallel"], "paratAA");
  EXPECT_EQ(j["order"], 100);  // k = W by default
  EXPECT_TRUE(j["converged"].get<bool>());
  EXPECT_LE(j["rounds"].get<int>(), 30);
  EXPECT_EQ(j["history"].size(), j["rounds"].get<std::size_t>());
  EXPECT_LT(j["rms_vs_sequential"].get<double>(), 1e-4);
  EXPECT_EQ(j["sequential_nfe"], 2 * 3 * 30);

  // Warm start from the neighbouring class's trajectory: same fixed point, and no more rounds than cold.
  auto warm = base_args(dir, "3");
  warm.insert(warm.end(), {"--parallel", "paratAA", "--tol", "1e-6", "--check", "--warm-start-from",
                           dir.file("traj.ckpt"), "--json", dir.file("w.json")});
  const auto w = run_cli(warm);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_LT(read_json_file(dir.file("w.json"))["rms_vs_sequential"].get<double>(), 1e-4);

  // A trajectory of another step count is refused, naming what differs.
  auto other = base_args(dir);
  other[10] = "20";  // --steps
  other.insert(other.end(), {"--parallel", "paratAA", "--warm-start-from", dir.file("traj.ckpt")});
  testing::expect_cli_error(run_cli(other), 1, "steps");
}

TEST(ParallelCli, ParadigmsRuns) {
  TempDir dir;
  auto args = base_args(dir);
  args.insert(args.end(), {"--parallel", "paradigms", "--window", "10", "--json", dir.file("m.json")});
  const auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("m.json"));
  EXPECT_EQ(j["parallel"], "paradigms");
  EXPECT_EQ(j["tolerance"], 0.1);
  EXPECT_TRUE(j["order"].is_null());
  EXPECT_TRUE(j["rms_vs_sequential"].is_null());  // no --check
  EXPECT_LE(j["rounds"].get<int>(), 30);
  EXPECT_GE(j["rounds"].get<int>(), 3);  // W = 10 < T = 30: at least T / W rounds
}

TEST(ParallelCli, BadInputIsAClearError) {
  TempDir dir;
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      // The CLI's own checks; the library's (W, k, m, tolerances, heun, files) are tested in parallel_test.cpp,
      // one of them here to show that they reach the user as one error line.
      {{"--parallel", "picard"}, "parallel method is 'picard'"},
      {{"--parallel", "paratAA", "--window", "3", "--order", "5"}, "order k is 5"},
      {{"--parallel", "paradigms", "--tol=-1"}, "--tol is -1"},
      {{"--parallel", "fp", "--order", "3"}, "do not apply to --parallel fp"},
      {{"--window", "5"}, "need --parallel"},
      {{"--parallel", "paratAA", "--reject"}, "cannot be combined"},
      {{"--parallel", "paratAA", "--variation-steps", "3"}, "--variation-steps needs --warm-start-from"},
  };
  for (const auto& c : cases) {
    auto args = base_args(dir);
    args.erase(args.begin() + 7, args.begin() + 9);  // --n 3: --reject excludes it
    args.insert(args.end(), c.args.begin(), c.args.end());
    testing::expect_cli_error(run_cli(args), 1, c.message);
  }
}

}  // namespace
}  // namespace optidiff
