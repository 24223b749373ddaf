// optidiff/feedback/png.hpp: base64 for the data: URLs of PNG images in JSON replies (the PNG bytes
// come from core's encode_png). Written here because none of our dependencies exposes base64 publicly
// (cpp-httplib's is an internal detail).
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
