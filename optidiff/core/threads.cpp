#include "optidiff/core/threads.hpp"

#include <Eigen/Core>
#include <mutex>
#include <thread>
#include <vector>

namespace optidiff {
namespace {
std::mutex g_mutex;
int g_threads = 0;  // 0: never set
std::vector<std::function<void(int)>>& hooks() {
  static std::vector<std::function<void(int)>> h;
  return h;
}
}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::function<void(int)>> to_call;
  {
    std::lock_guard lock(g_mutex);
    g_threads = n;
    to_call = hooks();
  }
  Eigen::setNbThreads(n);
  for (auto& h : to_call) h(n);
}

int num_threads() {
  std::lock_guard lock(g_mutex);
  return g_threads > 0 ? g_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void on_num_threads_change(std::function<void(int)> hook) {
  int now;
  {
    std::lock_guard lock(g_mutex);
    hooks().push_back(hook);
    now = g_threads;
  }
  if (now > 0) hook(now);
}

}  // namespace optidiff
