// optidiff/diffusion/parallel/mpi_denoise.cpp
#include "optidiff/diffusion/parallel/mpi_denoise.hpp"

#include <mpi.h>

#include <vector>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {

MpiSession::MpiSession(int& argc, char**& argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

DenoiseFn make_mpi_denoise_fn(DenoiseFn local) {
  return [local = std::move(local)](const torch::Tensor& x, const torch::Tensor& t,
                                    const torch::Tensor& labels) -> GuidedPrediction {
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const std::int64_t rows = x.size(0), d = rows > 0 ? x.numel() / rows : 0, base = rows / size;
    std::vector<int> counts(size), displs(size);
    for (int r = 0; r < size; ++r) {
      const std::int64_t lo = r * base, hi = r + 1 == size ? rows : lo + base;
      counts[r] = static_cast<int>((hi - lo) * d);
      displs[r] = static_cast<int>(lo * d);
    }
    const std::int64_t lo = rank * base, hi = rank + 1 == size ? rows : lo + base;
    torch::Tensor mine = torch::empty({0}, torch::kFloat64);
    if (hi > lo) {
      mine = local(x.slice(0, lo, hi), t.slice(0, lo, hi), labels.slice(0, lo, hi)).pred.to(torch::kFloat64).contiguous();
      if (mine.numel() != counts[rank]) throw_invalid("denoiser returned a prediction of another shape than its input");
    }
    torch::Tensor all = torch::empty(x.sizes(), torch::kFloat64);
    MPI_Allgatherv(mine.data_ptr<double>(), counts[rank], MPI_DOUBLE, all.data_ptr<double>(), counts.data(),
                   displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
    return {.pred = all.to(x.scalar_type()), .pred_cond = {}, .pred_uncond = {}};
  };
}

}  // namespace optidiff::diffusion
