#include "optidiff/core/threads.hpp"

#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <Eigen/Core>

#include "optidiff/core/torch_threads.hpp"

namespace optidiff {
namespace {

TEST(Threads, SetsEigenTorchAndHooks) {
  install_torch_thread_hook();
  int seen = -1;
  on_num_threads_change([&](int n) { seen = n; });
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  EXPECT_EQ(Eigen::nbThreads(), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(seen, 1);
  set_num_threads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(seen, 2);
  set_num_threads(0);  // all cores
  EXPECT_GE(num_threads(), 1);
}

}  // namespace
}  // namespace optidiff
