#include <catch2/catch.hpp>

#include "fakeless/features/holes.hpp"
#include "signals.hpp"

using fakeless::features::HolesAnalyzer;
using fakeless::features::HolesFeatures;

namespace {
constexpr int kRate = 44100;
constexpr int kN = 2048;
constexpr int kFrames = 60;

// Runs the analyzer alone on a mono signal (16-bit rounding floor, non-overlapping frames).
HolesFeatures holes_of(const std::vector<float>& x, std::optional<double> reference_hz, int* bins_per_band = nullptr,
                       fakeless::features::HolesParams params = {}, bool round16 = true) {
  fakeless::dsp::FftCache ffts;
  const auto p = fakeless::dsp::StftParams::for_rate(kRate);
  fakeless::dsp::Stft stft(p, kRate, ffts);
  const double floor = std::pow(10.0, fakeless::features::quantisation_floor_db(16, p.fft_size) / 10.0);
  HolesAnalyzer h(kRate, p, floor, params);
  if (bins_per_band != nullptr) *bins_per_band = h.bins_per_band();
  std::vector<float> q(x.size());  // rounded to 16 bits: the floor real files have
  for (std::size_t i = 0; i < x.size(); ++i) {
    q[i] = round16 ? static_cast<float>(std::round(x[i] * 32768.0) / 32768.0) : x[i];
  }
  stft.push(q, h);
  return h.finish(reference_hz);
}

// Number of 8-bin bands (172 Hz) whose centre lies in [lo, hi).
int bands_in(double lo, double hi) {
  const double band_hz = 8.0 * kRate / kN;
  int n = 0;
  for (int b = 0; b < kN / 16; ++b) {
    const double c = (b + 0.5) * band_hz;
    if (c >= lo && c < hi) ++n;
  }
  return n;
}

constexpr double kAmp = 0.01;  // per bin: ~-40 dB, well above the 16-bit floor
}  // namespace

TEST_CASE("holes punched at known cells are counted exactly; none in plain noise", "[holes]") {
  int bpb = 0;
  // Full-band flat noise; in every 4th frame (4, 8, ...) bands 80 and 81 (13.8-14.1 kHz,
  // bins 640-655) are zeroed (the cosines of bins 639-656, so that no neighbour leaks
  // into them): 2 pits per punched frame, in the 'high' region [11025, 21750).
  auto punched = [](int t, int k) { return (t % 4 == 0 && t > 0 && k >= 639 && k < 657) ? 0.0 : kAmp; };
  const auto f = holes_of(testsig::synth_frames(kN, kFrames, punched), std::nullopt, &bpb);
  REQUIRE(bpb == 8);
  // Frames 1..58 are evaluated (each needs a neighbour on both sides); punched among them: 4..56.
  const int punched_frames = 14;
  // Bands within hole_side_hz (4 bands) of Nyquist have no right side and are not evaluated.
  const double band_hz = 8.0 * kRate / kN;
  const int eligible = bands_in(kRate / 4.0, std::min(kRate / 2.0 - 300.0, (kN / 16 - 4) * band_hz)) * (kFrames - 2);
  REQUIRE(f.hole_rate_high.has_value());
  CHECK(*f.hole_rate_high == Approx(2.0 * punched_frames / eligible).epsilon(0.005));
  // A punched band is also a dropout: far below itself in the frames before and after.
  // Dropouts need both time neighbours loud: the two punched bands of the frames next to
  // a punched frame do not qualify.
  REQUIRE(f.dropout_rate_high.has_value());
  CHECK(*f.dropout_rate_high == Approx(2.0 * punched_frames / (eligible - 4 * punched_frames)).epsilon(0.005));
  REQUIRE(f.hole_rate_low.has_value());
  CHECK(*f.hole_rate_low == 0.0);

  const auto clean = holes_of(testsig::synth_frames(kN, kFrames, [](int, int) { return kAmp; }), std::nullopt);
  CHECK(*clean.hole_rate_high == 0.0);
  CHECK(*clean.hole_rate_low == 0.0);
  CHECK(*clean.dropout_rate_high == 0.0);
  CHECK(*clean.flicker_high == 0.0);
}

