#include "optidiff/data/fashion_mnist.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "optidiff/core/error.hpp"
#include "optidiff/data/idx.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::data {
namespace {

// Writes a tiny Fashion-MNIST-shaped directory: n images of 2x3 pixels and `labels` labels.
void write_fake(const testing::TempDir& dir, std::uint32_t n_images, std::vector<std::uint8_t> labels) {
  IdxArray img{{n_images, 2, 3}, std::vector<std::uint8_t>(n_images * 6, 128)};
  IdxArray lab{{static_cast<std::uint32_t>(labels.size())}, std::move(labels)};
  for (const char* prefix : {"train", "t10k"}) {
    write_idx(dir.file(std::string(prefix) + "-images-idx3-ubyte.gz"), img);
    write_idx(dir.file(std::string(prefix) + "-labels-idx1-ubyte.gz"), lab);
  }
}

TEST(FashionMnist, LoadsAFakeDirectory) {
  testing::TempDir dir;
  write_fake(dir, 4, {0, 9, 3, 3});
  const Dataset d = load_fashion_mnist(dir.path(), Split::kTest);
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.rows, 2);
  EXPECT_EQ(d.cols, 3);
  EXPECT_FLOAT_EQ(d.pixel(3, 1, 2), 128 / 255.0f);
}

TEST(FashionMnist, LabelCountMismatch) {
  testing::TempDir dir;
  write_fake(dir, 4, {0, 1, 2});
  try {
    load_fashion_mnist(dir.path(), Split::kTrain);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("3 labels for 4 images"), std::string::npos) << e.what();
  }
}

TEST(FashionMnist, LabelOutOfRange) {
  testing::TempDir dir;
  write_fake(dir, 2, {0, 10});
  EXPECT_THROW(load_fashion_mnist(dir.path(), Split::kTrain), Error);
}

TEST(FashionMnist, MissingDirectoryAndFiles) {
  try {
    resolve_data_dir("/no/such/fashion");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/no/such/fashion"), std::string::npos);
  }
  testing::TempDir empty;
  EXPECT_THROW(load_fashion_mnist(empty.path(), Split::kTest), Error);
}

TEST(FashionMnist, ClassNames) {
  EXPECT_EQ(fashion_class_index("sneaker"), 7);
  EXPECT_EQ(fashion_class_index("Ankle boot"), 9);
  EXPECT_EQ(fashion_class_index("T-shirt/top"), 0);
  EXPECT_EQ(fashion_class_index("3"), 3);
  EXPECT_THROW(fashion_class_index("sock"), Error);
  EXPECT_THROW(parse_split("validation"), Error);
}

TEST(FashionMnist, RealDataFromDebian) {
  if (!testing::have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Dataset test = load_fashion_mnist(resolve_data_dir(""), Split::kTest);
  EXPECT_EQ(test.size(), 10000u);
  EXPECT_EQ(test.rows, 28);
  std::vector<int> counts(10, 0);
  for (auto l : test.labels) ++counts[l];
  for (int c : counts) EXPECT_EQ(c, 1000);
}

}  // namespace
}  // namespace optidiff::data
