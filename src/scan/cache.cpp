// SQLite lives here and nowhere else.
#include "fakeless/scan/cache.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace fakeless::scan {
namespace {

// Bumped when the table layout changes; an older or newer file is refused, not rewritten.
constexpr int kCacheFormat = 1;

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Resets a prepared statement when a use of it ends, however it ends.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  [[nodiscard]] sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_blob(s, col);
  const int n = sqlite3_column_bytes(s, col);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{static_cast<std::int64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

std::string cache_key(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) {
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    if (!ec) p = cwd / p;
  }
  std::string key = p.lexically_normal().string();
  if (key.size() > 1 && key.back() == '/') key.pop_back();
  return key;
}

std::string default_cache_path() {
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    base = std::filesystem::path(home) / ".cache";
  } else {
    base = std::filesystem::temp_directory_path();
  }
  return (base / "fakeless" / "cache.sqlite").string();
}

bool cacheable(const report::Verdict& v) {
  if (v.ok()) return true;
  switch (*v.error) {
    case ErrorCode::empty_file:
    case ErrorCode::not_audio:
    case ErrorCode::malformed:
    case ErrorCode::unsupported_format:
    case ErrorCode::truncated:
    case ErrorCode::decode_failed:
    case ErrorCode::invalid_samples: return true;
    // timeout depends on the machine's load and the budget; the rest on the environment.
    default: return false;
  }
}

struct ResultCache::Impl {
  std::string file;
  std::mutex mutex;  // one connection, one user at a time
  Db db;
  Stmt select;
  Stmt upsert;

  [[noreturn]] void fail(const std::string& what) const {
    throw CacheError("cache " + file + ": " + what + ": " + (db ? sqlite3_errmsg(db.get()) : "cannot open"));
  }
  void exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      const std::string m = msg != nullptr ? msg : "error";
      sqlite3_free(msg);
      throw CacheError("cache " + file + ": " + m);
    }
  }
  Stmt prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      fail("cannot prepare a statement");
    }
    return Stmt(s);
  }
  int user_version() {
    const Stmt s = prepare("PRAGMA user_version");
    if (sqlite3_step(s.get()) != SQLITE_ROW) fail("cannot read its format");
    return sqlite3_column_int(s.get(), 0);
  }
};

ResultCache::ResultCache(const std::string& file) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.file = file;
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw CacheError("cache " + file + ": cannot create its directory: " + ec.message());
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  m.db.reset(raw);  // owned even when opening failed
  if (rc != SQLITE_OK) m.fail("cannot open");
  sqlite3_busy_timeout(m.db.get(), 10000);
  sqlite3_extended_result_codes(m.db.get(), 1);

  // A file that is not an SQLite database fails here, before anything is written to it.
  const int version = [&] {
    try {
      return m.user_version();
    } catch (const CacheError&) {
      throw CacheError("cache " + file + ": not a fakeless cache (" + sqlite3_errmsg(m.db.get()) + ")");
    }
  }();
  if (version != 0 && version != kCacheFormat) {
    throw CacheError("cache " + file + ": format " + std::to_string(version) + " is not supported (this is " +
                     std::to_string(kCacheFormat) + "); use another file");
  }
  m.exec("PRAGMA journal_mode=WAL");
  m.exec("PRAGMA synchronous=NORMAL");  // with WAL: durable across process crashes
  if (version == 0) {
    m.exec("BEGIN IMMEDIATE");
    m.exec(
        "CREATE TABLE IF NOT EXISTS results ("
        "  path BLOB NOT NULL,"      // absolute path, its exact bytes
        "  settings TEXT NOT NULL,"  // analysis settings (full/quick, threshold)
        "  size INTEGER NOT NULL,"
        "  mtime_ns INTEGER NOT NULL,"
        "  model TEXT NOT NULL,"
        "  status TEXT NOT NULL,"    // ok | error code
        "  verdict TEXT,"            // for stats
        "  record TEXT NOT NULL,"    // the schema-1 record, as written
        "  stored_at INTEGER NOT NULL,"
        "  PRIMARY KEY (path, settings)) WITHOUT ROWID");
    m.exec(("PRAGMA user_version=" + std::to_string(kCacheFormat)).c_str());
    m.exec("COMMIT");
  }
  m.select = m.prepare("SELECT size, mtime_ns, model, record FROM results WHERE path = ?1 AND settings = ?2");
  m.upsert = m.prepare(
      "INSERT OR REPLACE INTO results (path, settings, size, mtime_ns, model, status, verdict, record, stored_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
}

ResultCache::~ResultCache() = default;

const std::string& ResultCache::file() const { return impl_->file; }

