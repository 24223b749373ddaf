// optidiff fed train: the --json keys, checkpoint/resume through the CLI, and bad input.
#include <gtest/gtest.h>

#include <algorithm>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {
using testing::run_cli;

class FedCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  static std::vector<std::string> small(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--threads", "1", "--quiet", "fed", "train", "--clients", "5", "--per-round", "2",
                                     "--local-steps", "2", "--rounds", "2", "--eval-every", "1", "--train-samples",
                                     "300", "--test-samples", "100", "--batch", "8", "--seed", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

void expect_error(const testing::CliResult& r, const std::string& fragment) { testing::expect_cli_error(r, 1, fragment); }

TEST_F(FedCli, JsonKeysArePinned) {
  testing::TempDir dir;
  const auto r = run_cli(small({"--strategy", "zsignfedavg", "--z", "inf", "--sigma", "0.02", "--partition",
                                "dirichlet-columns", "--alpha", "0.5", "--json", dir.file("r.json")}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("final test accuracy"), std::string::npos) << r.out;
  const Json j = read_json_file(dir.file("r.json"));
  EXPECT_EQ(j.at("strategy"), "zsignfedavg");
  EXPECT_EQ(j.at("rounds"), 2);
  EXPECT_TRUE(j.at("test_accuracy").is_number());
  ASSERT_EQ(j.at("history").size(), 3u);  // rounds 0, 1, 2
  for (const char* key : {"round", "accuracy", "loss", "uplink_bytes", "downlink_bytes"})
    EXPECT_TRUE(j.at("history")[2].contains(key)) << key;
  EXPECT_EQ(j.at("history")[2].at("round"), 2);
  // 26,010 signs = 3,252 bytes per client per round; 2 clients, 2 rounds.
  EXPECT_EQ(j.at("history")[2].at("uplink_bytes"), 2 * 2 * 3252);
  EXPECT_EQ(j.at("history")[2].at("downlink_bytes"), 2 * 2 * 26010 * 4);
  EXPECT_EQ(j.at("config").at("options").at("z"), "inf");
  EXPECT_DOUBLE_EQ(j.at("test_accuracy").get<double>(), j.at("history")[2].at("accuracy").get<double>());
}

TEST_F(FedCli, ResumeContinuesTheSameRun) {
  testing::TempDir dir;
  const auto straight = run_cli(small({"--strategy", "fedlion", "--json", dir.file("a.json")}));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  auto first = small({"--strategy", "fedlion", "--checkpoint", dir.file("ck")});
  first[std::find(first.begin(), first.end(), "--rounds") - first.begin() + 1] = "1";
  ASSERT_EQ(run_cli(first).exit_code, 0);
  const auto resumed =
      run_cli(small({"--strategy", "fedlion", "--checkpoint", dir.file("ck"), "--resume", "--json", dir.file("b.json")}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const Json a = read_json_file(dir.file("a.json")), b = read_json_file(dir.file("b.json"));
  EXPECT_EQ(a.at("history").back().at("accuracy"), b.at("history").back().at("accuracy"));
  EXPECT_EQ(a.at("history").back().at("loss"), b.at("history").back().at("loss"));
  // Another configuration cannot resume it.
  expect_error(run_cli(small({"--strategy", "fedavg", "--checkpoint", dir.file("ck"), "--resume"})), "strategy");
  expect_error(run_cli(small({"--strategy", "fedlion", "--checkpoint", dir.file("ck")})), "--resume");
}

TEST_F(FedCli, BadInputGetsClearErrors) {
  expect_error(run_cli(small({"--strategy", "zsignfedavg", "--sigma", "-1"})), "--sigma is -1");
  expect_error(run_cli(small({"--strategy", "fedlion", "--beta1", "1"})), "--beta1 is 1");
  expect_error(run_cli(small({"--strategy", "zsignfedavg", "--z", "0"})), "--z is 0");
  auto too_many = small({});
  *(std::find(too_many.begin(), too_many.end(), "--per-round") + 1) = "9";  // small() sets --per-round 2
  expect_error(run_cli(too_many), "--per-round is 9");
  expect_error(run_cli(small({"--strategy", "fedsgd"})), "--strategy is \"fedsgd\"");
  expect_error(run_cli(small({"--partition", "pathological"})), "--partition");
  expect_error(run_cli(small({"--model", "vgg"})), "--model");
  expect_error(run_cli(small({"--dropout", "1"})), "--dropout");
  expect_error(run_cli(small({"--resume"})), "--resume needs --checkpoint");
}

}  // namespace
}  // namespace optidiff
