#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "fakeless/features/holes_mask.hpp"

using namespace fakeless;

namespace {
constexpr double kRate = 44100;
constexpr std::size_t kBins = 1025;  // N = 2048
constexpr double kBinHz = kRate / 2048;

dsp::SpectrumFrame frame_of(const std::vector<float>& p, double mean_square = 1e-3) {
  dsp::SpectrumFrame f;
  f.power = p;
  f.mean_square = mean_square;
  return f;
}
std::size_t count(std::span<const std::uint8_t> m) {
  std::size_t n = 0;
  for (auto v : m) n += v;
  return n;
}
}  // namespace

TEST_CASE("the hole criterion: more than depth_db below the neighbourhood median", "[holes]") {
  CHECK(features::is_hole(-90.0, -70.0, 15.0));
  CHECK_FALSE(features::is_hole(-84.0, -70.0, 15.0));
  CHECK_FALSE(features::is_hole(-85.0, -70.0, 15.0));  // exactly depth_db: not below it
  CHECK_FALSE(features::is_hole(-60.0, -70.0, 15.0));
}

TEST_CASE("a notch in busy content is a hole; shallow dips, quiet frames and low bands are not", "[holes]") {
  features::HoleMasker masker(kBins, kBinHz);
  std::vector<float> p(kBins, 1e-6F);  // -60 dB everywhere
  // A 30 dB notch over bands 100..104 (bins 400..419, 8.6-9.0 kHz).
  for (std::size_t k = 400; k < 420; ++k) p[k] = 1e-9F;
  // A 10 dB dip over bands 150..152: not deep enough.
  for (std::size_t k = 600; k < 612; ++k) p[k] = 1e-7F;
  const auto m = masker.mask(frame_of(p));
  REQUIRE(m.size() == kBins);
  CHECK(count(m) == 20);
  for (std::size_t k = 400; k < 420; ++k) CHECK(m[k] == 1);
  CHECK(m[399] == 0);
  CHECK(m[420] == 0);
  CHECK(m[605] == 0);

  SECTION("a notch one band wide (a gap between harmonics) is not a hole; two bands are") {
    std::vector<float> q(kBins, 1e-6F);
    for (std::size_t k = 400; k < 404; ++k) q[k] = 1e-9F;  // one band
    CHECK(count(masker.mask(frame_of(q))) == 0);
    for (std::size_t k = 404; k < 408; ++k) q[k] = 1e-9F;  // two bands
    CHECK(count(masker.mask(frame_of(q))) == 8);
  }
  SECTION("an inactive frame has no holes") { CHECK(count(masker.mask(frame_of(p, 1e-12))) == 0); }
  SECTION("below min_hz nothing is a hole") {
    std::vector<float> q(kBins, 1e-6F);
    for (std::size_t k = 20; k < 32; ++k) q[k] = 1e-10F;  // 430-690 Hz
    CHECK(count(masker.mask(frame_of(q))) == 0);
    features::HoleMaskParams low;
    low.min_hz = 0;
    features::HoleMasker everywhere(kBins, kBinHz, low);
    CHECK(count(everywhere.mask(frame_of(q))) == 12);
  }
  SECTION("a wide gap that fills the neighbourhood is a cutoff, not a hole") {
    std::vector<float> q(kBins, 1e-6F);
    for (std::size_t k = 700; k < kBins; ++k) q[k] = 1e-12F;
    const auto mq = masker.mask(frame_of(q));
    // Only the bands next to the edge (whose neighbourhood is mostly content) qualify.
    std::size_t deep_inside = 0;
    for (std::size_t k = 760; k < kBins; ++k) deep_inside += mq[k];
    CHECK(deep_inside == 0);
  }
}

TEST_CASE("noise-like spectra give almost no holes", "[holes]") {
  features::HoleMasker masker(kBins, kBinHz);
  std::mt19937 rng(7);
  std::exponential_distribution<double> periodogram(1.0);  // |X|^2 of Gaussian noise
  std::size_t holes = 0;
  const int frames = 400;
  for (int f = 0; f < frames; ++f) {
    std::vector<float> p(kBins);
    for (auto& v : p) v = static_cast<float>(1e-6 * periodogram(rng));
    holes += count(masker.mask(frame_of(p)));
  }
  CHECK(static_cast<double>(holes) / (frames * kBins) < 1e-3);
}

TEST_CASE("hole mask parameters are validated", "[holes]") {
  features::HoleMaskParams p;
  p.depth_db = 1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("depth_db"));
  p = {};
  p.neighbourhood_hz = 50;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("neighbourhood_hz"));
}
