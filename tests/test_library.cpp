// Scanning real libraries: quick mode, sharding, file lists, exclusion.
#include <catch2/catch.hpp>
#include <sndfile.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "fakeless/dsp/stft.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/scan/scanner.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;
using nlohmann::ordered_json;
using testsig::TempDir;

namespace {

struct CountingSink final : dsp::FrameConsumer {
  std::int64_t frames = 0;
  void consume(const dsp::SpectrumFrame&) override { ++frames; }
};

// A source that can seek but says it cannot: quick mode must decode it whole.
class Unseekable final : public io::AudioSource {
 public:
  explicit Unseekable(std::unique_ptr<io::AudioSource> inner) : inner_(std::move(inner)) {}
  [[nodiscard]] const io::AudioFormat& format() const override { return inner_->format(); }
  std::size_t read(io::AudioBlock& block, std::size_t max_frames) override { return inner_->read(block, max_frames); }

 private:
  std::unique_ptr<io::AudioSource> inner_;
};

std::vector<std::string> scan_paths(const scan::ScanOptions& o) {
  std::ostringstream out;
  std::ostringstream err;
  auto log = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_mt>(err));
  auto w = report::make_writer(report::Format::ndjson, out);
  scan::run_scan(o, model::RuleModel{}, *w, *log, nullptr);
  std::vector<std::string> paths;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) paths.push_back(ordered_json::parse(line)["path"]);
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

TEST_CASE("quick segments: deterministic, inside the file, apart, and none for short files", "[quick]") {
  const QuickParams p;  // 6 x 5 s
  const int rate = 44100;
  CHECK(quick_segments(59 * rate, rate, p).empty());  // under twice the budget: whole file
  const std::int64_t total = 240LL * rate;
  const auto segs = quick_segments(total, rate, p);
  REQUIRE(segs.size() == 6);
  CHECK(segs == quick_segments(total, rate, p));
  for (std::size_t i = 0; i < segs.size(); ++i) {
    CHECK(segs[i].frames == 5 * rate);
    CHECK(segs[i].start >= 0);
    CHECK(segs[i].start + segs[i].frames <= total);
    if (i > 0) CHECK(segs[i].start >= segs[i - 1].start + segs[i - 1].frames);
  }
  // Centred in sixths: the first segment is around 20 s, not at the very start (intros).
  CHECK(segs[0].start == 20 * rate - 5 * rate / 2);
  QuickParams bad;
  bad.segments = 0;
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
  bad = QuickParams{};
  bad.segment_s = 0.1;
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
}

TEST_CASE("Stft::reset drops the partial frame, so no frame straddles a join", "[quick]") {
  dsp::FftCache ffts;
  dsp::Stft stft(dsp::StftParams{2048, 2048}, 44100, ffts);
  CountingSink sink;
  const std::vector<float> x(3000, 0.1F);
  stft.push(x, sink);  // 1 frame, 952 samples pending
  CHECK(sink.frames == 1);
  stft.reset();
  stft.push(std::span<const float>(x.data(), 1100), sink);  // without reset, 952 + 1100 >= 2048
  CHECK(sink.frames == 1);
  stft.push(std::span<const float>(x.data(), 948), sink);  // 1100 + 948 = 2048
  CHECK(sink.frames == 2);
}

TEST_CASE("quick mode reads only the segments and finds the same cutoff as a full pass", "[quick]") {
  const int rate = 44100;
  const auto x = testsig::brickwall(testsig::pink(static_cast<std::size_t>(rate) * 90, 0.3, 11), rate, 16000, 255);
  const auto ints = testsig::quantise(x, 16);
  dsp::FftCache ffts;
  AnalysisOptions full;
  AnalysisOptions quick;
  quick.quick = true;
  auto src_full = io::memory_source_int(testsig::pcm_format(rate, 1, 16), ints);
  auto src_quick = io::memory_source_int(testsig::pcm_format(rate, 1, 16), ints);
  const FileFeatures f = extract_features(*src_full, ffts, full);
  const FileFeatures q = extract_features(*src_quick, ffts, quick);
  CHECK(f.quick_segments == 0);
  CHECK(q.quick_segments == 6);
  CHECK(q.frames_read == 6 * 5 * rate);
  CHECK(q.duration_s() == Approx(90.0));  // from the header: the file's length, not what was read
  CHECK(q.analysed_s() == Approx(30.0));
  CHECK(q.cutoff.frames == 6 * (5 * rate / 2048));  // whole frames per segment, none across joins
  REQUIRE(q.cutoff.cutoff_hz);
  CHECK(*q.cutoff.cutoff_hz == Approx(*f.cutoff.cutoff_hz).margin(100));
  CHECK(*q.bit_depth.effective_bits == 16);

  Unseekable plain(io::memory_source_int(testsig::pcm_format(rate, 1, 16), ints));
  const FileFeatures whole = extract_features(plain, ffts, quick);
  CHECK(whole.quick_segments == 0);
  CHECK(whole.frames_read == static_cast<std::int64_t>(ints.size()));
}