std::optional<report::Verdict> ResultCache::lookup(const std::string& key, const std::string& settings,
                                                   const FileStamp& stamp, const std::string& model) {
  auto& m = *impl_;
  std::string record;
  {
    const std::lock_guard lock(m.mutex);
    const StmtUse s(m.select.get());
    sqlite3_bind_blob(s.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 2, settings.data(), static_cast<int>(settings.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) m.fail("lookup failed");
    if (sqlite3_column_int64(s.get(), 0) != stamp.size || sqlite3_column_int64(s.get(), 1) != stamp.mtime_ns ||
        column_text(s.get(), 2) != model) {
      return std::nullopt;
    }
    record = column_text(s.get(), 3);
  }
  try {
    report::Verdict v = report::from_json(nlohmann::ordered_json::parse(record));
    v.cached = true;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is a miss; the new result replaces it
  }
}

void ResultCache::store(const std::string& key, const std::string& settings, const FileStamp& stamp,
                        const std::string& model, const report::Verdict& verdict) {
  auto& m = *impl_;
  report::Verdict v = verdict;
  v.cached = false;
  const std::string record = report::dump_line(report::to_json(v));
  const std::string status = v.ok() ? "ok" : std::string(to_string(*v.error));
  const std::lock_guard lock(m.mutex);
  const StmtUse s(m.upsert.get());
  sqlite3_bind_blob(s.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, settings.data(), static_cast<int>(settings.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 3, stamp.size);
  sqlite3_bind_int64(s.get(), 4, stamp.mtime_ns);
  sqlite3_bind_text(s.get(), 5, model.data(), static_cast<int>(model.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 6, status.data(), static_cast<int>(status.size()), SQLITE_TRANSIENT);
  if (v.ok()) {
    sqlite3_bind_text(s.get(), 7, v.decision.verdict.data(), static_cast<int>(v.decision.verdict.size()),
                      SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(s.get(), 7);
  }
  sqlite3_bind_text(s.get(), 8, record.data(), static_cast<int>(record.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 9, now_s());
  if (sqlite3_step(s.get()) != SQLITE_DONE) m.fail("cannot store a result");
}

CacheStats ResultCache::stats() {
  auto& m = *impl_;
  CacheStats out;
  const std::lock_guard lock(m.mutex);
  auto count_by = [&](const char* sql, std::map<std::string, std::int64_t>& into) {
    const Stmt s = m.prepare(sql);
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) into[column_text(s.get(), 0)] = sqlite3_column_int64(s.get(), 1);
    if (rc != SQLITE_DONE) m.fail("cannot read");
  };
  count_by("SELECT model, count(*) FROM results GROUP BY model", out.by_model);
  count_by("SELECT settings, count(*) FROM results GROUP BY settings", out.by_settings);
  count_by("SELECT verdict, count(*) FROM results WHERE status = 'ok' GROUP BY verdict", out.by_verdict);
  for (const auto& [k, n] : out.by_model) out.entries += n;
  std::map<std::string, std::int64_t> errors;
  count_by("SELECT 'errors', count(*) FROM results WHERE status != 'ok'", errors);
  out.errors = errors["errors"];
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(m.file, ec);
  out.file_bytes = ec ? 0 : static_cast<std::int64_t>(bytes);
  return out;
}

PruneResult ResultCache::prune(const std::string& current_model) {
  auto& m = *impl_;
  PruneResult out;
  const std::lock_guard lock(m.mutex);
  struct Doomed {
    std::string path;
    std::string settings;
  };
  std::vector<Doomed> doomed;
  {
    const Stmt s = m.prepare("SELECT path, settings, size, mtime_ns, model FROM results");
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      std::string path = column_text(s.get(), 0);
      const FileStamp stored{sqlite3_column_int64(s.get(), 2), sqlite3_column_int64(s.get(), 3)};
      const auto now = stamp_of(path);
      bool remove = true;
      if (column_text(s.get(), 4) != current_model) {
        ++out.removed_model;
      } else if (!now) {
        ++out.removed_gone;
      } else if (!(*now == stored)) {
        ++out.removed_changed;
      } else {
        remove = false;
        ++out.kept;
      }
      if (remove) doomed.push_back({std::move(path), column_text(s.get(), 1)});
    }
    if (rc != SQLITE_DONE) m.fail("cannot read");
  }
  if (doomed.empty()) return out;
  m.exec("BEGIN IMMEDIATE");
  try {
    const Stmt del = m.prepare("DELETE FROM results WHERE path = ?1 AND settings = ?2");
    for (const auto& d : doomed) {
      const StmtUse s(del.get());
      sqlite3_bind_blob(s.get(), 1, d.path.data(), static_cast<int>(d.path.size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s.get(), 2, d.settings.data(), static_cast<int>(d.settings.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(s.get()) != SQLITE_DONE) m.fail("cannot delete");
    }
    m.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(m.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return out;
}

std::int64_t ResultCache::export_ndjson(std::ostream& out) {
  auto& m = *impl_;
  const std::lock_guard lock(m.mutex);
  const Stmt s = m.prepare("SELECT path, settings, size, mtime_ns, stored_at, record FROM results ORDER BY path, settings");
  std::int64_t n = 0;
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    nlohmann::ordered_json j;
    try {
      report::Verdict v = report::from_json(nlohmann::ordered_json::parse(column_text(s.get(), 5)));
      v.path = column_text(s.get(), 0);
      j = report::to_json(v);
    } catch (const std::exception&) {
      continue;  // a damaged entry: not exported
    }
    j["cache"] = {{"settings", column_text(s.get(), 1)},
                  {"size", sqlite3_column_int64(s.get(), 2)},
                  {"mtime_ns", sqlite3_column_int64(s.get(), 3)},
                  {"stored_at", sqlite3_column_int64(s.get(), 4)}};
    out << report::dump_line(j) << '\n';
    ++n;
  }
  out.flush();
  if (rc != SQLITE_DONE) m.fail("cannot read");
  return n;
}

}  // namespace fakeless::scan
