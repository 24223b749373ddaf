// optidiff/fed/codec.hpp: payloads as real bytes. Every message between server and clients is a list of
// Payloads; the bytes counted as uplink/downlink traffic are bytes.size() of these buffers, never a formula.
//
// Encodings (research note Sec. 1.5, 2.3, 6):
//   kDenseF32    4 bytes per coordinate, IEEE-754 little-endian float (models, FedAvg deltas, momenta).
//   kPackedSign1 1 bit per coordinate, LSB first (bit 1 = +1, bit 0 = -1): z-SignFedAvg, SignSGD.
//   kPackedInt   `bits` bits per coordinate holding v + offset (offset = 2^(bits-1) - 1 for signed
//                values in [-offset, offset]); FedLion's integer sign sums in ceil(log2(2E+1)) bits.
// The length and encoding of each payload are fixed by the run's configuration, known to both ends,
// so no header travels; a reply is checked against the strategy's PayloadSpec list before use.
//   Payload p = encode_signs(signs);            // signs.size() = d, p.bytes.size() = ceil(d / 8)
//   std::vector<float> back = decode(p, spec);  // throws kDataLoss if the sizes disagree
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace optidiff::fed {

enum class Encoding : std::uint8_t { kDenseF32 = 0, kPackedSign1 = 1, kPackedInt = 2 };
const char* encoding_name(Encoding e);

struct PayloadSpec {
  Encoding encoding = Encoding::kDenseF32;
  std::size_t length = 0;  // coordinates
  int bits = 32;           // bits per coordinate (32, 1, or the kPackedInt width)
};
// Exact encoded size in bytes: ceil(length * bits / 8).
std::size_t encoded_bytes(const PayloadSpec& spec);
std::string describe(const PayloadSpec& spec);  // "PackedSign1 of 26010 coordinates (3252 bytes)"

struct Payload {
  PayloadSpec spec;
  std::vector<std::uint8_t> bytes;
};
using Message = std::vector<Payload>;
std::size_t message_bytes(const Message& m);

// Smallest b with 2^b >= 2 * max_abs + 1: the width of signed integers in [-max_abs, max_abs].
int bits_for_signed(int max_abs);

Payload encode_dense(std::span<const float> values);
// values[j] >= 0 encodes +1, < 0 encodes -1.
Payload encode_signs(std::span<const float> values);
// Integers in [-(2^(bits-1) - 1), 2^(bits-1) - 1]; throws kInvalidArgument for a value out of range.
Payload encode_ints(std::span<const std::int32_t> values, int bits);

// Throws Error(kDataLoss) naming `what`, the expected and the actual sizes if p does not match spec.
void check_payload(const Payload& p, const PayloadSpec& spec, const std::string& what);
// Decodes any encoding to floats (signs to +-1, integers to their values). Checks against p.spec.
std::vector<float> decode(const Payload& p);
std::vector<std::int32_t> decode_ints(const Payload& p);
// counts[j] += +-1 for each packed sign: the server's int32 accumulation of sign payloads.
void accumulate_signs(const Payload& p, std::span<std::int32_t> counts);

}  // namespace optidiff::fed
