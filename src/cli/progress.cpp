#include "fakeless/cli/progress.hpp"

#include <spdlog/pattern_formatter.h>

#include <cmath>
#include <cstdio>

namespace fakeless::cli {
namespace {

constexpr auto kRedraw = std::chrono::milliseconds(200);
constexpr int kBarWidth = 20;

const char* level_color(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::warn: return ansi::yellow;
    case spdlog::level::err:
    case spdlog::level::critical: return ansi::red;
    default: return nullptr;
  }
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e7) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

Progress::Progress(std::ostream& err, bool enabled, bool color) : err_(err), enabled_(enabled), color_(color) {}

Progress::~Progress() { stop(); }

void Progress::start() {
  if (!enabled_ || ticker_.joinable()) return;
  t0_ = std::chrono::steady_clock::now();
  ticker_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      draw_locked();
      wake_.wait_for(lock, kRedraw, [&] { return stopping_; });
    }
  });
}

void Progress::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    clear_locked();
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Progress::found(std::int64_t entries_so_far) { found_.store(entries_so_far, std::memory_order_relaxed); }

void Progress::discovery_done(std::int64_t entries) {
  found_.store(entries);
  total_.store(entries);
}

void Progress::file_done(const report::Verdict& v, std::int64_t bytes) {
  done_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (v.flagged()) flagged_.fetch_add(1, std::memory_order_relaxed);
  if (!v.ok()) errors_.fetch_add(1, std::memory_order_relaxed);
}

std::string Progress::line() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const std::int64_t done = done_.load();
  const std::int64_t total = total_.load();
  const double mbps = elapsed > 0 ? static_cast<double>(bytes_.load()) / 1e6 / elapsed : 0.0;
  char buf[256];
  std::string out = "fakeless: ";
  if (total >= 0) {
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(frac * kBarWidth);
    std::string bar(static_cast<std::size_t>(kBarWidth), ' ');
    for (int i = 0; i < filled && i < kBarWidth; ++i) bar[static_cast<std::size_t>(i)] = '=';
    if (filled < kBarWidth) bar[static_cast<std::size_t>(filled)] = '>';
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total - done) : -1.0;
    std::snprintf(buf, sizeof buf, "[%s] %lld/%lld files %3.0f%%  %.1f MB/s  ETA %s", bar.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), 100.0 * frac, mbps,
                  format_duration(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%lld done, %lld found so far  %.1f MB/s  %s elapsed", static_cast<long long>(done),
                  static_cast<long long>(found_.load()), mbps, format_duration(elapsed).c_str());
  }
  out += buf;
  std::snprintf(buf, sizeof buf, "  %lld flagged, %lld errors", static_cast<long long>(flagged_.load()),
                static_cast<long long>(errors_.load()));
  out += buf;
  return out;
}

void Progress::draw_locked() {
  std::string text = line();
  if (color_ && flagged_.load() > 0) {
    const auto pos = text.rfind("  ");
    text = text.substr(0, pos + 2) + ansi::yellow + text.substr(pos + 2) + ansi::reset;
  }
  err_ << '\r' << text << "\x1b[K" << std::flush;
  drawn_ = true;
}

void Progress::clear_locked() {
  if (!drawn_) return;
  err_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

void Progress::print_above(const std::string& text) {
  std::lock_guard lock(mutex_);
  const bool redraw = drawn_;
  clear_locked();
  err_ << text << std::flush;
  if (redraw && !stopping_) draw_locked();
}

ProgressAwareSink::ProgressAwareSink(Progress& progress, bool color) : progress_(progress), color_(color) {
  set_formatter(std::make_unique<spdlog::pattern_formatter>("fakeless: %^%l%$: %v"));
}

void ProgressAwareSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t buf;
  formatter_->format(msg, buf);
  std::string text(buf.data(), buf.size());
  const char* c = level_color(msg.level);
  if (color_ && c != nullptr && msg.color_range_end > msg.color_range_start && msg.color_range_end <= text.size()) {
    text = text.substr(0, msg.color_range_start) + c + text.substr(msg.color_range_start, msg.color_range_end - msg.color_range_start) +
           ansi::reset + text.substr(msg.color_range_end);
  }
  progress_.print_above(text);
}

}  // namespace fakeless::cli
