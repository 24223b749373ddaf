// optidiff/diffusion/parallel/mpi_denoise.hpp (target optidiff::diffusion_mpi, the only diffusion target that
// links MPI): a parallel round's window spread over MPI ranks, as the official ParaTAA code spreads it over GPUs
// with accelerate (research note Sec. 1.3 step 3).
//
// Every rank runs the same solver on the same inputs (replicated state); inside each DenoiseFn call, rank r
// evaluates a contiguous slice of the batch rows (floor(B / R) each, the last rank also the remainder) and the
// slices are gathered into every rank (MPI_Allgatherv, in float64). The output therefore equals one process's to
// floating-point tolerance (the same model rows, evaluated in other batch compositions).
//   MpiSession mpi(argc, argv);
//   ParallelResult r = solve_parallel(plan, make_mpi_denoise_fn(make_denoise_fn(model, plan.output, cfg)), ...);
// All ranks must make the same calls: an exception on one rank leaves the others waiting in the gather.
#pragma once

#include "optidiff/diffusion/denoiser.hpp"

namespace optidiff::diffusion {

// MPI_Init / MPI_Finalize for a program's lifetime.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0, size_ = 1;
};

// Wraps `local` (this rank's denoiser) over MPI_COMM_WORLD. Only GuidedPrediction::pred is gathered.
DenoiseFn make_mpi_denoise_fn(DenoiseFn local);

}  // namespace optidiff::diffusion
