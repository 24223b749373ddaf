#include "optidiff/fed/noise.hpp"

#include <cmath>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {

int parse_z(std::string_view text) {
  if (text == "inf" || text == "infinity") return kZInfinity;
  int z = 0;
  std::size_t used = 0;
  try {
    z = std::stoi(std::string(text), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw_invalid("--z is \"" + std::string(text) + "\"; expected an integer z >= 1 or \"inf\"");
  if (z < 1) throw_invalid("--z is " + std::to_string(z) + "; expected z >= 1 (1 = Gaussian, inf = uniform)");
  return z;
}

std::string z_name(int z) { return z == kZInfinity ? "inf" : std::to_string(z); }

double z_slope(int z) {
  if (z == kZInfinity) return 1.0;
  const double p = 2.0 * z;
  return 1.0 / (std::pow(p, 1.0 / p) * std::tgamma(1.0 + 1.0 / p));
}

double z_variance(int z) {
  if (z == kZInfinity) return 1.0 / 3.0;
  const double p = 2.0 * z;
  return std::pow(p, 2.0 / p) * std::tgamma(3.0 / p) / std::tgamma(1.0 / p);
}

double sample_z(int z, Rng& rng) {
  if (z == 1) return rng.normal();
  if (z == kZInfinity) return rng.uniform(-1.0, 1.0);
  const double p = 2.0 * z;
  const double magnitude = std::pow(p * rng.gamma(1.0 / p), 1.0 / p);
  return rng.uniform() < 0.5 ? -magnitude : magnitude;
}

void noisy_sign(std::span<const float> delta, double sigma, int z, Rng& rng, std::span<float> out) {
  OPTIDIFF_CHECK(delta.size() == out.size());
  for (std::size_t j = 0; j < delta.size(); ++j) {
    const double v = sigma > 0 ? delta[j] + sigma * sample_z(z, rng) : double(delta[j]);
    out[j] = v >= 0 ? 1.0f : -1.0f;
  }
}

}  // namespace optidiff::fed