TEST_CASE("holes are independent of loudness", "[holes]") {
  auto punched = [](int t, int k) { return (t % 3 == 0 && k >= 303 && k < 321) ? 0.0 : kAmp; };
  auto quiet = [&](int t, int k) { return 0.03 * punched(t, k); };  // -30 dB
  const auto a = holes_of(testsig::synth_frames(kN, kFrames, punched), std::nullopt);
  const auto b = holes_of(testsig::synth_frames(kN, kFrames, quiet), std::nullopt);
  REQUIRE(a.hole_rate_low.has_value());
  CHECK(*a.hole_rate_low > 0.0);
  CHECK(*b.hole_rate_low == Approx(*a.hole_rate_low));
}

TEST_CASE("a stable valley (between harmonics, or a notch held for ever) is not a hole", "[holes]") {
  // The same bands as above, zeroed in every frame: a spectral shape, not a codec's hole.
  auto notch = [](int, int k) { return (k >= 639 && k < 657) ? 0.0 : kAmp; };
  const auto f = holes_of(testsig::synth_frames(kN, kFrames, notch), std::nullopt);
  CHECK(*f.hole_rate_high == 0.0);
  // Sparse harmonics every 1 kHz with nothing between them, sustained: no holes either.
  auto harmonics = [](int, int k) { return k % 46 == 0 ? 0.3 : 0.0; };
  const auto g = holes_of(testsig::synth_frames(kN, kFrames, harmonics), std::nullopt);
  CHECK(g.hole_rate_low.value_or(0.0) == 0.0);
  CHECK(g.hole_rate_high.value_or(0.0) == 0.0);
}

TEST_CASE("upper bands switched on and off frame by frame flicker; steady ones do not", "[holes]") {
  // Content to 16 kHz in every frame; 16-20 kHz only in even frames; nothing above 20 kHz.
  const int k16 = static_cast<int>(16000.0 * kN / kRate);
  const int k20 = static_cast<int>(20000.0 * kN / kRate);
  auto switching = [&](int t, int k) { return k < k16 || (k < k20 && t % 2 == 0) ? kAmp : 0.0; };
  const auto f = holes_of(testsig::synth_frames(kN, kFrames, switching), 16000.0);
  // Above the reference, bands wholly within 16.3-20 kHz change state at every one of the
  // 59 frame pairs; the bands above 20 kHz never do. Edge bands may go either way.
  const int switching_bands = bands_in(16300.0, 20000.0);
  const int all_above = bands_in(16300.0, kRate / 2.0 - 300.0);
  REQUIRE(f.flicker_above.has_value());
  CHECK(*f.flicker_above >= static_cast<double>(switching_bands - 1) / all_above - 1e-9);
  CHECK(*f.flicker_above <= static_cast<double>(switching_bands + 2) / all_above + 1e-9);
  // Below the reference nothing switches.
  CHECK(*f.flicker_high == 0.0);

  auto steady = [&](int, int k) { return k < k20 ? kAmp : 0.0; };
  const auto g = holes_of(testsig::synth_frames(kN, kFrames, steady), 16000.0);
  CHECK(*g.flicker_above == 0.0);
}

TEST_CASE("a band hovering at the on/off threshold does not flicker (hysteresis)", "[holes]") {
  // Unrounded floats, so the levels are exactly what is synthesised: content to 16 kHz;
  // 16-20 kHz alternating between 6 and 14 dB above the 16-bit floor, i.e. 4 dB either
  // side of the on threshold (floor + floor_margin_db = 10 dB).
  const double floor = std::pow(10.0, fakeless::features::quantisation_floor_db(16, kN) / 10.0);
  // A bin-centred cosine of amplitude a reads 1.5 a^2 per bin on average once its Hann
  // neighbours leak in (1 + 1/4 + 1/4).
  auto amp_at = [&](double db_above_floor) { return std::sqrt(floor * std::pow(10.0, db_above_floor / 10) / 1.5); };
  const int k16 = static_cast<int>(16000.0 * kN / kRate);
  const int k20 = static_cast<int>(20000.0 * kN / kRate);
  // The content below is quiet (-60 dB per bin) so that the floor, not the frame level,
  // sets the threshold.
  auto hover = [&](int t, int k) {
    if (k < k16) return 0.001;
    if (k < k20) return amp_at(t % 2 == 0 ? 14.0 : 6.0);
    return 0.0;
  };
  const auto x = testsig::synth_frames(kN, kFrames, hover);
  fakeless::features::HolesParams no_hysteresis;
  no_hysteresis.hysteresis_db = 0;
  const auto plain = holes_of(x, 16000.0, nullptr, no_hysteresis, false);
  const auto held = holes_of(x, 16000.0, nullptr, {}, false);
  const int hovering = bands_in(16300.0, 20000.0);
  const int all_above = bands_in(16300.0, kRate / 2.0 - 300.0);
  REQUIRE(plain.flicker_above.has_value());
  CHECK(*plain.flicker_above > 0.9 * hovering / all_above);  // flips at every frame pair
  CHECK(*held.flicker_above < 2.0 / (kFrames - 1));         // at most one change per band
}

