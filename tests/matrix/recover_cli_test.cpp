// `optidiff recover`: the pinned --json keys, the CSV form, and each bad input with its message.
#include <gtest/gtest.h>

#include "optidiff/core/json.hpp"
#include "optidiff/matrix/csv.hpp"
#include "optidiff/matrix/problem.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::matrix {
namespace {
using testing::expect_cli_error;
using testing::run_cli;
using testing::TempDir;

TEST(RecoverCli, SimulateWritesThePinnedJsonKeys) {
  TempDir tmp;
  for (const std::string method : {"m3o", "alternating", "separate", "oracle"}) {
    const auto r = run_cli(
        {"recover",  "simulate", "--rows",     "20",   "--cols",     "40",
         "--rank",   "2",        "--noise",    "0",    "--missing",  "0",
         "--groups", "1",        "--shuffled", "0.25", "--patience", "10",
         "--seed",   "1",        "--method",   method, "--json",     tmp.file(method + ".json")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("wrong rows"), std::string::npos);
    const Json j = read_json_file(tmp.file(method + ".json"));
    for (const char* key : {"rmse", "permutation_errors", "seconds", "iterations", "rmse_blocks",
                            "method", "observed_row", "stop_reason", "objective", "restarts"})
      EXPECT_TRUE(j.contains(key)) << method << " lacks " << key;
    EXPECT_EQ(j["method"], method);
    if (method == "oracle") {
      EXPECT_EQ(j["permutation_errors"], 0);
    }
  }
}

TEST(RecoverCli, RecoversAUsersCsvMatrix) {
  TempDir tmp;
  const Simulation sim = simulate({.rows = 20,
                                   .cols = 40,
                                   .rank = 2,
                                   .noise = 0,
                                   .missing = 0.1,
                                   .groups = 1,
                                   .shuffled = 0.25,
                                   .seed = 2});
  write_csv_matrix(tmp.file("M.csv"), sim.observed.values);
  write_csv_matrix(tmp.file("MASK.csv"), sim.observed.mask);
  const auto r = run_cli({"recover", "--input", tmp.file("M.csv"), "--mask", tmp.file("MASK.csv"),
                          "--blocks", "30,10", "--method", "alternating", "--out",
                          tmp.file("X.csv"), "--json", tmp.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(tmp.file("r.json"));
  for (const char* key : {"fit_rmse", "seconds", "iterations", "observed_row", "objective"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(read_csv_matrix(tmp.file("X.csv")).rows(), 20);
}

TEST(RecoverCli, BadInputsGetClearErrors) {
  TempDir tmp;
  const Eigen::MatrixXd m = Eigen::MatrixXd::Random(6, 5);
  write_csv_matrix(tmp.file("M.csv"), m);
  write_csv_matrix(tmp.file("B4.csv"), Eigen::MatrixXd::Random(4, 2));
  write_csv_matrix(tmp.file("MASK_bad.csv"), Eigen::MatrixXd::Ones(6, 4));
  Eigen::MatrixXd mask = Eigen::MatrixXd::Ones(6, 5);
  mask.block(2, 3, 1, 2).setZero();  // row 3 of the shuffled block: nothing observed
  write_csv_matrix(tmp.file("MASK_row.csv"), mask);
  write_text_atomic(tmp.file("text.csv"), "1,2,3,4,5\n1,abc,3,4,5\n");
  write_text_atomic(tmp.file("ragged.csv"), "1,2,3,4,5\n1,2,3\n");

  expect_cli_error(
      run_cli({"recover", "--input", tmp.file("M.csv"), "--input", tmp.file("B4.csv")}), 1,
      "block 2 has 4 rows; expected 6 rows");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("M.csv"), "--mask",
                            tmp.file("MASK_bad.csv"), "--blocks", "3,2"}),
                   1, "is 6x4; expected 6x5");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("M.csv"), "--mask",
                            tmp.file("MASK_row.csv"), "--blocks", "3,2"}),
                   1, "row 3 of block 2 has all entries missing");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("M.csv"), "--blocks", "3,2", "--prox",
                            "rank", "--rank-k", "9"}),
                   1, "--rank-k is 9; expected at most min(rows, cols) = 5");
  expect_cli_error(run_cli({"recover", "simulate", "--rows", "10", "--cols", "10", "--rank", "12"}),
                   1, "--rank is 12; expected 1 <= rank <= min(rows, cols) = 10");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("text.csv"), "--blocks", "3,2"}), 1,
                   "line 2, field 2 is 'abc'; expected a number");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("ragged.csv"), "--blocks", "3,2"}), 1,
                   "line 2 has 3 fields; expected 5");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("M.csv"), "--blocks", "3,x"}), 1,
                   "--blocks is '3,x'");
  expect_cli_error(run_cli({"recover", "--input", tmp.file("M.csv"), "--blocks", "3,3"}), 1,
                   "covers 6 columns");
  expect_cli_error(
      run_cli({"recover", "--input", tmp.file("M.csv"), "--blocks", "3,2", "--method", "oracle"}),
      1, "needs the true permutations");
  expect_cli_error(run_cli({"recover", "simulate", "--method", "magic"}), 1, "--method is 'magic'");
  expect_cli_error(run_cli({"recover", "simulate", "--restarts", "0"}), 1,
                   "--restarts is 0; expected >= 1");
}

}  // namespace
}  // namespace optidiff::matrix
