// `optidiff rank ...` through the built binary: the --json keys, the file-based ask/tell loop, and its
// bad-input errors (each leaves the state file byte-for-byte unchanged).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "optidiff/core/json.hpp"
#include "optidiff/zo/factory.hpp"
#include "optidiff/zo/oracle.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {
using testing::expect_cli_error;
using testing::run_cli;

TEST(RankCli, MinimizeJsonKeys) {
  testing::TempDir dir;
  const auto r = run_cli({"-q", "rank", "minimize", "--function", "f1", "--dim", "4", "--method", "cmaes", "--m", "8",
                          "--budget", "400", "--seed", "3", "--json", dir.file("run.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("run.json"));
  for (const char* key : {"method", "function", "dim", "queries", "f_best", "f_final", "history", "f_opt", "f0",
                          "oracle_calls", "rounds", "stop", "seed", "noise", "instance", "budget", "x_final", "seconds"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["method"], "cmaes");
  EXPECT_EQ(j["function"], "bbob-f1-i1");
  EXPECT_EQ(j["dim"], 4);
  EXPECT_LE(j["queries"].get<long long>(), 400);
  const auto& h = j["history"];
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h[0][0], 0);                                              // the starting point, no queries
  EXPECT_EQ(h[0][1].get<double>(), j["f0"].get<double>());
  EXPECT_EQ(h.back()[1].get<double>(), j["f_best"].get<double>());    // best so far ends at f_best
  EXPECT_NE(r.out.find("f_best - f_opt"), std::string::npos);
}

TEST(RankCli, MinimizeIsReproducibleAndNoisy) {
  testing::TempDir dir;
  const std::vector<std::string> args = {"-q", "rank", "minimize", "--function", "rosenbrock", "--dim", "5", "--method",
                                         "ranksgd-ls", "--m", "6", "--k", "3", "--budget", "600", "--noise",
                                         "thurstone:0.1", "--seed", "9", "--json"};
  auto a = args, b = args;
  a.push_back(dir.file("a.json"));
  b.push_back(dir.file("b.json"));
  ASSERT_EQ(run_cli(a).exit_code, 0);
  ASSERT_EQ(run_cli(b).exit_code, 0);
  EXPECT_EQ(read_json_file(dir.file("a.json"))["history"], read_json_file(dir.file("b.json"))["history"]);
}

TEST(RankCli, MinimizeBadInput) {
  expect_cli_error(run_cli({"rank", "minimize", "--m", "8", "--k", "9"}), 1, "--k is 9; expected 1 <= k <= --m (8)");
  expect_cli_error(run_cli({"rank", "minimize", "--function", "f99"}), 1, "--function is \"f99\"");
  expect_cli_error(run_cli({"rank", "minimize", "--noise", "gauss"}), 1, "--noise is \"gauss\"");
  expect_cli_error(run_cli({"rank", "minimize", "--method", "adam"}), 1, "--method is \"adam\"");
  expect_cli_error(run_cli({"rank", "minimize", "--schedule", "cosine"}), 1, "--schedule is \"cosine\"");
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Parses the CSV printed by `rank ask`: header "id,x0,..", one row per candidate.
std::vector<Eigen::VectorXd> parse_csv(const std::string& text) {
  std::vector<Eigen::VectorXd> rows;
  std::stringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("id,x0", 0), 0u) << line;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string cell;
    std::vector<double> v;
    std::getline(ls, cell, ',');
    while (std::getline(ls, cell, ',')) v.push_back(std::stod(cell));
    rows.push_back(Eigen::Map<Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())));
  }
  return rows;
}

// A shell user as the oracle: init, then ask/tell rounds ranked by f = |x - 1|^2; the loop equals the
// library's own ask/tell with an exact oracle, bit for bit.
TEST(RankCli, FileBasedLoopEqualsTheLibrary) {
  testing::TempDir dir;
  const std::string state = dir.file("s.json");
  {
    std::ofstream(dir.file("x0.txt")) << "0.5 -0.25\n1.5";
  }
  ASSERT_EQ(run_cli({"rank", "init", "--dim", "3", "--method", "ranksgd", "--m", "4", "--k", "2", "--seed", "5",
                     "--step", "0.1", "--x0", dir.file("x0.txt"), "--state", state})
                .exit_code,
            0);
  const Eigen::Vector3d x0(0.5, -0.25, 1.5);
  auto lib = zo::make_optimizer(x0, {.method = "ranksgd", .m = 4, .k = 2, .step = 0.1, .seed = 5});
  const zo::Objective f = [](const Eigen::VectorXd& x) { return (x.array() - 1.0).square().sum(); };
  zo::ExactOracle oracle(f);
  for (int round = 0; round < 4; ++round) {
    const auto ask = run_cli({"-q", "rank", "ask", "--state", state});
    ASSERT_EQ(ask.exit_code, 0) << ask.err;
    const auto pts = parse_csv(ask.out);
    const zo::Round r = lib->ask();
    ASSERT_EQ(static_cast<int>(pts.size()), r.m());
    for (int i = 0; i < r.m(); ++i) EXPECT_EQ(pts[i], r.points.col(i));  // 17 digits: exact
    const auto top = std::get<zo::TopK>(oracle.answer(r)).ids;
    lib->tell(r.id, zo::TopK{top});
    const auto tell = run_cli({"rank", "tell", "--state", state, "--ranking", std::to_string(top[0]) + "," + std::to_string(top[1])});
    ASSERT_EQ(tell.exit_code, 0) << tell.err;
  }
  EXPECT_EQ(zo::load_optimizer(slurp(state))->save(), lib->save());
}