TEST_CASE("energy just below the cutoff: its spread over time", "[holes]") {
  // The edge region [F - 1.5 kHz, F - 300 Hz) alternates between full level and -20 dB.
  const double ref = 16000.0;
  const int lo = static_cast<int>((ref - 1700.0) * kN / kRate);
  const int hi = static_cast<int>((ref - 100.0) * kN / kRate);
  auto pulsing = [&](int t, int k) {
    if (k >= static_cast<int>(ref * kN / kRate)) return 0.0;
    return k >= lo && k < hi && t % 2 == 1 ? kAmp * 0.1 : kAmp;
  };
  const auto f = holes_of(testsig::synth_frames(kN, kFrames, pulsing), ref);
  REQUIRE(f.edge_level_std_db.has_value());
  CHECK(*f.edge_level_std_db == Approx(10.0).margin(1.5));  // +-10 dB around the mean
  CHECK(*f.edge_std_excess_db > 7.0);
  CHECK(*f.edge_on_fraction == 1.0);  // -20 dB is still on (off = 60 dB below the frame)

  auto steady = [&](int, int k) { return k < static_cast<int>(ref * kN / kRate) ? kAmp : 0.0; };
  const auto g = holes_of(testsig::synth_frames(kN, kFrames, steady), ref);
  CHECK(*g.edge_level_std_db < 3.0);
  CHECK(std::abs(*g.edge_std_excess_db) < 1.5);
}

TEST_CASE("energy above the cutoff during transients", "[holes]") {
  // Content to 16 kHz at a low level; every 10th frame a burst 20 dB louder reaching
  // Nyquist (a transient a codec would let through above its low-pass, paper 003 4.3.2).
  const int k16 = static_cast<int>(16000.0 * kN / kRate);
  auto bursts = [&](int t, int k) {
    if (t % 10 == 5) return 10 * kAmp;
    return k < k16 ? kAmp : 0.0;
  };
  const auto f = holes_of(testsig::synth_frames(kN, kFrames, bursts), 16000.0);
  CHECK(f.transient_frames == 6);
  REQUIRE(f.transient_above_db.has_value());
  CHECK(*f.transient_above_db == Approx(0.0).margin(1.0));  // flat burst: above = below
  REQUIRE(f.transient_above_gain_db.has_value());
  CHECK(*f.transient_above_gain_db > 5.0);  // and much more than on average

  auto plain = [&](int, int k) { return k < k16 ? kAmp : 0.0; };
  const auto g = holes_of(testsig::synth_frames(kN, kFrames, plain), 16000.0);
  CHECK(g.transient_frames == 0);
  CHECK_FALSE(g.transient_above_db.has_value());

  // An onset after digital silence is a transient too (the silent frames do not vote).
  auto after_silence = [&](int t, int k) { return t < 5 ? 0.0 : plain(t, k); };
  const auto h = holes_of(testsig::synth_frames(kN, kFrames, after_silence), 16000.0);
  CHECK(h.transient_frames == 1);
}

TEST_CASE("silence: no active frames, no hole features", "[holes]") {
  const std::vector<float> zeros(static_cast<std::size_t>(kN) * 10, 0.0F);
  const auto f = holes_of(zeros, std::nullopt);
  CHECK_FALSE(f.hole_rate_low.has_value());
  CHECK_FALSE(f.flicker_high.has_value());
}

TEST_CASE("holes parameters are validated", "[holes]") {
  fakeless::features::HolesParams p;
  p.hole_depth_db = 1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("hole_depth_db"));
}
