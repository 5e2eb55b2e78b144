#include <catch2/catch.hpp>
#include <sndfile.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "fakeless/error.hpp"
#include "fakeless/report/verdict.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using fakeless::ErrorCode;
using testsig::TempDir;

namespace {

ErrorCode error_of(const std::string& path) {
  try {
    auto src = fakeless::io::open_file(path);
    fakeless::io::AudioBlock b;
    while (src->read(b, 4096) > 0) {
    }
  } catch (const fakeless::Error& e) {
    return e.code();
  }
  FAIL("no error for " << path);
  return ErrorCode::internal_error;
}

std::vector<std::int32_t> interleave(int channels, std::size_t frames, int bits) {
  std::vector<float> x(frames * static_cast<std::size_t>(channels));
  const auto n = testsig::white(x.size(), 0.3, 7);
  std::copy(n.begin(), n.end(), x.begin());
  return testsig::quantise(x, bits);
}

}  // namespace

TEST_CASE("every container and depth libsndfile writes reads back exactly, in bounded blocks", "[io]") {
  struct Fmt {
    int sf;
    const char* container;
    const char* encoding;
    int bits;
  };
  const auto f = GENERATE(Fmt{SF_FORMAT_WAV | SF_FORMAT_PCM_16, "wav", "pcm_s16", 16},
                          Fmt{SF_FORMAT_WAV | SF_FORMAT_PCM_24, "wav", "pcm_s24", 24},
                          Fmt{SF_FORMAT_WAV | SF_FORMAT_PCM_32, "wav", "pcm_s32", 32},
                          Fmt{SF_FORMAT_WAV | SF_FORMAT_PCM_U8, "wav", "pcm_u8", 8},
                          Fmt{SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "flac", "pcm_s16", 16},
                          Fmt{SF_FORMAT_FLAC | SF_FORMAT_PCM_24, "flac", "pcm_s24", 24},
                          Fmt{SF_FORMAT_FLAC | SF_FORMAT_PCM_S8, "flac", "pcm_s8", 8},
                          Fmt{SF_FORMAT_AIFF | SF_FORMAT_PCM_16, "aiff", "pcm_s16", 16},
                          Fmt{SF_FORMAT_AIFF | SF_FORMAT_PCM_24, "aiff", "pcm_s24", 24},
                          Fmt{SF_FORMAT_W64 | SF_FORMAT_PCM_16, "w64", "pcm_s16", 16},
                          Fmt{SF_FORMAT_RF64 | SF_FORMAT_PCM_24, "rf64", "pcm_s24", 24});
  const int channels = GENERATE(1, 2, 6, 8);
  const int rate = GENERATE(8000, 44100, 96000, 384000);
  CAPTURE(f.container, f.encoding, channels, rate);
  TempDir dir;
  const std::string path = dir / "x.audio";
  const std::size_t frames = 10007;
  const auto pcm = interleave(channels, frames, f.bits);
  testsig::write_audio(path, f.sf, rate, channels, pcm);

  auto src = fakeless::io::open_file(path);
  const auto& fmt = src->format();
  CHECK(fmt.container == f.container);
  CHECK(fmt.encoding == f.encoding);
  CHECK(fmt.bits == f.bits);
  CHECK(fmt.channels == channels);
  CHECK(fmt.sample_rate == rate);
  CHECK(fmt.frames == static_cast<std::int64_t>(frames));
  CHECK_FALSE(fmt.is_float);

  fakeless::io::AudioBlock block;
  std::vector<std::int32_t> back;
  std::size_t n = 0;
  while ((n = src->read(block, 1000)) > 0) {
    REQUIRE(n <= 1000);
    REQUIRE(block.samples.size() == 1000 * static_cast<std::size_t>(channels));  // never grows with the file
    back.insert(back.end(), block.ints.begin(), block.ints.begin() + static_cast<std::ptrdiff_t>(n * channels));
    for (std::size_t i = 0; i < n * static_cast<std::size_t>(channels); ++i) {
      REQUIRE(block.samples[i] == static_cast<float>(block.ints[i]) / 2147483648.0F);
    }
  }
  CHECK(back == pcm);
}

TEST_CASE("float WAV reads as float and NaN or Inf samples are an invalid_samples error", "[io]") {
  TempDir dir;
  std::vector<float> x = testsig::white(44100, 0.3);
  testsig::write_float_wav(dir / "ok.wav", 44100, 1, x);
  auto src = fakeless::io::open_file(dir / "ok.wav");
  CHECK(src->format().is_float);
  CHECK(src->format().encoding == "float");
  CHECK(src->format().bits == 32);

  x[30000] = std::numeric_limits<float>::quiet_NaN();
  testsig::write_float_wav(dir / "nan.wav", 44100, 1, x);
  fakeless::dsp::FftCache ffts;
  const auto v = fakeless::analyze_path(dir / "nan.wav", ffts, {}, fakeless::model::RuleModel{});
  REQUIRE_FALSE(v.ok());
  CHECK(*v.error == ErrorCode::invalid_samples);
}

