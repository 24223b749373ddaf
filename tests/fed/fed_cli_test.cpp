// optidiff fed train: the --json keys, checkpoint/resume through the CLI, and bad input; optidiff
// fed bench: the per-run results file, --resume skipping finished runs, seed-major order and
// configuration checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

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
    std::vector<std::string> args = {"--threads", "1",
                                     "--quiet",   "fed",
                                     "train",     "--clients",
                                     "5",         "--per-round",
                                     "2",         "--local-steps",
                                     "2",         "--rounds",
                                     "2",         "--eval-every",
                                     "1",         "--train-samples",
                                     "300",       "--test-samples",
                                     "100",       "--batch",
                                     "8",         "--seed",
                                     "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

void expect_error(const testing::CliResult& r, const std::string& fragment) {
  testing::expect_cli_error(r, 1, fragment);
}

TEST_F(FedCli, JsonKeysArePinned) {
  testing::TempDir dir;
  const auto r =
      run_cli(small({"--strategy", "zsignfedavg", "--z", "inf", "--sigma", "0.02", "--partition",
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
  EXPECT_DOUBLE_EQ(j.at("test_accuracy").get<double>(),
                   j.at("history")[2].at("accuracy").get<double>());
}

// --threads governs OpenBLAS's own thread pool too: the CLI re-executes itself with
// OPENBLAS_NUM_THREADS (and OMP_WAIT_POLICY) set, unless the user has set them.
TEST_F(FedCli, ThreadsFlagSetsTheBlasThreadCount) {
  testing::TempDir dir;
  ::unsetenv("OPENBLAS_NUM_THREADS");  // as on a machine where nobody has set them (the child inherits)
  ::unsetenv("OMP_WAIT_POLICY");
  ASSERT_EQ(run_cli(small({"--json", dir.file("a.json")})).exit_code, 0);
  const Json a = read_json_file(dir.file("a.json")).at("process");
  EXPECT_EQ(a.at("threads"), 1);
  EXPECT_EQ(a.at("openblas_threads"), "1");
  EXPECT_EQ(a.at("omp_wait_policy"), "PASSIVE");
  auto three = small({"--json", dir.file("b.json")});
  three[1] = "3";  // --threads 3
  const auto r = run_cli(three, {"OPENBLAS_NUM_THREADS=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json b = read_json_file(dir.file("b.json")).at("process");
  EXPECT_EQ(b.at("threads"), 3);
  EXPECT_EQ(b.at("openblas_threads"), "2");  // the user's setting is kept
}

TEST_F(FedCli, ResumeContinuesTheSameRun) {
  testing::TempDir dir;
  const auto straight = run_cli(small({"--strategy", "fedlion", "--json", dir.file("a.json")}));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  auto first = small({"--strategy", "fedlion", "--checkpoint", dir.file("ck")});
  first[std::find(first.begin(), first.end(), "--rounds") - first.begin() + 1] = "1";
  ASSERT_EQ(run_cli(first).exit_code, 0);
  const auto resumed = run_cli(small({"--strategy", "fedlion", "--checkpoint", dir.file("ck"),
                                      "--resume", "--json", dir.file("b.json")}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const Json a = read_json_file(dir.file("a.json")), b = read_json_file(dir.file("b.json"));
  EXPECT_EQ(a.at("history").back().at("accuracy"), b.at("history").back().at("accuracy"));
  EXPECT_EQ(a.at("history").back().at("loss"), b.at("history").back().at("loss"));
  // Another configuration cannot resume it.
  expect_error(run_cli(small({"--strategy", "fedavg", "--checkpoint", dir.file("ck"), "--resume"})),
               "strategy");
  expect_error(run_cli(small({"--strategy", "fedlion", "--checkpoint", dir.file("ck")})),
               "--resume");
}

TEST_F(FedCli, BadInputGetsClearErrors) {
  expect_error(run_cli(small({"--strategy", "zsignfedavg", "--sigma", "-1"})), "--sigma is -1");
  expect_error(run_cli(small({"--strategy", "fedlion", "--beta1", "1"})), "--beta1 is 1");
  expect_error(run_cli(small({"--strategy", "zsignfedavg", "--z", "0"})), "--z is 0");
  auto too_many = small({});
  *(std::find(too_many.begin(), too_many.end(), "--per-round") + 1) =
      "9";  // small() sets --per-round 2
  expect_error(run_cli(too_many), "--per-round is 9");
  expect_error(run_cli(small({"--strategy", "fedsgd"})), "--strategy is \"fedsgd\"");
  expect_error(run_cli(small({"--partition", "pathological"})), "--partition");
  expect_error(run_cli(small({"--model", "vgg"})), "--model");
  expect_error(run_cli(small({"--dropout", "1"})), "--dropout");
  expect_error(run_cli(small({"--resume"})), "--resume needs --checkpoint");
}

// A tiny benchmark grid: 2 entries x 1 cell; each run takes well under a second.
std::vector<std::string> tiny_bench(const std::string& json, const std::string& seeds,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--threads",
                                   "1",
                                   "--quiet",
                                   "fed",
                                   "bench",
                                   "--rounds",
                                   "2",
                                   "--seeds",
                                   seeds,
                                   "--alphas",
                                   "1",
                                   "--local-steps",
                                   "1",
                                   "--strategies",
                                   "fedavg,signsgd",
                                   "--clients",
                                   "5",
                                   "--per-round",
                                   "2",
                                   "--eval-every",
                                   "1",
                                   "--train-samples",
                                   "300",
                                   "--test-samples",
                                   "100",
                                   "--centralised-steps",
                                   "0",
                                   "--json",
                                   json};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// (label, seed) of each run line, in file order (line 1 is the configuration).
std::vector<std::pair<std::string, int>> runs_of(const std::string& path) {
  std::vector<std::pair<std::string, int>> runs;
  const auto lines = lines_of(path);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const Json j = Json::parse(lines[i]);
    runs.emplace_back(j.at("label").get<std::string>(), j.at("seed").get<int>());
  }
  return runs;
}

TEST_F(FedCli, BenchResumeSkipsFinishedRuns) {
  testing::TempDir dir;
  const std::string json = dir.file("b.json"), runs = dir.file("b.jsonl");
  auto r = run_cli(tiny_bench(json, "1"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  using Runs = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(runs_of(runs), (Runs{{"fedavg", 0}, {"signsgd", 0}}));
  const auto first = lines_of(runs);
  // Without --resume an existing results file is never appended to.
  expect_error(run_cli(tiny_bench(json, "2")), "--resume");
  // More seeds: the finished runs are kept byte for byte, only seed 1 runs, after every seed-0 run.
  r = run_cli(tiny_bench(json, "2", {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("skipped 2 run(s)"), std::string::npos) << r.out;
  EXPECT_EQ(runs_of(runs), (Runs{{"fedavg", 0}, {"signsgd", 0}, {"fedavg", 1}, {"signsgd", 1}}));
  auto lines = lines_of(runs);
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(lines[i], first[i]) << i;
  const Json summary = read_json_file(json);
  EXPECT_EQ(summary.at("runs_done"), 4);
  EXPECT_EQ(summary.at("cells")[0].at("seeds"), 2);
  // A run stopped mid-write leaves a line without its newline; a run stopped before writing leaves
  // nothing. Both are redone, and only they.
  {
    std::ofstream out(runs, std::ios::trunc);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) out << lines[i] << "\n";
    out << lines.back().substr(0, lines.back().size() / 2);
  }
  r = run_cli(tiny_bench(json, "2", {"--resume"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("ran 1 run(s)"), std::string::npos) << r.out;
  EXPECT_EQ(runs_of(runs), (Runs{{"fedavg", 0}, {"signsgd", 0}, {"fedavg", 1}, {"signsgd", 1}}));
  // The tables come from whatever runs exist, with their seed counts, without running anything.
  {
    std::ofstream out(runs, std::ios::trunc);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) out << lines[i] << "\n";
  }
  r = run_cli(tiny_bench(json, "2", {"--summary-only"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 of 4 runs"), std::string::npos) << r.out;
  EXPECT_EQ(read_json_file(json).at("cells")[1].at("seeds"), 1);  // signsgd: seed 0 only
  EXPECT_EQ(lines_of(runs).size(), 4u);
  // A second bench on the same results file is refused while the first holds it.
  {
    const int fd = ::open((runs + ".lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    expect_error(run_cli(tiny_bench(json, "2", {"--resume"})),
                 "is in use by another optidiff fed bench");
    ::close(fd);
  }
  // Another configuration is refused, naming the setting.
  auto other = tiny_bench(json, "2", {"--resume"});
  *(std::find(other.begin(), other.end(), "--rounds") + 1) = "3";
  expect_error(run_cli(other), "rounds is 2 there, 3 now");
}

}  // namespace
}  // namespace optidiff
