// optidiff/core/rng.hpp: seeded random streams that split reproducibly.
//
// Rng is xoshiro256** (Blackman & Vigna 2018): 256 bits of state that fit in a JSON file, so an
// optimiser's saved state resumes bit-exactly. It satisfies UniformRandomBitGenerator.
//
// Streams are counter-based: rng.stream(round, client) depends only on the root seed and the two
// counters, never on how many numbers were drawn before, so per-client or per-thread streams give the
// same results at any thread count and in any order.
//   Rng root(seed);
//   Rng client_rng = root.stream(round, client_id);   // same bits whoever asks, whenever
//   double z = client_rng.normal();
//
// Why hand-written: the standard engines do not split, and std::normal_distribution's output is
// implementation-defined and keeps hidden state; both break save/load and cross-thread reproducibility.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace optidiff {

class Rng {
 public:
  using result_type = std::uint64_t;
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0);

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()();

  // An independent stream named by up to two counters; does not advance *this.
  Rng stream(std::uint64_t a, std::uint64_t b = 0) const;

  double uniform();                         // [0, 1), 53 random bits
  double uniform(double lo, double hi);     // [lo, hi)
  std::uint64_t uniform_int(std::uint64_t n);  // [0, n), unbiased (Lemire's method); n > 0
  double normal();                          // N(0, 1) by Box-Muller, no cached second value
  double exponential();                     // Exp(1)
  double gamma(double shape);               // Gamma(shape, 1), Marsaglia-Tsang; shape > 0
  void fill_normal(double* out, std::size_t n);
  void fill_normal(float* out, std::size_t n);

  std::uint64_t seed() const { return seed_; }
  // The full state, for save/load. set_state keeps the seed that streams derive from.
  State state() const { return s_; }
  void set_state(std::uint64_t seed, const State& s);

 private:
  std::uint64_t seed_;
  State s_;
};

// SplitMix64 finaliser: a bijective 64-bit mixer, used to seed and to derive stream seeds.
std::uint64_t mix64(std::uint64_t x);

}  // namespace optidiff
