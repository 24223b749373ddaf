// optidiff/matrix/recover.hpp: one entry point for M3O and its baselines, chosen at run time.
//   matrix::RecoveryOptions o{.method = matrix::Method::kAlternating};
//   matrix::RecoveryResult r = matrix::recover(sim.observed, o);
//   matrix::RecoveryResult floor =
//       matrix::recover(sim.observed, {.method = matrix::Method::kOracle},
//                                                  &sim.observed_row);
#pragma once

#include <string_view>
#include <vector>

#include "optidiff/matrix/baselines.hpp"
#include "optidiff/matrix/m3o.hpp"

namespace optidiff::matrix {

enum class Method { kM3O, kAlternating, kSeparate, kOracle };
inline constexpr Method kAllMethods[] = {Method::kM3O, Method::kAlternating, Method::kSeparate,
                                         Method::kOracle};
Method parse_method(std::string_view name);  // "m3o" | "alternating" | "separate" | "oracle"
std::string_view method_name(Method method);

struct RecoveryOptions {
  Method method = Method::kM3O;
  ProxOptions prox{};  // shared by every method
  M3OOptions m3o{};    // its .prox and .seed are replaced by the two fields here
  std::uint64_t seed = 0;
};

// known_observed_row: the true maps, required by (and only used by) Method::kOracle.
RecoveryResult recover(const Observation& observation, const RecoveryOptions& options,
                       const std::vector<std::vector<int>>* known_observed_row = nullptr);

}  // namespace optidiff::matrix
