#include <catch2/catch.hpp>
#include <sndfile.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "fakeless/scan/scanner.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;
using nlohmann::ordered_json;
using testsig::TempDir;

namespace {

void write_clip(const std::string& path, double cutoff_hz = 0) {
  auto x = testsig::pink(44100, 0.3, 5);
  if (cutoff_hz > 0) x = testsig::brickwall(x, 44100, cutoff_hz, 255);
  testsig::write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, testsig::quantise(x, 16));
}

// tree/
//   A/x.flac  A/cover.jpg  B/y.WAV (lossy)  B/notes.txt  empty.flac
//   dangling.flac -> /nonexistent   link.flac -> A/x.flac   loop -> .
struct Tree {
  TempDir dir;
  Tree() {
    std::filesystem::create_directories(dir / "A");
    std::filesystem::create_directories(dir / "B");
    write_clip(dir / "A/x.flac");
    testsig::write_text(dir / "A/cover.jpg", "jpeg");
    write_clip(dir / "B/y.WAV", 16000);
    testsig::write_text(dir / "B/notes.txt", "notes");
    testsig::write_text(dir / "empty.flac", "");
    std::filesystem::create_symlink("/nonexistent/target.flac", dir / "dangling.flac");
    std::filesystem::create_symlink(dir / "A/x.flac", dir / "link.flac");
    std::filesystem::create_directory_symlink(dir.str(), dir / "loop");
  }
};

std::vector<std::string> discover(const std::string& root, bool follow) {
  scan::DiscoverOptions o;
  o.follow_symlinks = follow;
  scan::Discoverer d(o);
  std::vector<std::string> out;
  d.walk(root, [&](scan::Entry e) {
    out.push_back(e.path.substr(root.size()) + (e.error ? " !" + std::string(to_string(*e.error)) : ""));
    return true;
  });
  return out;
}

struct Run {
  std::ostringstream out;
  std::ostringstream err;
  scan::ScanStats stats;
  std::vector<ordered_json> records;
};

std::unique_ptr<Run> run(const scan::ScanOptions& o, const std::atomic<bool>* stop = nullptr,
                         report::ResultWriter* custom = nullptr) {
  auto r = std::make_unique<Run>();
  auto log = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(r->err));
  auto w = report::make_writer(report::Format::ndjson, r->out);
  r->stats = scan::run_scan(o, model::RuleModel{}, custom ? *custom : *w, *log, stop);
  std::istringstream in(r->out.str());
  for (std::string line; std::getline(in, line);) r->records.push_back(ordered_json::parse(line));
  return r;
}

}  // namespace

TEST_CASE("discovery: sorted, audio extensions only, links to files followed, loops never", "[scan]") {
  Tree t;
  const std::vector<std::string> expected = {"/A/x.flac", "/B/y.WAV", "/dangling.flac !not_found", "/empty.flac",
                                             "/link.flac"};
  CHECK(discover(t.dir.str(), false) == expected);
  CHECK(discover(t.dir.str(), true) == expected);  // loop -> . is the root itself: entered once
}

TEST_CASE("explicit inputs are taken whatever their extension and missing ones are error entries", "[scan]") {
  Tree t;
  const auto got = discover(t.dir / "A/cover.jpg", false);
  CHECK(got == std::vector<std::string>{""});
  const auto missing = discover(t.dir / "nope.flac", false);
  CHECK(missing == std::vector<std::string>{" !not_found"});
}

TEST_CASE("a scan writes exactly one record per file, errors included, in order when asked", "[scan]") {
  Tree t;
  scan::ScanOptions o;
  o.inputs = {t.dir.str(), t.dir / "missing.flac"};
  o.jobs = 2;
  o.ordered = true;
  const auto r = run(o);
  REQUIRE(r->records.size() == 6);
  std::vector<std::string> paths;
  for (const auto& j : r->records) paths.push_back(j["path"]);
  CHECK(paths == std::vector<std::string>{t.dir / "A/x.flac", t.dir / "B/y.WAV", t.dir / "dangling.flac",
                                          t.dir / "empty.flac", t.dir / "link.flac", t.dir / "missing.flac"});
  CHECK(r->records[0]["verdict"] == "lossless");
  CHECK(r->records[1]["verdict"] == "lossy");
  CHECK(r->records[2]["error"]["code"] == "not_found");
  CHECK(r->records[3]["error"]["code"] == "empty_file");
  CHECK(r->records[4]["verdict"] == "lossless");
  CHECK(r->stats.files == 6);
  CHECK(r->stats.flagged == 1);
  CHECK(r->stats.errors == 3);
  CHECK(r->stats.skipped == 2);
  CHECK(r->stats.exit_status() == 5);
  CHECK_THAT(r->err.str(), Catch::Contains("empty_file"));
}

TEST_CASE("unordered output holds the same records", "[scan]") {
  Tree t;
  scan::ScanOptions o;
  o.inputs = {t.dir.str()};
  o.jobs = 3;
  const auto r = run(o);
  CHECK(r->records.size() == 5);
  CHECK(r->stats.exit_status() == 5);
}

TEST_CASE("a directory that cannot be listed is an error record and the scan goes on", "[scan]") {
  if (::geteuid() == 0) {
    WARN("running as root: permissions do not stop root; tests/integration/permissions.sh covers this as nobody");
    return;
  }
  Tree t;
  std::filesystem::create_directories(t.dir / "locked");
  write_clip(t.dir / "locked/z.flac");
  ::chmod((t.dir / "locked").c_str(), 0);
  scan::ScanOptions o;
  o.inputs = {t.dir.str()};
  const auto r = run(o);
  ::chmod((t.dir / "locked").c_str(), 0755);
  bool found = false;
  for (const auto& j : r->records) found |= j.value("error", ordered_json::object()).value("code", "") == "unreadable_directory";
  CHECK(found);
  CHECK(r->records.size() == 6);
}

TEST_CASE("interruption: no new file starts, files already finished are all written", "[scan]") {
  Tree t;
  std::atomic<bool> stop{false};
  struct StopAfterFirst final : report::ResultWriter {
    std::ostringstream& out;
    std::atomic<bool>& stop;
    int n = 0;
    StopAfterFirst(std::ostringstream& o, std::atomic<bool>& s) : out(o), stop(s) {}
    void write(const report::Verdict& v) override {
      out << report::dump_line(report::to_json(v)) << '\n';
      ++n;
      stop = true;
    }
  };
  std::ostringstream sink;
  StopAfterFirst w(sink, stop);
  scan::ScanOptions o;
  o.inputs = {t.dir.str()};
  o.jobs = 1;
  const auto r = run(o, &stop, &w);
  CHECK(r->stats.interrupted);
  CHECK(w.n >= 1);
  CHECK(w.n < 5);
  CHECK(r->stats.files == w.n);
}
