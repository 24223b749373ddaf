#include "optidiff/matrix/recover.hpp"

#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff::matrix {

Method parse_method(std::string_view name) {
  for (Method m : kAllMethods)
    if (name == method_name(m)) return m;
  throw_invalid("--method is '" + std::string(name) +
                "'; expected m3o, alternating, separate or oracle");
}

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kM3O:
      return "m3o";
    case Method::kAlternating:
      return "alternating";
    case Method::kSeparate:
      return "separate";
    case Method::kOracle:
      return "oracle";
  }
  return "?";
}

RecoveryResult recover(const Observation& obs, const RecoveryOptions& o,
                       const std::vector<std::vector<int>>* known) {
  switch (o.method) {
    case Method::kM3O: {
      M3OOptions m = o.m3o;
      m.prox = o.prox;
      m.seed = o.seed;
      return m3o(obs, m);
    }
    case Method::kAlternating:
      return alternating_minimization(obs, {.prox = o.prox, .seed = o.seed});
    case Method::kSeparate:
      return separate_completion(obs, {.prox = o.prox, .seed = o.seed});
    case Method::kOracle:
      if (!known)
        throw_invalid(
            "--method oracle needs the true permutations, which only simulated data and the "
            "image experiment know; use m3o, alternating or separate on your own matrix");
      return oracle_completion(obs, *known, {.prox = o.prox, .seed = o.seed});
  }
  throw_invalid("unknown method");
}

}  // namespace optidiff::matrix
