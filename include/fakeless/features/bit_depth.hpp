#pragma once
// Effective bit depth: how many bits the samples really use.
//  - Integer PCM: the OR of all left-justified samples; its trailing zero bits were never
//    used, so effective_bits = 32 - trailing zeros (a 16-bit recording stored in a 24-bit
//    container reads 16).
//  - Floating point: the coarsest grid all samples lie on: for each non-zero sample the
//    weight of its lowest set mantissa bit, 2^L; effective_bits = 1 - min L (a float file
//    holding 16-bit values reads 16), capped at 24 (the float mantissa).
//  - Digital silence has no effective depth (nullopt).
// Non-finite float samples are counted; the pipeline rejects files that have any.
//
// Beyond the exact count, for integer PCM (statistics of the integer samples only):
//  - Grid concentration at depth d (d in {16, 20}, in containers deeper than 16 bits; not
//    computed for 16-bit and shallower containers, see bit_depth.cpp): the mean resultant length |mean exp(2 pi i r / 2^(32-d))| of the
//    residues r = v mod 2^(32-d) of the left-justified samples v, over samples at least 4
//    steps of the 16-bit grid from zero (digital silence would sit on every grid). ~0 for samples that
//    use the low bits (uniform residues: variance 1/n), ~1 for a d-bit grid plus a little
//    dither (+-1 LSB TPDF at 24 bits: 0.9995), exactly 1 for plain padding. Streamed as one
//    histogram of bits 15..4 of the samples, from which both grids' histograms of the
//    residue's top 8 bits follow (bin centres as phases): one integer increment, and no
//    trigonometry or floating point, per sample.
//  - grid_bits: the smallest d whose concentration is at least grid_min_concentration
//    (default 0.9: +-1 LSB TPDF at 24 bits on a 16-bit grid gives 0.9995, +-1 LSB of 20
//    bits 0.98; interpolators fed 16-bit data, e.g. sox's cubic `rate -q`, leave partial
//    structure around 0.25-0.5, which is not a grid plus dither);
//    original_bits_estimate = min(effective_bits, grid_bits).
//  - Blocks of block_ms (lossyWAV-style processors zero a varying number of low bits per
//    codec block, ~512 samples at 44.1 kHz): per channel and block, the trailing zeros of
//    the OR of the block's samples, for blocks that swing at least 64 container LSBs
//    (peak to peak; quieter blocks can share zeros by chance). Relative to the file's own
//    trailing zeros: zeroed_block_fraction = fraction of such blocks with at least one
//    more zero bit (2^-512 by chance for 512 independent samples), zeroed_bits_mean = the
//    mean number of extra zero bits, block_bits_p10 = the 10th percentile of the blocks'
//    effective bits (32 - trailing zeros).
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "fakeless/io/audio_source.hpp"

namespace fakeless::features {

struct BitDepthParams {
  double block_ms = 11.6;                // [1, 1000] ms; 512 samples at 44.1 kHz
  double grid_min_concentration = 0.9;   // [0.05, 1]

  void validate() const;  // throws std::invalid_argument naming the value
};

struct BitDepthFeatures {
  std::optional<int> effective_bits;
  double peak = 0.0;  // largest |sample|, full scale = 1
  std::int64_t nonfinite_samples = 0;
  // integer PCM only (nullopt otherwise, or when nothing qualified)
  std::optional<double> grid16_concentration;  // d = 16 (containers deeper than 16 bits)
  std::optional<double> grid20_concentration;  // d = 20
  std::optional<int> grid_bits;
  std::optional<int> original_bits_estimate;
  std::int64_t blocks = 0;  // qualifying channel-blocks
  std::optional<double> zeroed_block_fraction;
  std::optional<double> zeroed_bits_mean;
  std::optional<int> block_bits_p10;
};

class BitDepthAnalyzer {
 public:
  // container_bits: the format's bits per sample (selects the grids tested; 0 = unknown).
  explicit BitDepthAnalyzer(int sample_rate_hz = 44100, int container_bits = 0, BitDepthParams params = {},
                            bool sample_statistics = true);
  void consume(const io::AudioBlock& block);
  [[nodiscard]] BitDepthFeatures finish() const;
  [[nodiscard]] std::int64_t nonfinite_samples() const { return nonfinite_; }

 private:
  void consume_ints(const io::AudioBlock& block);
  void close_block();

  BitDepthParams params_;
  bool stats_;
  std::uint32_t int_or_ = 0;
  std::int32_t int_min_ = 0;  // integer samples: extremes so far (0 before any)
  std::int32_t int_max_ = 0;
  bool saw_ints_ = false;
  int min_lsb_exp_ = 1000;  // floats: lowest set bit exponent seen
  float peak_ = 0.0F;
  std::int64_t nonfinite_ = 0;

  // grid concentration
  std::array<int, 2> grid_depths_{};
  static constexpr std::size_t kResidueBins = 4097;  // bits 15..4 of a sample; [4096]: near zero
  std::vector<std::uint32_t> residue_lanes_;  // 2 lanes, flushed before they could overflow
  std::vector<std::int64_t> residue_hist_;
  std::uint64_t lane_samples_ = 0;
  // per-block low bits
  std::size_t block_frames_ = 512;
  std::size_t block_fill_ = 0;
  std::int32_t min_swing_ = 0;
  std::vector<std::uint32_t> block_or_;   // per channel
  std::vector<std::int32_t> block_min_;
  std::vector<std::int32_t> block_max_;
  std::array<std::int64_t, 33> block_tz_hist_{};  // trailing zeros of qualifying blocks
};

}  // namespace fakeless::features
