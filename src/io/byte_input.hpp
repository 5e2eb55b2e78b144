#pragma once
// The bytes a decoder reads (private to io/): an open file descriptor or an in-memory
// buffer, behind one read/seek/tell interface that both decoders (libsndfile's virtual
// I/O, libFLAC's stream callbacks) are served from.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fakeless::io::detail {

class ByteInput {
 public:
  // Opens a path read-only. Never blocks on FIFOs or devices (rejected before anything is
  // read), does not touch the access time where the kernel allows it. Throws
  // fakeless::Error: not_found, permission_denied, not_regular_file, empty_file, read_failed.
  static ByteInput open(const std::string& path);
  // Serves a byte buffer (for the fuzzer and tests). Throws Error(empty_file) when empty.
  static ByteInput memory(std::vector<unsigned char> bytes);

  ByteInput(ByteInput&&) noexcept;
  ByteInput& operator=(ByteInput&&) noexcept;
  ByteInput(const ByteInput&) = delete;
  ByteInput& operator=(const ByteInput&) = delete;
  ~ByteInput();

  // Reads up to n bytes (fewer only at the end or on an I/O error); returns how many.
  std::int64_t read(void* dst, std::int64_t n);
  // lseek semantics (past the end is allowed; reads there return 0). -1 on failure.
  std::int64_t seek(std::int64_t offset, int whence);
  [[nodiscard]] std::int64_t tell() const;
  // The current size (a file may shrink or grow while it is read); -1 when unknown.
  [[nodiscard]] std::int64_t length() const;
  // Whether the read position is at or past the end of the bytes.
  [[nodiscard]] bool at_end() const;
  // The first n bytes (fewer if the input is shorter), without moving the read position.
  [[nodiscard]] std::string peek(std::size_t n);

 private:
  ByteInput() = default;
  int fd_ = -1;
  std::vector<unsigned char> bytes_;
  std::int64_t pos_ = 0;  // memory only
};

}  // namespace fakeless::io::detail
