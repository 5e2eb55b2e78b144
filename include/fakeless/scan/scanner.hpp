#pragma once
// Runs a scan: discovery on the calling thread feeds a bounded work queue; N workers
// (each with its own FFT plans) analyse one file at a time; results go to the writer
// under one lock, either as they finish or, with `ordered`, in input order.
//
// With a cache, a worker first looks the file up (path, size, mtime, model, settings): a
// hit is written without decoding; a miss is analysed, stored (committed) and only then
// written, so every record that reached stdout is in the cache.
#include <atomic>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "fakeless/analysis.hpp"
#include "fakeless/model/scorer.hpp"
#include "fakeless/render/spectrogram.hpp"
#include "fakeless/report/writers.hpp"
#include "fakeless/scan/cache.hpp"
#include "fakeless/scan/discover.hpp"

namespace fakeless::scan {

// Told how a scan goes (for a progress display). found/discovery_done are called from
// the discovering thread, file_done from workers under the output lock.
class ScanObserver {
 public:
  virtual ~ScanObserver() = default;
  virtual void found(std::int64_t /*entries_so_far*/) {}
  virtual void discovery_done(std::int64_t /*entries*/) {}
  virtual void file_done(const report::Verdict& /*v*/, std::int64_t /*bytes*/) {}
};

struct ScanOptions {
  std::vector<std::string> inputs;
  std::istream* files_from = nullptr;  // more inputs, read as the scan goes (--files-from)
  char files_from_separator = '\n';    // '\0' with -0
  int jobs = 1;          // worker threads, >= 1
  bool ordered = false;  // write records in input order instead of completion order
  bool only_flagged = false;  // write only flagged files and error records
  Shard shard;                // this run's part of the input set
  DiscoverOptions discover;
  AnalysisOptions analysis;
  ResultCache* cache = nullptr;  // not owned; null: no cache
  std::string cache_model;       // the model version cache entries are keyed by (default: model_name())
  ScanObserver* observer = nullptr;  // not owned
  // When set, the spectrogram of every flagged file is written there (render::
  // image_file_name); the worker re-opens the file after its analysis. The directory
  // must exist.
  std::optional<std::string> spectrogram_dir;
  render::SpectrogramParams spectrogram;
};

// The cache's "settings" key: what changes a verdict besides the model (mode, threshold).
std::string analysis_settings(const AnalysisOptions& analysis, const model::Scorer& model);

struct ScanStats {
  std::int64_t files = 0;    // records made (one per file or unreadable path)
  std::int64_t written = 0;  // records written (fewer with only_flagged)
  std::int64_t ok = 0;
  std::int64_t flagged = 0;
  std::int64_t errors = 0;
  std::int64_t decoded = 0;       // files opened and analysed
  std::int64_t from_cache = 0;    // files answered from the cache, not decoded
  std::int64_t bytes = 0;         // size of the files handled
  std::int64_t skipped = 0;       // non-audio files inside directories
  std::int64_t excluded = 0;      // paths left out by --exclude
  std::int64_t other_shards = 0;  // entries left to other shards
  std::int64_t cache_failures = 0;  // cache lookups or stores that failed (results still written)
  std::int64_t images = 0;        // spectrograms written (--spectrograms)
  std::int64_t image_errors = 0;
  bool interrupted = false;
  double seconds = 0.0;

  // 0 nothing flagged, 1 something flagged, +4 when any file could not be analysed.
  [[nodiscard]] int exit_status() const { return (flagged > 0 ? 1 : 0) | (errors > 0 ? 4 : 0); }
};

// `stop` (optional): when it becomes true no new file is started; files in flight finish
// and are written.
ScanStats run_scan(const ScanOptions& options, const model::Scorer& model, report::ResultWriter& writer,
                   spdlog::logger& log, const std::atomic<bool>* stop = nullptr);

}  // namespace fakeless::scan
