#include "optidiff/fed/state_io.hpp"

#include <cstring>

#include "optidiff/core/error.hpp"

namespace optidiff::fed {
namespace {
constexpr char kMagic[] = "OPTIDIFF-FED\0v1\n";  // 16 bytes with the embedded NUL
constexpr std::size_t kMagicSize = sizeof(kMagic) - 1;

std::uint64_t fnv1a(const char* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ std::uint8_t(data[i])) * 1099511628211ull;
  return h;
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

class Reader {
 public:
  Reader(const std::string& buf, const std::string& path) : buf_(buf), path_(path) {}
  template <typename T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  const char* take(std::size_t n, const char* what) {
    if (n > buf_.size() - pos_)
      throw_data_loss("checkpoint " + path_ + " is truncated (reading " + what + " at byte " + std::to_string(pos_) +
                      ")");
    const char* p = buf_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::size_t pos() const { return pos_; }

 private:
  const std::string& buf_;
  const std::string& path_;
  std::size_t pos_ = 0;
};
}  // namespace

const std::vector<float>& StateDict::at(const std::string& name, std::size_t expected_length) const {
  const auto it = arrays.find(name);
  if (it == arrays.end()) throw_data_loss("checkpoint has no array \"" + name + "\"");
  if (it->second.size() != expected_length)
    throw_data_loss("checkpoint array \"" + name + "\" has " + std::to_string(it->second.size()) +
                    " values; expected " + std::to_string(expected_length));
  return it->second;
}

void save_state(const std::string& path, const StateDict& state) {
  std::string out(kMagic, kMagicSize);
  const std::string meta = state.meta.dump();
  put<std::uint64_t>(out, meta.size());
  out += meta;
  put<std::uint64_t>(out, state.arrays.size());
  for (const auto& [name, values] : state.arrays) {
    put<std::uint32_t>(out, std::uint32_t(name.size()));
    out += name;
    put<std::uint64_t>(out, values.size());
    out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  put<std::uint64_t>(out, fnv1a(out.data(), out.size()));
  write_text_atomic(path, out);
}

StateDict load_state(const std::string& path) {
  const std::string buf = read_text_file(path);
  if (buf.size() < kMagicSize + 8 || std::memcmp(buf.data(), kMagic, kMagicSize) != 0)
    throw_data_loss("checkpoint " + path + " is not an optidiff federation checkpoint (bad magic)");
  std::uint64_t stored;
  std::memcpy(&stored, buf.data() + buf.size() - 8, 8);
  if (stored != fnv1a(buf.data(), buf.size() - 8))
    throw_data_loss("checkpoint " + path + " is corrupt (checksum mismatch)");
  const std::string body = buf.substr(0, buf.size() - 8);
  Reader r(body, path);
  r.take(kMagicSize, "magic");
  StateDict s;
  const auto meta_len = r.get<std::uint64_t>("header length");
  s.meta = parse_json(std::string(r.take(meta_len, "header"), meta_len), "checkpoint " + path);
  const auto count = r.get<std::uint64_t>("array count");
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto name_len = r.get<std::uint32_t>("array name length");
    std::string name(r.take(name_len, "array name"), name_len);
    const auto n = r.get<std::uint64_t>("array length");
    if (n > body.size() / sizeof(float)) throw_data_loss("checkpoint " + path + ": array \"" + name + "\" too long");
    std::vector<float> v(n);
    if (n) std::memcpy(v.data(), r.take(n * sizeof(float), "array data"), n * sizeof(float));
    s.arrays.emplace(std::move(name), std::move(v));
  }
  if (r.pos() != body.size()) throw_data_loss("checkpoint " + path + " has trailing bytes");
  return s;
}

}  // namespace optidiff::fed
