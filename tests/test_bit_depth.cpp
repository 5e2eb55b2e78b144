#include <catch2/catch.hpp>

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
