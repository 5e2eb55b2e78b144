#include "fakeless/error.hpp"

namespace fakeless {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::not_regular_file: return "not_regular_file";
    case ErrorCode::unreadable_directory: return "unreadable_directory";
    case ErrorCode::empty_file: return "empty_file";
    case ErrorCode::not_audio: return "not_audio";
    case ErrorCode::malformed: return "malformed";
    case ErrorCode::unsupported_format: return "unsupported_format";
    case ErrorCode::truncated: return "truncated";
    case ErrorCode::decode_failed: return "decode_failed";
    case ErrorCode::invalid_samples: return "invalid_samples";
    case ErrorCode::read_failed: return "read_failed";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::internal_error: return "internal_error";
  }
  return "internal_error";
}

}  // namespace fakeless
