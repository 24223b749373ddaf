// optidiff/sparse/datasets.hpp: labelled data matrices for sparse coding (target optidiff::sparse_data,
// which adds optidiff::data to the Eigen-only optidiff::sparse, so the solvers stay free of it).
//   digits         scikit-learn's 8x8 digits (1797 x 64, values 0..16 scaled to [0, 1], 10 classes),
//                  read from Debian's python3-sklearn
//   fashion        a class-balanced Fashion-MNIST subset, pixels in [0, 1], optionally 2x2-averaged to 14x14
//   CSV            one sample per line, comma-separated numbers, optionally a header line to skip and an
//                  integer class label (0..C-1) in the last column
// X is m x n with samples as columns.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "optidiff/data/fashion_mnist.hpp"

namespace optidiff::sparse {

inline constexpr const char* kDigitsPath = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

struct LabeledData {
  std::string name;
  Eigen::MatrixXd X;        // m x n
  std::vector<int> labels;  // n labels in 0..classes-1, or empty
  int classes = 0;
  int image_rows = 0, image_cols = 0;  // 0 when samples are not images
};

// Parses comma-separated numbers; throws kDataLoss naming `what`, the line and column for a non-numeric
// field, a line with a different number of fields than the first, or no data at all.
std::vector<std::vector<double>> parse_numeric_csv(const std::string& text, const std::string& what,
                                                   bool skip_header);

LabeledData load_digits(const std::string& path = kDigitsPath);
LabeledData load_csv(const std::string& path, bool skip_header, bool label_last);
LabeledData load_fashion_subset(const std::string& dir, data::Split split, int per_class, bool downsample,
                                std::uint64_t seed);

// Keeps the given columns (and their labels).
LabeledData select_columns(const LabeledData& d, const std::vector<Eigen::Index>& columns);
// The first min(n, size) samples.
LabeledData first_samples(const LabeledData& d, Eigen::Index n);
// A seeded shuffle split into (train, test); test_fraction in (0, 1).
std::pair<LabeledData, LabeledData> split_train_test(const LabeledData& d, double test_fraction, std::uint64_t seed);

}  // namespace optidiff::sparse
