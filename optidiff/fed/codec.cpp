#include "optidiff/fed/codec.hpp"

#include <bit>
#include <cstring>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {
namespace {
static_assert(std::endian::native == std::endian::little, "dense payloads are little-endian floats");

std::int32_t int_offset(int bits) { return (std::int32_t(1) << (bits - 1)) - 1; }

void check_self(const Payload& p) { check_payload(p, p.spec, "payload"); }
}  // namespace

const char* encoding_name(Encoding e) {
  switch (e) {
    case Encoding::kDenseF32: return "DenseF32";
    case Encoding::kPackedSign1: return "PackedSign1";
    case Encoding::kPackedInt: return "PackedInt";
  }
  return "unknown";
}

std::size_t encoded_bytes(const PayloadSpec& spec) { return (spec.length * std::size_t(spec.bits) + 7) / 8; }

std::string describe(const PayloadSpec& spec) {
  std::string s = encoding_name(spec.encoding);
  if (spec.encoding == Encoding::kPackedInt) s += std::to_string(spec.bits);
  return s + " of " + std::to_string(spec.length) + " coordinates (" + std::to_string(encoded_bytes(spec)) +
         " bytes)";
}

std::size_t message_bytes(const Message& m) {
  std::size_t n = 0;
  for (const auto& p : m) n += p.bytes.size();
  return n;
}

int bits_for_signed(int max_abs) {
  OPTIDIFF_CHECK(max_abs >= 0);
  int b = 1;
  while ((std::int64_t(1) << b) < 2 * std::int64_t(max_abs) + 1) ++b;
  return b;
}

Payload encode_dense(std::span<const float> values) {
  Payload p{{Encoding::kDenseF32, values.size(), 32}, std::vector<std::uint8_t>(values.size() * 4)};
  if (!values.empty()) std::memcpy(p.bytes.data(), values.data(), p.bytes.size());
  return p;
}

Payload encode_signs(std::span<const float> values) {
  Payload p{{Encoding::kPackedSign1, values.size(), 1}, {}};
  p.bytes.assign(encoded_bytes(p.spec), 0);
  for (std::size_t j = 0; j < values.size(); ++j)
    if (values[j] >= 0) p.bytes[j >> 3] |= std::uint8_t(1u << (j & 7));
  return p;
}

Payload encode_ints(std::span<const std::int32_t> values, int bits) {
  if (bits < 2 || bits > 31) throw_invalid("encode_ints: bits is " + std::to_string(bits) + "; expected 2..31");
  Payload p{{Encoding::kPackedInt, values.size(), bits}, {}};
  p.bytes.assign(encoded_bytes(p.spec), 0);
  const std::int32_t offset = int_offset(bits);
  std::size_t bit = 0;
  for (std::size_t j = 0; j < values.size(); ++j, bit += std::size_t(bits)) {
    if (values[j] < -offset || values[j] > offset)
      throw_invalid("encode_ints: value " + std::to_string(values[j]) + " at " + std::to_string(j) +
                    " does not fit in " + std::to_string(bits) + " bits (|v| <= " + std::to_string(offset) + ")");
    const auto u = std::uint32_t(values[j] + offset);
    for (int b = 0; b < bits; ++b)
      if (u >> b & 1u) p.bytes[(bit + b) >> 3] |= std::uint8_t(1u << ((bit + b) & 7));
  }
  return p;
}

void check_payload(const Payload& p, const PayloadSpec& spec, const std::string& what) {
  if (p.spec.encoding != spec.encoding || p.spec.length != spec.length || p.spec.bits != spec.bits)
    throw_data_loss(what + " is " + describe(p.spec) + "; expected " + describe(spec));
  if (p.bytes.size() != encoded_bytes(spec))
    throw_data_loss(what + " has " + std::to_string(p.bytes.size()) + " bytes; expected " + describe(spec));
}

std::vector<float> decode(const Payload& p) {
  check_self(p);
  std::vector<float> out(p.spec.length);
  switch (p.spec.encoding) {
    case Encoding::kDenseF32:
      if (!out.empty()) std::memcpy(out.data(), p.bytes.data(), p.bytes.size());
      break;
    case Encoding::kPackedSign1:
      for (std::size_t j = 0; j < out.size(); ++j) out[j] = (p.bytes[j >> 3] >> (j & 7) & 1u) ? 1.0f : -1.0f;
      break;
    case Encoding::kPackedInt: {
      const auto ints = decode_ints(p);
      for (std::size_t j = 0; j < out.size(); ++j) out[j] = float(ints[j]);
      break;
    }
  }
  return out;
}

std::vector<std::int32_t> decode_ints(const Payload& p) {
  check_self(p);
  if (p.spec.encoding != Encoding::kPackedInt) throw_data_loss("decode_ints: payload is " + describe(p.spec));
  const int bits = p.spec.bits;
  const std::int32_t offset = int_offset(bits);
  std::vector<std::int32_t> out(p.spec.length);
  std::size_t bit = 0;
  for (std::size_t j = 0; j < out.size(); ++j, bit += std::size_t(bits)) {
    std::uint32_t u = 0;
    for (int b = 0; b < bits; ++b) u |= std::uint32_t(p.bytes[(bit + b) >> 3] >> ((bit + b) & 7) & 1u) << b;
    out[j] = std::int32_t(u) - offset;
  }
  return out;
}

void accumulate_signs(const Payload& p, std::span<std::int32_t> counts) {
  check_self(p);
  if (p.spec.encoding != Encoding::kPackedSign1 || counts.size() != p.spec.length)
    throw_data_loss("accumulate_signs: payload is " + describe(p.spec) + " for " + std::to_string(counts.size()) +
                    " counts");
  for (std::size_t j = 0; j < counts.size(); ++j) counts[j] += (p.bytes[j >> 3] >> (j & 7) & 1u) ? 1 : -1;
}

}  // namespace optidiff::fed
