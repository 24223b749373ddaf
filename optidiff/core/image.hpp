// optidiff/core/image.hpp: 8-bit images, PNG read/write (libpng) and labelled image grids.
//   Image digit = Image::from_gray(pixels.data(), 28, 28);          // floats in [0, 1] by default
//   write_png("grid.png", image_grid(images, {.columns = 8, .labels = names, .scale = 2}));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace optidiff {

struct Image {
  int width = 0, height = 0, channels = 1;  // channels: 1 (gray) or 3 (RGB), interleaved, row-major
  std::vector<std::uint8_t> pixels;

  Image() = default;
  Image(int w, int h, int c, std::uint8_t fill = 0);
  std::uint8_t* at(int x, int y) { return &pixels[(std::size_t(y) * width + x) * channels]; }
  const std::uint8_t* at(int x, int y) const { return &pixels[(std::size_t(y) * width + x) * channels]; }

  // Gray image from w*h floats mapped linearly from [lo, hi] to [0, 255], clamped.
  static Image from_gray(const float* values, int w, int h, float lo = 0.f, float hi = 1.f);
  Image to_rgb() const;
};

void write_png(const std::string& path, const Image& image);
Image read_png(const std::string& path);  // gray or RGB as stored (alpha dropped); throws kDataLoss
// The same in memory (the ranking service stores and serves images without files).
std::string encode_png(const Image& image);   // gray or RGB; throws kInternal if libpng fails
Image decode_png(std::string_view bytes);     // throws kInvalidArgument if the bytes are not a PNG

struct GridOptions {
  int columns = 8;                  // images per row
  std::vector<std::string> labels;  // empty, or one per image (drawn under it)
  int scale = 1;                    // integer upscaling of each image (nearest neighbour)
  int padding = 2;                  // pixels between cells
  std::uint8_t background = 255;
};
// Tiles N images (all the same size) into one; labels are drawn in black under each image.
Image image_grid(const std::vector<Image>& images, const GridOptions& options = {});

// Draws text with its top-left corner at (x, y); `scale` multiplies the ~6x9 pixel font.
void draw_text(Image& image, int x, int y, const std::string& text, std::uint8_t r = 0, std::uint8_t g = 0,
               std::uint8_t b = 0, int scale = 1);
int text_width(const std::string& text, int scale = 1);

}  // namespace optidiff
