#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <cmath>
#include <numbers>
#include <random>
#include <string>

#include "fakeless/features/grid.hpp"
#include "fakeless/features/mp3_hybrid.hpp"
#include "signals.hpp"

using fakeless::features::GridAnalyzer;
using fakeless::features::GridFamily;

namespace {
constexpr int kRate = 44100;
constexpr std::size_t kSamples = 3 * kRate + 4000;

// Music-like: three notes of 12 decaying partials each, plus pink noise.
std::vector<float> music(std::size_t n, unsigned seed, double noise = 0.05) {
  auto x = testsig::pink(n, noise, seed);
  const double f0s[] = {220.0 * (1 + 0.01 * seed), 277.2, 329.6};
  for (const double f0 : f0s) {
    for (int h = 1; h <= 12; ++h) {
      const double f = f0 * h;
      if (f > kRate / 2.0) break;
      const double a = 0.05 / h;
      for (std::size_t i = 0; i < n; ++i) {
        x[i] += static_cast<float>(a * std::sin(2 * std::numbers::pi * f * i / kRate + h + seed));
      }
    }
  }
  return x;
}

// Rounded to 16 bits, back to floats.
std::vector<float> pcm16(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    y[i] = static_cast<float>(std::clamp(std::round(x[i] * 32768.0), -32768.0, 32767.0) / 32768.0);
  }
  return y;
}

// MP3's decoder side (ISO/IEC 11172-3 2.4.3.4, written out plainly): alias butterflies
// undone, 36-point IMDCT (sine window, 1/9: the inverse of Mp3Hybrid's unnormalised MDCT),
// overlap-add per subband, frequency inversion, polyphase synthesis. Granule g's
// coefficients (576, subband-major) are those Mp3Hybrid gives at sample offset + 576 g; the
// output lines up with the input of that analysis (y[n] ~ x[n]).
std::vector<float> mp3_synthesis(const std::vector<std::vector<float>>& granules, int offset, std::size_t n) {
  const auto d = fakeless::features::mp3_synthesis_window();
  double cs[8], ca[8];
  fakeless::features::mp3_alias_coefficients(cs, ca);
  const std::size_t slots = 18 * granules.size() + 18;
  std::vector<double> sb(slots * 32, 0.0);  // slot-major
  for (std::size_t g = 0; g < granules.size(); ++g) {
    std::vector<double> x(granules[g].begin(), granules[g].end());
    for (int b = 1; b < 32; ++b) {
      for (int i = 0; i < 8; ++i) {
        const double bu = x[static_cast<std::size_t>(18 * (b - 1) + 17 - i)], bd = x[static_cast<std::size_t>(18 * b + i)];
        x[static_cast<std::size_t>(18 * (b - 1) + 17 - i)] = bu * cs[i] - bd * ca[i];
        x[static_cast<std::size_t>(18 * b + i)] = bd * cs[i] + bu * ca[i];
      }
    }
    for (int b = 0; b < 32; ++b) {
      for (int t = 0; t < 36; ++t) {
        double v = 0.0;
        for (int m = 0; m < 18; ++m) {
          v += x[static_cast<std::size_t>(18 * b + m)] * std::cos(std::numbers::pi / 72.0 * (2.0 * t + 1.0 + 18.0) * (2.0 * m + 1.0));
        }
        v *= std::sin(std::numbers::pi / 36.0 * (t + 0.5)) / 9.0;
        if (b % 2 != 0 && t % 2 != 0) v = -v;
        sb[(18 * g + static_cast<std::size_t>(t)) * 32 + static_cast<std::size_t>(b)] += v;
      }
    }
  }
  std::vector<float> y(n, 0.0F);
  std::vector<double> v(1024, 0.0), u(512);
  for (std::size_t k = 0; k < slots; ++k) {
    std::copy_backward(v.begin(), v.end() - 64, v.end());
    for (int i = 0; i < 64; ++i) {
      double a = 0.0;
      for (int b = 0; b < 32; ++b) a += std::cos((16.0 + i) * (2.0 * b + 1.0) * std::numbers::pi / 64.0) * sb[k * 32 + static_cast<std::size_t>(b)];
      v[static_cast<std::size_t>(i)] = a;
    }
    for (std::size_t i = 0; i < 8; ++i) {
      for (std::size_t j = 0; j < 32; ++j) {
        u[64 * i + j] = v[128 * i + j];
        u[64 * i + 32 + j] = v[128 * i + 96 + j];
      }
    }
    // Slot k's window is x[offset + 32 k, + 512); its 32 samples come back 481 later than its
    // newest: from offset + 32 k - 1.
    for (std::size_t j = 0; j < 32; ++j) {
      double a = 0.0;
      for (std::size_t i = 0; i < 16; ++i) a += u[j + 32 * i] * d[j + 32 * i];
      const auto at = static_cast<std::ptrdiff_t>(offset) + static_cast<std::ptrdiff_t>(32 * k + j) - 1;
      if (at >= 0 && static_cast<std::size_t>(at) < n) y[static_cast<std::size_t>(at)] = static_cast<float>(a);
    }
  }
  return y;
}

