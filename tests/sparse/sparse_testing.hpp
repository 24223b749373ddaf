// tests/sparse/sparse_testing.hpp: helpers shared by the sparse test files.
#pragma once

#include <Eigen/Dense>

#include "optidiff/core/rng.hpp"

namespace optidiff::sparse::testing {

// An r x c matrix of independent N(0, 1) entries.
inline Eigen::MatrixXd normal_matrix(Eigen::Index r, Eigen::Index c, Rng& rng) {
  Eigen::MatrixXd m(r, c);
  rng.fill_normal(m.data(), m.size());
  return m;
}

}  // namespace optidiff::sparse::testing
