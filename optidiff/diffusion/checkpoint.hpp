// optidiff/diffusion/checkpoint.hpp: the file format of trained models and resumable training state.
//
// One self-describing, validated container (why not torch::save: its zip/pickle archive gives no
// readable error for a truncated or foreign file and cannot carry our JSON metadata beside the weights):
//   "ODIFCKPT" | u32 version | u64 header bytes | header JSON | tensor bytes ... | "ODIFEND!"
// The header lists kind ("dit-model", "dit-train-state", "classifier"), the model config, free-form
// metadata and, per tensor, its name, dtype, shape, byte offset and CRC-32. Reading checks the magic
// (not a checkpoint), every length against the file size and the end marker (truncated), and the CRCs
// (corrupt), and throws Error(kDataLoss) naming the file. Tensors are stored as raw little-endian bytes,
// so save -> load is bit-exact.
//   Checkpoint ck{.kind = "dit-model", .config = to_json(cfg)};
//   ck.tensors = named_state(*model);
//   save_checkpoint("m.ckpt", ck);
//   Checkpoint back = load_checkpoint("m.ckpt");
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "optidiff/core/json.hpp"

namespace optidiff::diffusion {

struct Checkpoint {
  std::string kind;
  Json config;                  // the model's configuration (compared on load_into)
  Json meta = Json::object();   // anything else: step, objective, seed, command, ...
  std::vector<std::pair<std::string, torch::Tensor>> tensors;

  // The tensor of that name, or throws kDataLoss naming the file and the tensor.
  const torch::Tensor& tensor(const std::string& name) const;
  bool has(const std::string& name) const;
  std::string source;  // the path it was read from (for messages)
};

// Written atomically (temp file + rename): a kill mid-write leaves the previous file intact.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws kNotFound if the file is missing, kDataLoss if it is not a checkpoint, truncated or corrupt.
Checkpoint load_checkpoint(const std::string& path);

// Copies tensors named `prefix + name` into module's parameters and buffers, bit for bit. Throws
// kDataLoss if a tensor is missing or has another shape or dtype.
void load_into(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& prefix = "");
// Adds the module's parameters and buffers as `prefix + name` (cloned, so later training does not alter them).
void add_module_tensors(Checkpoint& checkpoint, torch::nn::Module& module, const std::string& prefix = "");

// Throws kDataLoss unless checkpoint.kind is one of `kinds` (the message names the file and both kinds).
void expect_kind(const Checkpoint& checkpoint, const std::vector<std::string>& kinds);

}  // namespace optidiff::diffusion
