#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>

#include "fakeless/features/bit_depth.hpp"
#include "signals.hpp"

using fakeless::features::BitDepthAnalyzer;

namespace {
fakeless::io::AudioBlock int_block(const std::vector<std::int32_t>& v) {
  fakeless::io::AudioBlock b;
  b.ints = v;
  b.samples.assign(v.size(), 0.0F);
  b.frames = v.size();
  b.channels = 1;
  return b;
}
fakeless::io::AudioBlock float_block(const std::vector<float>& v) {
  fakeless::io::AudioBlock b;
  b.samples = v;
  b.frames = v.size();
  b.channels = 1;
  return b;
}
}  // namespace

TEST_CASE("effective bits of integer PCM", "[bits]") {
  const auto x = testsig::white(10000);
  for (int bits : {8, 16, 20, 24}) {
    CAPTURE(bits);
    BitDepthAnalyzer a;
    a.consume(int_block(testsig::quantise(x, bits)));
    REQUIRE(a.finish().effective_bits.has_value());
    CHECK(*a.finish().effective_bits == bits);
  }
}

TEST_CASE("16-bit data in a 24-bit container reads 16 bits and is flagged padded", "[bits]") {
  const auto x = testsig::white(44100 * 2);
  auto padded = testsig::quantise(x, 16);  // already left-justified: the low 16 bits are zero
  BitDepthAnalyzer a;
  a.consume(int_block(padded));
  CHECK(*a.finish().effective_bits == 16);

  auto src = fakeless::io::memory_source_int(testsig::pcm_format(44100, 1, 24), padded);
  fakeless::dsp::FftCache ffts;
  const auto v = fakeless::analyze_source(*src, "m", ffts, {}, fakeless::model::RuleModel{});
  CHECK(v.decision.verdict == "padded");
  CHECK(v.decision.flags == std::vector<std::string>{"padded"});
  CHECK(v.decision.original_bits == 16);

  auto genuine = fakeless::io::memory_source_int(testsig::pcm_format(44100, 1, 24), testsig::quantise(x, 24));
  const auto g = fakeless::analyze_source(*genuine, "m", ffts, {}, fakeless::model::RuleModel{});
  CHECK(g.decision.verdict == "lossless");
}

TEST_CASE("effective bits of floating-point samples", "[bits]") {
  const auto x = testsig::white(10000);
  std::vector<float> on16(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) on16[i] = static_cast<float>(std::round(x[i] * 32768.0) / 32768.0);
  BitDepthAnalyzer a;
  a.consume(float_block(on16));
  CHECK(*a.finish().effective_bits == 16);

  BitDepthAnalyzer b;
  b.consume(float_block(x));
  CHECK(*b.finish().effective_bits == 24);
}

TEST_CASE("silence has no effective depth and non-finite floats are counted", "[bits]") {
  BitDepthAnalyzer a;
  a.consume(int_block(std::vector<std::int32_t>(100, 0)));
  CHECK_FALSE(a.finish().effective_bits.has_value());

  BitDepthAnalyzer b;
  b.consume(float_block({0.5F, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}));
  CHECK(b.finish().nonfinite_samples == 2);
}

namespace {
fakeless::features::BitDepthFeatures bit_stats(const std::vector<std::int32_t>& v, int container_bits,
                                               int channels = 1) {
  BitDepthAnalyzer a(44100, container_bits);
  fakeless::io::AudioBlock b = int_block(v);
  b.channels = channels;
  b.frames = v.size() / static_cast<std::size_t>(channels);
  a.consume(b);
  return a.finish();
}

// TPDF dither of +-1 LSB of 24 bits (256, left-justified), clamped so full-scale samples
// cannot overflow.
void dither_lsb24(std::vector<std::int32_t>& v, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> lsb(0, 1);
  for (auto& s : v) {
    const std::int64_t d = static_cast<std::int64_t>(s) + (lsb(rng) - lsb(rng)) * 256;
    s = static_cast<std::int32_t>(std::clamp<std::int64_t>(d, INT32_MIN, INT32_MAX - 255));
  }
}

// 16-bit values in a 24-bit container plus that dither.
std::vector<std::int32_t> grid16_dithered(const std::vector<float>& x, unsigned seed) {
  auto v = testsig::quantise(x, 16);
  dither_lsb24(v, seed);
  return v;
}
}  // namespace

TEST_CASE("a 16-bit grid under 24-bit dither: full 24 effective bits, but 16 original", "[bits]") {
  const auto x = testsig::white(44100 * 2);
  const auto f = bit_stats(grid16_dithered(x, 5), 24);
  CHECK(*f.effective_bits == 24);
  REQUIRE(f.grid16_concentration.has_value());
  // Residues in {-2..2} 24-bit LSBs of 256: |E exp(i 2 pi r / 256)| ~ 1 - (2 pi / 256)^2 / 2.
  CHECK(*f.grid16_concentration > 0.999);
  CHECK(*f.grid_bits == 16);
  CHECK(*f.original_bits_estimate == 16);

  const auto g = bit_stats(testsig::quantise(x, 24), 24);  // genuine 24-bit
  CHECK(*g.effective_bits == 24);
  CHECK(*g.grid16_concentration < 0.02);  // ~ 1 / sqrt(88200)
  CHECK(*g.grid20_concentration < 0.02);
  CHECK_FALSE(g.grid_bits.has_value());
  CHECK(*g.original_bits_estimate == 24);

  const auto p = bit_stats(testsig::quantise(x, 16), 24);  // plain padding
  CHECK(*p.effective_bits == 16);
  CHECK(*p.grid16_concentration == Approx(1.0).margin(1e-4));
  CHECK(*p.original_bits_estimate == 16);
}

