#include "optidiff/core/log.hpp"

#include <atomic>
#include <cstdio>

namespace optidiff {
namespace {
std::atomic<bool> g_quiet{false};
}

void set_quiet(bool quiet) { g_quiet = quiet; }

void log_info(const std::string& message) {
  if (!g_quiet) std::fprintf(stderr, "optidiff: %s\n", message.c_str());
}

void log_warning(const std::string& message) { std::fprintf(stderr, "optidiff: warning: %s\n", message.c_str()); }

}  // namespace optidiff
