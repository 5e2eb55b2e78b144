#pragma once
// Turns the paths a user gave into the files to analyse, in a deterministic order
// (inputs in the order given; directory entries sorted by name, bytewise), streaming.
//  - A file named explicitly is always analysed, whatever its extension.
//  - Inside directories only the audio extensions (case-insensitive) are taken; other
//    files are counted as skipped.
//  - Symbolic links to files are followed. Symbolic links to directories are followed
//    only with follow_symlinks (and then never twice: a loop ends there). An explicit
//    input that is a link to a directory is always followed, as `find -H` does.
//  - A path that cannot be read (missing input, dangling link with an audio extension,
//    unlistable directory) becomes an error entry, so it gets its own error record.
//  - --exclude GLOB: a file or directory (inputs included) is left out, a directory with
//    everything under it, when GLOB matches its whole path or its last component
//    (fnmatch(3) without flags: `*` also matches `/`, a leading `.` is not special).
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fakeless/error.hpp"

namespace fakeless::scan {

std::vector<std::string> default_extensions();

struct DiscoverOptions {
  std::vector<std::string> extensions = default_extensions();  // lowercase, without dot
  bool follow_symlinks = false;
  std::vector<std::string> excludes;  // fnmatch globs, see above
};

// FNV-1a, 64 bits, of the bytes: a hash that is the same on every host and every build
// (std::hash is neither), for sharding.
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

// --shard K/N: this run takes the paths whose fnv1a64(path) % N == K - 1 (K is 1-based,
// 1 <= K <= N). Every host must be given the same paths, spelled the same way.
struct Shard {
  int index = 1;  // K
  int count = 1;  // N, in [1, 1000000]

  [[nodiscard]] bool contains(std::string_view path) const {
    return count <= 1 || fnv1a64(path) % static_cast<std::uint64_t>(count) == static_cast<std::uint64_t>(index - 1);
  }
  // Parses "K/N"; throws std::invalid_argument naming the text.
  static Shard parse(std::string_view text);
};

// Reads paths from a list (--files-from): one per line, or NUL-separated (-0, as written
// by `find -print0`, the only way to pass names that contain a newline). Bytes are kept
// exactly; empty entries are skipped. Reads as it goes: the list is never held whole.
class PathListReader {
 public:
  PathListReader(std::istream& in, char separator) : in_(in), separator_(separator) {}
  std::optional<std::string> next();

 private:
  std::istream& in_;
  char separator_;
};

struct Entry {
  std::string path;
  std::optional<ErrorCode> error;  // set: report this path as an error, do not analyse
  std::string message;
};

class Discoverer {
 public:
  using Emit = std::function<bool(Entry)>;  // return false to stop discovery

  explicit Discoverer(DiscoverOptions options);
  // Walks one input; returns false if emit asked to stop.
  bool walk(const std::string& input, const Emit& emit);

  [[nodiscard]] std::int64_t skipped() const { return skipped_; }
  [[nodiscard]] std::int64_t symlinked_dirs_not_followed() const { return not_followed_; }
  [[nodiscard]] std::int64_t excluded() const { return excluded_; }
  [[nodiscard]] bool has_audio_extension(const std::string& name) const;
  [[nodiscard]] bool is_excluded(const std::string& path) const;

 private:
  bool walk_dir(const std::string& dir, const Emit& emit);

  DiscoverOptions options_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> visited_;  // (dev, ino), with follow_symlinks
  std::int64_t skipped_ = 0;
  std::int64_t not_followed_ = 0;
  std::int64_t excluded_ = 0;
};

}  // namespace fakeless::scan