TEST_CASE("a 20-bit grid in 24 bits with dither reads 20; digital silence does not fake a grid", "[bits]") {
  const auto x = testsig::white(44100, 0.2);
  auto v = testsig::quantise(x, 20);
  dither_lsb24(v, 7);
  const auto f = bit_stats(v, 24);
  CHECK(*f.grid16_concentration < 0.05);
  CHECK(*f.grid20_concentration > 0.9);
  CHECK(*f.grid_bits == 20);

  // Genuine 24-bit noise with long stretches of digital silence: zeros are left out.
  auto g = testsig::quantise(testsig::white(44100, 0.2, 9), 24);
  g.insert(g.end(), 200000, 0);
  const auto h = bit_stats(g, 24);
  CHECK(*h.grid16_concentration < 0.02);
  CHECK_FALSE(h.grid_bits.has_value());
}

TEST_CASE("low bits zeroed block by block (lossyWAV-style) are counted per block", "[bits]") {
  const std::size_t block = 512;  // 11.6 ms at 44.1 kHz
  const std::size_t blocks = 200;
  const auto x = testsig::white(block * blocks, 0.2, 4);
  auto v = testsig::quantise(x, 16);
  // Block i keeps all 16 bits when i % 4 == 0, else loses (i % 4) low bits (1, 2, 3).
  for (std::size_t i = 0; i < blocks; ++i) {
    const int zeroed = static_cast<int>(i % 4);
    const std::int32_t mask = ~((std::int32_t{1} << (16 + zeroed)) - 1);
    for (std::size_t j = 0; j < block; ++j) v[i * block + j] &= mask;
  }
  const auto f = bit_stats(v, 16);
  CHECK(*f.effective_bits == 16);
  CHECK(f.blocks == static_cast<std::int64_t>(blocks));
  CHECK(*f.zeroed_block_fraction == Approx(0.75));
  CHECK(*f.zeroed_bits_mean == Approx((0 + 1 + 2 + 3) / 4.0));
  CHECK(*f.block_bits_p10 == 13);

  const auto g = bit_stats(testsig::quantise(x, 16), 16);
  CHECK(*g.zeroed_block_fraction == 0.0);
  CHECK(*g.zeroed_bits_mean == 0.0);
  CHECK(*g.block_bits_p10 == 16);
}

TEST_CASE("per-block low bits are per channel", "[bits]") {
  // Stereo: the left channel keeps 16 bits, the right loses 4 in every block.
  const auto x = testsig::white(512 * 50 * 2, 0.2, 6);
  auto v = testsig::quantise(x, 16);
  for (std::size_t i = 1; i < v.size(); i += 2) v[i] &= ~((std::int32_t{1} << 20) - 1);
  const auto f = bit_stats(v, 16, 2);
  CHECK(f.blocks == 100);
  CHECK(*f.zeroed_block_fraction == Approx(0.5));
  CHECK(*f.zeroed_bits_mean == Approx(2.0));
}

TEST_CASE("bit-depth parameters are validated", "[bits]") {
  fakeless::features::BitDepthParams p;
  p.block_ms = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("block_ms"));
}

TEST_CASE("effective bits and peak are the same with and without the sample statistics", "[bits]") {
  // With statistics the OR, min and max come from the per-block pass; without, from a plain
  // loop: both must agree, in mono, stereo and 3 channels, over several blocks.
  for (const int ch : {1, 2, 3}) {
    std::vector<std::int32_t> v(static_cast<std::size_t>(ch) * 3000);
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i] = static_cast<std::int32_t>(((i * 2654435761U) % 40000U) - 20000U) * (1 << 12);
    }
    v[777] = INT32_MIN;  // the most negative sample sets the peak
    fakeless::io::AudioBlock b;
    b.ints = v;
    b.samples.assign(v.size(), 0.0F);
    b.frames = v.size() / static_cast<std::size_t>(ch);
    b.channels = ch;
    BitDepthAnalyzer with(44100, 24, {}, true);
    BitDepthAnalyzer without(44100, 24, {}, false);
    with.consume(b);
    without.consume(b);
    const auto a = with.finish();
    const auto z = without.finish();
    REQUIRE(a.effective_bits.has_value());
    CHECK(a.effective_bits == z.effective_bits);
    CHECK(*a.effective_bits == 20);  // multiples of 2^12 in 32-bit left-justified ints
    CHECK(a.peak == z.peak);
    CHECK(a.peak == 1.0);
  }
}
