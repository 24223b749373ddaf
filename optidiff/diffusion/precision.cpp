#include "optidiff/diffusion/precision.hpp"

#include <ATen/autocast_mode.h>
#include <cpuid.h>

#include "optidiff/core/error.hpp"

namespace optidiff::diffusion {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "auto") return Precision::kAuto;
  throw_invalid("--precision is '" + name + "'; expected fp32, bf16 or auto");
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kAuto:
      return "auto";
  }
  return "?";
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  // Intel SDM Vol. 2A, CPUID leaf 7: sub-leaf 1 EAX bit 5 = AVX512_BF16; sub-leaf 0 EDX bit 22 =
  // AMX-BF16.
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 1, a, b, c, d);
  if (a & (1u << 5)) return true;
  __cpuid_count(7, 0, a, b, c, d);
  return (d & (1u << 22)) != 0;
#else
  return false;
#endif
}

Precision resolve_precision(Precision p) {
  if (p != Precision::kAuto) return p;
  return cpu_has_native_bf16() ? Precision::kBf16 : Precision::kFp32;
}

AutocastScope::AutocastScope(Precision p) {
  if (resolve_precision(p) != Precision::kBf16) return;
  active_ = true;
  previous_enabled_ = at::autocast::is_cpu_enabled();
  previous_dtype_ = static_cast<int>(at::autocast::get_autocast_cpu_dtype());
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As torch.autocast.__exit__: the cache of casted weights lives until the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(previous_enabled_);
  at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(previous_dtype_));
}

}  // namespace optidiff::diffusion