TEST_CASE("quick mode seeks in real FLAC and WAV files", "[quick]") {
  TempDir d;
  const int rate = 44100;
  const auto ints = testsig::quantise(
      testsig::brickwall(testsig::pink(static_cast<std::size_t>(rate) * 70, 0.3, 12), rate, 15000, 255), 16);
  testsig::write_audio(d / "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, rate, 1, ints);
  testsig::write_audio(d / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 1, ints);
  dsp::FftCache ffts;
  AnalysisOptions quick;
  quick.quick = true;
  for (const char* name : {"a.flac", "a.wav"}) {
    auto src = io::open_file(d / name);
    CHECK(src->seekable());
    const FileFeatures q = extract_features(*src, ffts, quick);
    auto whole = io::open_file(d / name);
    const FileFeatures f = extract_features(*whole, ffts, AnalysisOptions{});
    CHECK(q.quick_segments == 6);
    CHECK(q.frames_read == 30 * rate);
    REQUIRE(q.cutoff.cutoff_hz);
    REQUIRE(f.cutoff.cutoff_hz);
    CHECK(*q.cutoff.cutoff_hz == Approx(*f.cutoff.cutoff_hz).margin(100));
    CHECK(*q.cutoff.cutoff_hz == Approx(15000).margin(600));
  }
  const auto v = analyze_path(d / "a.flac", ffts, quick, model::RuleModel{});
  const auto j = report::to_json(v);
  CHECK(j["verdict"] == "lossy");
  CHECK(j["quick"]["segments"] == 6);
  CHECK(j["format"]["duration_s"] == 70.0);
}

TEST_CASE("FNV-1a 64 matches the reference values", "[shard]") {
  CHECK(scan::fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(scan::fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(scan::fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("shard K/N parsing: K counts from 1", "[shard]") {
  const auto s = scan::Shard::parse("2/5");
  CHECK(s.index == 2);
  CHECK(s.count == 5);
  CHECK(scan::Shard::parse("1/1").count == 1);
  for (const char* bad : {"0/3", "4/3", "3", "/3", "1/", "a/b", "1/0", "-1/3", "1/3x", "1/99999999"}) {
    CHECK_THROWS_AS(scan::Shard::parse(bad), std::invalid_argument);
  }
}

TEST_CASE("shards partition the input set exactly: union is everything, no overlap", "[shard]") {
  TempDir d;
  std::filesystem::create_directories(d / "sub");
  for (int i = 0; i < 30; ++i) testsig::write_text(d / ((i % 2 ? "sub/" : "") + std::to_string(i) + ".flac"), "x");
  scan::ScanOptions o;
  o.inputs = {d.str(), d / "missing.flac"};
  const auto all = scan_paths(o);
  REQUIRE(all.size() == 31);
  std::multiset<std::string> seen;
  std::size_t nonempty = 0;
  for (int k = 1; k <= 4; ++k) {
    o.shard = scan::Shard{k, 4};
    const auto part = scan_paths(o);
    nonempty += part.empty() ? 0 : 1;
    for (const auto& p : part) {
      CHECK(o.shard.contains(p));
      seen.insert(p);
    }
  }
  CHECK(std::vector<std::string>(seen.begin(), seen.end()) == all);  // every path once
  CHECK(nonempty == 4);
}

TEST_CASE("file lists: newline or NUL separated, bytes kept, empty entries skipped", "[inputs]") {
  const std::string nul_list = std::string("a b.flac\0line\nbreak.flac\0bad\xff.flac\0\0", 36);
  std::istringstream in(nul_list);
  scan::PathListReader r(in, '\0');
  std::vector<std::string> got;
  while (auto p = r.next()) got.push_back(*p);
  CHECK(got == std::vector<std::string>{"a b.flac", "line\nbreak.flac", "bad\xff.flac"});

  std::istringstream lines("x.flac\n\n y.flac\nlast.flac");
  scan::PathListReader lr(lines, '\n');
  got.clear();
  while (auto p = lr.next()) got.push_back(*p);
  CHECK(got == std::vector<std::string>{"x.flac", " y.flac", "last.flac"});
}

TEST_CASE("a scan reads --files-from after the paths; --exclude matches paths and names", "[inputs]") {
  TempDir d;
  std::filesystem::create_directories(d / "Podcasts");
  std::filesystem::create_directories(d / "Music");
  for (const char* n : {"Podcasts/p.flac", "Music/a.flac", "Music/b.tmp.flac", "Music/c.flac"}) {
    testsig::write_text(d / n, "x");
  }
  scan::ScanOptions o;
  o.inputs = {d.str()};
  o.discover.excludes = {"Podcasts", "*.tmp.flac"};
  CHECK(scan_paths(o) == std::vector<std::string>{d / "Music/a.flac", d / "Music/c.flac"});
  o.discover.excludes = {d / "Music/*"};  // a whole-path glob; * also matches '/'
  CHECK(scan_paths(o) == std::vector<std::string>{d / "Podcasts/p.flac"});

  std::istringstream list(d / "Music/a.flac" + '\0' + d / "Podcasts" + '\0');
  scan::ScanOptions l;
  l.files_from = &list;
  l.files_from_separator = '\0';
  CHECK(scan_paths(l) == std::vector<std::string>{d / "Music/a.flac", d / "Podcasts/p.flac"});
}

TEST_CASE("the lossy threshold moves the flag, not p_lossy", "[model]") {
  const auto x = testsig::brickwall(testsig::pink(44100, 0.3, 3), 44100, 16000, 255);
  const FileFeatures f = testsig::features_of(x, 44100);
  const auto base = model::RuleModel{}.decide(f);
  REQUIRE(base.p_lossy);
  REQUIRE(base.verdict == "lossy");
  model::RuleParams strict;
  strict.lossy_threshold = 1.0;
  const auto d = model::RuleModel(strict).decide(f);
  CHECK(d.p_lossy == base.p_lossy);
  if (*base.p_lossy < 1.0) CHECK(d.verdict == "lossless");
  model::RuleParams bad;
  bad.lossy_threshold = 0.0;
  CHECK_THROWS_AS(model::RuleModel(bad), std::invalid_argument);
}
