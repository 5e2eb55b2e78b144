#include <catch2/catch.hpp>
#include <sndfile.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fakeless/pipeline.hpp"
#include "fakeless/scan/cache.hpp"
#include "fakeless/scan/scanner.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;
using nlohmann::ordered_json;
using testsig::TempDir;

namespace {

void write_clip(const std::string& path, double cutoff_hz = 0, unsigned seed = 5) {
  auto x = testsig::pink(44100, 0.3, seed);
  if (cutoff_hz > 0) x = testsig::brickwall(x, 44100, cutoff_hz, 255);
  testsig::write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, testsig::quantise(x, 16));
}

report::Verdict sample_verdict(const std::string& path) {
  auto v = testsig::verdict_of(testsig::brickwall(testsig::pink(44100, 0.3, 3), 44100, 16000, 255), 44100);
  v.path = path;
  return v;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Run {
  std::ostringstream out;
  std::ostringstream err;
  scan::ScanStats stats;
  std::vector<ordered_json> records;
};

std::unique_ptr<Run> run(scan::ScanOptions o, scan::ResultCache* cache, const std::string& model = "") {
  auto r = std::make_unique<Run>();
  auto log = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(r->err));
  auto w = report::make_writer(report::Format::ndjson, r->out);
  o.cache = cache;
  o.cache_model = model;
  o.ordered = true;
  r->stats = scan::run_scan(o, model::RuleModel{}, *w, *log, nullptr);
  std::istringstream in(r->out.str());
  for (std::string line; std::getline(in, line);) r->records.push_back(ordered_json::parse(line));
  return r;
}

// The fields the acceptance check compares between a fresh and a cached scan.
ordered_json essentials(ordered_json j) {
  j.erase("elapsed_ms");
  j.erase("cached");
  return j;
}

}  // namespace

TEST_CASE("cache: a stored verdict comes back whole, only for the same stamp, model and settings", "[cache]") {
  TempDir d;
  scan::ResultCache cache(d / "sub/dir/c.sqlite");  // creates its directory
  const auto v = sample_verdict("rel/track.flac");
  const scan::FileStamp stamp{1234, 1700000000123456789LL};
  CHECK_FALSE(cache.lookup("/abs/track.flac", "full", stamp, "m1"));
  cache.store("/abs/track.flac", "full", stamp, "m1", v);

  const auto hit = cache.lookup("/abs/track.flac", "full", stamp, "m1");
  REQUIRE(hit);
  CHECK(hit->cached);
  CHECK(essentials(report::to_json(*hit)) == essentials(report::to_json(v)));
  CHECK_FALSE(cache.lookup("/abs/track.flac", "full", {1235, stamp.mtime_ns}, "m1"));  // size
  CHECK_FALSE(cache.lookup("/abs/track.flac", "full", {1234, stamp.mtime_ns + 1}, "m1"));  // mtime
  CHECK_FALSE(cache.lookup("/abs/track.flac", "full", stamp, "m2"));  // model version
  CHECK_FALSE(cache.lookup("/abs/track.flac", "quick", stamp, "m1"));  // settings
  CHECK_FALSE(cache.lookup("/abs/other.flac", "full", stamp, "m1"));

  // A new result replaces the entry.
  cache.store("/abs/track.flac", "full", stamp, "m2", v);
  CHECK_FALSE(cache.lookup("/abs/track.flac", "full", stamp, "m1"));
  CHECK(cache.lookup("/abs/track.flac", "full", stamp, "m2"));
  CHECK(cache.stats().entries == 1);
}

TEST_CASE("cache: entries survive reopening; non-UTF-8 paths are keys like any other", "[cache]") {
  TempDir d;
  const std::string bad = std::string("/music/bad\xff") + "name.flac";
  {
    scan::ResultCache cache(d / "c.sqlite");
    cache.store(bad, "full", {1, 2}, "m", sample_verdict(bad));
  }
  scan::ResultCache again(d / "c.sqlite");
  const auto hit = again.lookup(bad, "full", {1, 2}, "m");
  REQUIRE(hit);
  CHECK(hit->path == bad);
  std::ostringstream out;
  CHECK(again.export_ndjson(out) == 1);
  const auto j = ordered_json::parse(out.str());
  CHECK(report::base64_decode(j["path_b64"].get<std::string>()).value_or("") == bad);
  CHECK(j["cache"]["size"] == 1);
}

TEST_CASE("cache: a file that is not a cache is refused and left untouched", "[cache]") {
  TempDir d;
  write_clip(d / "track.flac");
  const std::string before = file_bytes(d / "track.flac");
  CHECK_THROWS_AS(scan::ResultCache(d / "track.flac"), scan::CacheError);
  CHECK(file_bytes(d / "track.flac") == before);
  CHECK_THROWS_AS(scan::ResultCache(d / "track.flac/x.sqlite"), scan::CacheError);
}

