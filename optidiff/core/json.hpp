// optidiff/core/json.hpp: JSON results and state files (nlohmann-json), read with validation and
// written atomically (temp file + rename), so a crash mid-write never leaves a half file behind.
//   Json j = {{"method", "ranksgd"}, {"f_best", 1e-7}};
//   write_json_file("run.json", j);
//   Json back = read_json_file("run.json");    // throws Error(kDataLoss) naming the file on bad JSON
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "optidiff/core/error.hpp"

namespace optidiff {

using Json = nlohmann::json;

// Writes text to path atomically: path.tmp.<pid> then rename(2). Throws Error naming the path.
void write_text_atomic(const std::string& path, const std::string& text);
// Reads a whole file; throws Error(kNotFound) if it cannot be opened.
std::string read_text_file(const std::string& path);

void write_json_file(const std::string& path, const Json& value, int indent = 2);
Json read_json_file(const std::string& path);
// Parses text; `what` names the source in the error message.
Json parse_json(const std::string& text, const std::string& what);

// Reads a required member with the expected type, or throws Error(kDataLoss) naming `what` and key.
template <typename T>
T json_get(const Json& obj, const char* key, const std::string& what) {
  if (!obj.is_object() || !obj.contains(key))
    throw Error(ErrorCode::kDataLoss, what + ": missing key \"" + key + "\"");
  try {
    return obj.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kDataLoss, what + ": key \"" + key + "\" has the wrong type (" + e.what() + ")");
  }
}

}  // namespace optidiff
