// optidiff/diffusion/parallel/mixtures.hpp: random isotropic Gaussian mixtures, the exact-oracle problems the
// parallel solvers are tested and benchmarked on (research note Sec. 7: an "easy" mixture, K = 8 in 2 classes
// with std 0.15-0.5, and a "sharp" one, K = 32 in 4 classes with std 0.02-0.1, strongly guided).
//   GaussianMixtureDenoiser gmm(random_mixture({.dim = 16, .classes = 4, .components = 32, .std_lo = 0.02,
//                                               .std_hi = 0.1}), Schedule::vp());
#pragma once

#include <cstdint>

#include "optidiff/core/rng.hpp"
#include "optidiff/diffusion/gmm.hpp"

namespace optidiff::diffusion {

struct RandomMixtureOptions {
  int dim = 16;
  int classes = 2;
  int components = 8;      // component k belongs to class k % classes
  double std_lo = 0.15;    // per-component std, uniform in [std_lo, std_hi]
  double std_hi = 0.5;
  double mean_scale = 1.0; // means ~ N(0, mean_scale^2 I)
  std::uint64_t seed = 0;
};

// Equal weights, diagonal covariances std_k^2 I.
inline MixtureSpec random_mixture(const RandomMixtureOptions& o) {
  MixtureSpec spec;
  spec.dim = o.dim;
  spec.num_classes = o.classes;
  Rng rng(o.seed);
  for (int k = 0; k < o.components; ++k) {
    GaussianComponent c;
    c.label = k % o.classes;
    c.mean = Eigen::VectorXd(o.dim);
    for (int i = 0; i < o.dim; ++i) c.mean[i] = o.mean_scale * rng.normal();
    const double std = rng.uniform(o.std_lo, o.std_hi);
    c.variances = Eigen::VectorXd::Constant(o.dim, std * std);
    spec.components.push_back(std::move(c));
  }
  return spec;
}

}  // namespace optidiff::diffusion
