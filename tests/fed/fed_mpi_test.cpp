// optidiff fed train --runner mpi under `mpirun -n 3` (rank 0 serves, ranks 1-2 run clients): the
// same numbers as the simulation, a rank that stalls past --timeout is dropped for that round, and
// a rank killed outright (SIGKILL) is dropped for the rest of the run, which still ends cleanly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "optidiff/core/json.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

std::vector<std::string> small_run(const std::string& json) {
  return {"--threads",
          "1",
          "--quiet",
          "fed",
          "train",
          "--strategy",
          "zsignfedavg",
          "--clients",
          "6",
          "--per-round",
          "4",
          "--local-steps",
          "2",
          "--rounds",
          "3",
          "--eval-every",
          "1",
          "--train-samples",
          "300",
          "--test-samples",
          "100",
          "--batch",
          "8",
          "--seed",
          "2",
          "--partition",
          "dirichlet-columns",
          "--json",
          json};
}

int mpirun(const std::vector<std::string>& args, const std::string& env = "",
           const std::string& mpirun_flags = "", const std::string& log = "/dev/null") {
  // timeout: a hang (a deadlock is what this test exists to catch) fails the test instead of
  // stalling CI.
  std::string cmd = env + " timeout 300 mpirun --oversubscribe --allow-run-as-root " +
                    mpirun_flags + " -n 3 " + std::string(OPTIDIFF_BIN);
  for (const auto& a : args) cmd += " '" + a + "'";
  return std::system((cmd + " > " + log + " 2>&1").c_str());
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FedMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0)
      GTEST_SKIP() << "mpirun is not installed";
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
    EXPECT_EQ(sim.at("history")[i].at("uplink_bytes"), mpi.at("history")[i].at("uplink_bytes"))
        << i;
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
  EXPECT_LT(
      h[2].at("uplink_bytes").get<std::uint64_t>() - h[1].at("uplink_bytes").get<std::uint64_t>(),
      per_round);
  EXPECT_EQ(j.at("rounds"), 3);
}

TEST_F(FedMpi, KilledRankIsDroppedForTheRestOfTheRun) {
  testing::TempDir dir;
  ASSERT_EQ(testing::run_cli(small_run(dir.file("sim.json"))).exit_code, 0);
  auto args = small_run(dir.file("mpi.json"));
  args.insert(args.end(), {"--runner", "mpi", "--timeout", "120"});
  // Rank 2 (clients 1, 3, 5) dies by SIGKILL on receiving round 2's work. --enable-recovery keeps
  // Open MPI from ending the job; the server must notice the exit (not wait out the 120 s timeout),
  // drop that rank's clients in rounds 2 and 3, and end without hanging in MPI_Finalize.
  const int rc = mpirun(args, "OPTIDIFF_FED_KILL=2,2", "--enable-recovery -x OPTIDIFF_FED_KILL",
                        dir.file("log"));
  const std::string log = read_all(dir.file("log"));
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("rank 2 (pid "), std::string::npos) << log;
  EXPECT_NE(
      log.find("has exited (noticed in round 2); its clients are dropped for the rest of the run"),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("did not answer within"), std::string::npos) << log;
  const Json sim = read_json_file(dir.file("sim.json")), j = read_json_file(dir.file("mpi.json"));
  EXPECT_EQ(j.at("rounds"), 3);
  const auto& h = j.at("history");
  ASSERT_EQ(h.size(), 4u);
  // Round 1 is before the kill: the simulation's numbers exactly.
  EXPECT_EQ(h[1].at("accuracy"), sim.at("history")[1].at("accuracy"));
  EXPECT_EQ(h[1].at("loss"), sim.at("history")[1].at("loss"));
  const std::uint64_t sign_bytes = 3252;  // one client's 26,010 signs
  EXPECT_EQ(h[1].at("uplink_bytes").get<std::uint64_t>(), 4 * sign_bytes);
  // Rounds 2 and 3: 4 of the 6 clients are sampled, so at least one of rank 1's (0, 2, 4) replies
  // and at least one of rank 2's is missing.
  for (int round : {2, 3}) {
    const auto up = h[round].at("uplink_bytes").get<std::uint64_t>() -
                    h[round - 1].at("uplink_bytes").get<std::uint64_t>();
    EXPECT_EQ(up % sign_bytes, 0u) << round;
    EXPECT_GE(up, sign_bytes) << round;
    EXPECT_LE(up, 3 * sign_bytes) << round;
    const double acc = h[round].at("accuracy").get<double>(),
                 loss = h[round].at("loss").get<double>();
    EXPECT_TRUE(acc >= 0 && acc <= 1) << acc;
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << loss;
  }
}

}  // namespace
}  // namespace optidiff
