// Hostile inputs, table-driven: each must produce exactly the error code (or verdict) in
// its row, through the same decoder path as files (libsndfile over the bytes).
#include <catch2/catch.hpp>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <atomic>
#include <thread>

#include "fakeless/error.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/report/writers.hpp"
#include "fakeless/scan/scanner.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

#include <spdlog/sinks/null_sink.h>

using Bytes = std::vector<unsigned char>;

namespace {

void put_le(Bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xFF));
}
void put_be(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xFF));
}
void put_str(Bytes& b, const char* s) { b.insert(b.end(), s, s + std::strlen(s)); }

struct WavSpec {
  std::uint32_t channels = 2;
  std::uint32_t rate = 44100;
  std::uint32_t bits = 16;
  std::uint16_t format = 1;  // 1 PCM, 3 IEEE float
  Bytes data{};
  std::optional<std::uint32_t> data_size{};  // a lying data chunk length
};

Bytes wav(const WavSpec& w) {
  Bytes b;
  const std::uint32_t block = w.channels * w.bits / 8;
  Bytes body;
  put_str(body, "WAVEfmt ");
  put_le(body, 16, 4);
  put_le(body, w.format, 2);
  put_le(body, w.channels, 2);
  put_le(body, w.rate, 4);
  put_le(body, static_cast<std::uint64_t>(w.rate) * block, 4);
  put_le(body, block, 2);
  put_le(body, w.bits, 2);
  put_str(body, "data");
  put_le(body, w.data_size.value_or(static_cast<std::uint32_t>(w.data.size())), 4);
  body.insert(body.end(), w.data.begin(), w.data.end());
  put_str(b, "RIFF");
  put_le(b, body.size(), 4);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes pcm16_noise(std::size_t frames, int channels) {
  const auto x = testsig::quantise(testsig::pink(frames * static_cast<std::size_t>(channels), 0.3, 3), 16);
  Bytes d;
  for (const auto v : x) put_le(d, static_cast<std::uint16_t>(v >> 16), 2);
  return d;
}

Bytes float_samples(std::size_t n, float value) {
  Bytes d;
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  for (std::size_t i = 0; i < n; ++i) put_le(d, bits, 4);
  return d;
}

// A CAF file whose description claims `channels` channels per frame (a 32-bit field).
Bytes caf(std::uint32_t channels) {
  Bytes b;
  put_str(b, "caff");
  put_be(b, 1, 2);
  put_be(b, 0, 2);
  put_str(b, "desc");
  put_be(b, 32, 8);
  double rate = 44100.0;
  std::uint64_t rate_bits = 0;
  std::memcpy(&rate_bits, &rate, 8);
  put_be(b, rate_bits, 8);
  put_str(b, "lpcm");
  put_be(b, 0x2, 4);  // little-endian flag off -> big-endian signed integer
  put_be(b, 2ULL * channels, 4);
  put_be(b, 1, 4);
  put_be(b, channels, 4);
  put_be(b, 16, 4);
  put_str(b, "data");
  put_be(b, 4 + 4096, 8);
  put_be(b, 0, 4);  // edit count
  b.insert(b.end(), 4096, 0);
  return b;
}

Bytes real_flac() {
  testsig::TempDir d;
  const auto x = testsig::quantise(testsig::pink(44100 * 3 * 2, 0.3, 4), 16);
  testsig::write_audio(d / "x.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, x);
  std::ifstream in(d / "x.flac", std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes head(const Bytes& b, std::size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size()))); }

// The code of an error, or "ok:<verdict>".
std::string outcome(Bytes bytes) {
  static const fakeless::model::RuleModel model;
  fakeless::dsp::FftCache ffts;
  try {
    auto src = fakeless::io::open_bytes(std::move(bytes));
    return "ok:" + fakeless::analyze_source(*src, "x", ffts, {}, model).decision.verdict;
  } catch (const fakeless::Error& e) {
    return std::string(fakeless::to_string(e.code()));
  }
}

}  // namespace

TEST_CASE("hostile bytes: each produces its own error code and never crashes", "[hostile]") {
  const Bytes flac = real_flac();
  const Bytes second = pcm16_noise(44100, 2);
  Bytes random(65536);
  std::uint32_t state = 12345;
  for (auto& c : random) c = static_cast<unsigned char>((state = state * 1664525U + 1013904223U) >> 24);
  Bytes wrong_magic = wav({.data = second});
  std::memcpy(wrong_magic.data(), "RIFQ", 4);
  Bytes flac_magic = flac;
  flac_magic[3] = 'X';

  struct Row {
    const char* name;
    Bytes bytes;
    const char* expected;
  };
  const std::vector<Row> rows = {
      {"empty", {}, "empty_file"},
      {"flac: magic only", head(flac, 4), "not_audio"},
      {"flac: cut at 42 bytes (inside STREAMINFO)", head(flac, 42), "truncated"},
      {"flac: cut at 100 bytes", head(flac, 100), "truncated"},
      {"flac: cut at half", head(flac, flac.size() / 2), "truncated"},
      {"flac: last 7 bytes missing", head(flac, flac.size() - 7), "truncated"},
      {"flac: wrong magic", flac_magic, "not_audio"},
      {"wav: wrong magic", wrong_magic, "not_audio"},
      {"wav: cut in the data", head(wav({.data = second}), 60000), "truncated"},
      {"wav: 0 channels", wav({.channels = 0, .data = second}), "malformed"},
      {"wav: 65535 channels", wav({.channels = 65535, .data = second}), "malformed"},
      {"caf: 2^31 channels", caf(0x80000000U), "malformed"},
      {"wav: 0 Hz", wav({.rate = 0, .data = second}), "malformed"},
      {"wav: 4 GHz", wav({.rate = 4000000000U, .data = second}), "malformed"},
      {"wav: 1 Hz", wav({.rate = 1, .data = second}), "unsupported_format"},
      {"wav: 0 bits", wav({.bits = 0, .data = second}), "malformed"},
      {"wav: NaN floats", wav({.bits = 32, .format = 3, .data = float_samples(88200, std::nanf(""))}),
       "invalid_samples"},
      {"wav: infinite floats",
       wav({.bits = 32, .format = 3, .data = float_samples(88200, std::numeric_limits<float>::infinity())}),
       "invalid_samples"},
      {"wav: one frame", wav({.data = head(second, 4)}), "ok:uncertain"},
      {"wav: header claims 3 hours, holds 1 s", wav({.data = second, .data_size = 44100U * 4 * 3600 * 3}),
       "truncated"},
      {"wav: streaming placeholder length", wav({.data = second, .data_size = 0xFFFFFFFFU}), "ok:lossless"},
      {"random bytes", random, "not_audio"},
      {"a valid file, for contrast", wav({.data = second}), "ok:lossless"},
  };
  for (const auto& row : rows) {
    CAPTURE(row.name);
    CHECK(outcome(row.bytes) == row.expected);
  }
}