// The MP3 codec in miniature: Mp3Hybrid's granules at offset + 576 g, coefficients below
// `relative` x the granule's RMS coefficient zeroed, synthesised back.
std::vector<float> mp3_codec(const std::vector<float>& x, int offset, double relative) {
  fakeless::features::Mp3Hybrid a(x.data(), x.size());
  std::vector<std::vector<float>> granules;
  for (std::size_t p = static_cast<std::size_t>(offset); p + fakeless::features::Mp3Hybrid::kSpan <= x.size(); p += 576) {
    std::vector<float> c(576);
    a.granule(p, c.data());
    double ms = 0;
    for (const float v : c) ms += static_cast<double>(v) * v;
    const double floor = relative * std::sqrt(ms / 576);
    for (auto& v : c) {
      if (std::fabs(v) < floor) v = 0.0F;
    }
    granules.push_back(std::move(c));
  }
  return mp3_synthesis(granules, offset, x.size());
}

// A codec's round trip in miniature: MDCT on the family's grid (frames start at
// offset + j M), coefficients below `relative` x the frame's RMS coefficient zeroed (none
// when relative = 0, nor in the frames starting at t where keep(t) holds: as an encoder's
// short blocks, no long-grid nulls there), inverse MDCT with the same window, overlap-add.
std::vector<float> codec(const std::vector<float>& x, GridFamily family, int offset, double relative,
                         fakeless::dsp::FftCache& ffts, const std::function<bool(std::size_t)>& keep = {}) {
  if (family == GridFamily::mp3) return mp3_codec(x, offset, relative);
  const int m = fakeless::features::grid_hop(family, kRate);
  const auto M = static_cast<std::size_t>(m);
  const auto w = fakeless::features::grid_window(family, m);
  auto& dct = ffts.dct4(m);
  std::vector<float> y(x.size(), 0.0F), c(M), u(M);
  for (std::size_t t = static_cast<std::size_t>(offset); t + 2 * M <= x.size(); t += M) {
    fakeless::features::grid_mdct(x.data() + t, w.data(), m, dct, c.data());
    double ms = 0;
    for (const float v : c) ms += static_cast<double>(v) * v;
    const double floor = keep && keep(t) ? 0.0 : relative * std::sqrt(ms / m);
    for (auto& v : c) {
      if (std::fabs(v) < floor) v = 0.0F;
    }
    // DCT-IV is its own inverse up to 2M: unfold (u1, u2) -> (u2, -u2_r, -u1_r, -u1), window
    // again; with w[n]^2 + w[n+M]^2 = 1 the overlap-add cancels the aliasing.
    std::copy(c.begin(), c.end(), dct.input());
    dct.execute();
    for (std::size_t i = 0; i < M; ++i) u[i] = dct.output()[i] / static_cast<float>(2 * m);
    const std::size_t h = M / 2;
    for (std::size_t i = 0; i < h; ++i) {
      const float u1 = u[i], u2 = u[h + i];
      const float u1r = u[h - 1 - i], u2r = u[M - 1 - i];
      y[t + i] += w[i] * u2;
      y[t + h + i] += w[h + i] * -u2r;
      y[t + M + i] += w[M + i] * -u1r;
      y[t + M + h + i] += w[M + h + i] * -u1;
    }
  }
  return y;
}

}  // namespace

