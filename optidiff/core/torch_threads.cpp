#include "optidiff/core/torch_threads.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "optidiff/core/threads.hpp"

namespace optidiff {

void install_torch_thread_hook() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  on_num_threads_change([](int n) { at::set_num_threads(n); });
}

void keep_freed_tensor_memory() {
#if defined(__GLIBC__)
  // Setting either value also turns off glibc's dynamic threshold adjustment, which would otherwise
  // lower the trim threshold again.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

void reexec_with_thread_environment(char** argv, int blas_threads) {
  const bool omp = std::getenv("OMP_WAIT_POLICY") == nullptr,
             blas = std::getenv("OPENBLAS_NUM_THREADS") == nullptr;
  if (!omp && !blas) return;
  if (omp) ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  if (blas) ::setenv("OPENBLAS_NUM_THREADS", std::to_string(std::max(1, blas_threads)).c_str(), 0);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run on with the defaults
}

}  // namespace optidiff
