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
