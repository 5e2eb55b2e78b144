#include "fakeless/scan/scanner.hpp"

#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "fakeless/pipeline.hpp"

namespace fakeless::scan {
namespace {

struct Job {
  std::int64_t seq = 0;
  Entry entry;
};

// A bounded multi-producer/multi-consumer queue with a condition variable.
class JobQueue {
 public:
  explicit JobQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(Job job) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return jobs_.size() < capacity_; });
    jobs_.push_back(std::move(job));
    not_empty_.notify_one();
  }
  bool pop(Job& job) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !jobs_.empty() || closed_; });
    if (jobs_.empty()) return false;
    job = std::move(jobs_.front());
    jobs_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void discard() {  // drop what nobody started (on interruption)
    std::lock_guard lock(mutex_);
    jobs_.clear();
    not_full_.notify_all();
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Job> jobs_;
  bool closed_ = false;
};

struct Done {
  report::Verdict verdict;
  std::int64_t bytes = 0;
};

// Writes results whole, one at a time; in input order when asked.
class Collector {
 public:
  Collector(report::ResultWriter& writer, const ScanOptions& options, spdlog::logger& log)
      : writer_(writer), ordered_(options.ordered), only_flagged_(options.only_flagged),
        observer_(options.observer), log_(log) {}

  void deliver(std::int64_t seq, Done d) {
    std::lock_guard lock(mutex_);
    if (!ordered_) {
      write(d);
      return;
    }
    pending_.emplace(seq, std::move(d));
    while (!pending_.empty() && pending_.begin()->first == next_) {
      write(pending_.begin()->second);
      pending_.erase(pending_.begin());
      ++next_;
    }
  }
  // With ordered output, jobs dropped on interruption leave gaps: write what is held.
  void flush_pending() {
    std::lock_guard lock(mutex_);
    for (auto& [seq, v] : pending_) write(v);
    pending_.clear();
  }
  [[nodiscard]] ScanStats stats() {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  void write(const Done& d) {
    const report::Verdict& v = d.verdict;
    if (!only_flagged_ || v.flagged() || !v.ok()) {
      writer_.write(v);
      ++stats_.written;
    }
    ++stats_.files;
    stats_.bytes += d.bytes;
    if (observer_ != nullptr) observer_->file_done(v, d.bytes);
    if (v.ok()) {
      ++stats_.ok;
      if (v.flagged()) ++stats_.flagged;
    } else {
      ++stats_.errors;
      log_.warn("{}: {}: {}", v.path, to_string(*v.error), v.error_message);
    }
  }

  report::ResultWriter& writer_;
  bool ordered_;
  bool only_flagged_;
  ScanObserver* observer_;
  spdlog::logger& log_;
  std::mutex mutex_;
  std::map<std::int64_t, Done> pending_;
  std::int64_t next_ = 0;
  ScanStats stats_;
};

}  // namespace

std::string analysis_settings(const AnalysisOptions& analysis, const model::Scorer& model) {
  char buf[96];
  if (analysis.quick) {
    std::snprintf(buf, sizeof buf, "quick %dx%gs t=%g", analysis.quick_params.segments,
                  analysis.quick_params.segment_s, model.lossy_threshold());
  } else {
    std::snprintf(buf, sizeof buf, "full t=%g", model.lossy_threshold());
  }
  std::string out = buf;
  if (analysis.segment_s > 0.0 && model.patch_params(analysis.segment_s)) {
    // "+file": the file's own score from its whole-file patches (not the segments') since
    // 2026-11-22; records cached before score the file from the segments.
    std::snprintf(buf, sizeof buf, " segments=%gs+file", analysis.segment_s);
    out += buf;
  }
  return out;
}

