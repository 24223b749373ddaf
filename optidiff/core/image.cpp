#include "optidiff/core/image.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "optidiff/core/error.hpp"

// stb_easy_font turns text into axis-aligned quads; we rasterise them ourselves. It is a single
// header from Debian's libstb-dev, which saves shipping a font file.
#define STB_EASY_FONT_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace optidiff {

Image::Image(int w, int h, int c, std::uint8_t fill) : width(w), height(h), channels(c) {
  if (w < 0 || h < 0 || (c != 1 && c != 3))
    throw_invalid("Image: size " + std::to_string(w) + "x" + std::to_string(h) + "x" + std::to_string(c) +
                  "; expected non-negative size and 1 or 3 channels");
  pixels.assign(std::size_t(w) * h * c, fill);
}

Image Image::from_gray(const float* values, int w, int h, float lo, float hi) {
  Image img(w, h, 1);
  const float span = hi - lo;
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    float v = (values[i] - lo) / span;
    v = std::isnan(v) ? 0.f : std::clamp(v, 0.f, 1.f);
    img.pixels[i] = static_cast<std::uint8_t>(std::lround(v * 255.f));
  }
  return img;
}

Image Image::to_rgb() const {
  if (channels == 3) return *this;
  Image out(width, height, 3);
  for (std::size_t i = 0; i < pixels.size(); ++i) std::memset(&out.pixels[3 * i], pixels[i], 3);
  return out;
}

void write_png(const std::string& path, const Image& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr))
    throw Error(ErrorCode::kUnavailable, "cannot write PNG " + path + ": " + png.message);
}

std::string encode_png(const Image& image) {
  png_image p;
  std::memset(&p, 0, sizeof(p));
  p.version = PNG_IMAGE_VERSION;
  p.width = static_cast<png_uint_32>(image.width);
  p.height = static_cast<png_uint_32>(image.height);
  p.format = image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&p, nullptr, &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(ErrorCode::kInternal, std::string("PNG encoding failed: ") + p.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&p, out.data(), &size, 0, image.pixels.data(), 0, nullptr))
    throw Error(ErrorCode::kInternal, std::string("PNG encoding failed: ") + p.message);
  out.resize(size);
  return out;
}

Image decode_png(std::string_view bytes) {
  png_image p;
  std::memset(&p, 0, sizeof(p));
  p.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&p, bytes.data(), bytes.size()))
    throw_invalid(std::string("not a PNG image: ") + p.message);
  const bool gray = (p.format & PNG_FORMAT_FLAG_COLOR) == 0;
  p.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  Image img(static_cast<int>(p.width), static_cast<int>(p.height), gray ? 1 : 3);
  if (!png_image_finish_read(&p, nullptr, img.pixels.data(), 0, nullptr)) {
    png_image_free(&p);
    throw_invalid(std::string("corrupt PNG image: ") + p.message);
  }
  return img;
}

Image read_png(const std::string& path) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw Error(ErrorCode::kDataLoss, "cannot read PNG " + path + ": " + png.message);
  const bool color = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image img(static_cast<int>(png.width), static_cast<int>(png.height), color ? 3 : 1);
  if (!png_image_finish_read(&png, nullptr, img.pixels.data(), 0, nullptr)) {
    std::string why = png.message;
    png_image_free(&png);
    throw Error(ErrorCode::kDataLoss, "cannot read PNG " + path + ": " + why);
  }
  return img;
}

int text_width(const std::string& text, int scale) {
  return stb_easy_font_width(const_cast<char*>(text.c_str())) * scale;
}

void draw_text(Image& image, int x, int y, const std::string& text, std::uint8_t r, std::uint8_t g,
               std::uint8_t b, int scale) {
  static thread_local std::vector<char> buffer(1 << 16);
  const std::size_t needed = 270 * (text.size() + 1);  // stb's documented worst case per character
  if (buffer.size() < needed) buffer.resize(needed);
  const int quads = stb_easy_font_print(0, 0, const_cast<char*>(text.c_str()), nullptr, buffer.data(),
                                        static_cast<int>(buffer.size()));
  const std::uint8_t gray = static_cast<std::uint8_t>((int(r) + g + b) / 3);
  for (int q = 0; q < quads; ++q) {
    // Each vertex is x, y, z (floats) and a 4-byte colour: 16 bytes; a quad is 4 vertices.
    const float* v0 = reinterpret_cast<const float*>(buffer.data() + q * 64);
    const float* v2 = reinterpret_cast<const float*>(buffer.data() + q * 64 + 32);
    const int x0 = x + int(v0[0]) * scale, y0 = y + int(v0[1]) * scale;
    const int x1 = x + int(v2[0]) * scale, y1 = y + int(v2[1]) * scale;
    for (int yy = std::max(0, y0); yy < std::min(image.height, y1); ++yy)
      for (int xx = std::max(0, x0); xx < std::min(image.width, x1); ++xx) {
        std::uint8_t* p = image.at(xx, yy);
        if (image.channels == 3) {
          p[0] = r, p[1] = g, p[2] = b;
        } else {
          p[0] = gray;
        }
      }
  }
}

Image image_grid(const std::vector<Image>& images, const GridOptions& o) {
  if (images.empty()) throw_invalid("image_grid: no images");
  if (o.columns < 1 || o.scale < 1 || o.padding < 0) throw_invalid("image_grid: columns and scale must be >= 1");
  if (!o.labels.empty() && o.labels.size() != images.size())
    throw_invalid("image_grid: " + std::to_string(o.labels.size()) + " labels for " +
                  std::to_string(images.size()) + " images; expected one per image or none");
  const int w = images[0].width, h = images[0].height;
  bool color = false;
  for (const auto& im : images) {
    if (im.width != w || im.height != h)
      throw_invalid("image_grid: images differ in size; expected all " + std::to_string(w) + "x" +
                    std::to_string(h));
    color = color || im.channels == 3;
  }
  const int label_h = o.labels.empty() ? 0 : 11;
  int cell_w = w * o.scale;
  for (const auto& l : o.labels) cell_w = std::max(cell_w, text_width(l));
  const int cell_h = h * o.scale + label_h;
  const int n = static_cast<int>(images.size());
  const int cols = std::min(o.columns, n), rows = (n + cols - 1) / cols;
  Image grid(o.padding + cols * (cell_w + o.padding), o.padding + rows * (cell_h + o.padding), color ? 3 : 1,
             o.background);
  for (int i = 0; i < n; ++i) {
    const Image src = color ? images[i].to_rgb() : images[i];
    const int cx = o.padding + (i % cols) * (cell_w + o.padding);
    const int cy = o.padding + (i / cols) * (cell_h + o.padding);
    const int ox = cx + (cell_w - w * o.scale) / 2;
    for (int y = 0; y < h * o.scale; ++y)
      for (int x = 0; x < w * o.scale; ++x)
        std::memcpy(grid.at(ox + x, cy + y), src.at(x / o.scale, y / o.scale), grid.channels);
    if (!o.labels.empty())
      draw_text(grid, cx + (cell_w - text_width(o.labels[i])) / 2, cy + h * o.scale + 1, o.labels[i]);
  }
  return grid;
}

}  // namespace optidiff
