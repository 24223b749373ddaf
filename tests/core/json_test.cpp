#include "optidiff/core/json.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/testing.hpp"

namespace optidiff {
namespace {

TEST(Json, FileRoundTrip) {
  testing::TempDir dir;
  const Json j = {{"method", "ranksgd"}, {"f_best", 1.5e-7}, {"history", {{0, 1.0}, {10, 0.5}}}};
  write_json_file(dir.file("r.json"), j);
  EXPECT_EQ(read_json_file(dir.file("r.json")), j);
  // The atomic write leaves only the final file.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

TEST(Json, BadJsonNamesTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("bad.json")) << "{\"a\": 1,";
  try {
    read_json_file(dir.file("bad.json"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDataLoss);
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
  }
  EXPECT_THROW(read_json_file(dir.file("missing.json")), Error);
}

TEST(Json, JsonGetChecksPresenceAndType) {
  const Json j = {{"m", 8}, {"name", "x"}};
  EXPECT_EQ(json_get<int>(j, "m", "state"), 8);
  EXPECT_THROW(json_get<int>(j, "k", "state"), Error);
  EXPECT_THROW(json_get<int>(j, "name", "state"), Error);
}

TEST(Json, WriteToMissingDirectoryFails) {
  EXPECT_THROW(write_text_atomic("/nonexistent-dir-optidiff/x.json", "{}"), Error);
}

}  // namespace
}  // namespace optidiff
