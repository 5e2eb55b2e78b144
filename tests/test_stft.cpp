#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>
#include <utility>
#include <vector>

#include "fakeless/dsp/stft.hpp"

using fakeless::dsp::FftCache;
using fakeless::dsp::SpectrumFrame;
using fakeless::dsp::Stft;
using fakeless::dsp::StftParams;

namespace {
struct Collect final : fakeless::dsp::FrameConsumer {
  std::vector<std::vector<float>> frames;
  std::vector<double> ms;
  void consume(const SpectrumFrame& f) override {
    frames.emplace_back(f.power.begin(), f.power.end());
    ms.push_back(f.mean_square);
  }
};

// The frames of x pushed in one go, and pushed in pieces of 333 samples.
std::pair<Collect, Collect> whole_and_in_pieces(const StftParams& p, int rate, const std::vector<float>& x) {
  FftCache cache;
  Collect whole;
  Stft a(p, rate, cache);
  a.push(x, whole);
  Collect pieces;
  Stft b(p, rate, cache);
  for (std::size_t pos = 0; pos < x.size(); pos += 333) {
    const std::size_t n = std::min<std::size_t>(333, x.size() - pos);
    b.push(std::span<const float>(x.data() + pos, n), pieces);
  }
  return {std::move(whole), std::move(pieces)};
}
}  // namespace

TEST_CASE("frame size is ~46 ms rounded to a power of two at every rate", "[stft]") {
  CHECK(StftParams::for_rate(8000).fft_size == 512);
  CHECK(StftParams::for_rate(22050).fft_size == 1024);
  CHECK(StftParams::for_rate(44100).fft_size == 2048);
  CHECK(StftParams::for_rate(48000).fft_size == 2048);
  CHECK(StftParams::for_rate(96000).fft_size == 4096);
  CHECK(StftParams::for_rate(192000).fft_size == 8192);
  CHECK(StftParams::for_rate(384000).fft_size == 16384);
  CHECK(StftParams::for_rate(44100).hop == 2048);
}

TEST_CASE("invalid STFT parameters are rejected with the value named", "[stft]") {
  StftParams p;
  p.fft_size = 1000;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("1000"));
  p.fft_size = 1024;
  p.hop = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("hop"));
}

TEST_CASE("a full-scale sine on a bin centre reads 0 dB and mean square 1/2", "[stft]") {
  const int rate = 44100;
  StftParams p = StftParams::for_rate(rate);
  p.hop = p.fft_size / 2;
  FftCache cache;
  Stft stft(p, rate, cache);
  const int bin = 100;
  const double f = bin * static_cast<double>(rate) / p.fft_size;
  std::vector<float> x(static_cast<std::size_t>(p.fft_size) * 4);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(2 * std::numbers::pi * f * i / rate));
  Collect c;
  stft.push(x, c);
  REQUIRE(c.frames.size() == 7);  // (4N - N) / (N/2) + 1
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    CHECK(10 * std::log10(c.frames[i][bin]) == Approx(0.0).margin(0.01));
    CHECK(10 * std::log10(c.frames[i][bin + 1]) == Approx(-6.02).margin(0.05));  // Hann side bin
    CHECK(c.frames[i][bin + 10] < 1e-6F);
    CHECK(c.ms[i] == Approx(0.5).epsilon(0.001));
  }
}

TEST_CASE("frames are cut the same way whatever the block size pushed", "[stft]") {
  const int rate = 48000;
  StftParams p = StftParams::for_rate(rate);
  p.hop = 1000;  // any hop, overlapping or not
  std::vector<float> x(20000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.01 * static_cast<double>(i * i % 9973)));
  const auto [whole, pieces] = whole_and_in_pieces(p, rate, x);
  REQUIRE(whole.frames.size() == pieces.frames.size());
  REQUIRE(whole.frames.size() == (x.size() - 2048) / 1000 + 1);
  CHECK(whole.frames == pieces.frames);
}

TEST_CASE("frames read straight from the input and through the pending buffer are identical", "[stft]") {
  // hop >= N: a push holding whole frames windows them in place (and several frames of one
  // push are summed side by side); pushes of 333 samples go through the pending buffer.
  const int rate = 44100;
  for (const int hop_frames : {1, 3}) {
    StftParams p = StftParams::for_rate(rate);
    p.hop = hop_frames * p.fft_size;
    std::vector<float> x(40000);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(std::sin(0.01 * static_cast<double>(i * i % 9973)));
    }
    const auto [whole, pieces] = whole_and_in_pieces(p, rate, x);
    REQUIRE(whole.frames.size() == (x.size() - 2048) / static_cast<std::size_t>(p.hop) + 1);
    CHECK(whole.frames == pieces.frames);
    CHECK(whole.ms == pieces.ms);  // bit for bit
  }
}

TEST_CASE("a stream shorter than one frame yields no frame", "[stft]") {
  FftCache cache;
  Stft s(StftParams::for_rate(44100), 44100, cache);
  Collect c;
  std::vector<float> x(2047, 0.5F);
  s.push(x, c);
  CHECK(c.frames.empty());
  CHECK(s.frames_emitted() == 0);
}
