#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "fakeless/dsp/fft.hpp"
#include "fakeless/features/frame_period.hpp"
#include "signals.hpp"

using fakeless::features::frame_period;

namespace {

// A stand-in for a frame-based decoder's output: below 12 kHz pink noise; above it, per
// frame of `frame` samples, 60 sinusoids at random frequencies (12-20 kHz), amplitudes and
// phases held for the whole frame, cross-faded into the next frame's set over `overlap`
// samples (as a transform codec's overlapping windows do).
std::vector<float> framed(std::size_t n, int rate, std::size_t frame, std::size_t overlap, unsigned seed) {
  auto x = testsig::brickwall(testsig::pink(n, 0.3, seed), rate, 11000.0, 255);
  std::mt19937 rng(seed + 7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  struct Tone {
    double f, a, ph;
  };
  auto draw = [&] {
    std::vector<Tone> t(60);
    for (auto& v : t) v = {12000.0 + 8000.0 * u(rng), 0.004 * (0.2 + u(rng)), 2 * std::numbers::pi * u(rng)};
    return t;
  };
  auto value = [&](const std::vector<Tone>& t, std::size_t i) {
    double s = 0.0;
    for (const auto& v : t) s += v.a * std::sin(2 * std::numbers::pi * v.f * static_cast<double>(i) / rate + v.ph);
    return s;
  };
  auto cur = draw();
  auto next = draw();
  for (std::size_t start = 0; start < n; start += frame) {
    for (std::size_t i = start; i < std::min(n, start + frame); ++i) {
      const std::size_t into = i - start;
      double y = value(cur, i);
      if (into + overlap >= frame) {  // the last `overlap` samples fade into the next frame
        const double g = static_cast<double>(into + overlap - frame) / static_cast<double>(overlap);
        y = std::cos(g * std::numbers::pi / 2) * y + std::sin(g * std::numbers::pi / 2) * value(next, i);
      }
      x[i] += static_cast<float>(y);
    }
    cur.swap(next);
    next = draw();
  }
  return x;
}

}  // namespace

TEST_CASE("frame_period: 20 ms framing stands out at 44.1 and 48 kHz, other framings do not", "[frame_period]") {
  fakeless::dsp::FftCache ffts;
  for (const int rate : {44100, 48000}) {
    const auto n = static_cast<std::size_t>(3 * rate);
    const auto p = static_cast<std::size_t>(rate / 50);
    const auto f20 = framed(n, rate, p, p / 8, 3);
    const auto r20 = frame_period(f20.data(), nullptr, n, rate, ffts);
    REQUIRE(r20.z);
    CHECK(r20.period == rate / 50);
    CHECK(*r20.z > 20.0);
    CHECK(*r20.strength > 5.0);
    // The same framing at 1024 samples (AAC's hop, 23.2 ms at 44.1 kHz) is not 20 ms.
    const auto f1024 = framed(n, rate, 1024, 128, 3);
    const auto r1024 = frame_period(f1024.data(), nullptr, n, rate, ffts);
    REQUIRE(r1024.z);
    CHECK(*r1024.z < 6.0);
    // Unframed noise across the whole band.
    const auto w = testsig::pink(n, 0.3, 5);
    const auto rw = frame_period(w.data(), nullptr, n, rate, ffts);
    REQUIRE(rw.z);
    CHECK(std::fabs(*rw.z) < 6.0);
  }
}

TEST_CASE("frame_period: stereo mixes both channels; null where it cannot measure", "[frame_period]") {
  fakeless::dsp::FftCache ffts;
  const int rate = 44100;
  const std::size_t n = 3 * rate;
  const auto a = framed(n, rate, 882, 110, 11);
  const auto silent = std::vector<float>(n, 0.0F);
  const auto st = frame_period(a.data(), silent.data(), n, rate, ffts);
  REQUIRE(st.z);
  CHECK(*st.z > 20.0);
  // 44,056 Hz has no whole 20 ms period; 8 kHz has no 12 kHz band; 0.3 s is too short.
  CHECK_FALSE(frame_period(a.data(), nullptr, n, 44056, ffts).z);
  CHECK_FALSE(frame_period(a.data(), nullptr, n, 8000, ffts).z);
  CHECK_FALSE(frame_period(a.data(), nullptr, 13230, rate, ffts).z);
  // Digital silence: every spectrum is the floor; no framing.
  const auto s = frame_period(silent.data(), nullptr, n, rate, ffts);
  CHECK((!s.z || std::fabs(*s.z) < 6.0));
}
