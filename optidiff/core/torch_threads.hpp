// optidiff/core/torch_threads.hpp (target optidiff::core_torch): process set-up for programs that
// run libtorch. Kept out of optidiff::core so that zo, matrix and sparse users never link libtorch.
#pragma once

namespace optidiff {
// Makes set_num_threads() also set libtorch's intra-op thread count. Idempotent; call once at
// start-up in any program that links libtorch.
void install_torch_thread_hook();

// Keeps freed tensor memory in the process instead of handing it back to the kernel (glibc only; a
// no-op elsewhere). glibc serves blocks above its mmap threshold (128 KiB at first) with fresh
// mmaps and trims the heap top, so every activation of a network's forward pass lands on new pages
// that the kernel must fault in and zero: a third of the CPU time of a DiT forward pass on this
// project's machine (perf: page faults and memset under OpenBLAS's sgemm; docs/diffusion.md). This
// raises the mmap threshold to glibc's maximum (32 MiB) and the trim threshold to 1 GiB. It changes
// process-wide malloc behaviour, so the library never calls it: programs (the CLI, benchmarks) do,
// once, at start-up.
void keep_freed_tensor_memory();

// Thread settings that libraries read only once, when they are loaded, so that main() cannot set
// them: (1) libtorch's OpenMP workers and OpenBLAS's own threads share the cores; GNU OpenMP's
// default wait policy spins a worker after each parallel region, so during the next GEMM it fights
// OpenBLAS's worker for a core (on 2 cores a DiT forward pass spent a third of its time in libgomp's
// spin and sched_yield, and ran 1.7x faster with OMP_WAIT_POLICY=PASSIVE; docs/diffusion.md).
// (2) OpenBLAS (Debian's libopenblas0-pthread) runs its own pool of one thread per core, which
// at::set_num_threads does not govern: `--threads 1` still ran two BLAS threads, which spun a second
// core (a federated run used 27 CPU s for 16 s of wall clock; 16 CPU s with one BLAS thread) and
// made results depend on the core count. This re-executes the program (same pid, same arguments)
// with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS=`blas_threads`, each only where the user has
// not set it, and returns when both are set (by the user, or by the re-execution) or exec fails.
// Costs one more program start (under a second), so the CLI does it only for the commands that run
// libtorch (sample, diffusion, classifier, serve, fed, tour). Call first thing in main(), before any
// thread or MPI start.
void reexec_with_thread_environment(char** argv, int blas_threads);
}  // namespace optidiff