namespace {

struct Stereo {
  std::vector<float> l, r;
};

Stereo song(std::size_t n = kSamples) { return {music(n, 1), music(n, 2)}; }

fakeless::features::GridFeatures analyse(const std::vector<float>& l, const std::vector<float>& r, int rate = kRate,
                                         int bits = 16, fakeless::features::GridParams params = {}) {
  fakeless::dsp::FftCache ffts;
  GridAnalyzer a(rate, 2, params);
  const auto x = testsig::interleave(l, r);
  // In blocks, as the pipeline feeds it.
  for (std::size_t i = 0; i < x.size() / 2; i += 8192) {
    a.consume(x.data() + 2 * i, std::min<std::size_t>(8192, x.size() / 2 - i));
  }
  return a.finish(ffts, bits);
}

// What a file must show for its grid to count as found in these tests (the verdict's
// thresholds are set on the corpus; see docs/features.md).
constexpr double kFound = 2.0;

}  // namespace

TEST_CASE("grid: the MDCT round trip of the test codec reconstructs the signal", "[grid]") {
  fakeless::dsp::FftCache ffts;
  const auto x = music(20000, 3);
  for (const auto fam : fakeless::features::kAllGridFamilies) {
    const int m = fakeless::features::grid_hop(fam, kRate);
    const auto y = codec(x, fam, 7, 0.0, ffts);
    double err = 0;
    // MP3: the polyphase window reaches 1632 samples; its reconstruction is near-perfect
    // (about -84 dB), not exact.
    const std::size_t edge = fam == GridFamily::mp3 ? 2000 : static_cast<std::size_t>(m);
    for (std::size_t i = 7 + edge; i + 7 + 3 * edge < x.size(); ++i) {
      err = std::max(err, static_cast<double>(std::fabs(x[i] - y[i])));
    }
    INFO(fakeless::features::to_string(fam));
    CHECK(err < 1e-4);
  }
}

TEST_CASE("grid: the FFT-based MDCT from parity lanes equals the DCT-IV reference", "[grid]") {
  fakeless::dsp::FftCache ffts;
  const auto x = music(8192, 3);
  fakeless::features::ParitySplit split;
  split.assign(x.data(), x.size());
  for (const auto fam : fakeless::features::kAllGridFamilies) {
    const int m = fakeless::features::grid_hop(fam, kRate);
    const auto M = static_cast<std::size_t>(m);
    const std::size_t h = M / 2;
    fakeless::features::GridMdct fast(fam, m, ffts);
    std::vector<float> ref(M), a(h), b(h);
    // Even and odd frame starts (the lanes swap), and the last frame that fits.
    for (const std::size_t p : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{300}, x.size() - 2 * M}) {
      fast.forward_pairs(split, p, a.data(), b.data());
      fakeless::features::grid_mdct(x.data() + p, fast.window().data(), m, ffts.dct4(m), ref.data());
      double err = 0, mag = 0;
      for (std::size_t k = 0; k < h; ++k) {
        err = std::max(err, static_cast<double>(std::fabs(a[k] - ref[2 * k])));
        err = std::max(err, static_cast<double>(std::fabs(-b[k] - ref[M - 1 - 2 * k])));
      }
      for (const float v : ref) mag = std::max(mag, static_cast<double>(std::fabs(v)));
      INFO(fakeless::features::to_string(fam) << " at " << p);
      CHECK(mag > 0);
      CHECK(err < 1e-4 * mag);
    }
    CHECK_THROWS_AS(fast.forward_pairs(split, x.size() - 2 * M + 1, a.data(), b.data()), std::out_of_range);
  }
}

