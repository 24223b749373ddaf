// optidiff/zo/internal/round_state.hpp: the round bookkeeping every ask/tell optimiser shares:
// round ids, the pending round, the seed its random draws come from, and the root RNG.
//
// Each round draws one 64-bit seed from the root RNG at ask(); all of the round's randomness comes from
// counter-based streams of that seed (Rng(seed).stream(i)), so a pending round is stored as its seed and
// regenerated bit-exactly after load(), at any d, without storing the points.
#pragma once

#include <cstdint>
#include <string>

#include "optidiff/core/json.hpp"
#include "optidiff/core/rng.hpp"

namespace optidiff::zo::internal {

class RoundState {
 public:
  explicit RoundState(std::uint64_t seed) : rng_(seed) {}

  bool pending() const { return pending_; }
  std::uint64_t id() const { return id_; }           // id of the pending round (or the last one)
  std::uint64_t seed() const { return seed_; }       // seed of the pending round's randomness
  std::uint64_t told() const { return told_; }

  // Opens a new round: draws its seed; returns true if a round was opened (false: one is pending).
  bool open() {
    if (pending_) return false;
    ++id_;
    seed_ = rng_();
    pending_ = true;
    return true;
  }
  // Throws kFailedPrecondition unless `round_id` is the pending round.
  void check(std::uint64_t round_id, const std::string& method) const;
  void close() {
    pending_ = false;
    ++told_;
  }

  Rng& rng() { return rng_; }
  Json to_json() const;
  void from_json(const Json& j);  // validates; kDataLoss on nonsense

 private:
  Rng rng_;
  std::uint64_t id_ = 0, seed_ = 0, told_ = 0;
  bool pending_ = false;
};

}  // namespace optidiff::zo::internal
