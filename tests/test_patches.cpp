#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "fakeless/features/cutoff.hpp"
#include "fakeless/features/patches.hpp"

using namespace fakeless;

namespace {
constexpr int kRate = 44100;
constexpr int kN = 2048;

dsp::StftParams stft_params() {
  dsp::StftParams p;
  p.fft_size = kN;
  p.hop = kN;
  return p;
}

// Feeds `count` frames from index `first`: flat power `level` (per bin) and frame power
// energy(i).
template <class Energy>
void feed(features::PatchSampler& s, std::int64_t first, std::int64_t count, float level, Energy energy) {
  std::vector<float> p(kN / 2 + 1, level);
  for (std::int64_t i = first; i < first + count; ++i) {
    dsp::SpectrumFrame f;
    f.index = i;
    f.power = p;
    f.mean_square = energy(i);
    s.consume(f);
  }
}

std::int64_t samples_for(std::int64_t frames) { return frames * kN; }

double floor_power() { return std::pow(10.0, features::quantisation_floor_db(16, kN) / 10.0); }
}  // namespace

TEST_CASE("patch values: dB above the 16-bit rounding floor / 20, bands of 86 Hz, nothing above Nyquist", "[patches]") {
  features::PatchParams params;
  params.budget = 1;
  const double fl = floor_power();
  SECTION("44.1 kHz: a band's value is its mean bin power over the floor") {
    features::PatchSampler s(kRate, stft_params(), samples_for(32), params);
    std::vector<float> p(kN / 2 + 1, static_cast<float>(fl * 100.0));  // 20 dB above: 1.0
    // Band 10 = [861, 947) Hz holds bins 40..43 (centres 861.3 .. 926.0 Hz): set one of four to 0.
    p[40] = 0.0F;
    for (int i = 0; i < 32; ++i) {
      dsp::SpectrumFrame f;
      f.index = i;
      f.power = p;
      f.mean_square = 1e-3;
      s.consume(f);
    }
    const auto set = s.finish();
    REQUIRE(set.patches.size() == 1);
    const auto& v = set.patches[0].values;
    REQUIRE(v.size() == 32U * 256U);
    CHECK(v[0 * 256 + 100] == Approx(1.0).margin(1e-5));
    CHECK(v[31 * 256 + 255] == Approx(1.0).margin(1e-5));
    CHECK(v[5 * 256 + 10] == Approx((10.0 * std::log10(0.75 * 100.0)) / 20.0).margin(1e-5));
  }
  SECTION("below the floor reads 0; a 32 kHz file has nothing above 16 kHz") {
    dsp::StftParams st = stft_params();
    features::PatchSampler s(32000, st, std::int64_t{32} * kN, params);
    feed(s, 0, 32, static_cast<float>(fl * 1e4), [](std::int64_t) { return 1e-3; });  // 40 dB: 2.0
    const auto set = s.finish();
    REQUIRE(set.patches.size() == 1);
    const auto& v = set.patches[0].values;
    CHECK(v[3 * 256 + 100] == Approx(2.0).margin(1e-5));
    const int nyquist_band = static_cast<int>(16000.0 / (22050.0 / 256));  // 185
    CHECK(v[3 * 256 + nyquist_band - 1] == Approx(2.0).margin(1e-5));
    for (int b = nyquist_band + 1; b < 256; ++b) CHECK(v[3 * 256 + b] == 0.0F);
  }
  SECTION("power at or below the floor is 0") {
    features::PatchSampler s(kRate, stft_params(), samples_for(32), params);
    feed(s, 0, 32, static_cast<float>(fl * 0.5), [](std::int64_t) { return 1e-3; });
    const auto set = s.finish();
    REQUIRE(set.patches.size() == 1);
    for (float x : set.patches[0].values) REQUIRE(x == 0.0F);
  }
}

TEST_CASE("patches come from where the music is: the loudest window of each stratum", "[patches]") {
  features::PatchParams params;  // budget 12, 32 frames
  const std::int64_t total = 1200;   // 12 strata of 100 frames
  features::PatchSampler s(kRate, stft_params(), samples_for(total), params);
  // Quiet everywhere, with a loud burst at frames 250..281 (stratum 2) and 1000..1040 (stratum 10).
  feed(s, 0, total, 1e-6F, [](std::int64_t i) {
    return (i >= 250 && i < 282) || (i >= 1000 && i < 1041) ? 1e-1 : 1e-4;
  });
  const auto set = s.finish();
  REQUIRE(set.patches.size() == 12);
  for (std::size_t k = 0; k < set.patches.size(); ++k) {
    const auto& p = set.patches[k];
    CHECK(p.first_frame >= static_cast<std::int64_t>(k) * 100);
    CHECK(p.first_frame + 32 <= static_cast<std::int64_t>(k + 1) * 100);
  }
  CHECK(set.patches[2].first_frame == 250);
  CHECK(set.patches[10].first_frame == 1000);  // ties: the earliest of the equally loud windows
  CHECK(set.start_s(set.patches[2]) == Approx(250.0 * kN / kRate));
}

