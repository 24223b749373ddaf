// tests/diffusion/parallel_mpi_check.cpp: run by ParallelMpi.TwoRanksEqualOne under `mpirun -n R`. Solves one
// guided DDPM plan on the exact mixture with ParaTAA (W < T, m = 3) and ParaDiGMS, each round's window spread
// over the ranks; rank 0 writes {ranks, runs: [{method, rounds, x0}]} to argv[1], every rank its own NFE to
// argv[1].rank<r>.
#include <cstdio>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/diffusion/gmm.hpp"
#include "optidiff/diffusion/parallel/mixtures.hpp"
#include "optidiff/diffusion/parallel/mpi_denoise.hpp"
#include "optidiff/diffusion/parallel/solver.hpp"

using namespace optidiff;
using namespace optidiff::diffusion;

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: parallel_mpi_check OUT.json\n");
    return 2;
  }
  torch::set_num_threads(1);
  GaussianMixtureDenoiser gmm(random_mixture({.dim = 8, .classes = 2, .components = 8}), Schedule::vp());
  const Plan plan = make_plan(gmm.schedule(), {.sampler = SamplerKind::kDdpm, .steps = 20});
  const torch::Tensor noise = draw_noise(plan, 2, {8}, 9);
  const torch::Tensor labels = torch::tensor({0, 1}, torch::kInt64);
  const DenoiseFn fn = make_mpi_denoise_fn(make_denoise_fn(gmm, plan.output, {.scale = 3.0, .keep_halves = false}));
  ParallelOptions taa = parallel_defaults(ParallelMethod::kParaTaa);
  taa.window = 7;
  taa.memory = 3;
  taa.tol1 = taa.tol2 = 1e-6;
  ParallelOptions paradigms = parallel_defaults(ParallelMethod::kParadigms);
  paradigms.window = 20;
  paradigms.tolerance = 1e-4;
  Json out = {{"ranks", mpi.size()}, {"runs", Json::array()}};
  for (const ParallelOptions& o : {taa, paradigms}) {
    const ParallelResult r = solve_parallel(plan, fn, noise, labels, o);
    const torch::Tensor x0 = r.x0.contiguous();
    out["runs"].push_back({{"method", parallel_method_name(o.method)},
                           {"rounds", r.rounds},
                           {"x0", std::vector<double>(x0.data_ptr<double>(), x0.data_ptr<double>() + x0.numel())}});
  }
  if (mpi.rank() == 0) write_json_file(argv[1], out);
  write_json_file(std::string(argv[1]) + ".rank" + std::to_string(mpi.rank()), {{"nfe", gmm.nfe()}});
  return 0;
}
