#include "byte_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "fakeless/error.hpp"

namespace fakeless::io::detail {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& path) {
  const std::string why = std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR: throw Error(ErrorCode::not_found, "no such file: " + path);
    case ELOOP: throw Error(ErrorCode::not_found, "too many levels of symbolic links");
    case EACCES:
    case EPERM: throw Error(ErrorCode::permission_denied, "permission denied");
    case ENXIO: throw Error(ErrorCode::not_regular_file, "not a regular file (socket or device)");
    default: throw Error(ErrorCode::read_failed, "cannot open: " + why);
  }
}

}  // namespace

ByteInput ByteInput::open(const std::string& path) {
  ByteInput in;
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer. O_NOATIME keeps
  // archive access times untouched where the kernel allows it (only for the owner).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw_errno(errno, path);
  in.fd_ = fd;  // closed by the destructor from here on, whatever is thrown below

  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, path);
  if (S_ISDIR(st.st_mode)) throw Error(ErrorCode::not_regular_file, "is a directory");
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::not_regular_file, "not a regular file (FIFO, socket or device)");
  if (st.st_size == 0) throw Error(ErrorCode::empty_file, "file is empty (0 bytes)");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return in;
}

ByteInput ByteInput::memory(std::vector<unsigned char> bytes) {
  if (bytes.empty()) throw Error(ErrorCode::empty_file, "file is empty (0 bytes)");
  ByteInput in;
  in.bytes_ = std::move(bytes);
  return in;
}

ByteInput::ByteInput(ByteInput&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), bytes_(std::move(o.bytes_)), pos_(std::exchange(o.pos_, 0)) {}

ByteInput& ByteInput::operator=(ByteInput&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    bytes_ = std::move(o.bytes_);
    pos_ = std::exchange(o.pos_, 0);
  }
  return *this;
}

ByteInput::~ByteInput() {
  if (fd_ >= 0) ::close(fd_);
}

std::int64_t ByteInput::read(void* dst, std::int64_t n) {
  if (n <= 0) return 0;
  auto* out = static_cast<unsigned char*>(dst);
  if (fd_ < 0) {
    const auto size = static_cast<std::int64_t>(bytes_.size());
    if (pos_ >= size) return 0;
    const std::int64_t k = std::min(n, size - pos_);
    std::memcpy(out, bytes_.data() + pos_, static_cast<std::size_t>(k));
    pos_ += k;
    return k;
  }
  std::int64_t total = 0;
  while (total < n) {
    const ssize_t k = ::read(fd_, out + total, static_cast<std::size_t>(n - total));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;  // end of file, or an error the decoder sees as a short read
    total += k;
  }
  return total;
}

std::int64_t ByteInput::seek(std::int64_t offset, int whence) {
  if (fd_ >= 0) return static_cast<std::int64_t>(::lseek(fd_, static_cast<off_t>(offset), whence));
  std::int64_t target = offset;
  if (whence == SEEK_CUR) target = pos_ + offset;
  if (whence == SEEK_END) target = static_cast<std::int64_t>(bytes_.size()) + offset;
  if (target < 0) return -1;
  pos_ = target;
  return pos_;
}

std::int64_t ByteInput::tell() const {
  if (fd_ >= 0) return static_cast<std::int64_t>(::lseek(fd_, 0, SEEK_CUR));
  return pos_;
}

std::int64_t ByteInput::length() const {
  if (fd_ < 0) return static_cast<std::int64_t>(bytes_.size());
  struct stat st {};
  return ::fstat(fd_, &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

bool ByteInput::at_end() const {
  const std::int64_t pos = tell();
  const std::int64_t size = length();
  return pos >= 0 && size >= 0 && pos >= size;
}

std::string ByteInput::peek(std::size_t n) {
  const std::int64_t at = tell();
  std::string head(n, '\0');
  const std::int64_t got = read(head.data(), static_cast<std::int64_t>(n));
  head.resize(static_cast<std::size_t>(std::max<std::int64_t>(got, 0)));
  seek(at, SEEK_SET);
  return head;
}

}  // namespace fakeless::io::detail
