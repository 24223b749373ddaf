#include "optidiff/data/fashion_mnist.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "optidiff/core/error.hpp"
#include "optidiff/data/idx.hpp"

namespace optidiff::data {
namespace fs = std::filesystem;

Split parse_split(std::string_view name) {
  if (name == "train") return Split::kTrain;
  if (name == "test") return Split::kTest;
  throw_invalid("split \"" + std::string(name) + "\" is unknown; expected train or test");
}

std::string_view split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

const std::array<std::string_view, kFashionClasses>& fashion_class_names() {
  static const std::array<std::string_view, kFashionClasses> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return names;
}

const std::array<std::string_view, kFashionClasses>& fashion_short_names() {
  static const std::array<std::string_view, kFashionClasses> names = {
      "tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"};
  return names;
}

int fashion_class_index(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.size() == 1 && lower[0] >= '0' && lower[0] <= '9') return lower[0] - '0';
  for (int i = 0; i < kFashionClasses; ++i) {
    std::string official;
    for (char c : fashion_class_names()[i]) official += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == fashion_short_names()[i] || lower == official) return i;
  }
  if (lower == "t-shirt" || lower == "top" || lower == "ankle-boot" || lower == "ankle_boot")
    return lower[0] == 'a' ? 9 : 0;
  std::string valid;
  for (auto n : fashion_short_names()) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw_invalid("class \"" + std::string(name) + "\" is unknown; expected 0-9 or one of: " + valid);
}

std::string resolve_data_dir(const std::string& cli_value) {
  std::string dir = cli_value, source = "--data-dir";
  if (dir.empty()) {
    if (const char* env = std::getenv("OPTIDIFF_DATA"); env && *env) {
      dir = env;
      source = "OPTIDIFF_DATA";
    } else {
      dir = kDefaultFashionDir;
      source = "the default";
    }
  }
  if (!fs::is_directory(dir))
    throw_not_found("Fashion-MNIST directory " + dir + " (" + source +
                    ") does not exist; install Debian's dataset-fashion-mnist (scripts/setup does) or point "
                    "--data-dir / OPTIDIFF_DATA at a directory holding the four IDX files");
  return dir;
}

namespace {
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem})
    if (fs::exists(fs::path(dir) / name)) return (fs::path(dir) / name).string();
  throw_not_found("Fashion-MNIST file " + stem + "[.gz] not found in " + dir);
}
}  // namespace

Dataset load_fashion_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string image_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(image_path);
  IdxArray labels = read_idx(label_path);
  if (images.dims.size() != 3)
    throw_data_loss(image_path + ": " + std::to_string(images.dims.size()) + " dimensions; expected 3 (n, rows, cols)");
  if (labels.dims.size() != 1)
    throw_data_loss(label_path + ": " + std::to_string(labels.dims.size()) + " dimensions; expected 1");
  if (images.dims[0] != labels.dims[0])
    throw_data_loss(label_path + ": " + std::to_string(labels.dims[0]) + " labels for " +
                    std::to_string(images.dims[0]) + " images in " + image_path);
  const auto bad = std::find_if(labels.values.begin(), labels.values.end(), [](auto l) { return l >= kFashionClasses; });
  if (bad != labels.values.end())
    throw_data_loss(label_path + ": label " + std::to_string(*bad) + " at index " +
                    std::to_string(bad - labels.values.begin()) + "; expected 0-9");
  Dataset d;
  d.name = "fashion-mnist/" + std::string(split_name(split));
  d.rows = static_cast<int>(images.dims[1]);
  d.cols = static_cast<int>(images.dims[2]);
  d.images = std::move(images.values);
  d.labels = std::move(labels.values);
  return d;
}

}  // namespace optidiff::data
