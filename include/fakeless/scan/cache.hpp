#pragma once
// The result cache: one SQLite file that remembers each file's verdict, so an unchanged
// file is answered without being decoded again.
//
//  - An entry is keyed by the file's absolute path (lexically normalised, symbolic links
//    not resolved) and the analysis settings (full or quick, lossy threshold); it holds
//    the file's size and modification time (ns) and the model version it was made with.
//    It answers a lookup only when all of them match, so a changed file or a new model is
//    analysed again (and its entry replaced).
//  - Every store is its own transaction, committed at once; the database runs in WAL mode
//    (synchronous=NORMAL), so a run that is interrupted, even by kill -9, loses at most
//    the files in flight, and the next run resumes where it stopped.
//  - One connection, used under one mutex: safe from any number of worker threads.
//    Several processes may share one file (SQLite locking, 10 s busy timeout); do not put
//    it on a network file system.
//  - What is cached: every analysed file, and the error records that depend only on the
//    file's bytes (empty_file, not_audio, unsupported_format, truncated, decode_failed,
//    invalid_samples): the same bytes fail the same way. Errors of the environment
//    (not_found, permission_denied, not_regular_file, unreadable_directory, read_failed,
//    out_of_memory, internal_error) are never cached: they are retried on every run.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "fakeless/report/verdict.hpp"

namespace fakeless::scan {

// A cache that cannot be opened, is not a fakeless cache, or fails a write.
class CacheError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What identifies a file's content, cheaply: stat() (following symbolic links).
struct FileStamp {
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
std::optional<FileStamp> stamp_of(const std::string& path);

// The key of a path: absolute (relative paths are taken from the current directory) and
// lexically normalised ("a/./b/../c" -> "a/c"); bytes are kept as they are.
std::string cache_key(const std::string& path);

// $XDG_CACHE_HOME/fakeless/cache.sqlite, or ~/.cache/fakeless/cache.sqlite.
std::string default_cache_path();

// See the policy above.
bool cacheable(const report::Verdict& v);

struct CacheStats {
  std::int64_t entries = 0;
  std::int64_t errors = 0;                          // cached error records
  std::map<std::string, std::int64_t> by_model;     // entries per model version
  std::map<std::string, std::int64_t> by_settings;  // entries per analysis settings
  std::map<std::string, std::int64_t> by_verdict;   // analysed entries per verdict
  std::int64_t file_bytes = 0;                      // size of the database file (without WAL)
};

struct PruneResult {
  std::int64_t removed_gone = 0;     // the file no longer exists
  std::int64_t removed_changed = 0;  // size or modification time differ
  std::int64_t removed_model = 0;    // made by another model version
  std::int64_t kept = 0;
};

class ResultCache {
 public:
  // Opens (or creates, with its directory) the cache file. Throws CacheError.
  explicit ResultCache(const std::string& file);
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  // The stored verdict when the entry for (key, settings) has this stamp and model; its
  // path is the one it was stored with and `cached` is set. Throws CacheError.
  std::optional<report::Verdict> lookup(const std::string& key, const std::string& settings, const FileStamp& stamp,
                                        const std::string& model);
  // Replaces the entry for (key, settings) and commits. Throws CacheError.
  void store(const std::string& key, const std::string& settings, const FileStamp& stamp, const std::string& model,
             const report::Verdict& verdict);

  CacheStats stats();
  // Removes entries whose file is gone or changed, or that another model version made.
  PruneResult prune(const std::string& current_model);
  // Every entry as one schema-1 record per line, with "path" the key (absolute path) and
  // a "cache" object: {"settings","size","mtime_ns","stored_at"}. Returns the count.
  std::int64_t export_ndjson(std::ostream& out);

  [[nodiscard]] const std::string& file() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fakeless::scan
