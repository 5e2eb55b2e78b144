#include <catch2/catch.hpp>

#include "signals.hpp"

using testsig::brickwall;
using testsig::features_of;
using testsig::verdict_of;

namespace {
constexpr double kSeconds = 4.0;
std::size_t samples(int rate) { return static_cast<std::size_t>(kSeconds * rate); }
}  // namespace

TEST_CASE("steep low-pass of noise: cutoff within 300 Hz, sharp and stable", "[cutoff]") {
  struct Case {
    int rate;
    double cutoff;
    bool pink;
  };
  const auto c = GENERATE(Case{44100, 16000, false}, Case{44100, 11000, true}, Case{44100, 19500, true},
                          Case{48000, 16000, true}, Case{48000, 20000, false}, Case{32000, 12000, true},
                          Case{96000, 20000, true}, Case{44100, 5000, false});
  CAPTURE(c.rate, c.cutoff, c.pink);
  const auto n = samples(c.rate);
  const auto src = c.pink ? testsig::pink(n) : testsig::white(n);
  // 16-bit: the test filter's own stop-band leakage (~-75 dB) stays under the rounding floor.
  const auto f = features_of(brickwall(src, c.rate, c.cutoff), c.rate, 16);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(c.cutoff).margin(300));
  CHECK(*f.cutoff.cutoff_sharpness_db > 30.0);
  CHECK(*f.cutoff.cutoff_stability > 0.8);
  REQUIRE(f.cutoff.bandwidth_hz.has_value());
  CHECK(*f.cutoff.bandwidth_hz == Approx(c.cutoff).margin(400));
}

TEST_CASE("full-band noise has no cutoff and its bandwidth reaches Nyquist", "[cutoff]") {
  const int rate = GENERATE(44100, 48000, 96000);
  const bool pink = GENERATE(false, true);
  CAPTURE(rate, pink);
  const auto n = samples(rate);
  const auto f = features_of(pink ? testsig::pink(n) : testsig::white(n), rate);
  CHECK_FALSE(f.cutoff.cutoff_hz.has_value());
  CHECK_FALSE(f.cutoff.cutoff_sharpness_db.has_value());
  REQUIRE(f.cutoff.bandwidth_hz.has_value());
  CHECK(*f.cutoff.bandwidth_hz > 0.97 * rate / 2);
  const auto v = verdict_of(pink ? testsig::pink(n) : testsig::white(n), rate);
  CHECK(v.decision.verdict == "lossless");
}

TEST_CASE("a gentle natural roll-off is not taken for a codec's wall", "[cutoff]") {
  const int rate = 44100;
  const int order = GENERATE(1, 2);
  const double corner = GENERATE(3000.0, 8000.0);
  CAPTURE(order, corner);
  const auto x = testsig::gentle(testsig::pink(samples(rate)), rate, corner, order);
  const auto f = features_of(x, rate);
  if (f.cutoff.cutoff_hz) {
    CHECK(*f.cutoff.cutoff_sharpness_db < 15.0);
  }
  const auto v = verdict_of(x, rate);
  CHECK(v.decision.verdict == "lossless");
  CHECK(*v.decision.p_lossy < 0.1);
}

TEST_CASE("the 16 kHz wall of a low-passed signal is flagged lossy, the same noise unfiltered is not", "[cutoff]") {
  const int rate = 44100;
  const auto x = testsig::pink(samples(rate));
  const auto lossy = verdict_of(brickwall(x, rate, 16000), rate);
  CHECK(lossy.decision.verdict == "lossy");
  CHECK(*lossy.decision.p_lossy > 0.9);
  CHECK(lossy.decision.flags == std::vector<std::string>{"lossy"});
  const auto genuine = verdict_of(x, rate);
  CHECK(genuine.decision.verdict == "lossless");
  CHECK(genuine.decision.flags.empty());
}

