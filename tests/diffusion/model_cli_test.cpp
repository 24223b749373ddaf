// optidiff diffusion train | eval and classifier train, run as a user runs them: exit codes, error lines,
// and the --json keys (pinned: later work and scripts read them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {
using testing::expect_cli_error;
using testing::run_cli;

void expect_keys(const Json& j, const std::vector<std::string>& keys) {
  for (const auto& k : keys) EXPECT_TRUE(j.contains(k)) << "missing key " << k << " in " << j.dump();
}

std::vector<std::string> tiny_train(const std::string& out, int steps) {
  return {"-q",      "--threads", "2",  "diffusion", "train", "--config", "tiny", "--steps", std::to_string(steps),
          "--batch", "16",        "--limit", "64", "--out", out};
}

TEST(DiffusionCli, TrainWritesCheckpointsResumesAndPinsJsonKeys) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  testing::TempDir dir;
  auto args = tiny_train(dir.file("run"), 3);
  args.insert(args.end(), {"--json", dir.file("a.json")});
  auto r = run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("run/model.ckpt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("run/train_state.ckpt")));
  auto j = read_json_file(dir.file("a.json"));
  expect_keys(j, {"steps", "resumed_from", "seconds", "loss", "model", "state", "config", "objective"});
  EXPECT_EQ(j["steps"], 3);
  EXPECT_EQ(j["resumed_from"], -1);
  args = tiny_train(dir.file("run"), 5);
  args.insert(args.end(), {"--json", dir.file("b.json")});
  ASSERT_EQ(run_cli(args).exit_code, 0);
  j = read_json_file(dir.file("b.json"));
  EXPECT_EQ(j["resumed_from"], 3);
  EXPECT_EQ(j["steps"], 5);
  // the same directory with another config is refused, naming both
  args = tiny_train(dir.file("run"), 6);
  args[6] = "small";
  expect_cli_error(run_cli(args), 1, "was made with config");
}

TEST(DiffusionCli, BadTrainArgumentsAreRejected) {
  testing::TempDir dir;
  auto args = tiny_train(dir.file("x"), 3);
  args[6] = "huge";
  expect_cli_error(run_cli(args), 1, "tiny, small, base");
  args = tiny_train(dir.file("x"), 0);
  expect_cli_error(run_cli(args), 1, "training budget");
  args = tiny_train(dir.file("x"), 3);
  args.insert(args.end(), {"--objective", "score"});
  expect_cli_error(run_cli(args), 1, "expected flow or eps");
}

TEST(DiffusionCli, EvalRejectsBadModelsAndArguments) {
  testing::TempDir dir;
  std::ofstream(dir.file("junk.ckpt")) << "not a model";
  expect_cli_error(run_cli({"diffusion", "eval", "--model", dir.file("junk.ckpt"), "--n", "10"}), 1,
               "not an optidiff checkpoint");
  expect_cli_error(run_cli({"diffusion", "eval", "--model", dir.file("none.ckpt"), "--n", "10"}), 1, "does not exist");
  expect_cli_error(run_cli({"diffusion", "eval", "--cfg", "1,nan"}), 1, "--cfg is nan");
  expect_cli_error(run_cli({"diffusion", "eval", "--cfg", "-2"}), 1, "--cfg is -2");
  expect_cli_error(run_cli({"diffusion", "eval", "--cfg", "1,x"}), 1, "comma-separated");
  expect_cli_error(run_cli({"diffusion", "eval", "--steps", "0"}), 1, "--steps is 0");
  expect_cli_error(run_cli({"diffusion", "eval", "--n", "3"}), 1, "--n is 3");
  expect_cli_error(run_cli({"classifier", "train", "--epochs", "0"}), 1, "--epochs is 0");
}

TEST(DiffusionCli, EvalOfATinyModelPinsJsonKeys) {
  const std::string classifier = std::string(OPTIDIFF_SOURCE_DIR) + "/models/classifier/classifier.ckpt";
  if (!testing::have_fashion_mnist() || !std::filesystem::exists(classifier))
    GTEST_SKIP() << "needs Fashion-MNIST and the shipped classifier";
  testing::TempDir dir;
  ASSERT_EQ(run_cli(tiny_train(dir.file("run"), 2)).exit_code, 0);
  auto r = run_cli({"-q", "diffusion", "eval", "--model", dir.file("run/model.ckpt"), "--classifier", classifier, "--n",
                    "20", "--steps", "2", "--cfg", "1,2", "--json", dir.file("e.json"), "--grid", dir.file("g.png")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Frechet distance"), std::string::npos) << r.out;
  auto j = read_json_file(dir.file("e.json"));
  expect_keys(j, {"class_accuracy", "confidence", "frechet_distance", "frechet_over_floor", "floor", "cfg", "n",
                  "steps", "sampler", "seed", "model", "results", "nfe"});
  ASSERT_EQ(j["results"].size(), 2u);
  expect_keys(j["results"][0], {"cfg", "class_accuracy", "confidence", "frechet_distance", "nfe", "seconds"});
  EXPECT_EQ(j["results"][0]["nfe"], 20 * 2);      // w = 1: conditional only, 2 steps
  EXPECT_EQ(j["results"][1]["nfe"], 2 * 20 * 2);  // w = 2: both halves
  EXPECT_GT(j["floor"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("g.png")));
}

}  // namespace
}  // namespace optidiff
