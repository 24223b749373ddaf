// optidiff/feedback/png.hpp: base64 (OpenSSL's) for the data: URLs of PNG images in JSON replies; the
// PNG bytes come from core's encode_png.
#pragma once

#include <string>
#include <string_view>

#include "optidiff/core/image.hpp"

namespace optidiff::feedback {

std::string base64(std::string_view bytes);   // RFC 4648, with padding
std::string unbase64(std::string_view text);  // inverse of base64(); throws kInvalidArgument
inline std::string png_data_url(std::string_view png) {
  return "data:image/png;base64," + base64(png);
}
// The PNG bytes of a data URL made by png_data_url(); throws kInvalidArgument otherwise.
std::string png_from_data_url(std::string_view url);

}  // namespace optidiff::feedback