TEST_CASE("silence has no cutoff and an uncertain verdict", "[cutoff]") {
  const int rate = 44100;
  const std::vector<float> zeros(samples(rate), 0.0F);
  const auto f = features_of(zeros, rate);
  CHECK(f.cutoff.active_frames == 0);
  CHECK(f.cutoff.frames > 0);
  CHECK_FALSE(f.cutoff.cutoff_hz.has_value());
  CHECK_FALSE(f.cutoff.bandwidth_hz.has_value());
  CHECK_FALSE(f.bit_depth.effective_bits.has_value());
  const auto v = verdict_of(zeros, rate);
  CHECK(v.decision.verdict == "uncertain");
  CHECK_FALSE(v.decision.p_lossy.has_value());
  CHECK(v.decision.flags.empty());
}

TEST_CASE("a 1-sample file is analysed without crashing and is too short to judge", "[cutoff]") {
  const auto f = features_of({0.5F}, 44100);
  CHECK(f.frames_read == 1);
  CHECK(f.cutoff.frames == 0);
  CHECK_FALSE(f.cutoff.cutoff_hz.has_value());
  const auto v = verdict_of({0.5F}, 44100);
  CHECK(v.decision.verdict == "uncertain");
  CHECK_THAT(v.decision.reason, Catch::Contains("too short"));
}

TEST_CASE("DC offset neither hides a cutoff nor counts as content", "[cutoff]") {
  const int rate = 44100;
  auto x = brickwall(testsig::pink(samples(rate), 0.1), rate, 15000);
  for (auto& v : x) v += 0.4F;
  const auto f = features_of(x, rate);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(15000).margin(300));

  const std::vector<float> dc(samples(rate), 0.4F);
  const auto g = features_of(dc, rate);
  CHECK(g.cutoff.active_frames == 0);
  CHECK_FALSE(g.cutoff.cutoff_hz.has_value());
}

TEST_CASE("quiet passages: a -60 dBFS low-passed signal in 16 bits still shows its cutoff", "[cutoff]") {
  const int rate = 44100;
  const auto x = testsig::scale(brickwall(testsig::white(samples(rate), 1.0), rate, 16000), 0.001);
  const auto f = features_of(x, rate);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(16000).margin(300));
  CHECK(f.cutoff.active_frames > 0);
}

TEST_CASE("silent stretches do not vote: half silence, half low-passed noise", "[cutoff]") {
  const int rate = 44100;
  auto x = brickwall(testsig::pink(samples(rate)), rate, 17000);
  std::fill(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(x.size() / 2), 0.0F);
  const auto f = features_of(x, rate);
  CHECK(f.cutoff.active_frames < f.cutoff.frames * 6 / 10);
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(17000).margin(300));
  CHECK(*f.cutoff.cutoff_stability > 0.8);
}

TEST_CASE("quantisation floor formula matches white rounding noise", "[cutoff]") {
  // 16-bit, N = 2048: 6 sigma^2 / N with sigma^2 = 2^-30 / 12 -> 2^-42 -> -126.4 dB.
  CHECK(fakeless::features::quantisation_floor_db(16, 2048) == Approx(-126.43).margin(0.01));
  CHECK(fakeless::features::quantisation_floor_db(24, 2048) - fakeless::features::quantisation_floor_db(16, 2048) ==
        Approx(-48.16).margin(0.01));
}

TEST_CASE("cutoff parameters are validated", "[cutoff]") {
  fakeless::features::CutoffParams p;
  p.min_drop_db = -1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("min_drop_db"));
}

