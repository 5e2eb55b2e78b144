#include <catch2/catch.hpp>

#include "signals.hpp"

using testsig::brickwall;

namespace {
constexpr int kRate = 44100;
constexpr std::size_t kSamples = 4 * kRate;

// L = M + S, R = M - S, so the analysis sees mid M and side S.
std::pair<std::vector<float>, std::vector<float>> lr(const std::vector<float>& m, const std::vector<float>& s) {
  std::vector<float> l(m.size()), r(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    l[i] = m[i] + s[i];
    r[i] = m[i] - s[i];
  }
  return {l, r};
}
}  // namespace

TEST_CASE("joint stereo: a side cut at 16 kHz under a 20 kHz mid is seen", "[stereo]") {
  const auto mid = brickwall(testsig::pink(kSamples, 0.2, 11), kRate, 20000);
  const auto side = brickwall(testsig::pink(kSamples, 0.1, 12), kRate, 16000);
  const auto [l, r] = lr(mid, side);
  const auto f = testsig::features_of_stereo(l, r, kRate);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(20000).margin(300));  // the downmix shows only the mid
  REQUIRE(f.stereo.side_cutoff_hz.has_value());
  CHECK(*f.stereo.side_cutoff_hz == Approx(16000).margin(300));
  REQUIRE(f.stereo.side_hf_drop_db.has_value());
  CHECK(*f.stereo.side_hf_drop_db > 30.0);
  CHECK(*f.stereo.side_level_db == Approx(-6.0).margin(1.0));  // side at half the mid's amplitude
  // Every 4th frame is paired: 4 s = 86 frames -> 22 side frames.
  CHECK(f.stereo.paired_frames == (f.cutoff.frames + 3) / 4);
}

TEST_CASE("a side with the mid's bandwidth shows no side drop", "[stereo]") {
  const auto mid = brickwall(testsig::pink(kSamples, 0.2, 11), kRate, 20000);
  const auto side = brickwall(testsig::pink(kSamples, 0.1, 12), kRate, 20000);
  const auto [l, r] = lr(mid, side);
  const auto f = testsig::features_of_stereo(l, r, kRate);
  REQUIRE(f.stereo.side_hf_drop_db.has_value());
  CHECK(std::abs(*f.stereo.side_hf_drop_db) < 2.0);
  REQUIRE(f.stereo.side_cutoff_hz.has_value());
  CHECK(*f.stereo.side_cutoff_hz == Approx(20000).margin(300));
}

TEST_CASE("mono files and identical channels: no side, or a silent one", "[stereo]") {
  const auto x = testsig::pink(kSamples);
  const auto mono = testsig::features_of(x, kRate);
  CHECK(mono.stereo.paired_frames == 0);
  CHECK_FALSE(mono.stereo.side_level_db.has_value());
  const auto same = testsig::features_of_stereo(x, x, kRate);
  CHECK(same.stereo.paired_frames > 0);
  CHECK(*same.stereo.side_level_db < -150.0);  // digital silence, clamped
  CHECK_FALSE(same.stereo.side_cutoff_hz.has_value());
}

TEST_CASE("an Stft with a hop of k frames analyses every k-th frame", "[stereo][stft]") {
  fakeless::dsp::StftParams p{1024, 4096};
  p.validate();
  struct Count : fakeless::dsp::FrameConsumer {
    std::vector<double> ms;
    void consume(const fakeless::dsp::SpectrumFrame& f) override { ms.push_back(f.mean_square); }
  } c;
  // Frames 0, 4, 8 (of 1024 samples) are loud, the others silent: all analysed ones are loud.
  std::vector<float> x(1024 * 10, 0.0F);
  for (int fr : {0, 4, 8}) {
    for (int i = 0; i < 1024; ++i) x[static_cast<std::size_t>(fr * 1024 + i)] = (i % 2 == 0) ? 0.5F : -0.5F;
  }
  fakeless::dsp::FftCache ffts;
  fakeless::dsp::Stft stft(p, 44100, ffts);
  for (std::size_t pos = 0; pos < x.size(); pos += 700) {
    stft.push(std::span<const float>(x.data() + pos, std::min<std::size_t>(700, x.size() - pos)), c);
  }
  REQUIRE(c.ms.size() == 3);
  for (double m : c.ms) CHECK(m > 0.1);
  p.hop = 65 * 1024;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("hop"));
}