TEST_CASE("grid: MDCT-quantised audio is found at the codec's offset, for every family", "[grid]") {
  fakeless::dsp::FftCache ffts;
  const auto s = song();
  for (const auto fam : fakeless::features::kAllGridFamilies) {
    const int m = fakeless::features::grid_hop(fam, kRate);
    for (const int offset : {0, 301 % m, m - 5}) {
      const auto l = pcm16(codec(s.l, fam, offset, 0.15, ffts));
      const auto r = pcm16(codec(s.r, fam, offset, 0.15, ffts));
      const auto g = analyse(l, r);
      const auto& res = g.of(fam);
      INFO(std::string(fakeless::features::to_string(fam)) + " at offset " + std::to_string(offset));
      REQUIRE(res.applies);
      REQUIRE(res.offset.has_value());
      CHECK(*res.offset == offset);
      REQUIRE(res.evidence.has_value());
      CHECK(*res.evidence > kFound);
      CHECK(*res.excess > 0.02);
      CHECK(*res.z > 10.0);
      const auto found = fakeless::features::grid_finding(g);
      REQUIRE(found.has_value());
      CHECK(fakeless::features::codec_of(found->family) == fakeless::features::codec_of(fam));
    }
  }
}

TEST_CASE("grid: the prior alignment is confirmed where the stage-1 search cannot see the grid", "[grid]") {
  // Six seconds coded on the family's grid at one of its prior offsets (the last: AAC 960,
  // MP3 240, Vorbis 960; the first three seconds quiet, so the excerpt is the second
  // stretch, which starts at file sample 132300: not a multiple of any hop), with a loud
  // uncoded burst of one hop in it: the stage-1 search (the loudest frame) sees only the
  // burst, so its candidates are chance; the stage-2 frames are mostly coded ones.
  fakeless::dsp::FftCache ffts;
  const std::size_t n = 6 * kRate;
  for (const auto fam : {GridFamily::aac_kbd, GridFamily::mp3, GridFamily::vorbis}) {
    const int m = fakeless::features::grid_hop(fam, kRate);
    const int prior = fakeless::features::grid_prior_offsets(fam, m).back();
    auto s = song(n);
    for (std::size_t i = 0; i < n / 2; ++i) {
      s.l[i] *= 0.1F;
      s.r[i] *= 0.1F;
    }
    auto l = codec(s.l, fam, prior, 0.15, ffts);
    auto r = codec(s.r, fam, prior, 0.15, ffts);
    const auto burst_l = testsig::white(static_cast<std::size_t>(m), 0.9, 7);
    const auto burst_r = testsig::white(static_cast<std::size_t>(m), 0.9, 8);
    const std::size_t at = n / 2 + kRate;
    for (std::size_t i = 0; i < burst_l.size(); ++i) {
      l[at + i] += burst_l[i];
      r[at + i] += burst_r[i];
    }
    l = pcm16(l);
    r = pcm16(r);
    fakeless::features::GridParams without;
    without.prior_offsets = 0;
    const auto g0 = analyse(l, r, kRate, 16, without).of(fam);
    const auto g1 = analyse(l, r).of(fam);
    INFO(std::string(fakeless::features::to_string(fam)) + ": z without the prior " + std::to_string(g0.z.value_or(-1)) +
         " at " + std::to_string(g0.offset.value_or(-1)) + ", with it " + std::to_string(g1.z.value_or(-1)));
    REQUIRE(g0.z.has_value());
    CHECK(*g0.z < 6.0);
    REQUIRE(g1.offset.has_value());
    CHECK(*g1.offset == prior);
    CHECK(*g1.z > 10.0);
  }
}

