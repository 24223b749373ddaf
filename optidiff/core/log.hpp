// optidiff/core/log.hpp: one-line messages on stderr ("optidiff: <message>"), silenced by --quiet.
#pragma once

#include <string>

namespace optidiff {
void log_info(const std::string& message);
void log_warning(const std::string& message);  // "optidiff: warning: ..."
void set_quiet(bool quiet);                    // suppresses log_info (warnings still print)
}  // namespace optidiff
