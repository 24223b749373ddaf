// optidiff/sparse/corruption.hpp: controlled corruptions of a data matrix X (m x n, samples as columns),
// one per self-paced level (research note section 3.6):
//   outlier:f     sample level: a fraction f of the samples replaced by uniform noise in [lo, hi]
//   saltpepper:f  element level: each element independently, with probability f, set to lo or hi
//   block:f       element level: per image, one occluding block of value hi covering a fraction f of it
//   deadpixel:f   feature level: a fixed fraction f of the pixel positions stuck at hi in every sample
//   none          no corruption
// Fractions must lie in [0, 1). Images are column-major-free: pixel (r, c) of an image is row r*cols + c.
#pragma once

#include <Eigen/Dense>
#include <string>
#include <string_view>
#include <vector>

#include "optidiff/core/rng.hpp"

namespace optidiff::sparse {

enum class CorruptionKind { kNone, kOutlier, kSaltPepper, kBlock, kDeadPixel };
std::string_view corruption_name(CorruptionKind kind);

struct Corruption {
  CorruptionKind kind = CorruptionKind::kNone;
  double fraction = 0;
  std::string str() const;  // "outlier:0.2"
};
// Parses "KIND:FRACTION" or "none"; throws kInvalidArgument naming the spec and what was expected.
Corruption parse_corruption(std::string_view spec);

struct CorruptedData {
  Eigen::MatrixXd data;
  std::vector<bool> corrupted_samples;  // n flags: the sample has at least one corrupted element
  double corrupted_elements = 0;        // fraction of elements changed
};

// image_rows * image_cols must equal X.rows() for block (throws otherwise).
CorruptedData corrupt(const Eigen::MatrixXd& X, const Corruption& c, int image_rows, int image_cols, double lo,
                      double hi, Rng& rng);

}  // namespace optidiff::sparse
