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
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakeless/error.hpp"

namespace fakeless::scan {

std::vector<std::string> default_extensions();

struct DiscoverOptions {
  std::vector<std::string> extensions = default_extensions();  // lowercase, without dot
  bool follow_symlinks = false;
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
  [[nodiscard]] bool has_audio_extension(const std::string& name) const;

 private:
  bool walk_dir(const std::string& dir, const Emit& emit);

  DiscoverOptions options_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> visited_;  // (dev, ino), with follow_symlinks
  std::int64_t skipped_ = 0;
  std::int64_t not_followed_ = 0;
};

}  // namespace fakeless::scan