TEST_CASE("grid: AAC's confirmation frames are steady ones (attacks are short blocks without the long grid)",
          "[grid]") {
  // Six seconds with a sharp attack (decaying noise) every 0.2 s, coded on the AAC
  // long-block grid at offset 0, except the frames that hold an attack's onset, which the
  // codec leaves unquantised (an encoder's short blocks: no long-grid nulls). Those are
  // the loudest frames; the steady ones in between carry the grid.
  fakeless::dsp::FftCache ffts;
  const std::size_t n = 6 * kRate;
  const std::size_t step = kRate / 5;
  std::vector<std::size_t> onsets;
  for (std::size_t at = 3000; at + 4000 < n; at += step) onsets.push_back(at);
  for (const auto fam : {GridFamily::aac_sine, GridFamily::aac_kbd}) {
    const auto m = static_cast<std::size_t>(fakeless::features::grid_hop(fam, kRate));
    auto s = song(n);
    for (std::size_t k = 0; k < onsets.size(); ++k) {
      const auto nl = testsig::white(4000, 0.9, static_cast<unsigned>(100 + 2 * k));
      const auto nr = testsig::white(4000, 0.9, static_cast<unsigned>(101 + 2 * k));
      for (std::size_t i = 0; i < 4000; ++i) {
        const auto d = static_cast<float>(std::exp(-static_cast<double>(i) / 600.0));
        s.l[onsets[k] + i] += nl[i] * d;
        s.r[onsets[k] + i] += nr[i] * d;
      }
    }
    const auto holds_onset = [&](std::size_t t) {
      return std::any_of(onsets.begin(), onsets.end(), [&](std::size_t o) { return o >= t && o < t + 2 * m; });
    };
    const auto l = pcm16(codec(s.l, fam, 0, 0.15, ffts, holds_onset));
    const auto r = pcm16(codec(s.r, fam, 0, 0.15, ffts, holds_onset));
    const auto g = analyse(l, r).of(fam);
    INFO(std::string(fakeless::features::to_string(fam)) + ": z " + std::to_string(g.z.value_or(-1)) + " at " +
         std::to_string(g.offset.value_or(-1)));
    REQUIRE(g.offset.has_value());
    CHECK(*g.offset == 0);
    CHECK(*g.z > 10.0);
  }
}

TEST_CASE("grid: the same audio unquantised, genuine and band-limited genuine audio show no grid", "[grid]") {
  fakeless::dsp::FftCache ffts;
  const auto s = song();
  const auto lowpassed_l = testsig::brickwall(s.l, kRate, 16000, 255);
  const auto lowpassed_r = testsig::brickwall(s.r, kRate, 16000, 255);
  const auto iir_l = testsig::gentle(s.l, kRate, 12000, 4);
  const auto iir_r = testsig::gentle(s.r, kRate, 12000, 4);
  struct Case {
    const char* name;
    std::vector<float> l, r;
  };
  const Case cases[] = {
      {"unquantised round trip (aac_sine grid)", pcm16(codec(s.l, GridFamily::aac_sine, 100, 0.0, ffts)),
       pcm16(codec(s.r, GridFamily::aac_sine, 100, 0.0, ffts))},
      {"genuine", pcm16(s.l), pcm16(s.r)},
      {"low-passed at 16 kHz (FIR)", pcm16(lowpassed_l), pcm16(lowpassed_r)},
      {"rolled off from 12 kHz (IIR)", pcm16(iir_l), pcm16(iir_r)},
  };
  for (const auto& c : cases) {
    const auto g = analyse(c.l, c.r);
    for (const auto fam : fakeless::features::kAllGridFamilies) {
      const auto& res = g.of(fam);
      INFO(std::string(c.name) + ", " + std::string(fakeless::features::to_string(fam)));
      REQUIRE(res.applies);
      REQUIRE(res.evidence.has_value());
      // No peak, or one too small to stand out of the references' spread (a single null
      // test against none gives evidence 2 and z 1 in the short AC-3 frames).
      CHECK((*res.evidence < kFound || *res.z < fakeless::features::GridRule{}.min_z));
      CHECK(*res.excess < 0.01);
    }
    INFO(c.name);
    CHECK_FALSE(fakeless::features::grid_finding(g).has_value());
  }
}

