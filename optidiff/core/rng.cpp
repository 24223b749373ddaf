#include "optidiff/core/rng.hpp"

#include <cmath>
#include <numbers>

#include "optidiff/core/error.hpp"

namespace optidiff {
namespace {
inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng::Rng(std::uint64_t seed) : seed_(seed) {
  // SplitMix64 expansion of the seed, as the xoshiro authors recommend; never all zero.
  std::uint64_t x = seed;
  for (auto& w : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    w = z ^ (z >> 31);
  }
}

Rng::result_type Rng::operator()() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

Rng Rng::stream(std::uint64_t a, std::uint64_t b) const {
  // Distinct (seed, a, b) give unrelated seeds: each counter goes through the bijective mixer in turn.
  return Rng(mix64(mix64(mix64(seed_) ^ (a + 0x632be59bd9b4e019ULL)) ^ (b + 0x85157af5ULL)));
}

double Rng::uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

std::uint64_t Rng::uniform_int(std::uint64_t n) {
  if (n == 0) throw_invalid("Rng::uniform_int: n is 0; expected n > 0");
  // Lemire (2019), "Fast random integer generation in an interval".
  unsigned __int128 m = static_cast<unsigned __int128>((*this)()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>((*this)()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

double Rng::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Rng::exponential() { return -std::log(1.0 - uniform()); }

double Rng::gamma(double shape) {
  if (!(shape > 0)) throw_invalid("Rng::gamma: shape is " + std::to_string(shape) + "; expected > 0");
  if (shape < 1) {  // boost: Gamma(a) = Gamma(a + 1) * U^(1/a)
    const double u = 1.0 - uniform();
    return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  // Marsaglia & Tsang (2000).
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = 1.0 - uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

void Rng::fill_normal(double* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = normal();
}

void Rng::fill_normal(float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(normal());
}

void Rng::set_state(std::uint64_t seed, const State& s) {
  if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0)
    throw_invalid("Rng state is all zero; expected a state saved by Rng::state()");
  seed_ = seed;
  s_ = s;
}

}  // namespace optidiff
