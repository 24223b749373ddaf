// optidiff fed train --runner mpi under `mpirun -n 3` (rank 0 serves, ranks 1-2 run clients): the same
// numbers as the simulation, and a rank that stalls past --timeout is dropped for that round.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

std::vector<std::string> small_run(const std::string& json) {
  return {"--threads", "1", "--quiet", "fed", "train", "--strategy", "zsignfedavg", "--clients", "6", "--per-round",
          "4", "--local-steps", "2", "--rounds", "3", "--eval-every", "1", "--train-samples", "300",
          "--test-samples", "100", "--batch", "8", "--seed", "2", "--partition", "dirichlet-columns", "--json", json};
}

int mpirun(const std::vector<std::string>& args, const std::string& env = "") {
  // timeout: a hang (a deadlock is what this test exists to catch) fails the test instead of stalling CI.
  std::string cmd = env + " timeout 300 mpirun --oversubscribe --allow-run-as-root -n 3 " + std::string(OPTIDIFF_BIN);
  for (const auto& a : args) cmd += " '" + a + "'";
  return std::system((cmd + " > /dev/null 2>&1").c_str());
}

class FedMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun is not installed";
  }
};

TEST_F(FedMpi, EqualsTheSimulation) {
  testing::TempDir dir;
  ASSERT_EQ(testing::run_cli(small_run(dir.file("sim.json"))).exit_code, 0);
  auto args = small_run(dir.file("mpi.json"));
  args.insert(args.end(), {"--runner", "mpi", "--timeout", "120"});
  ASSERT_EQ(mpirun(args), 0);
  const Json sim = read_json_file(dir.file("sim.json")), mpi = read_json_file(dir.file("mpi.json"));
  ASSERT_EQ(sim.at("history").size(), mpi.at("history").size());
  for (std::size_t i = 0; i < sim.at("history").size(); ++i) {
    EXPECT_EQ(sim.at("history")[i].at("accuracy"), mpi.at("history")[i].at("accuracy")) << i;
    EXPECT_EQ(sim.at("history")[i].at("loss"), mpi.at("history")[i].at("loss")) << i;
    EXPECT_EQ(sim.at("history")[i].at("uplink_bytes"), mpi.at("history")[i].at("uplink_bytes")) << i;
  }
}

TEST_F(FedMpi, StalledRankIsDroppedForThatRound) {
  testing::TempDir dir;
  auto args = small_run(dir.file("mpi.json"));
  args.insert(args.end(), {"--runner", "mpi", "--timeout", "2"});
  // Rank 2 sleeps 6 s before answering round 2: its clients fail that round, the run goes on.
  ASSERT_EQ(mpirun(args, "OPTIDIFF_FED_STALL=2,2,6"), 0);
  const Json j = read_json_file(dir.file("mpi.json"));
  ASSERT_EQ(j.at("history").size(), 4u);
  const auto& h = j.at("history");
  const std::uint64_t per_round = std::uint64_t(4) * 3252;  // 4 clients x 26,010 signs
  EXPECT_EQ(h[1].at("uplink_bytes").get<std::uint64_t>(), per_round);
  EXPECT_LT(h[2].at("uplink_bytes").get<std::uint64_t>() - h[1].at("uplink_bytes").get<std::uint64_t>(), per_round);
  EXPECT_EQ(j.at("rounds"), 3);
}

}  // namespace
}  // namespace optidiff
