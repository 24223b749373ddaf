#include "optidiff/data/idx.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "optidiff/core/error.hpp"

namespace optidiff::data {

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  if (!std::filesystem::exists(path)) throw_not_found(path + ": no such file");
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!f) throw Error(ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno));
  std::vector<std::uint8_t> out;
  std::uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(f, &code);
      gzclose(f);
      throw_data_loss(path + ": corrupt gzip stream (" + why + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  int code = Z_OK;
  const std::string why = gzerror(f, &code);
  gzclose(f);
  // zlib reports a stream that ends before its trailer as Z_BUF_ERROR at EOF.
  if (code != Z_OK) throw_data_loss(path + ": truncated or corrupt gzip stream (" + why + ")");
  return out;
}

IdxArray parse_idx(const std::vector<std::uint8_t>& b, const std::string& what) {
  if (b.size() < 4) throw_data_loss(what + ": " + std::to_string(b.size()) + " bytes; too short for an IDX header");
  if (b[0] != 0 || b[1] != 0)
    throw_data_loss(what + ": wrong magic number (first bytes " + std::to_string(b[0]) + " " +
                    std::to_string(b[1]) + "); expected an IDX file starting with 0 0");
  if (b[2] != 0x08)
  {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", b[2]);
    throw_data_loss(what + ": element type " + type + " is not supported; expected 0x08 (unsigned byte)");
  }
  const int ndims = b[3];
  if (ndims < 1 || ndims > 8)
    throw_data_loss(what + ": " + std::to_string(ndims) + " dimensions; expected 1 to 8");
  const std::size_t header = 4 + 4 * std::size_t(ndims);
  if (b.size() < header) throw_data_loss(what + ": truncated header");
  IdxArray a;
  std::size_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    const std::uint8_t* p = &b[4 + 4 * i];
    const std::uint32_t d = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    if (d == 0) throw_data_loss(what + ": dimension " + std::to_string(i) + " is 0");
    if (count > (std::size_t(1) << 40) / d) throw_data_loss(what + ": dimensions are implausibly large");
    a.dims.push_back(d);
    count *= d;
  }
  const std::size_t have = b.size() - header;
  if (have < count)
    throw_data_loss(what + ": truncated: header promises " + std::to_string(count) + " bytes of data, found " +
                    std::to_string(have));
  if (have > count)
    throw_data_loss(what + ": " + std::to_string(have - count) + " unexpected bytes after the " +
                    std::to_string(count) + " the header promises");
  a.values.assign(b.begin() + static_cast<std::ptrdiff_t>(header), b.end());
  return a;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path), path); }

void write_idx(const std::string& path, const IdxArray& a) {
  std::vector<std::uint8_t> bytes = {0, 0, 0x08, static_cast<std::uint8_t>(a.dims.size())};
  for (std::uint32_t d : a.dims)
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<std::uint8_t>(d >> s));
  bytes.insert(bytes.end(), a.values.begin(), a.values.end());
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  gzFile f = gzopen(path.c_str(), gz ? "wb" : "wbT");  // "T": write without compression
  if (!f) throw Error(ErrorCode::kUnavailable, path + ": cannot open for writing");
  const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(f) != Z_OK || n != static_cast<int>(bytes.size()))
    throw Error(ErrorCode::kUnavailable, path + ": write failed");
}

}  // namespace optidiff::data