TEST_CASE("a file that shrinks while it is read is reported truncated; one that grows is read as opened",
          "[hostile]") {
  testsig::TempDir d;
  const auto pcm = testsig::quantise(testsig::pink(44100 * 4 * 2, 0.3, 8), 16);
  testsig::write_audio(d / "shrink.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, pcm);
  testsig::write_audio(d / "grow.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, pcm);

  auto shrink = fakeless::io::open_file(d / "shrink.wav");
  fakeless::io::AudioBlock block;
  REQUIRE(shrink->read(block, 4096) == 4096);
  std::filesystem::resize_file(d / "shrink.wav", 100000);
  try {
    while (shrink->read(block, 4096) > 0) {
    }
    FAIL("no error after the file shrank");
  } catch (const fakeless::Error& e) {
    CHECK(e.code() == fakeless::ErrorCode::truncated);
  }

  auto grow = fakeless::io::open_file(d / "grow.wav");
  REQUIRE(grow->read(block, 4096) == 4096);
  {
    std::ofstream app(d / "grow.wav", std::ios::binary | std::ios::app);
    app << std::string(1 << 20, '\x7f');
  }
  std::size_t frames = 4096;
  while (const auto n = grow->read(block, 4096)) frames += n;
  CHECK(frames == 44100 * 4);
}

TEST_CASE("hostile paths: the scan completes and reports each one", "[hostile]") {
  testsig::TempDir d;
  const auto pcm = testsig::quantise(testsig::pink(44100, 0.3, 8), 16);
  testsig::write_audio(d / "good.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, pcm);
  REQUIRE(::mkfifo((d / "fifo.flac").c_str(), 0600) == 0);
  std::filesystem::create_directory(d / "dir.flac");
  std::filesystem::copy_file(d / "good.flac", d / "bad\xff\xfename.flac");
  std::filesystem::copy_file(d / "good.flac", d / "noperm.flac");
  ::chmod((d / "noperm.flac").c_str(), 0);

  fakeless::scan::ScanOptions o;
  // A directory named like a file is a directory: walked, and here empty.
  o.inputs = {d / "fifo.flac", d / "dir.flac", d / "bad\xff\xfename.flac", d / "noperm.flac", d / "good.flac",
              d / "missing.flac"};
  o.jobs = 2;
  o.ordered = true;
  std::ostringstream out;
  auto w = fakeless::report::make_writer(fakeless::report::Format::ndjson, out);
  auto log = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
  const auto stats = fakeless::scan::run_scan(o, fakeless::model::RuleModel{}, *w, *log);
  CHECK(stats.files == 5);
  std::vector<std::string> got;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::ordered_json::parse(line);
    got.push_back(j["status"] == "ok" ? "ok:" + j["verdict"].get<std::string>() : j["error"]["code"].get<std::string>());
  }
  const bool root = ::geteuid() == 0;
  CHECK(got == std::vector<std::string>{"not_regular_file", "ok:lossless",
                                        root ? "ok:lossless" : "permission_denied", "ok:lossless", "not_found"});
  CHECK(stats.exit_status() == 4);
}

TEST_CASE("threads opening good and bad files at once keep their own descriptors", "[hostile]") {
  // libsndfile 1.2.0 closes the descriptor sf_open_fd failed on even when told not to;
  // closing it again could close another thread's file. Opens go through virtual I/O on
  // our own descriptor instead; this hammers that path from several threads.
  testsig::TempDir d;
  testsig::write_audio(d / "good.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
                       testsig::quantise(testsig::pink(8192, 0.3, 5), 16));
  testsig::write_text(d / "bad.flac", "xx");
  std::atomic<int> wrong{0};
  auto hammer = [&](const std::string& path, bool expect_ok) {
    fakeless::dsp::FftCache ffts;
    const fakeless::model::RuleModel model;
    for (int i = 0; i < 150; ++i) {
      if (fakeless::analyze_path(path, ffts, {}, model).ok() != expect_ok) ++wrong;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(hammer, t % 2 == 0 ? d / "good.flac" : d / "bad.flac", t % 2 == 0);
  for (auto& t : threads) t.join();
  CHECK(wrong == 0);
}
