#include <FLAC/stream_encoder.h>
#include <catch2/catch.hpp>
#include <sndfile.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

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

// A FLAC file written with libFLAC's own encoder (any depth it takes, 4 to 32 bits, where
// libsndfile writes only 8, 16 and 24). pcm: left-justified, interleaved.
void write_flac(const std::string& path, int rate, int channels, int bits, const std::vector<std::int32_t>& pcm,
                unsigned blocksize = 4096) {
  FLAC__StreamEncoder* enc = FLAC__stream_encoder_new();
  REQUIRE(enc != nullptr);
  FLAC__stream_encoder_set_channels(enc, static_cast<unsigned>(channels));
  FLAC__stream_encoder_set_bits_per_sample(enc, static_cast<unsigned>(bits));
  FLAC__stream_encoder_set_sample_rate(enc, static_cast<unsigned>(rate));
  FLAC__stream_encoder_set_blocksize(enc, blocksize);
  FLAC__stream_encoder_set_compression_level(enc, 5);
  FLAC__stream_encoder_set_streamable_subset(enc, false);  // 32 bits, any block size
  REQUIRE(FLAC__stream_encoder_init_file(enc, path.c_str(), nullptr, nullptr) == FLAC__STREAM_ENCODER_INIT_STATUS_OK);
  std::vector<FLAC__int32> right(pcm.size());
  for (std::size_t i = 0; i < pcm.size(); ++i) right[i] = pcm[i] >> (32 - bits);
  REQUIRE(FLAC__stream_encoder_process_interleaved(enc, right.data(),
                                                   static_cast<unsigned>(pcm.size() / static_cast<std::size_t>(channels))));
  REQUIRE(FLAC__stream_encoder_finish(enc));
  FLAC__stream_encoder_delete(enc);
}

// All the samples of a source, read in blocks of `block` frames.
std::vector<std::int32_t> read_all(fakeless::io::AudioSource& src, std::size_t block) {
  fakeless::io::AudioBlock b;
  std::vector<std::int32_t> out;
  while (const std::size_t n = src.read(b, block)) {
    out.insert(out.end(), b.ints.begin(), b.ints.begin() + static_cast<std::ptrdiff_t>(n * static_cast<std::size_t>(b.channels)));
  }
  return out;
}

}  // namespace

TEST_CASE("FLAC at 12, 20 and 32 bits (depths libsndfile cannot read) decodes exactly", "[io]") {
  const int bits = GENERATE(12, 20, 32);
  const int channels = GENERATE(1, 2, 3);
  CAPTURE(bits, channels);
  TempDir dir;
  const std::string path = dir / "x.flac";
  const auto pcm = interleave(channels, 20011, std::min(bits, 24));  // quantise() goes to 24 bits at most
  std::vector<std::int32_t> exact = pcm;
  if (bits < 24) {
    for (auto& v : exact) v = static_cast<std::int32_t>(static_cast<std::uint32_t>(v) & ~((1U << (32 - bits)) - 1U));
  }
  write_flac(path, 48000, channels, bits, exact);
  auto src = fakeless::io::open_file(path);
  CHECK(src->format().container == "flac");
  CHECK(src->format().encoding == "pcm_s" + std::to_string(bits));
  CHECK(src->format().bits == bits);
  CHECK(src->format().frames == 20011);
  fakeless::io::AudioBlock b;
  const std::size_t n = src->read(b, 20011);
  REQUIRE(n == 20011);
  CHECK(std::vector<std::int32_t>(b.ints.begin(), b.ints.end()) == exact);
  for (std::size_t i = 0; i < b.ints.size(); ++i) REQUIRE(b.samples[i] == static_cast<float>(b.ints[i]) / 2147483648.0F);
  CHECK(src->read(b, 100) == 0);
}

TEST_CASE("FLAC reads the same in any block size and seeks to the exact sample", "[io]") {
  TempDir dir;
  const std::string path = dir / "x.flac";
  const std::size_t frames = 44100 * 2 + 17;
  const auto pcm = interleave(2, frames, 16);
  write_flac(path, 44100, 2, 16, pcm, 1152);
  for (const std::size_t block : {1UL, 777UL, 1152UL, 4096UL, 100000UL}) {
    CAPTURE(block);
    auto src = fakeless::io::open_file(path);
    CHECK(read_all(*src, block) == pcm);
  }
  auto src = fakeless::io::open_file(path);
  REQUIRE(src->seekable());
  for (const std::size_t at : {0UL, 1UL, 1151UL, 1152UL, 50000UL, frames - 1000, frames - 1, frames}) {
    CAPTURE(at);
    src->seek(static_cast<std::int64_t>(at));
    fakeless::io::AudioBlock b;
    const std::size_t n = src->read(b, 1000);
    REQUIRE(n == std::min<std::size_t>(1000, frames - at));
    CHECK(std::equal(b.ints.begin(), b.ints.begin() + static_cast<std::ptrdiff_t>(2 * n),
                     pcm.begin() + static_cast<std::ptrdiff_t>(2 * at)));
  }
}

TEST_CASE("a FLAC with damaged bytes in the middle is a decode error saying what the decoder found", "[io]") {
  TempDir dir;
  testsig::write_audio(dir / "good.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, interleave(2, 44100 * 3, 16));
  std::vector<char> bytes(std::filesystem::file_size(dir / "good.flac"));
  std::ifstream(dir / "good.flac", std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  std::ofstream(dir / "bad.flac", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  try {
    auto src = fakeless::io::open_file(dir / "bad.flac");
    read_all(*src, 4096);
    FAIL("no error for the damaged file");
  } catch (const fakeless::Error& e) {
    CHECK(e.code() == ErrorCode::decode_failed);
    CHECK_THAT(e.what(), Catch::Contains("FLAC") && Catch::Contains("decoder error at frame"));
  }
}

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