TEST(RankCli, FileBasedLoopBadInputLeavesTheStateUnchanged) {
  testing::TempDir dir;
  const std::string state = dir.file("s.json");
  ASSERT_EQ(run_cli({"rank", "init", "--dim", "2", "--m", "4", "--k", "3", "--state", state}).exit_code, 0);
  expect_cli_error(run_cli({"rank", "init", "--dim", "2", "--state", state}), 1, "already exists");
  expect_cli_error(run_cli({"rank", "tell", "--state", state, "--ranking", "0,1,2"}), 1, "no pending round");
  ASSERT_EQ(run_cli({"rank", "ask", "--state", state}).exit_code, 0);
  const std::string before = slurp(state);
  const std::pair<std::string, std::string> bad[] = {
      {"0,0,1", "repeats id 0"},        {"0,1,9", "contains id 9"},  {"0,1", "expected exactly k = 3"},
      {"0,1,2,3", "has 4 ids"},         {"0,x,1", "\"x\" is not a candidate id"}, {"-1,0,1", "\"-1\" is not"}};
  for (const auto& [ranking, fragment] : bad) {
    expect_cli_error(run_cli({"rank", "tell", "--state", state, "--ranking", ranking}), 1, fragment);
    EXPECT_EQ(slurp(state), before) << ranking;
  }
  // Truncated, edited into nonsense, another method's, missing.
  {
    std::ofstream(dir.file("trunc.json")) << before.substr(0, before.size() / 3);
  }
  expect_cli_error(run_cli({"rank", "ask", "--state", dir.file("trunc.json")}), 1, "not valid JSON");
  Json j = Json::parse(before);
  j["x"] = {1, "two"};
  write_json_file(dir.file("edit.json"), j);
  expect_cli_error(run_cli({"rank", "tell", "--state", dir.file("edit.json"), "--ranking", "0,1,2"}), 1, "\"x\"");
  j = Json::parse(before);
  j["method"] = "cmaes";
  write_json_file(dir.file("other.json"), j);
  expect_cli_error(run_cli({"rank", "ask", "--state", dir.file("other.json")}), 1, "optimiser state");
  expect_cli_error(run_cli({"rank", "ask", "--state", dir.file("none.json")}), 1, "does not exist");
  ASSERT_EQ(run_cli({"rank", "tell", "--state", state, "--ranking", "2,0,1"}).exit_code, 0);
  EXPECT_NE(slurp(state), before);
}

TEST(RankCli, ValueBasedLoopAndInitErrors) {
  testing::TempDir dir;
  const std::string state = dir.file("z.json");
  ASSERT_EQ(run_cli({"rank", "init", "--dim", "2", "--method", "zosgd", "--m", "3", "--state", state}).exit_code, 0);
  ASSERT_EQ(run_cli({"rank", "ask", "--state", state}).exit_code, 0);
  expect_cli_error(run_cli({"rank", "tell", "--state", state, "--values", "1,2"}), 1, "expected 3");
  expect_cli_error(run_cli({"rank", "tell", "--state", state, "--values", "1,nan,2"}), 1, "not a finite number");
  EXPECT_EQ(run_cli({"rank", "tell", "--state", state, "--values", "1,2,0.5"}).exit_code, 0);
  expect_cli_error(run_cli({"rank", "init", "--dim", "0", "--state", dir.file("a.json")}), 1, "--dim is 0");
  expect_cli_error(run_cli({"rank", "init", "--dim", "4", "--m", "3", "--k", "4", "--state", dir.file("b.json")}), 1,
               "--k is 4");
  EXPECT_FALSE(std::filesystem::exists(dir.file("b.json")));
}

}  // namespace
}  // namespace optidiff
