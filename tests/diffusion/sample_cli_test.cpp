// optidiff sample: output files, pinned --json keys, and clear errors on bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

using testing::run_cli;
using testing::TempDir;

TEST(SampleCli, MixtureWritesScatterAndPinnedJson) {
  TempDir dir;
  const auto r = run_cli({"sample", "--model", "gmm2d", "--class", "3", "--n", "64", "--steps", "20", "--sampler",
                          "heun", "--cfg", "2", "--seed", "5", "--out", dir.file("s.png"), "--json", dir.file("s.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("s.png")));
  const Json j = read_json_file(dir.file("s.json"));
  for (const char* key : {"model", "schedule", "prediction", "sampler", "steps", "eta", "cfg", "seed", "class",
                          "class_name", "n", "nfe", "nfe_per_sample", "seconds", "out"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["class"], 3);
  EXPECT_EQ(j["sampler"], "heun");
  EXPECT_EQ(j["nfe_per_sample"], 2 * (2 * 20 - 1));  // heun: 2T - 1 evaluations, CFG doubles them
  // Same seed, same bits.
  const auto again = run_cli({"sample", "--model", "gmm2d", "--class", "3", "--n", "64", "--steps", "20", "--sampler",
                              "heun", "--cfg", "2", "--seed", "5", "--out", dir.file("t.png")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_text_file(dir.file("s.png")), read_text_file(dir.file("t.png")));
}

TEST(SampleCli, BadInputIsAClearError) {
  TempDir dir;
  const std::string out = dir.file("x.png");
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--class", "spaceship"}, "class"},
      {{"--class", "3", "--steps", "0"}, "--steps is 0"},
      {{"--class", "3", "--cfg=-1"}, "--cfg is -1"},
      {{"--class", "3", "--cfg", "nan"}, "--cfg is nan"},
      {{"--class", "3", "--sampler", "dpm"}, "sampler"},
      {{"--class", "3", "--sampler", "euler", "--eta", "0.5"}, "eta"},
      {{"--class", "3", "--model", "nosuch.pt"}, "nosuch.pt"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"sample", "--n", "4", "--out", out};
    if (std::find(c.args.begin(), c.args.end(), "--model") == c.args.end()) args.insert(args.end(), {"--model", "gmm2d"});
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

TEST(SampleCli, RejectWritesAsdKeptAndExactNfe) {
  TempDir dir;
  const auto r = run_cli({"sample", "--model", "gmm2d", "--class", "1", "--reject", "--candidates", "10", "--keep", "3",
                          "--at-step", "4", "--steps", "12", "--sampler", "euler", "--cfg", "3", "--asd", "code",
                          "--out", dir.file("r.png"), "--json", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("r.json"));
  for (const char* key : {"nfe", "asd", "kept", "candidates", "keep", "at_step", "asd_variant", "best_of_n_nfe"})
    EXPECT_TRUE(j.contains(key)) << key;
  ASSERT_EQ(j["asd"].size(), 10u);
  ASSERT_EQ(j["kept"].size(), 3u);
  EXPECT_EQ(j["nfe"], 2 * (10 * 4 + 3 * (12 - 4)));
  EXPECT_EQ(j["best_of_n_nfe"], 2 * 10 * 12);
  const auto asd = j["asd"].get<std::vector<double>>();
  const double lowest_kept = asd[j["kept"][2].get<int>()];
  int above = 0;
  for (double v : asd) above += v > lowest_kept;
  EXPECT_EQ(above, 2);  // exactly the top 3 (no ties in continuous values)
}

TEST(SampleCli, RejectBadInputIsAClearError) {
  TempDir dir;
  const std::vector<std::string> base{"sample", "--model", "gmm2d", "--class", "1", "--steps", "10", "--reject",
                                      "--out", dir.file("x.png")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  };
  testing::expect_cli_error(with({"--candidates", "4", "--keep", "5", "--cfg", "2"}), 1, "--keep is 5");
  testing::expect_cli_error(with({"--at-step", "0", "--cfg", "2"}), 1, "--at-step is 0");
  testing::expect_cli_error(with({"--at-step", "10", "--cfg", "2"}), 1, "--at-step is 10");
  testing::expect_cli_error(with({"--cfg", "1"}), 1, "--reject needs classifier-free guidance");
  testing::expect_cli_error(with({"--cfg", "2", "--asd", "median"}), 1, "--asd is 'median'");
  testing::expect_cli_error(with({"--cfg", "2", "--n", "5"}), 2, "excludes");
}

TEST(SampleCli, FashionMixtureGrid) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TempDir dir;
  const auto r = run_cli({"sample", "--model", "gmm", "--class", "sneaker", "--n", "8", "--steps", "10", "--out",
                          dir.file("g.png"), "--json", dir.file("g.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("g.json"));
  EXPECT_EQ(j["class"], 7);
  EXPECT_EQ(j["class_name"], "sneaker");
  EXPECT_TRUE(std::filesystem::exists(dir.file("g.png")));
}

}  // namespace
}  // namespace optidiff
