// optidiff/core/torch_threads.hpp (target optidiff::core_torch): makes set_num_threads() also set
// libtorch's intra-op thread count. Kept out of optidiff::core so that zo, matrix and sparse users
// never link libtorch.
#pragma once

namespace optidiff {
// Idempotent; call once at start-up in any program that links libtorch.
void install_torch_thread_hook();
}  // namespace optidiff
