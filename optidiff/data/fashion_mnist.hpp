// optidiff/data/fashion_mnist.hpp: the Fashion-MNIST dataset (Xiao et al. 2017): 28x28 gray images of
// 10 clothing classes, 60,000 for training and 10,000 for testing.
//
// Read from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/), or from the directory
// given by --data-dir or the OPTIDIFF_DATA environment variable, in that order of precedence.
//   auto test = data::load_fashion_mnist(data::resolve_data_dir(""), data::Split::kTest);
//   float x = test.pixel(i, row, col);   // in [0, 1]
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace optidiff::data {

enum class Split { kTrain, kTest };
Split parse_split(std::string_view name);  // "train" | "test"
std::string_view split_name(Split split);

inline constexpr int kFashionClasses = 10;
// Official class names ("T-shirt/top", ..., "Ankle boot") and short CLI names ("tshirt", ..., "boot").
const std::array<std::string_view, kFashionClasses>& fashion_class_names();
const std::array<std::string_view, kFashionClasses>& fashion_short_names();
// Accepts an index "0".."9", a short name or an official name, any case; throws kInvalidArgument
// listing the valid names otherwise.
int fashion_class_index(std::string_view name);

struct Dataset {
  std::string name;
  int rows = 0, cols = 0;
  std::vector<std::uint8_t> images;  // size() * rows * cols bytes, image-major
  std::vector<std::uint8_t> labels;
  std::size_t size() const { return labels.size(); }
  int pixels() const { return rows * cols; }
  const std::uint8_t* image(std::size_t i) const { return &images[i * std::size_t(pixels())]; }
  float pixel(std::size_t i, int r, int c) const { return image(i)[r * cols + c] / 255.0f; }
};

inline constexpr const char* kDefaultFashionDir = "/usr/share/datasets/fashion-mnist";
// cli_value (if non-empty) > $OPTIDIFF_DATA > kDefaultFashionDir; throws kNotFound, with the fix,
// if the directory does not exist.
std::string resolve_data_dir(const std::string& cli_value);

// Loads one split; validates the files (IDX checks, 3-d images and 1-d labels, equal counts, labels < 10).
// Accepts both "train-images-idx3-ubyte.gz" and the uncompressed name.
Dataset load_fashion_mnist(const std::string& dir, Split split);

}  // namespace optidiff::data