TEST_CASE("grid: mono, silence, tiny files, many channels and odd rates give finite or null values", "[grid]") {
  fakeless::dsp::FftCache ffts;
  auto finite_or_null = [](const fakeless::features::GridFeatures& g) {
    for (const auto& r : g.families) {
      for (const auto& v : {r.evidence, r.z, r.excess}) {
        if (v) CHECK(std::isfinite(*v));
      }
      if (r.offset) CHECK(*r.offset >= 0);
    }
  };
  SECTION("mono, MDCT-quantised") {
    const auto x = pcm16(codec(music(kSamples, 4), GridFamily::vorbis, 77, 0.15, ffts));
    GridAnalyzer a(kRate, 1, {});
    a.consume(x.data(), x.size());
    const auto g = a.finish(ffts, 16);
    finite_or_null(g);
    REQUIRE(g.of(GridFamily::vorbis).offset.has_value());
    CHECK(*g.of(GridFamily::vorbis).offset == 77);
    CHECK(*g.of(GridFamily::vorbis).evidence > kFound);
  }
  SECTION("digital silence") {
    std::vector<float> z(2 * kRate, 0.0F);
    GridAnalyzer a(kRate, 2, {});
    a.consume(z.data(), kRate);
    const auto g = a.finish(ffts, 16);
    for (const auto& r : g.families) CHECK_FALSE(r.evidence.has_value());
  }
  SECTION("shorter than one frame, and nothing at all") {
    std::vector<float> x(300, 0.1F);
    GridAnalyzer a(kRate, 1, {});
    a.consume(x.data(), x.size());
    const auto g = a.finish(ffts, 16);
    for (const auto& r : g.families) CHECK_FALSE(r.applies);
    GridAnalyzer empty(kRate, 2, {});
    const auto e = empty.finish(ffts, 16);
    for (const auto& r : e.families) CHECK_FALSE(r.applies);
  }
  SECTION("three channels") {
    const auto m = music(kRate, 5);
    std::vector<float> x(3 * m.size());
    for (std::size_t i = 0; i < m.size(); ++i) x[3 * i] = x[3 * i + 1] = x[3 * i + 2] = m[i];
    GridAnalyzer a(kRate, 3, {});
    a.consume(x.data(), m.size());
    finite_or_null(a.finish(ffts, 16));
  }
  SECTION("rates: AC-3 only at 32/44.1/48 kHz, nothing above 96 kHz") {
    for (const int rate : {8000, 22050, 32000, 96000, 192000, 384000}) {
      const auto m = music(rate / 2, 6);
      GridAnalyzer a(rate, 1, {});
      a.consume(m.data(), m.size());
      const auto g = a.finish(ffts, 24);
      finite_or_null(g);
      INFO(rate);
      CHECK(g.of(GridFamily::ac3).applies == (rate == 32000));
      if (rate > 96000) {
        for (const auto& r : g.families) CHECK_FALSE(r.applies);
      }
    }
  }
}

TEST_CASE("grid: the pipeline reports the file's offset, also from quick mode's seeked segments", "[grid]") {
  fakeless::dsp::FftCache ffts;
  const std::size_t n = 5 * kRate;
  const auto l = codec(music(n, 1), GridFamily::aac_sine, 300, 0.15, ffts);
  const auto r = codec(music(n, 2), GridFamily::aac_sine, 300, 0.15, ffts);
  for (const bool quick : {false, true}) {
    auto src = fakeless::io::memory_source_int(testsig::pcm_format(kRate, 2, 16),
                                               testsig::quantise(testsig::interleave(l, r), 16));
    fakeless::AnalysisOptions opt;
    opt.quick = quick;
    opt.quick_params.segments = 2;
    opt.quick_params.segment_s = 1.0;
    const auto f = fakeless::extract_features(*src, ffts, opt);
    INFO(quick);
    CHECK(f.quick_segments == (quick ? 2 : 0));
    const auto& res = f.grid.of(GridFamily::aac_sine);
    REQUIRE(res.offset.has_value());
    CHECK(*res.offset == 300);
    CHECK(*res.evidence > kFound);
    const auto j = fakeless::features_to_json(f);
    CHECK(j["grid_aac_sine_offset"] == 300);
    CHECK(j["grid_best_family"] == 0);

    fakeless::AnalysisOptions off = opt;
    off.groups = fakeless::FeatureGroups::without("grid");
    auto src2 = fakeless::io::memory_source_int(testsig::pcm_format(kRate, 2, 16),
                                                testsig::quantise(testsig::interleave(l, r), 16));
    const auto j2 = fakeless::features_to_json(fakeless::extract_features(*src2, ffts, off));
    CHECK(j2["grid_best_evidence"].is_null());
    CHECK(j["grid_fires"] == 1);

    // The verdict names the codec and its grid.
    const auto v = fakeless::make_verdict(f, "x.flac", fakeless::model::RuleModel{}, std::chrono::steady_clock::now());
    REQUIRE(v.evidence["grid"].is_object());
    CHECK(v.evidence["grid"]["codec"] == "aac");
    CHECK(v.evidence["grid"]["offset"] == 300);
    CHECK(v.evidence["grid"]["strength"].get<double>() > 0.02);
  }
}

