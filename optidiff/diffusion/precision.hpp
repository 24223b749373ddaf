// optidiff/diffusion/precision.hpp: the arithmetic the DiT runs in (`--precision fp32|bf16|auto`).
//
// fp32  every operation in float32: exact tests, ParaTAA's float64 state, and CPUs without native
// bf16. bf16  libtorch's CPU autocast (the same policy as Python's `torch.autocast("cpu",
// torch.bfloat16)`):
//       matrix products (linear, matmul, conv) run in bfloat16 through oneDNN, reductions and norms
//       stay in float32, and the model's output is returned in the input's dtype. About 1.9x faster
//       than fp32 on CPUs with AVX512_BF16 or AMX (docs/diffusion.md), and far slower on CPUs
//       without them (oneDNN then has no bf16 kernel and ATen falls back to scalar code).
// auto  bf16 where the CPU has native bf16 instructions (AVX512_BF16 or AMX-BF16, read from CPUID),
//       fp32 elsewhere.
//   Precision p = resolve_precision(parse_precision("auto"));
//   { AutocastScope scope(p);  v = model->forward(x, t, y); }   // v is bf16 under kBf16
#pragma once

#include <string>

namespace optidiff::diffusion {

enum class Precision { kFp32, kBf16, kAuto };

Precision parse_precision(
    const std::string& name);  // "fp32" | "bf16" | "auto"; kInvalidArgument otherwise
std::string precision_name(Precision p);
// True if the CPU executes bf16 dot products natively (CPUID: AVX512_BF16 or AMX-BF16).
bool cpu_has_native_bf16();
// kAuto -> kBf16 or kFp32 by cpu_has_native_bf16(); the others unchanged.
Precision resolve_precision(Precision p);

// While alive, runs the calling thread's torch operations under CPU autocast to bfloat16 if `p` is
// kBf16 (kAuto is resolved first); does nothing for kFp32. Restores the previous state on exit and
// nests. Autocast is thread-local: a scope covers the thread that made it.
class AutocastScope {
 public:
  explicit AutocastScope(Precision p);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, previous_enabled_ = false;
  int previous_dtype_ = 0;
};

}  // namespace optidiff::diffusion
