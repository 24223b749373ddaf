// optidiff/core/threads.hpp: one thread count for the whole process.
//
// set_num_threads(n) sets Eigen's count and calls every registered hook; libtorch-linked code
// registers one with install_torch_thread_hook() (optidiff/core/torch_threads.hpp, target
// optidiff::core_torch), so "--threads 2" also fixes torch's intra-op count. Same seed, same thread
// count, same machine: same bits.
#pragma once

#include <functional>

namespace optidiff {

// n <= 0 means "all hardware threads".
void set_num_threads(int n);
int num_threads();
// Called with the new count now (if set_num_threads ran already) and at every later change.
void on_num_threads_change(std::function<void(int)> hook);

}  // namespace optidiff