TEST_CASE("a codec's wall under a resampler's edge: lossy and upsampled", "[cutoff]") {
  // What an MP3 decoded at 44.1 kHz/16 bit and resampled to 96 kHz/24 bit looks like:
  // music up to the codec's 16 kHz wall, the decoder's 16-bit rounding noise up to the
  // old Nyquist (22.05 kHz), and the resampler's far deeper floor above.
  const int rate = 96000;
  const auto n = samples(rate);
  // Each filter twice: one pass's ~-75 dB stop band would bury the 16-bit noise step.
  auto music = brickwall(brickwall(testsig::pink(n, 0.05, 21), rate, 16000), rate, 16000);
  const auto rounding =
      brickwall(brickwall(testsig::white(n, std::ldexp(1.0, -15) / std::sqrt(12.0), 22), rate, 22050), rate, 22050);
  for (std::size_t i = 0; i < n; ++i) music[i] += rounding[i];
  const auto f = features_of(music, rate, 24);
  CAPTURE(fakeless::features_to_json(f).dump());
  REQUIRE(f.cutoff.cutoff_hz.has_value());
  CHECK(*f.cutoff.cutoff_hz == Approx(16000).margin(300));
  REQUIRE(f.cutoff.upper_wall_hz.has_value());
  CHECK(*f.cutoff.upper_wall_hz == Approx(22050).margin(400));
  const auto v = verdict_of(music, rate, 24);
  CHECK(v.decision.verdict == "lossy");
  CHECK(v.decision.flags == std::vector<std::string>{"lossy", "upsampled"});
  CHECK(v.decision.original_rate_hz == 44100);

  // The same without the codec: one wall, at the old Nyquist: upsampled only.
  const auto plain = brickwall(brickwall(testsig::pink(n, 0.05, 23), rate, 21000), rate, 21000);
  const auto g = features_of(plain, rate, 24);
  CHECK_FALSE(g.cutoff.upper_wall_hz.has_value());
  const auto u = verdict_of(plain, rate, 24);
  CHECK(u.decision.verdict == "upsampled");
  CHECK(u.decision.flags == std::vector<std::string>{"upsampled"});
}

TEST_CASE("transition shape: a codec's brick wall is steep, an analog roll-off is not", "[cutoff]") {
  const int rate = 44100;
  const auto x = testsig::pink(samples(rate));
  const auto wall = features_of(brickwall(x, rate, 16000), rate);
  REQUIRE(wall.cutoff.cutoff_slope_db_per_khz.has_value());
  CHECK(*wall.cutoff.cutoff_slope_db_per_khz > 60.0);
  CHECK(*wall.cutoff.cutoff_transition_hz < 600.0);
  // A stable wall: the per-frame walls sit within a band or two of each other.
  REQUIRE(wall.cutoff.cutoff_track_iqr_hz.has_value());
  CHECK(*wall.cutoff.cutoff_track_iqr_hz <= 200.0);
  CHECK(*wall.cutoff.cutoff_track_median_hz == Approx(16000).margin(300));

  // A roll-off of 20 dB/kHz built in the STFT domain (flat to 13 kHz, then falling 80 dB
  // to 17 kHz, nothing above): found as a cutoff, and its slope is measured as such.
  const double per_bin_hz = static_cast<double>(rate) / 2048;
  auto ramp = [&](int, int k) {
    const double hz = k * per_bin_hz;
    return hz >= 17000 ? 0.0 : 0.02 * std::pow(10.0, -20.0 * std::max(0.0, hz - 13000) / 1000 / 20);
  };
  const auto soft = features_of(testsig::synth_frames(2048, 80, ramp), rate);
  REQUIRE(soft.cutoff.cutoff_slope_db_per_khz.has_value());
  CHECK(*soft.cutoff.cutoff_slope_db_per_khz == Approx(20.0).margin(5.0));
  CHECK(*soft.cutoff.cutoff_transition_hz > 600.0);  // the wall: ~130 Hz
}

TEST_CASE("a cutoff that moves during the file widens the track", "[cutoff]") {
  const int rate = 44100;
  const auto x = testsig::pink(samples(rate));
  auto y = brickwall(x, rate, 14000);
  const auto z = brickwall(x, rate, 18000);
  std::copy(z.begin() + static_cast<std::ptrdiff_t>(z.size() / 2), z.end(),
            y.begin() + static_cast<std::ptrdiff_t>(y.size() / 2));
  const auto f = features_of(y, rate);
  REQUIRE(f.cutoff.cutoff_track_iqr_hz.has_value());
  CHECK(*f.cutoff.cutoff_track_iqr_hz == Approx(4000).margin(400));
}
