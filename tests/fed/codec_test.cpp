// Payload codecs and checkpoint files: exact round trips, exact sizes, corrupt input rejected.
#include "optidiff/fed/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "optidiff/core/error.hpp"
#include "optidiff/core/rng.hpp"
#include "optidiff/fed/state_io.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::fed {
namespace {

TEST(Codec, DenseRoundTripIsBitExact) {
  std::vector<float> v = {0.0f, -0.0f, 1.5f, -3.25e-38f, 1e38f, std::nanf(""), INFINITY};
  const Payload p = encode_dense(v);
  EXPECT_EQ(p.bytes.size(), v.size() * 4);
  const auto back = decode(p);
  ASSERT_EQ(back.size(), v.size());
  EXPECT_EQ(std::memcmp(back.data(), v.data(), v.size() * 4), 0);
}

TEST(Codec, SignsPackEightPerByte) {
  for (std::size_t d : {1u, 7u, 8u, 9u, 64u, 26010u}) {
    Rng rng(d);
    std::vector<float> v(d);
    for (auto& x : v) x = rng.uniform() < 0.5 ? -1.0f : 1.0f;
    const Payload p = encode_signs(v);
    EXPECT_EQ(p.bytes.size(), (d + 7) / 8) << d;
    EXPECT_EQ(decode(p), v) << d;
    std::vector<std::int32_t> counts(d, 5);
    accumulate_signs(p, counts);
    for (std::size_t j = 0; j < d; ++j) EXPECT_EQ(counts[j], 5 + int(v[j]));
  }
  EXPECT_EQ(encode_signs(std::vector<float>(26010, 1.0f)).bytes.size(), 3252u);  // 0.00325 MB per client
}

TEST(Codec, IntegersUseCeilLog2Of2EPlus1Bits) {
  EXPECT_EQ(bits_for_signed(1), 2);   // {-1, 0, 1}
  EXPECT_EQ(bits_for_signed(2), 3);   // E = 2: 5 values
  EXPECT_EQ(bits_for_signed(3), 3);   // 7 values
  EXPECT_EQ(bits_for_signed(4), 4);   // 9 values
  EXPECT_EQ(bits_for_signed(20), 6);  // E = 20: 41 values
  for (int e : {1, 2, 5, 20, 1000}) {
    const int bits = bits_for_signed(e);
    EXPECT_EQ(bits, int(std::ceil(std::log2(2.0 * e + 1)))) << e;
    Rng rng(e);
    std::vector<std::int32_t> v(1001);
    for (auto& x : v) x = std::int32_t(rng.uniform_int(2 * e + 1)) - e;
    v[0] = -e;
    v[1] = e;
    const Payload p = encode_ints(v, bits);
    EXPECT_EQ(p.bytes.size(), (v.size() * bits + 7) / 8) << e;
    EXPECT_EQ(decode_ints(p), v) << e;
  }
  EXPECT_THROW(encode_ints(std::vector<std::int32_t>{4}, 3), Error);  // 3 bits hold |v| <= 3
}

TEST(Codec, WrongLengthIsDataLossNamingBothSizes) {
  Payload p = encode_signs(std::vector<float>(100, 1.0f));
  p.bytes.pop_back();
  try {
    decode(p);
    FAIL() << "decode accepted a short payload";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("12 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("13 bytes"), std::string::npos) << e.what();
  }
  const Payload q = encode_dense(std::vector<float>(10, 1.0f));
  EXPECT_THROW(check_payload(q, PayloadSpec{Encoding::kDenseF32, 11, 32}, "x"), Error);
  EXPECT_THROW(check_payload(q, PayloadSpec{Encoding::kPackedSign1, 10, 1}, "x"), Error);
}

TEST(StateFile, RoundTripsAndRejectsCorruption) {
  testing::TempDir dir;
  StateDict s;
  s.meta = {{"round", 7}, {"name", "x"}};
  s.arrays["a"] = {1.0f, -2.5f, 3e-7f};
  s.arrays["empty"] = {};
  save_state(dir.file("c.ckpt"), s);
  const StateDict back = load_state(dir.file("c.ckpt"));
  EXPECT_EQ(back.meta, s.meta);
  EXPECT_EQ(back.arrays, s.arrays);
  EXPECT_THROW(back.at("a", 4), Error);
  EXPECT_THROW(back.at("missing", 0), Error);

  std::string bytes = read_text_file(dir.file("c.ckpt"));
  bytes[bytes.size() / 2] ^= 0x40;
  write_text_atomic(dir.file("bad.ckpt"), bytes);
  try {
    load_state(dir.file("bad.ckpt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
  }
  write_text_atomic(dir.file("short.ckpt"), bytes.substr(0, 10));
  EXPECT_THROW(load_state(dir.file("short.ckpt")), Error);
}

}  // namespace
}  // namespace optidiff::fed
