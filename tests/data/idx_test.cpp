#include "optidiff/data/idx.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "optidiff/core/error.hpp"
#include "tests/testing/testing.hpp"

namespace optidiff::data {
namespace {

IdxArray small_array() {
  IdxArray a;
  a.dims = {3, 2, 2};
  for (int i = 0; i < 12; ++i) a.values.push_back(static_cast<std::uint8_t>(i * 20));
  return a;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Expects Error(kDataLoss) whose message names the file and contains `fragment`.
void expect_data_loss(const std::string& path, const std::string& fragment) {
  try {
    read_idx(path);
    FAIL() << "expected an error for " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Idx, PlainAndGzipRoundTrip) {
  testing::TempDir dir;
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    write_idx(dir.file(name), small_array());
    const IdxArray back = read_idx(dir.file(name));
    EXPECT_EQ(back.dims, small_array().dims);
    EXPECT_EQ(back.values, small_array().values);
  }
}

TEST(Idx, WrongMagic) {
  testing::TempDir dir;
  write_bytes(dir.file("m.idx"), {0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 1, 7});
  expect_data_loss(dir.file("m.idx"), "magic");
}

TEST(Idx, UnsupportedType) {
  testing::TempDir dir;
  write_bytes(dir.file("t.idx"), {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  expect_data_loss(dir.file("t.idx"), "0x0d");
}

TEST(Idx, TruncatedData) {
  testing::TempDir dir;
  write_idx(dir.file("full.idx"), small_array());
  auto b = read_bytes(dir.file("full.idx"));
  b.resize(b.size() - 3);
  write_bytes(dir.file("short.idx"), b);
  expect_data_loss(dir.file("short.idx"), "truncated");
}

TEST(Idx, TrailingBytes) {
  testing::TempDir dir;
  write_idx(dir.file("full.idx"), small_array());
  auto b = read_bytes(dir.file("full.idx"));
  b.push_back(1);
  write_bytes(dir.file("long.idx"), b);
  expect_data_loss(dir.file("long.idx"), "unexpected bytes");
}

TEST(Idx, TruncatedGzip) {
  testing::TempDir dir;
  IdxArray big;
  big.dims = {4000};
  for (int i = 0; i < 4000; ++i) big.values.push_back(static_cast<std::uint8_t>((i * 7919) % 251));
  write_idx(dir.file("big.idx.gz"), big);
  auto b = read_bytes(dir.file("big.idx.gz"));
  b.resize(b.size() / 2);
  write_bytes(dir.file("cut.idx.gz"), b);
  expect_data_loss(dir.file("cut.idx.gz"), "gzip");
}

TEST(Idx, CorruptGzip) {
  testing::TempDir dir;
  write_idx(dir.file("c.idx.gz"), small_array());
  auto b = read_bytes(dir.file("c.idx.gz"));
  for (std::size_t i = 12; i < b.size() - 8; ++i) b[i] ^= 0x5a;  // scramble the deflate stream
  write_bytes(dir.file("bad.idx.gz"), b);
  expect_data_loss(dir.file("bad.idx.gz"), "gzip");
}

TEST(Idx, EmptyAndMissingFiles) {
  testing::TempDir dir;
  write_bytes(dir.file("empty.idx"), {});
  expect_data_loss(dir.file("empty.idx"), "too short");
  try {
    read_idx(dir.file("nope.idx"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

}  // namespace
}  // namespace optidiff::data
