#include "optidiff/feedback/png.hpp"

#include <openssl/evp.h>

#include "optidiff/core/error.hpp"

namespace optidiff::feedback {

// OpenSSL's base64 (libcrypto is linked already, for the tokens' SHA-256): EVP_EncodeBlock writes
// RFC 4648 with padding and no line breaks; EVP_DecodeBlock rejects characters outside the alphabet
// but counts padding as zero bytes, so the padding is checked and removed here.
std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string unbase64(std::string_view text) {
  if (text.size() % 4 != 0)
    throw_invalid("base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  const std::size_t pad =
      text.empty() ? 0 : (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  if (text.substr(0, text.size() - pad).find('=') != std::string_view::npos)
    throw_invalid("base64: padding before the end");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw_invalid("base64: a character outside the base64 alphabet");
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string png_from_data_url(std::string_view url) {
  constexpr std::string_view kPrefix = "data:image/png;base64,";
  if (url.substr(0, kPrefix.size()) != kPrefix) throw_invalid("not a PNG data URL");
  return unbase64(url.substr(kPrefix.size()));
}

}  // namespace optidiff::feedback
