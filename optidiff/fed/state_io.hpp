// optidiff/fed/state_io.hpp: a federation's checkpoint as one binary file: a JSON header (configuration,
// round, history) and named fp32 arrays (global model, server and client optimiser states).
//
// Layout: "OPTIDIFF-FED\0v1\n", u64 JSON length, JSON text, u64 array count, then per array
// u32 name length, name, u64 count, count * 4 bytes of little-endian floats; last, u64 FNV-1a of all
// preceding bytes. Written atomically (temp file + rename); read with every size and the checksum
// checked (Error kDataLoss naming the file). Arrays round-trip bit-exactly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "optidiff/core/json.hpp"

namespace optidiff::fed {

struct StateDict {
  Json meta = Json::object();
  std::map<std::string, std::vector<float>> arrays;

  // The array `name`, or Error(kDataLoss) naming it and the expected length if absent or of another size.
  const std::vector<float>& at(const std::string& name, std::size_t expected_length) const;
};

void save_state(const std::string& path, const StateDict& state);
StateDict load_state(const std::string& path);

}  // namespace optidiff::fed
