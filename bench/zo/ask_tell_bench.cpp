// bench/zo/ask_tell_bench.cpp: Google Benchmark kernels of one ask + tell round (the cost an optimiser
// adds to every ranking a person gives), ZO-RankSGD beside CMA-ES at the same d. The comparative
// benchmark (paper problems, BBOB ECDF) is `optidiff rank bench`; see docs/zo-ranksgd.md.
//   build-zo/bench/zo/zo_ask_tell_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "optidiff/zo/cmaes.hpp"
#include "optidiff/zo/rank_estimator.hpp"
#include "optidiff/zo/ranksgd.hpp"

namespace {
using namespace optidiff;

// A fixed valid answer: the first k ids.
zo::TopK first_k(int k) {
  zo::TopK t;
  for (int i = 0; i < k; ++i) t.ids.push_back(i);
  return t;
}

void BM_RankSgdRound(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  zo::RankSgd opt(Eigen::VectorXd::Zero(d), {.m = 8, .k = 8, .cache_max_elements = state.range(1) ? 1LL << 40 : 0});
  const zo::TopK ranking = first_k(8);
  for (auto _ : state) {
    const zo::Round r = opt.ask();
    opt.tell(r.id, ranking);
  }
  state.counters["rounds_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RankSgdRound)->Args({16384, 0})->Args({16384, 1})->ArgNames({"d", "cache_xi"})->UseRealTime();

void BM_CmaEsRound(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  zo::CmaEs es(Eigen::VectorXd::Zero(d), {.sigma0 = 1.0, .lambda = 8, .diagonal = state.range(1) != 0});
  const zo::TopK ranking = first_k(4);
  for (auto _ : state) {
    const zo::Round r = es.ask();
    es.tell(r.id, ranking);
  }
  state.counters["rounds_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CmaEsRound)->Args({16384, 1})->Args({1024, 0})->Args({256, 0})->ArgNames({"d", "sep"})->UseRealTime();

// The estimator alone: closed-form weights and the O(m d) sum with xi regenerated from the seed.
void BM_RankDirection(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  const zo::RankWeights w = zo::topk_weights(first_k(8), 8, 8);
  Eigen::VectorXd g(d), work(d);
  for (auto _ : state) {
    zo::rank_direction(w, 12345, work, g);
    benchmark::DoNotOptimize(g.data());
  }
}
BENCHMARK(BM_RankDirection)->Arg(16384)->ArgName("d")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
