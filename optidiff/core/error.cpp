#include "optidiff/core/error.hpp"

namespace optidiff {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kDataLoss: return "data loss";
    case ErrorCode::kFailedPrecondition: return "failed precondition";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

void throw_invalid(const std::string& what) { throw Error(ErrorCode::kInvalidArgument, what); }
void throw_data_loss(const std::string& what) { throw Error(ErrorCode::kDataLoss, what); }
void throw_not_found(const std::string& what) { throw Error(ErrorCode::kNotFound, what); }

}  // namespace optidiff
