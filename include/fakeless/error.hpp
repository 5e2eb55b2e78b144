#pragma once
// Typed errors. Anything that goes wrong with one file is thrown as fakeless::Error
// and caught at exactly one boundary per file (pipeline/analyze), where it becomes an
// error record. Nothing below main() ever exits the process.
#include <stdexcept>
#include <string>
#include <string_view>

namespace fakeless {

enum class ErrorCode {
  not_found,             // path does not exist (or a dangling symbolic link)
  permission_denied,     // open() refused by the file system
  not_regular_file,      // FIFO, socket, device: never opened for reading (it could block)
  unreadable_directory,  // a directory we were asked to scan could not be listed
  empty_file,            // zero bytes
  not_audio,             // libsndfile recognises no audio format in the bytes
  malformed,             // an audio format is recognised but its header is unusable
  unsupported_format,    // audio, but outside what we analyse (channels, rate, encoding)
  truncated,             // the stream ends before the frame count its header promises
  decode_failed,         // the decoder reported an error while reading
  invalid_samples,       // NaN or infinite samples in a floating-point file
  read_failed,           // the operating system failed a read
  timeout,               // the file took longer than the per-file time budget
  out_of_memory,
  internal_error,        // a bug: please report it
};

// Stable snake_case name used in the JSON error record ("code").
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace fakeless
