// Smoke tests of the built optidiff binary: exit codes, error lines, outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "optidiff/core/image.hpp"
#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {
using testing::expect_cli_error;
using testing::run_cli;

TEST(Cli, VersionAndHelp) {
  auto v = run_cli({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("optidiff ", 0), 0u) << v.out;
  auto h = run_cli({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("data"), std::string::npos);
  EXPECT_NE(h.out.find("tour"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  expect_cli_error(run_cli({"frobnicate"}), 2, "frobnicate");
  expect_cli_error(run_cli({"data", "info", "--no-such-flag"}), 2, "--no-such-flag");
  expect_cli_error(run_cli({"data", "partition", "--clients", "many"}), 2, "many");
  expect_cli_error(run_cli({}), 2, "subcommand");
}

TEST(Cli, MissingDataDirectory) {
  expect_cli_error(run_cli({"data", "info", "--data-dir", "/no/such/dir"}), 1, "/no/such/dir");
  expect_cli_error(run_cli({"data", "info"}, {"OPTIDIFF_DATA=/also/missing"}), 1, "/also/missing");
}

TEST(Cli, CorruptDataFiles) {
  testing::TempDir dir;
  {  // wrong magic in the test images, a truncated .gz in the train labels
    std::ofstream(dir.file("t10k-images-idx3-ubyte"), std::ios::binary) << "PK\x03\x04 not an idx file";
    std::ofstream(dir.file("t10k-labels-idx1-ubyte"), std::ios::binary) << std::string("\0\0\x08\x01\0\0\0\x01\x03", 9);
    std::ofstream(dir.file("train-images-idx3-ubyte.gz"), std::ios::binary) << std::string("\x1f\x8b\x08\0\0\0", 6);
    std::ofstream(dir.file("train-labels-idx1-ubyte.gz"), std::ios::binary) << std::string("\x1f\x8b\x08\0\0\0", 6);
  }
  expect_cli_error(run_cli({"data", "grid", "--data-dir", dir.path(), "--out", dir.file("g.png")}), 1, "magic");
  expect_cli_error(run_cli({"data", "partition", "--data-dir", dir.path()}), 1, "gzip");
}

class CliWithData : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
};

TEST_F(CliWithData, InfoTableAndJson) {
  testing::TempDir dir;
  auto r = run_cli({"data", "info", "--json", dir.file("info.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("60000"), std::string::npos);
  EXPECT_NE(r.out.find("Ankle boot"), std::string::npos);
  const Json j = read_json_file(dir.file("info.json"));
  EXPECT_EQ(j["train"]["images"], 60000);
  EXPECT_EQ(j["test"]["images"], 10000);
  EXPECT_EQ(j["test"]["class_counts"].size(), 10u);
  EXPECT_NEAR(j["train"]["pixel_mean"].get<double>(), 0.286, 0.001);  // published Fashion-MNIST mean
}

TEST_F(CliWithData, GridWritesALabelledPng) {
  testing::TempDir dir;
  auto r = run_cli({"data", "grid", "--split", "test", "--n", "12", "--columns", "4", "--out", dir.file("g.png")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Image img = read_png(dir.file("g.png"));
  EXPECT_GE(img.width, 4 * 56);
  EXPECT_GE(img.height, 3 * 56);
  expect_cli_error(run_cli({"data", "grid", "--n", "0", "--out", dir.file("h.png")}), 1, "--n");
  expect_cli_error(run_cli({"data", "grid", "--split", "dev", "--out", dir.file("h.png")}), 1, "dev");
}

TEST_F(CliWithData, PartitionJsonAndBadValues) {
  testing::TempDir dir;
  auto r = run_cli({"data", "partition", "--clients", "100", "--scheme", "dirichlet", "--alpha", "0.5", "--seed", "1",
                    "--json", dir.file("p.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = read_json_file(dir.file("p.json"));
  EXPECT_EQ(j["clients"], 100);
  std::size_t total = 0;
  for (auto n : j["samples_per_client"]) total += n.get<std::size_t>();
  EXPECT_EQ(total, 60000u);
  EXPECT_GT(j["mean_tv_distance"].get<double>(), 0.2);
  expect_cli_error(run_cli({"data", "partition", "--clients", "0"}), 1, "--clients");
  expect_cli_error(run_cli({"data", "partition", "--scheme", "dirichlet", "--alpha", "-1"}), 1, "--alpha");
  expect_cli_error(run_cli({"data", "partition", "--scheme", "zipf"}), 1, "zipf");
}

}  // namespace
}  // namespace optidiff