TEST_CASE("grid: MP3's hybrid analysis inverts the ISO decoder's synthesis", "[grid][mp3]") {
  // Sparse granules (most lines zero, as an encoder leaves them), synthesised the decoder's
  // way and rounded to 16 bits: analysed at the same alignment, the zero lines come back at
  // the rounding floor and the others to the filterbank's accuracy; one sample off, not.
  std::mt19937 rng(5);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  const int offset = 301;
  const std::size_t n = 40 * 576;
  std::vector<std::vector<float>> granules(30, std::vector<float>(576, 0.0F));
  for (auto& g : granules) {
    for (std::size_t i = 0; i < 576; ++i) {
      if (uni(rng) < 0.3) g[i] = static_cast<float>(0.05 * gauss(rng) / (1.0 + static_cast<double>(i) / 40.0));
    }
  }
  const auto y = pcm16(mp3_synthesis(granules, offset, n));
  fakeless::features::Mp3Hybrid a(y.data(), y.size());
  const float lsb = 1.0F / 32768.0F;
  std::vector<float> c(576);
  double max_zero = 0.0, max_err = 0.0, max_mag = 0.0;
  std::size_t zeros = 0;
  for (std::size_t g = 2; g + 2 < granules.size(); ++g) {
    a.granule(static_cast<std::size_t>(offset) + 576 * g, c.data());
    for (std::size_t i = 0; i < 576; ++i) {
      const double want = granules[g][i], got = c[i];
      if (want == 0.0) {
        max_zero = std::max(max_zero, std::fabs(got));
        ++zeros;
      }
      max_err = std::max(max_err, std::fabs(got - want));
      max_mag = std::max(max_mag, std::fabs(want));
    }
  }
  INFO("zero lines up to " << max_zero / lsb << " LSB over " << zeros << "; error " << max_err << " of " << max_mag);
  CHECK(zeros > 5000);
  CHECK(max_zero < 2.0 * lsb);
  CHECK(max_err < 1e-3 * max_mag);
  // One sample later the zeros are gone: the alignment is what shows.
  std::size_t near_zero = 0;
  for (std::size_t g = 2; g + 2 < granules.size(); ++g) {
    a.granule(static_cast<std::size_t>(offset) + 1 + 576 * g, c.data());
    for (const float v : c) near_zero += std::fabs(v) < 2.0F * lsb ? 1 : 0;
  }
  CHECK(near_zero < zeros / 4);
}

TEST_CASE("grid: MP3's hybrid analysis has the stated noise gain", "[grid][mp3]") {
  const auto x = testsig::white(200 * 576, 1.0, 11);
  double var_in = 0.0;
  for (const float v : x) var_in += static_cast<double>(v) * v;
  var_in /= static_cast<double>(x.size());
  fakeless::features::Mp3Hybrid a(x.data(), x.size());
  std::vector<float> c(576);
  double ms = 0.0;
  std::size_t count = 0;
  for (std::size_t p = 0; p + fakeless::features::Mp3Hybrid::kSpan <= x.size(); p += 576) {
    a.granule(p, c.data());
    for (const float v : c) ms += static_cast<double>(v) * v;
    count += 576;
  }
  const double gain = std::sqrt(ms / static_cast<double>(count) / var_in);
  CHECK(gain == Approx(fakeless::features::Mp3Hybrid::kNoiseGain).epsilon(0.02));
  CHECK_THROWS_AS(a.granule(x.size() - fakeless::features::Mp3Hybrid::kSpan + 1, c.data()), std::out_of_range);
}
