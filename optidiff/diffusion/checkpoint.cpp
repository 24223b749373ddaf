#include "optidiff/diffusion/checkpoint.hpp"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {
namespace {

constexpr char kMagic[8] = {'O', 'D', 'I', 'F', 'C', 'K', 'P', 'T'};
constexpr char kEnd[8] = {'O', 'D', 'I', 'F', 'E', 'N', 'D', '!'};
constexpr std::uint32_t kVersion = 1;

const std::map<std::string, torch::Dtype>& dtype_table() {
  static const std::map<std::string, torch::Dtype> t = {
      {"float32", torch::kFloat32}, {"float64", torch::kFloat64}, {"int64", torch::kInt64},
      {"int32", torch::kInt32},     {"uint8", torch::kUInt8},     {"float16", torch::kFloat16}};
  return t;
}
std::string dtype_name(torch::Dtype d) {
  for (const auto& [name, dt] : dtype_table())
    if (dt == d) return name;
  throw_invalid("checkpoint: tensor dtype " + std::string(c10::toString(d)) + " is not supported");
}

std::uint32_t crc(const void* data, std::size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib's crc32 takes a uInt length
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    c = crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

const torch::Tensor& Checkpoint::tensor(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(ErrorCode::kDataLoss, "checkpoint " + source + " (" + kind + "): missing tensor '" + name + "'");
}

bool Checkpoint::has(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  Json header = {{"kind", ck.kind}, {"config", ck.config}, {"meta", ck.meta}, {"tensors", Json::array()}};
  std::vector<torch::Tensor> contiguous;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : ck.tensors) {
    auto c = t.detach().to(torch::kCPU).contiguous();
    const std::uint64_t bytes = c.numel() * c.element_size();
    header["tensors"].push_back({{"name", name},
                                 {"dtype", dtype_name(c.scalar_type())},
                                 {"shape", c.sizes().vec()},
                                 {"offset", offset},
                                 {"bytes", bytes},
                                 {"crc32", crc(c.data_ptr(), bytes)}});
    offset += bytes;
    contiguous.push_back(c);
  }
  const std::string h = header.dump();
  std::string out;
  out.reserve(24 + h.size() + offset + 8);
  out.append(kMagic, 8);
  put<std::uint32_t>(out, kVersion);
  put<std::uint64_t>(out, h.size());
  out += h;
  for (const auto& c : contiguous)
    out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  out.append(kEnd, 8);
  write_text_atomic(path, out);
}

Checkpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw_not_found("checkpoint " + path + " does not exist");
  const std::string data = read_text_file(path);
  auto fail = [&](const std::string& why) { throw Error(ErrorCode::kDataLoss, "checkpoint " + path + ": " + why); };
  if (data.size() < 20 || std::memcmp(data.data(), kMagic, 8) != 0)
    fail("not an optidiff checkpoint (expected the magic bytes \"ODIFCKPT\" at the start; file has " +
         std::to_string(data.size()) + " bytes)");
  std::uint32_t version;
  std::uint64_t hlen;
  std::memcpy(&version, data.data() + 8, 4);
  std::memcpy(&hlen, data.data() + 12, 8);
  if (version != kVersion)
    fail("format version " + std::to_string(version) + "; this build reads version " + std::to_string(kVersion));
  if (hlen > data.size() - 20) fail("truncated (header of " + std::to_string(hlen) + " bytes runs past the end)");
  Json header;
  try {
    header = Json::parse(data.substr(20, hlen));
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("corrupt header (") + e.what() + ")");
  }
  Checkpoint ck;
  ck.source = path;
  const std::string what = "checkpoint " + path;
  ck.kind = json_get<std::string>(header, "kind", what);
  ck.config = header.value("config", Json());
  ck.meta = header.value("meta", Json::object());
  const std::uint64_t base = 20 + hlen;
  const auto entries = json_get<Json>(header, "tensors", what);
  std::uint64_t expected_end = base;
  for (const auto& e : entries) {
    const auto name = json_get<std::string>(e, "name", what);
    const auto dtype_str = json_get<std::string>(e, "dtype", what);
    const auto shape = json_get<std::vector<int64_t>>(e, "shape", what);
    const auto offset = json_get<std::uint64_t>(e, "offset", what);
    const auto bytes = json_get<std::uint64_t>(e, "bytes", what);
    const auto sum = json_get<std::uint32_t>(e, "crc32", what);
    const auto it = dtype_table().find(dtype_str);
    if (it == dtype_table().end()) fail("tensor '" + name + "' has unknown dtype '" + dtype_str + "'");
    if (base + offset + bytes > data.size())
      fail("truncated (tensor '" + name + "' needs bytes up to " + std::to_string(base + offset + bytes) +
           ", the file has " + std::to_string(data.size()) + ")");
    auto t = torch::empty(shape, torch::TensorOptions().dtype(it->second));
    if (static_cast<std::uint64_t>(t.numel() * t.element_size()) != bytes)
      fail("tensor '" + name + "': shape and byte count disagree");
    std::memcpy(t.data_ptr(), data.data() + base + offset, bytes);
    if (crc(t.data_ptr(), bytes) != sum) fail("corrupt (CRC-32 mismatch in tensor '" + name + "')");
    ck.tensors.emplace_back(name, t);
    expected_end = std::max(expected_end, base + offset + bytes);
  }
  if (data.size() < expected_end + 8 || std::memcmp(data.data() + expected_end, kEnd, 8) != 0)
    fail("truncated (the end marker is missing)");
  return ck;
}

void load_into(torch::nn::Module& module, const Checkpoint& ck, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor target) {
    const auto& src = ck.tensor(prefix + name);
    if (src.sizes() != target.sizes() || src.scalar_type() != target.scalar_type())
      throw Error(ErrorCode::kDataLoss, "checkpoint " + ck.source + ": tensor '" + prefix + name + "' has shape " +
                                            std::string(c10::str(src.sizes())) + "; the model expects " +
                                            std::string(c10::str(target.sizes())) + " (another config?)");
    target.copy_(src);
  };
  for (auto& p : module.named_parameters()) copy(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy(b.key(), b.value());
}

void add_module_tensors(Checkpoint& ck, torch::nn::Module& module, const std::string& prefix) {
  for (auto& p : module.named_parameters()) ck.tensors.emplace_back(prefix + p.key(), p.value().detach().clone());
  for (auto& b : module.named_buffers()) ck.tensors.emplace_back(prefix + b.key(), b.value().detach().clone());
}

void expect_kind(const Checkpoint& ck, const std::vector<std::string>& kinds) {
  for (const auto& k : kinds)
    if (ck.kind == k) return;
  std::string list;
  for (const auto& k : kinds) list += (list.empty() ? "" : " or ") + k;
  throw Error(ErrorCode::kDataLoss, "checkpoint " + ck.source + " holds a '" + ck.kind + "'; expected " + list);
}

}  // namespace optidiff::diffusion