TEST_CASE("short files give fewer patches; silence and files shorter than a patch give none", "[patches]") {
  features::PatchParams params;
  SECTION("100 frames: 3 patches") {
    features::PatchSampler s(kRate, stft_params(), samples_for(100), params);
    feed(s, 0, 100, 1e-6F, [](std::int64_t) { return 1e-3; });
    CHECK(s.finish().patches.size() == 3);
  }
  SECTION("31 frames: none") {
    features::PatchSampler s(kRate, stft_params(), samples_for(31), params);
    feed(s, 0, 31, 1e-6F, [](std::int64_t) { return 1e-3; });
    CHECK(s.finish().patches.empty());
  }
  SECTION("digital silence: none") {
    features::PatchSampler s(kRate, stft_params(), samples_for(600), params);
    feed(s, 0, 600, 0.0F, [](std::int64_t) { return 0.0; });
    CHECK(s.finish().patches.empty());
  }
}

TEST_CASE("unknown length: at most budget patches, spread over the whole stream, bounded memory", "[patches]") {
  features::PatchParams params;
  for (std::int64_t total : {40, 400, 4000, 40000}) {
    features::PatchSampler s(kRate, stft_params(), std::nullopt, params);
    feed(s, 0, total, 1e-6F, [](std::int64_t i) { return 1e-3 * (1.0 + static_cast<double>(i % 7)); });
    const auto set = s.finish();
    const std::int64_t whole = total / 32;
    CHECK(set.patches.size() <= 12U);
    CHECK(set.patches.size() >= static_cast<std::size_t>(std::min<std::int64_t>(whole, 6)));
    for (std::size_t k = 1; k < set.patches.size(); ++k) {
      CHECK(set.patches[k].first_frame >= set.patches[k - 1].first_frame + 32);  // in order, no overlap
    }
    if (total >= 4000) CHECK(set.patches.back().first_frame > total / 2);  // the second half is sampled too
  }
}

TEST_CASE("a reset (quick-mode join) is never straddled", "[patches]") {
  features::PatchParams params;
  params.budget = 4;
  features::PatchSampler s(kRate, stft_params(), std::nullopt, params);
  feed(s, 0, 40, 1e-6F, [](std::int64_t) { return 1e-3; });
  s.reset();
  feed(s, 40, 40, 1e-6F, [](std::int64_t) { return 1e-3; });
  for (const auto& p : s.finish().patches) {
    CHECK((p.first_frame + 32 <= 40 || p.first_frame >= 40));
  }
}

TEST_CASE("segment mode: segments cover the file, each with its own patches", "[patches]") {
  features::PatchParams params;
  params.segment_s = 10.0;  // 215 frames at 44.1 kHz
  const std::int64_t total = 1300;  // ~60.4 s: 7 segments, the last short
  const std::int64_t samples = samples_for(total) + 1000;
  for (bool known : {true, false}) {
    features::PatchSampler s(kRate, stft_params(), known ? std::optional<std::int64_t>(samples) : std::nullopt, params);
    feed(s, 0, total, 1e-6F, [](std::int64_t i) { return 1e-3 * (1.0 + static_cast<double>(i % 5)); });
    const auto set = s.finish();
    REQUIRE(set.segments.size() == 7);
    CHECK(set.segments.front().start_s == 0.0);
    for (std::size_t k = 1; k < set.segments.size(); ++k) {
      CHECK(set.segments[k].start_s == Approx(set.segments[k - 1].end_s));
    }
    CHECK(set.segments.back().end_s == Approx(known ? static_cast<double>(samples) / kRate
                                                    : static_cast<double>(total) * kN / kRate).epsilon(1e-9));
    std::vector<int> per(set.segments.size(), 0);
    for (const auto& p : set.patches) {
      REQUIRE(p.segment >= 0);
      REQUIRE(p.segment < static_cast<int>(set.segments.size()));
      ++per[static_cast<std::size_t>(p.segment)];
      CHECK(set.start_s(p) >= set.segments[static_cast<std::size_t>(p.segment)].start_s - 1e-9);
      CHECK(set.end_s(p) <= set.segments[static_cast<std::size_t>(p.segment)].end_s + 1e-9);
    }
    for (std::size_t k = 0; k + 1 < per.size(); ++k) CHECK(per[k] == params.per_segment);
    CHECK(per.back() <= params.per_segment);
  }
}

TEST_CASE("patch parameters are validated", "[patches]") {
  features::PatchParams p;
  CHECK_NOTHROW(p.validate());
  p.budget = 0;
  CHECK_THROWS_AS(p.validate(), std::invalid_argument);
  p = {};
  p.segment_s = 0.5;
  CHECK_THROWS_AS(p.validate(), std::invalid_argument);
  p = {};
  p.frames = 3;
  CHECK_THROWS_AS(p.validate(), std::invalid_argument);
}
