#include "optidiff/zo/internal/state_io.hpp"

#include <cmath>

#include "optidiff/core/table.hpp"

namespace optidiff::zo::internal {
namespace {
constexpr const char* kWhat = "optimiser state";

[[noreturn]] void bad(const std::string& what) { throw Error(ErrorCode::kDataLoss, std::string(kWhat) + ": " + what); }

const Json& member(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) bad(std::string("missing key \"") + key + "\"");
  return obj.at(key);
}
}  // namespace

Json state_header(const std::string& method) {
  return Json{{"format", "optidiff-zo-state"}, {"version", kStateVersion}, {"method", method}};
}

Json parse_state(std::string_view text, const std::string& method) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("not valid JSON (truncated or edited?): ") + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "optidiff-zo-state")
    bad("\"format\" is not \"optidiff-zo-state\"; expected a file written by optidiff rank init/ask/tell");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kStateVersion)
    bad("unsupported \"version\"; expected " + std::to_string(kStateVersion));
  const auto& m = member(j, "method");
  if (!m.is_string()) bad("\"method\" is not a string");
  if (m.get<std::string>() != method)
    bad("the state is for method \"" + m.get<std::string>() + "\"; expected \"" + method + "\"");
  return j;
}

Json vector_to_json(const Eigen::VectorXd& v) { return Json(std::vector<double>(v.data(), v.data() + v.size())); }

Json matrix_to_json(const Eigen::MatrixXd& a) {
  return Json{{"rows", a.rows()}, {"cols", a.cols()},
              {"data", std::vector<double>(a.data(), a.data() + a.size())}};
}

Eigen::VectorXd vector_from_json(const Json& obj, const char* key, Eigen::Index size) {
  const Json& a = member(obj, key);
  if (!a.is_array()) bad(std::string("\"") + key + "\" is not an array of numbers");
  if (size >= 0 && static_cast<Eigen::Index>(a.size()) != size)
    bad(std::string("\"") + key + "\" has " + std::to_string(a.size()) + " entries; expected " + std::to_string(size));
  Eigen::VectorXd v(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) bad(std::string("\"") + key + "\"[" + std::to_string(i) + "] is not a number");
    v[i] = a[i].get<double>();
    if (!std::isfinite(v[i])) bad(std::string("\"") + key + "\"[" + std::to_string(i) + "] is not finite");
  }
  return v;
}

Eigen::MatrixXd matrix_from_json(const Json& obj, const char* key, Eigen::Index rows, Eigen::Index cols) {
  const Json& a = member(obj, key);
  if (!a.is_object()) bad(std::string("\"") + key + "\" is not a matrix object");
  const auto r = integer_in(a, "rows", 0, 1 << 30), c = integer_in(a, "cols", 0, 1 << 30);
  if (r != rows || c != cols)
    bad(std::string("\"") + key + "\" is " + std::to_string(r) + " x " + std::to_string(c) + "; expected " +
        std::to_string(rows) + " x " + std::to_string(cols));
  const Eigen::VectorXd v = vector_from_json(a, "data", rows * cols);
  return Eigen::Map<const Eigen::MatrixXd>(v.data(), rows, cols);
}

Json rng_to_json(const Rng& rng) {
  const auto s = rng.state();
  // 64-bit words as decimal strings: JSON readers elsewhere (JavaScript) lose bits above 2^53.
  return Json{{"seed", std::to_string(rng.seed())},
              {"state", {std::to_string(s[0]), std::to_string(s[1]), std::to_string(s[2]), std::to_string(s[3])}}};
}

std::uint64_t uint64_of(const Json& obj, const char* key) {
  const Json& v = member(obj, key);
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (!s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos) {
      try {
        return std::stoull(s);
      } catch (const std::exception&) {
      }
    }
  }
  bad(std::string("\"") + key + "\" is not an unsigned 64-bit integer");
}

Rng rng_from_json(const Json& obj, const char* key) {
  const Json& r = member(obj, key);
  const Json& s = member(r, "state");
  if (!s.is_array() || s.size() != 4) bad(std::string("\"") + key + "\".state is not 4 words");
  Rng::State st{};
  for (int i = 0; i < 4; ++i) {
    Json w = {{"w", s[i]}};
    st[i] = uint64_of(w, "w");
  }
  if (st[0] == 0 && st[1] == 0 && st[2] == 0 && st[3] == 0) bad(std::string("\"") + key + "\".state is all zero");
  Rng rng;
  rng.set_state(uint64_of(r, "seed"), st);
  return rng;
}

double number_in(const Json& obj, const char* key, double lo, double hi) {
  const Json& v = member(obj, key);
  if (!v.is_number()) bad(std::string("\"") + key + "\" is not a number");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi))
    bad(std::string("\"") + key + "\" is " + format_double(x) + "; expected " + format_double(lo) + " <= value <= " +
        format_double(hi));
  return x;
}

long long integer_in(const Json& obj, const char* key, long long lo, long long hi) {
  const Json& v = member(obj, key);
  if (!v.is_number_integer()) bad(std::string("\"") + key + "\" is not an integer");
  const long long x = v.get<long long>();
  if (x < lo || x > hi)
    bad(std::string("\"") + key + "\" is " + std::to_string(x) + "; expected " + std::to_string(lo) +
        " <= value <= " + std::to_string(hi));
  return x;
}

}  // namespace optidiff::zo::internal
