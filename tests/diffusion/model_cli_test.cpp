// optidiff diffusion train | eval and classifier train, run as a user runs them: exit codes, error lines,
// and the --json keys (pinned: later work and scripts read them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <tuple>

#include "optidiff/core/json.hpp"
#include "optidiff/data/fashion_mnist.hpp"
#include "optidiff/data/idx.hpp"
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
  args = tiny_train(dir.file("x"), 3);
  args.insert(args.end(), {"--precision", "fp16"});
  expect_cli_error(run_cli(args), 1, "expected fp32, bf16 or auto");
  args = tiny_train(dir.file("x"), 3);
  args.insert(args.end(), {"--init-from", dir.file("none.ckpt")});
  expect_cli_error(run_cli(args), 1, "does not exist");
  expect_cli_error(run_cli({"sample", "--class", "1", "--precision", "half"}), 1, "expected fp32, bf16 or auto");
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
  expect_cli_error(run_cli({"classifier", "train", "--arch", "vgg"}), 1, "--arch is 'vgg'");
  expect_cli_error(run_cli({"classifier", "train", "--arch", "resnet", "--augment", "maybe"}), 1,
                   "--augment is 'maybe'");
  expect_cli_error(run_cli({"diffusion", "eval", "--n", "20", "--k", "20"}), 1, "--k is 20");
}

// The first n_train / n_test images of Fashion-MNIST as a --data-dir of their own, so that the
// commands below pass over 1,000 test images rather than 10,000.
std::string small_fashion_dir(const testing::TempDir& dir, std::size_t n_train,
                              std::size_t n_test) {
  const std::string out = dir.file("fashion");
  std::filesystem::create_directories(out);
  for (auto [split, n, prefix] : {std::tuple{data::Split::kTrain, n_train, "train"},
                                  std::tuple{data::Split::kTest, n_test, "t10k"}}) {
    const auto d = data::load_fashion_mnist(data::resolve_data_dir(""), split);
    data::IdxArray images{{std::uint32_t(n), 28, 28},
                          {d.images.begin(), d.images.begin() + n * 28 * 28}};
    data::IdxArray labels{{std::uint32_t(n)}, {d.labels.begin(), d.labels.begin() + n}};
    data::write_idx(out + "/" + prefix + "-images-idx3-ubyte", images);
    data::write_idx(out + "/" + prefix + "-labels-idx1-ubyte", labels);
  }
  return out;
}

