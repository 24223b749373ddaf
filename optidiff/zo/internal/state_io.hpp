// optidiff/zo/internal/state_io.hpp: the JSON pieces every optimiser's save()/load() shares.
// Doubles are written by nlohmann-json in shortest round-trip form, so vectors come back bit-exactly.
// Every reader validates (type, size, finiteness) and throws Error(kDataLoss) naming the key.
#pragma once

#include <Eigen/Dense>
#include <string>
#include <string_view>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::zo::internal {

constexpr int kStateVersion = 1;

// Parses a state text, checks "format" == "optidiff-zo-state", the version and that "method" is `method`.
Json parse_state(std::string_view text, const std::string& method);
// The header every state starts with.
Json state_header(const std::string& method);

Json vector_to_json(const Eigen::VectorXd& v);
Json matrix_to_json(const Eigen::MatrixXd& a);  // {"rows", "cols", "data" column-major}
// `size` < 0: any length. Non-finite entries are rejected.
Eigen::VectorXd vector_from_json(const Json& obj, const char* key, Eigen::Index size);
Eigen::MatrixXd matrix_from_json(const Json& obj, const char* key, Eigen::Index rows, Eigen::Index cols);

Json rng_to_json(const Rng& rng);
Rng rng_from_json(const Json& obj, const char* key);

// Numbers with range checks: a hand-edited state that says "m": -3 is data loss, not a crash later.
double number_in(const Json& obj, const char* key, double lo, double hi);
long long integer_in(const Json& obj, const char* key, long long lo, long long hi);
std::uint64_t uint64_of(const Json& obj, const char* key);

// Runs f; a kInvalidArgument it throws (an option check on loaded values) becomes kDataLoss.
template <typename F>
auto as_data_loss(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) throw;
    throw Error(ErrorCode::kDataLoss, std::string("optimiser state: ") + e.what());
  }
}

}  // namespace optidiff::zo::internal