TEST_CASE("cache: many threads store and look up through one connection", "[cache]") {
  TempDir d;
  scan::ResultCache cache(d / "c.sqlite");
  const auto v = sample_verdict("x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key = "/t" + std::to_string(t) + "/" + std::to_string(i);
        cache.store(key, "full", {i, t}, "m", v);
        if (!cache.lookup(key, "full", {i, t}, "m")) throw std::runtime_error("lost " + key);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(cache.stats().entries == 200);
}

TEST_CASE("cache: content errors are cached, errors of the environment are not", "[cache]") {
  for (const auto code : {ErrorCode::empty_file, ErrorCode::not_audio, ErrorCode::unsupported_format,
                          ErrorCode::truncated, ErrorCode::decode_failed, ErrorCode::invalid_samples}) {
    CHECK(scan::cacheable(report::error_verdict("x", code, "m")));
  }
  for (const auto code : {ErrorCode::not_found, ErrorCode::permission_denied, ErrorCode::not_regular_file,
                          ErrorCode::unreadable_directory, ErrorCode::read_failed, ErrorCode::out_of_memory,
                          ErrorCode::internal_error}) {
    CHECK_FALSE(scan::cacheable(report::error_verdict("x", code, "m")));
  }
  CHECK(scan::cacheable(sample_verdict("x")));
}

TEST_CASE("cache keys are absolute and normalised", "[cache]") {
  CHECK(scan::cache_key("/a/./b/../c.flac") == "/a/c.flac");
  const std::string rel = scan::cache_key("x/y.flac");
  CHECK(rel.front() == '/');
  CHECK_THAT(rel, Catch::EndsWith("/x/y.flac"));
  CHECK(scan::cache_key("/music/") == "/music");
}

TEST_CASE("the default cache lives under XDG_CACHE_HOME, else ~/.cache", "[cache]") {
  const char* old_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old_xdg != nullptr ? old_xdg : "";
  ::setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
  CHECK(scan::default_cache_path() == "/xdg/cache/fakeless/cache.sqlite");
  ::unsetenv("XDG_CACHE_HOME");
  CHECK(scan::default_cache_path() == std::string(std::getenv("HOME")) + "/.cache/fakeless/cache.sqlite");
  if (old_xdg != nullptr) ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
}

TEST_CASE("scan with a cache: unchanged files are not decoded again, changed ones and a new model are", "[cache]") {
  TempDir d;
  TempDir lib;
  write_clip(lib / "a.flac");
  write_clip(lib / "b.flac", 15000, 6);
  write_clip(lib / "c.flac", 0, 7);
  testsig::write_text(lib / "broken.flac", "not audio");
  scan::ResultCache cache(d / "c.sqlite");
  scan::ScanOptions o;
  o.inputs = {lib.str(), lib / "missing.flac"};
  o.jobs = 2;

  const auto first = run(o, &cache, "model-1");
  CHECK(first->stats.decoded == 4);
  CHECK(first->stats.from_cache == 0);
  REQUIRE(first->records.size() == 5);

  const auto second = run(o, &cache, "model-1");
  CHECK(second->stats.decoded == 0);  // the broken file too: its error is cached
  CHECK(second->stats.from_cache == 4);
  REQUIRE(second->records.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK(essentials(second->records[i]) == essentials(first->records[i]));
  CHECK(second->records[0]["cached"] == true);
  CHECK(second->records[4]["error"]["code"] == "not_found");  // never cached: checked every time
  CHECK(second->stats.exit_status() == first->stats.exit_status());

  // A changed file (new mtime) is analysed again, the others are not.
  struct stat st {};
  REQUIRE(::stat((lib / "c.flac").c_str(), &st) == 0);
  const utimbuf later{st.st_atime, st.st_mtime + 10};
  REQUIRE(::utime((lib / "c.flac").c_str(), &later) == 0);
  const auto third = run(o, &cache, "model-1");
  CHECK(third->stats.decoded == 1);
  CHECK(third->stats.from_cache == 3);

  // Another model version: everything again.
  const auto fourth = run(o, &cache, "model-2");
  CHECK(fourth->stats.decoded == 4);

  // Quick mode is keyed apart from full scans.
  o.analysis.quick = true;
  CHECK(run(o, &cache, "model-2")->stats.decoded == 4);
}

TEST_CASE("cache prune removes entries of gone or changed files and of other models", "[cache]") {
  TempDir d;
  TempDir lib;
  for (const char* n : {"a.flac", "b.flac", "c.flac", "d.flac"}) write_clip(lib / n);
  scan::ResultCache cache(d / "c.sqlite");
  scan::ScanOptions o;
  o.inputs = {lib.str()};
  run(o, &cache, model_name());
  o.inputs = {lib / "d.flac"};
  run(o, &cache, "an older model");
  std::filesystem::remove(lib / "a.flac");
  write_clip(lib / "b.flac", 0, 99);  // rewritten: size or mtime differ
  struct stat st {};
  ::stat((lib / "b.flac").c_str(), &st);
  const utimbuf later{st.st_atime, st.st_mtime + 5};
  ::utime((lib / "b.flac").c_str(), &later);

  const auto r = cache.prune(model_name());
  CHECK(r.removed_gone == 1);
  CHECK(r.removed_changed == 1);
  CHECK(r.removed_model == 1);
  CHECK(r.kept == 1);  // c.flac (d.flac's entry was replaced by the older model's)
  CHECK(cache.stats().entries == 1);
  CHECK(cache.prune(model_name()).kept == 1);
}
