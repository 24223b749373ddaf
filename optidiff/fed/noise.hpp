// optidiff/fed/noise.hpp: the z-distribution noise family and the stochastic sign compressor of
// z-SignFedAvg (Tang, Wang & Chang, arXiv 2302.02589, Sec. 3; research note federated.md Sec. 1.2-1.3).
//
// p_z(x) = exp(-|x|^{2z} / (2z)) / (2 (2z)^{1/(2z)} Gamma(1 + 1/(2z)))   [recalled: verify]
// z = 1 is N(0, 1); z -> inf is Uniform[-1, 1]. The compressor is C_sigma(d) = sign(d + sigma * xi),
// xi ~ p_z i.i.d. per coordinate, with sign(0) := +1 so that every coordinate costs exactly one bit.
//   Rng rng(seed);
//   double xi = sample_z(2, rng);                          // one draw of the z = 2 noise
//   double kappa = sigma / z_slope(kZInfinity);           // the debias scale sigma / eta_z
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "optidiff/core/rng.hpp"

namespace optidiff::fed {

// z = inf (uniform noise) is represented by this value.
inline constexpr int kZInfinity = std::numeric_limits<int>::max();

// "1", "2", ..., "inf"; throws kInvalidArgument naming --z unless z >= 1.
int parse_z(std::string_view text);
std::string z_name(int z);  // "1", ..., "inf"

// eta_z = 2 p_z(0) = 1 / ((2z)^{1/(2z)} Gamma(1 + 1/(2z))): the slope of E[sign(u + xi)] at u = 0.
double z_slope(int z);
// Var xi_z = (2z)^{1/z} Gamma(3/(2z)) / Gamma(1/(2z)); 1 for z = 1, 1/3 for z = inf.
double z_variance(int z);

// One draw from p_z. z = 1: normal; z = inf: uniform(-1, 1); otherwise, with p = 2z,
// G ~ Gamma(1/p, 1), |xi| = (p G)^{1/p} and a random sign (|xi|^p / p ~ Gamma(1/p, 1)).
double sample_z(int z, Rng& rng);

// out[j] = sign(delta[j] + sigma * xi_j) in {-1, +1} (sign(0) = +1); sigma = 0 draws no noise.
// The sizes of delta and out must match.
void noisy_sign(std::span<const float> delta, double sigma, int z, Rng& rng, std::span<float> out);

}  // namespace optidiff::fed