TEST_CASE("bad files give typed errors, never a crash or a hang", "[io]") {
  TempDir dir;
  CHECK(error_of(dir / "missing.flac") == ErrorCode::not_found);

  testsig::write_text(dir / "empty.flac", "");
  CHECK(error_of(dir / "empty.flac") == ErrorCode::empty_file);

  testsig::write_text(dir / "text.flac", "not audio at all\n");
  CHECK(error_of(dir / "text.flac") == ErrorCode::not_audio);

  std::filesystem::create_directory(dir / "dir.flac");
  CHECK(error_of(dir / "dir.flac") == ErrorCode::not_regular_file);

  REQUIRE(::mkfifo((dir / "fifo.flac").c_str(), 0600) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(error_of(dir / "fifo.flac") == ErrorCode::not_regular_file);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));

  // A FLAC cut in half: the decoder loses sync or the stream ends early.
  testsig::write_audio(dir / "full.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2,
                       interleave(2, 44100 * 3, 16));
  const auto size = std::filesystem::file_size(dir / "full.flac");
  std::filesystem::copy_file(dir / "full.flac", dir / "cut.flac");
  std::filesystem::resize_file(dir / "cut.flac", size / 2);
  const ErrorCode cut = error_of(dir / "cut.flac");
  CHECK((cut == ErrorCode::truncated || cut == ErrorCode::decode_failed));

  // A WAV whose header claims 65535 channels.
  std::string wav = "RIFF";
  auto u32 = [&](std::uint32_t v) { for (int i = 0; i < 4; ++i) wav += static_cast<char>((v >> (8 * i)) & 0xFF); };
  auto u16 = [&](std::uint16_t v) { for (int i = 0; i < 2; ++i) wav += static_cast<char>((v >> (8 * i)) & 0xFF); };
  u32(36 + 64);
  wav += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(65535);
  u32(44100);
  u32(44100 * 2 * 65535U);
  u16(static_cast<std::uint16_t>(2 * 65535));
  u16(16);
  wav += "data";
  u32(64);
  wav += std::string(64, '\0');
  testsig::write_text(dir / "ch.wav", wav);
  fakeless::dsp::FftCache ffts;
  const auto v = fakeless::analyze_path(dir / "ch.wav", ffts, {}, fakeless::model::RuleModel{});
  CHECK_FALSE(v.ok());
}

TEST_CASE("unsupported rates and channel counts are rejected naming the value", "[io]") {
  auto fmt = testsig::pcm_format(1000, 1, 16);
  CHECK_THROWS_WITH(fakeless::io::validate_format(fmt), Catch::Contains("1000"));
  fmt = testsig::pcm_format(44100, 65, 16);
  CHECK_THROWS_WITH(fakeless::io::validate_format(fmt), Catch::Contains("65"));
}

TEST_CASE("the same PCM as FLAC -0, FLAC -8, WAV and AIFF gives identical verdicts and numbers", "[io][invariance]") {
  TempDir dir;
  const int rate = 44100;
  const std::size_t frames = 44100 * 5;
  // A stereo mix: a wall at 16 kHz on one half, full-band on the other, so every number
  // (cutoff, sharpness, stability, bandwidth) is exercised.
  auto left = testsig::brickwall(testsig::pink(frames, 0.3, 11), rate, 16000, 255);
  auto right = testsig::brickwall(testsig::pink(frames, 0.3, 12), rate, 16000, 255);
  std::vector<float> x(frames * 2);
  for (std::size_t i = 0; i < frames; ++i) {
    x[2 * i] = left[i];
    x[2 * i + 1] = right[i];
  }
  const auto pcm = testsig::quantise(x, 16);
  testsig::write_audio(dir / "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, rate, 2, pcm, 0.0);
  testsig::write_audio(dir / "b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, rate, 2, pcm, 1.0);
  testsig::write_audio(dir / "c.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 2, pcm);
  testsig::write_audio(dir / "d.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, rate, 2, pcm);
  REQUIRE(std::filesystem::file_size(dir / "a.flac") != std::filesystem::file_size(dir / "b.flac"));

  fakeless::dsp::FftCache ffts;
  std::vector<std::string> dumps;
  for (const char* name : {"a.flac", "b.flac", "c.wav", "d.aiff"}) {
    auto v = fakeless::analyze_path(dir / name, ffts, {}, fakeless::model::RuleModel{});
    REQUIRE(v.ok());
    CHECK(v.decision.verdict == "lossy");
    auto j = fakeless::report::to_json(v);
    j.erase("path");
    j.erase("elapsed_ms");
    j["format"].erase("container");
    dumps.push_back(j.dump());
  }
  CHECK(dumps[0] == dumps[1]);
  CHECK(dumps[0] == dumps[2]);
  CHECK(dumps[0] == dumps[3]);
}
