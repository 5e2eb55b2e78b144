#pragma once
// For people at a terminal: a one-line progress display on stderr (files done / total,
// MB/s, ETA, flagged and errors so far), redrawn a few times a second by its own thread,
// and a log sink that writes each log line above it. Until discovery has finished the
// total is not known and the line reads "N done, M found so far".
//
// Everything written to stderr while a scan runs goes through one Progress object, so
// log lines and the progress line never interleave. When the display is disabled it only
// passes log lines through.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include <spdlog/sinks/base_sink.h>

#include "fakeless/scan/scanner.hpp"

namespace fakeless::cli {

// ANSI colours, used only when told to (a terminal, and NO_COLOR not set).
namespace ansi {
inline constexpr const char* red = "\x1b[31m";
inline constexpr const char* green = "\x1b[32m";
inline constexpr const char* yellow = "\x1b[33m";
inline constexpr const char* magenta = "\x1b[35m";
inline constexpr const char* bold = "\x1b[1m";
inline constexpr const char* reset = "\x1b[0m";
}  // namespace ansi

// "1:02:03", "4:05"; "?" for a negative or absurd duration.
std::string format_duration(double seconds);

class Progress final : public scan::ScanObserver {
 public:
  Progress(std::ostream& err, bool enabled, bool color);
  ~Progress() override;
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void start();  // begins redrawing (when enabled)
  void stop();   // clears the line and ends the redraw thread; idempotent

  void found(std::int64_t entries_so_far) override;
  void discovery_done(std::int64_t entries) override;
  void file_done(const report::Verdict& v, std::int64_t bytes) override;

  // Writes text (whole lines) to stderr with the progress line cleared, then redraws it.
  void print_above(const std::string& text);

  // The line as it would be drawn now (without colours or terminal controls): for tests.
  [[nodiscard]] std::string line() const;

 private:
  void draw_locked();
  void clear_locked();

  std::ostream& err_;
  bool enabled_;
  bool color_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::atomic<std::int64_t> found_{0};
  std::atomic<std::int64_t> total_{-1};  // -1 until discovery has finished
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::int64_t> flagged_{0};
  std::atomic<std::int64_t> errors_{0};
  std::atomic<std::int64_t> bytes_{0};
  std::mutex mutex_;  // guards err_ and drawn_
  bool drawn_ = false;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread ticker_;
};

// The stderr sink of the logger: "fakeless: LEVEL: message", the level coloured when
// asked, written through Progress::print_above.
class ProgressAwareSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ProgressAwareSink(Progress& progress, bool color);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  Progress& progress_;
  bool color_;
};

}  // namespace fakeless::cli
