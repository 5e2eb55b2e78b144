#pragma once
// Runs a scan: discovery on the calling thread feeds a bounded work queue; N workers
// (each with its own FFT plans) analyse one file at a time; results go to the writer
// under one lock, either as they finish or, with `ordered`, in input order.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "fakeless/analysis.hpp"
#include "fakeless/model/rule_model.hpp"
#include "fakeless/render/spectrogram.hpp"
#include "fakeless/report/writers.hpp"
#include "fakeless/scan/discover.hpp"

namespace fakeless::scan {

struct ScanOptions {
  std::vector<std::string> inputs;
  int jobs = 1;          // worker threads, >= 1
  bool ordered = false;  // write records in input order instead of completion order
  DiscoverOptions discover;
  AnalysisOptions analysis;
  // When set, the spectrogram of every flagged file is written there (render::
  // image_file_name); the worker re-opens the file after its analysis. The directory
  // must exist.
  std::optional<std::string> spectrogram_dir;
  render::SpectrogramParams spectrogram;
};

struct ScanStats {
  std::int64_t files = 0;    // records written
  std::int64_t ok = 0;
  std::int64_t flagged = 0;
  std::int64_t errors = 0;
  std::int64_t skipped = 0;  // non-audio files inside directories
  std::int64_t images = 0;   // spectrograms written (--spectrograms)
  std::int64_t image_errors = 0;
  bool interrupted = false;
  double seconds = 0.0;

  // 0 nothing flagged, 1 something flagged, +4 when any file could not be analysed.
  [[nodiscard]] int exit_status() const { return (flagged > 0 ? 1 : 0) | (errors > 0 ? 4 : 0); }
};

// `stop` (optional): when it becomes true no new file is started; files in flight finish
// and are written.
ScanStats run_scan(const ScanOptions& options, const model::RuleModel& model, report::ResultWriter& writer,
                   spdlog::logger& log, const std::atomic<bool>* stop = nullptr);

}  // namespace fakeless::scan
