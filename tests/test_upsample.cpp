#include <catch2/catch.hpp>

#include "signals.hpp"

using testsig::brickwall;
using testsig::features_of;
using testsig::resample;

TEST_CASE("44.1 and 48 kHz material resampled to 96 kHz: edge at the old Nyquist", "[upsample]") {
  struct Case {
    int from;
    int to;
    int bits;
  };
  const auto c = GENERATE(Case{44100, 96000, 24}, Case{48000, 96000, 24}, Case{44100, 88200, 24},
                          Case{44100, 96000, 16}, Case{48000, 192000, 24});
  CAPTURE(c.from, c.to, c.bits);
  const auto x = resample(testsig::white(static_cast<std::size_t>(3 * c.from), 0.3), c.from, c.to);
  const auto f = features_of(x, c.to, c.bits);
  REQUIRE(f.cutoff.upsample_edge_hz.has_value());
  // The test resampler passes 0.92 of the old Nyquist and stops at ~1.0 of it.
  CHECK(*f.cutoff.upsample_edge_hz > 0.9 * c.from / 2);
  CHECK(*f.cutoff.upsample_edge_hz < 1.0 * c.from / 2);
  CHECK(*f.cutoff.upsample_edge_drop_db > 25.0);  // over 1 kHz windows; the test resampler's transition is ~2 kHz wide
  REQUIRE(f.cutoff.original_rate_estimate_hz.has_value());
  CHECK(*f.cutoff.original_rate_estimate_hz == c.from);
  CHECK(*f.cutoff.cutoff_slope_db_per_khz > 20.0);
}

TEST_CASE("genuine full-band 96 kHz noise is its own original rate", "[upsample]") {
  const auto f = features_of(testsig::white(3 * 96000), 96000, 24);
  CHECK_FALSE(f.cutoff.upsample_edge_hz.has_value());
  CHECK(*f.cutoff.original_rate_estimate_hz == 96000);
}

TEST_CASE("an MP3-like 16 kHz wall at 44.1 kHz, 16-bit, upsampled to 96 kHz/24: both walls", "[upsample]") {
  // The lossy cutoff is the largest drop; the resampler's edge, where the old 16-bit
  // rounding noise ends, is the highest wall.
  const auto lossy = brickwall(testsig::pink(3 * 44100, 0.3), 44100, 16000);
  std::vector<float> rounded(lossy.size());
  for (std::size_t i = 0; i < lossy.size(); ++i) {
    rounded[i] = static_cast<float>(std::round(lossy[i] * 32768.0) / 32768.0 + 0.0);
  }
  // TPDF dither at the 16-bit level keeps the old floor white and present.
  const auto d1 = testsig::white(rounded.size(), 1.0 / 32768 / std::sqrt(6.0), 21);
  const auto d2 = testsig::white(rounded.size(), 1.0 / 32768 / std::sqrt(6.0), 22);
  for (std::size_t i = 0; i < rounded.size(); ++i) rounded[i] += d1[i] + d2[i];
  const auto f = features_of(resample(rounded, 44100, 96000), 96000, 24);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(16000).margin(300));
  REQUIRE(f.cutoff.upsample_edge_hz.has_value());
  CHECK(*f.cutoff.upsample_edge_hz > 0.9 * 22050);
  CHECK(*f.cutoff.upsample_edge_hz < 22050);
  CHECK(*f.cutoff.original_rate_estimate_hz == 44100);
}

TEST_CASE("original rate estimate from an edge", "[upsample]") {
  using fakeless::features::original_rate_estimate;
  CHECK(original_rate_estimate(96000, 21000.0, 100) == 44100);
  CHECK(original_rate_estimate(96000, 23000.0, 100) == 48000);
  CHECK(original_rate_estimate(96000, 44000.0, 100) == 96000);  // at the file's own Nyquist
  CHECK(original_rate_estimate(96000, std::nullopt, 100) == 96000);
  CHECK(original_rate_estimate(192000, 43000.0, 100) == 88200);
  CHECK_FALSE(original_rate_estimate(96000, 30000.0, 100).has_value());  // fits no standard rate
}
