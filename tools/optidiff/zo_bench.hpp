// tools/optidiff/zo_bench.hpp: `optidiff rank bench`, the ZO-RankSGD benchmark (docs/zo-ranksgd.md).
#pragma once

#include <cstdint>
#include <string>

namespace optidiff::cli {

struct RankBenchOptions {
  bool quick = false;
  std::string parts = "paper,bbob,speed";
  std::string bbob_dims = "10,40";
  int bbob_budget_per_dim = 1000;
  std::uint64_t seed = 0;
  std::string plot, json;
};

void run_rank_bench(const RankBenchOptions& options);

}  // namespace optidiff::cli
