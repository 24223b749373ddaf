// optidiff/data/idx.hpp: reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.
//
// Layout (LeCun et al.): bytes 0-1 zero, byte 2 the element type (0x08 = unsigned byte, the only
// type the datasets use), byte 3 the number of dimensions, then one big-endian uint32 per dimension,
// then the elements row-major. Every deviation -- wrong magic, an unsupported type, too few or too many
// bytes, a truncated or corrupt .gz -- throws Error(kDataLoss) naming the file and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace optidiff::data {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> values;  // product(dims) elements
};

IdxArray read_idx(const std::string& path);
// Parses IDX bytes already in memory; `what` names the source in messages.
IdxArray parse_idx(const std::vector<std::uint8_t>& bytes, const std::string& what);
// Reads a file, inflating it if it is gzip (zlib); throws kDataLoss on a truncated or corrupt stream.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);
// Writes an unsigned-byte IDX file, gzip-compressed when path ends in ".gz" (tests and exports).
void write_idx(const std::string& path, const IdxArray& array);

}  // namespace optidiff::data
