// optidiff/core/error.hpp: the one exception type of the library, with abseil's canonical codes.
//
// Library code throws optidiff::Error; the CLI prints "optidiff: error: <what>" and exits with
// exit_code(code); the ranking service maps the same code to an HTTP status. A message names the input,
// its value and what was expected:  "--k is 9; expected 1 <= k <= --m (8)".
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace optidiff {

enum class ErrorCode {
  kInvalidArgument,     // the caller passed something malformed or out of range
  kNotFound,            // a file, class name, session ... that does not exist
  kDataLoss,            // a file exists but is truncated, corrupt or of the wrong kind
  kFailedPrecondition,  // a valid request at the wrong time (tell without ask, a closed round)
  kUnavailable,         // a resource that may come back (a client that dropped out, a busy server)
  kInternal,            // a broken invariant: a bug in optidiff
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Shorthands for the common cases.
[[noreturn]] void throw_invalid(const std::string& what);
[[noreturn]] void throw_data_loss(const std::string& what);
[[noreturn]] void throw_not_found(const std::string& what);

// Checks an internal invariant; the message keeps the condition's text and location.
#define OPTIDIFF_CHECK(cond)                                                          \
  do {                                                                                \
    if (!(cond))                                                                      \
      throw ::optidiff::Error(::optidiff::ErrorCode::kInternal,                       \
                              std::string("internal check failed: " #cond " at ") + \
                                  __FILE__ + ":" + std::to_string(__LINE__));         \
  } while (0)

}  // namespace optidiff