// A judge trained for one epoch on 256 images: enough to exercise every path (the shipped judge is
// models/judge/judge.ckpt; tests do not depend on it). Also pins `classifier train --json`.
std::string tiny_judge(const testing::TempDir& dir, const std::string& data_dir) {
  const std::string path = dir.file("judge.ckpt");
  auto r = run_cli({"-q", "--threads", "2", "classifier", "train", "--arch", "resnet", "--epochs",
                    "1", "--limit", "256", "--batch", "64", "--data-dir", data_dir, "--out", path,
                    "--json", dir.file("judge.json")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = read_json_file(dir.file("judge.json"));
  expect_keys(j, {"arch", "test_accuracy", "epoch_test_accuracy", "confusion_matrix", "epochs",
                  "augment", "seconds", "out", "seed", "command"});
  EXPECT_EQ(j["arch"], "resnet24-48-96");
  EXPECT_EQ(j["augment"], true);  // auto: on for resnet
  EXPECT_EQ(j["confusion_matrix"].size(), 10u);
  EXPECT_NE(j["command"].get<std::string>().find("--arch resnet"), std::string::npos);
  return path;
}

TEST(DiffusionCli, EvalOfATinyModelPinsJsonKeys) {
  const std::string classifier =
      std::string(OPTIDIFF_SOURCE_DIR) + "/models/classifier/classifier.ckpt";
  if (!testing::have_fashion_mnist() || !std::filesystem::exists(classifier))
    GTEST_SKIP() << "needs Fashion-MNIST and the shipped classifier";
  testing::TempDir dir;
  ASSERT_EQ(run_cli(tiny_train(dir.file("run"), 2)).exit_code, 0);
  const std::string data_dir = small_fashion_dir(dir, 2000, 1000);
  const std::string judge = tiny_judge(dir, data_dir);
  auto r = run_cli({"-q",
                    "diffusion",
                    "eval",
                    "--model",
                    dir.file("run/model.ckpt"),
                    "--judge",
                    judge,
                    "--classifier",
                    classifier,
                    "--n",
                    "20",
                    "--steps",
                    "2",
                    "--cfg",
                    "1,2",
                    "--kid-subsets",
                    "10",
                    "--data-dir",
                    data_dir,
                    "--json",
                    dir.file("e.json"),
                    "--grid",
                    dir.file("g.png")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Frechet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("precision"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("real"), std::string::npos) << r.out;
  auto j = read_json_file(dir.file("e.json"));
  expect_keys(j, {"class_accuracy",
                  "confidence",
                  "frechet_distance",
                  "frechet_over_floor",
                  "floor",
                  "cfg",
                  "n",
                  "steps",
                  "sampler",
                  "seed",
                  "model",
                  "results",
                  "nfe",
                  "judge",
                  "judge_arch",
                  "classifier",
                  "classifier_floor",
                  "real",
                  "setup_seconds",
                  "k",
                  "kid_subsets"});
  EXPECT_EQ(j["judge_arch"], "resnet24-48-96");
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& row : j["results"]) {
    expect_keys(row, {"cfg", "class_accuracy", "confidence", "frechet_distance", "floor",
                      "frechet_over_floor", "precision", "recall", "kid", "kid_std",
                      "classifier_accuracy", "classifier_frechet_distance", "nfe", "seconds"});
    for (const char* key : {"precision", "recall", "class_accuracy", "classifier_accuracy"}) {
      EXPECT_GE(row[key].get<double>(), 0.0) << key;
      EXPECT_LE(row[key].get<double>(), 1.0) << key;
    }
    EXPECT_GE(row["kid_std"].get<double>(), 0.0);
    EXPECT_EQ(row["floor"], j["floor"]);
    EXPECT_NEAR(row["frechet_over_floor"].get<double>(),
                row["frechet_distance"].get<double>() / row["floor"].get<double>(), 1e-12);
  }
  EXPECT_EQ(j["results"][0]["nfe"], 20 * 2);      // w = 1: conditional only, 2 steps
  EXPECT_EQ(j["results"][1]["nfe"], 2 * 20 * 2);  // w = 2: both halves
  EXPECT_GT(j["floor"].get<double>(), 0.0);
  EXPECT_GT(j["classifier_floor"].get<double>(), 0.0);
  // The reference row: real images' Frechet distance is the floor itself.
  EXPECT_EQ(j["real"]["frechet_distance"], j["floor"]);
  EXPECT_TRUE(std::filesystem::exists(dir.file("g.png")));

  // A judge that is not a classifier (the DiT itself), junk, or missing: clear errors naming the
  // file.
  const std::vector<std::string> base = {"diffusion", "eval", "--model", dir.file("run/model.ckpt"),
                                         "--n",       "10",   "--steps", "1",
                                         "--cfg",     "1"};
  auto with_judge = [&](const std::string& path) {
    auto args = base;
    args.insert(args.end(), {"--judge", path});
    return run_cli(args);
  };
  expect_cli_error(with_judge(dir.file("run/model.ckpt")), 1, "expected classifier");
  std::ofstream(dir.file("junk.ckpt")) << "not a judge";
  expect_cli_error(with_judge(dir.file("junk.ckpt")), 1, "not an optidiff checkpoint");
  expect_cli_error(with_judge(dir.file("none.ckpt")), 1, "does not exist");
  // `classifier eval` reads either architecture and refuses a DiT.
  r = run_cli({"-q", "classifier", "eval", "--model", judge, "--data-dir", data_dir, "--json",
               dir.file("ce.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_keys(read_json_file(dir.file("ce.json")),
              {"model", "arch", "test_accuracy", "confusion_matrix"});
  expect_cli_error(run_cli({"classifier", "eval", "--model", dir.file("run/model.ckpt")}), 1,
                   "expected classifier");
}

}  // namespace
}  // namespace optidiff
