#include "optidiff/core/image.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "optidiff/core/error.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

TEST(Png, GrayRoundTrip) {
  testing::TempDir dir;
  Image img(13, 7, 1);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 37);
  write_png(dir.file("g.png"), img);
  const Image back = read_png(dir.file("g.png"));
  EXPECT_EQ(back.width, 13);
  EXPECT_EQ(back.height, 7);
  EXPECT_EQ(back.channels, 1);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(Png, RgbRoundTrip) {
  testing::TempDir dir;
  Image img(5, 4, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 11 + 3);
  write_png(dir.file("c.png"), img);
  const Image back = read_png(dir.file("c.png"));
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(Png, NotAPngIsDataLoss) {
  testing::TempDir dir;
  std::ofstream(dir.file("x.png")) << "definitely not a png";
  try {
    read_png(dir.file("x.png"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
  }
}

TEST(Image, FromGrayMapsAndClamps) {
  const float v[4] = {-1.f, 0.f, 0.5f, 2.f};
  const Image img = Image::from_gray(v, 2, 2);
  EXPECT_EQ(img.pixels, (std::vector<std::uint8_t>{0, 0, 128, 255}));
}

TEST(ImageGrid, TilesAndLabels) {
  std::vector<Image> imgs;
  for (int i = 0; i < 5; ++i) imgs.emplace_back(4, 4, 1, static_cast<std::uint8_t>(40 * i));
  const Image plain = image_grid(imgs, {.columns = 3, .labels = {}, .scale = 2, .padding = 1});
  EXPECT_EQ(plain.width, 1 + 3 * (8 + 1));
  EXPECT_EQ(plain.height, 1 + 2 * (8 + 1));
  EXPECT_EQ(plain.at(1, 1)[0], 0);           // first image, top-left
  EXPECT_EQ(plain.at(1 + 9, 1 + 9)[0], 160);  // fifth image: row 1, column 1
  EXPECT_EQ(plain.at(plain.width - 2, plain.height - 2)[0], 255);  // empty sixth cell is background

  const Image labelled = image_grid(imgs, {.columns = 5, .labels = {"a", "b", "c", "d", "e"}, .scale = 1});
  EXPECT_GT(labelled.height, plain.height / 2 + 4);
  int dark = 0;  // labels are drawn in black below the images
  for (int y = 2 + 4; y < labelled.height; ++y)
    for (int x = 0; x < labelled.width; ++x) dark += labelled.at(x, y)[0] == 0;
  EXPECT_GT(dark, 10);
  EXPECT_THROW(image_grid(imgs, {.columns = 2, .labels = {"only one"}}), Error);
  EXPECT_THROW(image_grid({}, {}), Error);
}

}  // namespace
}  // namespace optidiff
