#include "optidiff/zo/internal/round_state.hpp"

#include "optidiff/core/error.hpp"
#include "optidiff/zo/internal/state_io.hpp"

namespace optidiff::zo::internal {

void RoundState::check(std::uint64_t round_id, const std::string& method) const {
  if (!pending_)
    throw Error(ErrorCode::kFailedPrecondition,
                method + ": tell for round " + std::to_string(round_id) + " but no round is pending; call ask first");
  if (round_id != id_)
    throw Error(ErrorCode::kFailedPrecondition, method + ": tell for round " + std::to_string(round_id) +
                                                    " but the pending round is " + std::to_string(id_));
}

Json RoundState::to_json() const {
  return Json{{"rng", rng_to_json(rng_)},
              {"round_id", std::to_string(id_)},
              {"round_seed", std::to_string(seed_)},
              {"rounds_told", std::to_string(told_)},
              {"pending", pending_}};
}

void RoundState::from_json(const Json& j) {
  Rng rng = rng_from_json(j, "rng");
  const auto id = uint64_of(j, "round_id"), seed = uint64_of(j, "round_seed"), told = uint64_of(j, "rounds_told");
  if (!j.contains("pending") || !j["pending"].is_boolean())
    throw Error(ErrorCode::kDataLoss, "optimiser state: \"pending\" is not true/false");
  const bool pending = j["pending"].get<bool>();
  if (told > id || (pending && told + 1 != id) || (!pending && told != id))
    throw Error(ErrorCode::kDataLoss, "optimiser state: \"round_id\", \"rounds_told\" and \"pending\" disagree");
  rng_ = rng;
  id_ = id;
  seed_ = seed;
  told_ = told;
  pending_ = pending;
}

}  // namespace optidiff::zo::internal
