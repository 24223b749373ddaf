// optidiff sparse-code end to end: the JSON keys are an interface (pinned here), the atoms PNG is written,
// and bad input gets a clear error and exit status 1.
#include <gtest/gtest.h>

#include <filesystem>

#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "optidiff/sparse/datasets.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

using testing::run_cli;

TEST(SparseCli, DigitsRunWritesPinnedJsonKeysAndAtomsPng) {
  if (!std::filesystem::exists(sparse::kDigitsPath)) GTEST_SKIP() << "python3-sklearn's digits not installed";
  testing::TempDir dir;
  const auto r = run_cli({"sparse-code", "--data", "digits", "--atoms", "16", "--lambda", "0.1", "--level", "sample",
                          "--regularizer", "hard", "--corrupt", "outlier:0.2", "--seed", "3", "--max-sweeps", "6",
                          "--max-train", "300", "--json", dir.file("out.json"), "--atoms-png", dir.file("atoms.png")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("clean recon error"), std::string::npos);
  const Json j = read_json_file(dir.file("out.json"));
  for (const char* key : {"objective", "clean_reconstruction_error", "accuracy", "kmeans_acc", "nmi", "seconds",
                          "history", "admitted", "sweeps", "stop_reason", "method", "corruption"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["corruption"], "outlier:0.2");
  EXPECT_EQ(j["train_samples"], 300);
  EXPECT_GT(j["accuracy"].get<double>(), 0.5);  // 10 classes: chance is 0.1
  EXPECT_GT(j["clean_reconstruction_error"].get<double>(), 0.0);
  EXPECT_LT(j["clean_reconstruction_error"].get<double>(), 1.0);
  ASSERT_FALSE(j["history"].empty());
  for (const char* key : {"sweep", "age", "objective", "admitted", "mean_weight"})
    EXPECT_TRUE(j["history"][0].contains(key)) << key;
  const Image atoms = read_png(dir.file("atoms.png"));
  EXPECT_GT(atoms.width, 4 * 8 * 4);  // a 4x4 grid of 8x8 atoms, upscaled
}

TEST(SparseCli, CsvWithoutLabelsGivesNullAccuracy) {
  testing::TempDir dir;
  std::string csv;
  for (int i = 0; i < 40; ++i) csv += std::to_string(i % 3) + "," + std::to_string((i * 7) % 5) + ",1,0\n";
  write_text_atomic(dir.file("d.csv"), csv);
  const auto r = run_cli({"sparse-code", "--data", dir.file("d.csv"), "--atoms", "3", "--level", "element",
                          "--max-sweeps", "3", "--json", dir.file("o.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("o.json"));
  EXPECT_TRUE(j["accuracy"].is_null());
  EXPECT_EQ(j["features"], 4);
}

TEST(SparseCli, BadInputGetsAClearError) {
  testing::TempDir dir;
  write_text_atomic(dir.file("text.csv"), "1,2\n3,abc\n");
  write_text_atomic(dir.file("ragged.csv"), "1,2,3\n4,5\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--data", dir.file("text.csv")}, "line 2, column 2 is 'abc'; expected a finite number"},
      {{"--data", dir.file("ragged.csv")}, "line 2 has 2 fields; expected 3"},
      {{"--data", dir.file("missing.csv")}, "no such file"},
      {{"--atoms", "0"}, "--atoms is 0; expected K >= 1"},
      {{"--lambda", "0"}, "--lambda is 0; expected lambda > 0"},
      {{"--lambda", "-1"}, "--lambda is -1; expected lambda > 0"},
      {{"--corrupt", "outlier:1"}, "expected 0 <= FRACTION < 1"},
      {{"--corrupt", "saltpepper:-0.2"}, "expected 0 <= FRACTION < 1"},
      {{"--corrupt", "fog:0.1"}, "kind is 'fog'"},
      {{"--level", "pixel"}, "expected none, sample, feature or element"},
      {{"--regularizer", "soft"}, "expected hard, linear or mixture"},
      {{"--level", "sample", "--l1-fidelity"}, "use it with --level none"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"sparse-code"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << c.message;
    EXPECT_NE(r.err.find("optidiff: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << "expected '" << c.message << "' in: " << r.err;
  }
}

}  // namespace
}  // namespace optidiff