ScanStats run_scan(const ScanOptions& options, const model::Scorer& model, report::ResultWriter& writer,
                   spdlog::logger& log, const std::atomic<bool>* stop) {
  const auto t0 = std::chrono::steady_clock::now();
  const int jobs = std::max(1, options.jobs);
  auto stopped = [&] { return stop != nullptr && stop->load(std::memory_order_relaxed); };

  JobQueue queue(static_cast<std::size_t>(jobs) * 64);
  Collector collector(writer, options, log);
  ResultCache* const cache = options.cache;
  const std::string settings = analysis_settings(options.analysis, model);
  const std::string cache_model = options.cache_model.empty() ? model_name(model) : options.cache_model;
  std::atomic<std::int64_t> decoded{0};
  std::atomic<std::int64_t> from_cache{0};
  std::atomic<std::int64_t> cache_failures{0};
  auto cache_failed = [&](const CacheError& e) {
    // Results still go to stdout; the first failure is a warning, the rest debug lines.
    if (cache_failures.fetch_add(1) == 0) {
      log.warn("{} (results are still written; later cache failures are logged at debug level)", e.what());
    } else {
      log.debug("{}", e.what());
    }
  };

  std::vector<std::jthread> workers;
  workers.reserve(static_cast<std::size_t>(jobs));
  std::atomic<std::int64_t> images{0};
  std::atomic<std::int64_t> image_errors{0};
  // Flagged files are few: their worker opens them again and draws them (one more pass).
  auto write_spectrogram = [&](const std::string& path, dsp::FftCache& ffts) {
    const std::string out = (std::filesystem::path(*options.spectrogram_dir) / render::image_file_name(path)).string();
    try {
      const auto r = render::spectrogram_of_path(path, ffts, options.analysis, model, options.spectrogram);
      render::write_file(out, r.png);
      ++images;
      log.debug("{}: spectrogram written to {}", path, out);
    } catch (const std::exception& e) {
      ++image_errors;
      log.warn("{}: no spectrogram: {}", path, e.what());
    }
  };
  auto worker_loop = [&] {
      dsp::FftCache ffts;  // this worker's plans, made once per size
      Job job;
      while (queue.pop(job)) {
        if (stopped()) continue;  // drain without starting new files
        const std::string& path = job.entry.path;
        if (job.entry.error) {
          collector.deliver(job.seq, {report::error_verdict(path, *job.entry.error, job.entry.message), 0});
          continue;
        }
        // Stamped before the analysis: a file that changes meanwhile is analysed again next time.
        const std::optional<FileStamp> stamp = stamp_of(path);
        const std::int64_t bytes = stamp ? stamp->size : 0;
        std::string key;
        if (cache != nullptr && stamp) {
          key = cache_key(path);
          try {
            if (auto hit = cache->lookup(key, settings, *stamp, cache_model)) {
              hit->path = path;
              ++from_cache;
              log.trace("from cache: {}", path);
              if (options.spectrogram_dir && hit->flagged()) write_spectrogram(path, ffts);
              collector.deliver(job.seq, {std::move(*hit), bytes});
              continue;
            }
          } catch (const CacheError& e) {
            cache_failed(e);
          }
        }
        log.debug("analysing {}", path);
        ++decoded;
        report::Verdict v = analyze_path(path, ffts, options.analysis, model);
        if (cache != nullptr && stamp && cacheable(v)) {
          try {
            cache->store(key, settings, *stamp, cache_model, v);  // committed before it is written
          } catch (const CacheError& e) {
            cache_failed(e);
          }
        }
        if (options.spectrogram_dir && v.flagged()) write_spectrogram(path, ffts);
        collector.deliver(job.seq, {std::move(v), bytes});
      }
  };
  // Fewer threads than asked for (a memory cap, a thread limit) still make a scan; none
  // at all is fatal, after the queue is closed so nothing waits on it.
  for (int w = 0; w < jobs; ++w) {
    try {
      workers.emplace_back(worker_loop);
    } catch (const std::system_error& e) {
      if (workers.empty()) {
        queue.close();
        throw std::runtime_error(std::string("cannot start a worker thread: ") + e.what());
      }
      log.warn("started {} of {} worker threads: {}", workers.size(), jobs, e.what());
      break;
    }
  }

  writer.begin();
  Discoverer discoverer(options.discover);
  std::int64_t seq = 0;
  std::int64_t other_shards = 0;
  const Discoverer::Emit emit = [&](Entry e) {
    if (stopped()) return false;
    if (!options.shard.contains(e.path)) {
      ++other_shards;
      return true;
    }
    queue.push({seq++, std::move(e)});
    if (options.observer != nullptr) options.observer->found(seq);
    return true;
  };
  bool go_on = true;
  for (const auto& input : options.inputs) {
    if (!(go_on = discoverer.walk(input, emit))) break;
  }
  if (go_on && options.files_from != nullptr) {
    PathListReader list(*options.files_from, options.files_from_separator);
    while (const auto input = list.next()) {
      if (!discoverer.walk(*input, emit)) break;
    }
  }
  if (options.observer != nullptr) options.observer->discovery_done(seq);
  if (stopped()) queue.discard();
  queue.close();
  for (auto& w : workers) w.join();
  collector.flush_pending();
  writer.end();

  ScanStats stats = collector.stats();
  stats.skipped = discoverer.skipped();
  stats.excluded = discoverer.excluded();
  stats.other_shards = other_shards;
  stats.decoded = decoded.load();
  stats.from_cache = from_cache.load();
  stats.cache_failures = cache_failures.load();
  stats.images = images.load();
  stats.image_errors = image_errors.load();
  stats.interrupted = stopped();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (discoverer.skipped() > 0) log.debug("skipped {} files without an audio extension", discoverer.skipped());
  if (discoverer.symlinked_dirs_not_followed() > 0) {
    log.info("did not follow {} symbolic links to directories (use --follow-symlinks)",
             discoverer.symlinked_dirs_not_followed());
  }
  return stats;
}

}  // namespace fakeless::scan
