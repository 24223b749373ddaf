#include "optidiff/core/torch_threads.hpp"

#include <ATen/Parallel.h>

#include <atomic>

#include "optidiff/core/threads.hpp"

namespace optidiff {

void install_torch_thread_hook() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  on_num_threads_change([](int n) { at::set_num_threads(n); });
}

}  // namespace optidiff
