#include "fakeless/scan/discover.hpp"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace fakeless::scan {
namespace {

struct DirCloser {
  void operator()(DIR* d) const noexcept { closedir(d); }
};

std::string join(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

ErrorCode code_for_errno(int err) {
  switch (err) {
    case EACCES:
    case EPERM: return ErrorCode::permission_denied;
    case ENOENT:
    case ENOTDIR:
    case ELOOP: return ErrorCode::not_found;
    default: return ErrorCode::read_failed;
  }
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

Shard Shard::parse(std::string_view text) {
  const auto bad = [&] {
    return std::invalid_argument("shard must be K/N with 1 <= K <= N (K counts from 1), got '" + std::string(text) +
                                 "'");
  };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) throw bad();
  auto parse_int = [&](std::string_view digits) {
    if (digits.size() > 7) throw bad();
    int v = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') throw bad();
      v = v * 10 + (c - '0');
    }
    return v;
  };
  Shard s;
  s.index = parse_int(text.substr(0, slash));
  s.count = parse_int(text.substr(slash + 1));
  if (s.count < 1 || s.count > 1000000 || s.index < 1 || s.index > s.count) throw bad();
  return s;
}

std::optional<std::string> PathListReader::next() {
  std::string item;
  while (std::getline(in_, item, separator_)) {
    if (!item.empty()) return item;
  }
  return std::nullopt;
}

std::vector<std::string> default_extensions() {
  return {"flac", "wav", "wave", "aif", "aiff", "aifc", "w64", "rf64"};
}

Discoverer::Discoverer(DiscoverOptions options) : options_(std::move(options)) {
  for (auto& e : options_.extensions) {
    e = lower(e);
    if (!e.empty() && e.front() == '.') e.erase(0, 1);
  }
}

bool Discoverer::has_audio_extension(const std::string& name) const {
  const auto slash = name.find_last_of('/');
  const auto dot = name.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return false;
  const std::string ext = lower(name.substr(dot + 1));
  return std::find(options_.extensions.begin(), options_.extensions.end(), ext) != options_.extensions.end();
}

bool Discoverer::is_excluded(const std::string& path) const {
  if (options_.excludes.empty()) return false;
  std::string_view base(path);
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  if (const auto slash = base.find_last_of('/'); slash != std::string_view::npos && base.size() > 1) {
    base.remove_prefix(slash + 1);
  }
  const std::string name(base);
  for (const auto& glob : options_.excludes) {
    if (::fnmatch(glob.c_str(), path.c_str(), 0) == 0 || ::fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

bool Discoverer::walk(const std::string& input, const Emit& emit) {
  if (is_excluded(input)) {
    ++excluded_;
    return true;
  }
  struct stat st {};
  if (::stat(input.c_str(), &st) != 0) {
    const int err = errno;
    struct stat lst {};
    const bool dangling = ::lstat(input.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
    return emit({input, dangling ? ErrorCode::not_found : code_for_errno(err),
                 dangling ? "dangling symbolic link" : std::string(std::strerror(err))});
  }
  if (S_ISDIR(st.st_mode)) {
    if (options_.follow_symlinks) {
      visited_.emplace(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
    }
    return walk_dir(input, emit);
  }
  return emit({input, std::nullopt, {}});
}

bool Discoverer::walk_dir(const std::string& dir, const Emit& emit) {
  std::vector<std::string> names;
  {
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) {
      const int err = errno;
      return emit({dir, ErrorCode::unreadable_directory, std::string("cannot list directory: ") + std::strerror(err)});
    }
    errno = 0;
    while (const dirent* e = ::readdir(d.get())) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    }
    if (errno != 0) {
      const int err = errno;
      if (!emit({dir, ErrorCode::unreadable_directory, std::string("error listing directory: ") + std::strerror(err)})) {
        return false;
      }
    }
  }
  std::sort(names.begin(), names.end());

  for (const auto& name : names) {
    const std::string path = join(dir, name);
    if (is_excluded(path)) {
      ++excluded_;
      continue;
    }
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) continue;  // vanished since listing
    struct stat st = lst;
    const bool is_link = S_ISLNK(lst.st_mode);
    if (is_link && ::stat(path.c_str(), &st) != 0) {
      if (has_audio_extension(name)) {
        if (!emit({path, ErrorCode::not_found, "dangling symbolic link"})) return false;
      } else {
        ++skipped_;
      }
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      const std::pair<std::uint64_t, std::uint64_t> id{static_cast<std::uint64_t>(st.st_dev),
                                                       static_cast<std::uint64_t>(st.st_ino)};
      if (is_link && !options_.follow_symlinks) {
        ++not_followed_;
        continue;
      }
      // With follow_symlinks every directory is entered once at most: a loop ends here.
      if (options_.follow_symlinks && !visited_.insert(id).second) continue;
      if (!walk_dir(path, emit)) return false;
      continue;
    }
    if (has_audio_extension(name)) {
      if (!emit({path, std::nullopt, {}})) return false;
    } else {
      ++skipped_;
    }
  }
  return true;
}

}  // namespace fakeless::scan
