#include "fakeless/features/bit_depth.hpp"
#include "fakeless/dsp/clones.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace fakeless::features {
namespace {

constexpr std::uint32_t kResidueNearZero = 4096;

// The residue bin of each of m samples: bits 15..4, or kResidueNearZero for samples within
// 4 steps of the 16-bit grid from zero.
FAKELESS_CLONES void residue_bins(const std::int32_t* v, std::size_t m, std::uint32_t* bins) {
  constexpr std::uint32_t kMinAbs = 4U << 16;
  for (std::size_t j = 0; j < m; ++j) {
    const auto u = static_cast<std::uint32_t>(v[j]);
    const std::uint32_t a = v[j] < 0 ? 0U - u : u;
    bins[j] = a >= kMinAbs ? (u >> 4) & 0xFFFU : kResidueNearZero;
  }
}

struct Extremes {
  std::uint32_t bits_or;
  std::int32_t lo;
  std::int32_t hi;
};

// OR, min and max of channel 0 and 1 of `frames` interleaved stereo frames, onto e[0], e[1].
FAKELESS_CLONES void stereo_extremes(const std::int32_t* p, std::size_t frames, Extremes* e) {
  std::uint32_t o0 = 0, o1 = 0;
  std::int32_t lo0 = e[0].lo, lo1 = e[1].lo, hi0 = e[0].hi, hi1 = e[1].hi;
  for (std::size_t j = 0; j < frames; ++j) {
    const std::int32_t a = p[2 * j];
    const std::int32_t b = p[2 * j + 1];
    o0 |= static_cast<std::uint32_t>(a);
    o1 |= static_cast<std::uint32_t>(b);
    lo0 = std::min(lo0, a);
    hi0 = std::max(hi0, a);
    lo1 = std::min(lo1, b);
    hi1 = std::max(hi1, b);
  }
  e[0] = {e[0].bits_or | o0, lo0, hi0};
  e[1] = {e[1].bits_or | o1, lo1, hi1};
}

// The same for one channel of `frames` frames of ch channels (ch == 1: contiguous).
FAKELESS_CLONES void channel_extremes(const std::int32_t* p, std::size_t frames, std::size_t ch, Extremes& e) {
  std::uint32_t o = 0;
  std::int32_t lo = e.lo;
  std::int32_t hi = e.hi;
  if (ch == 1) {
    for (std::size_t j = 0; j < frames; ++j) {
      o |= static_cast<std::uint32_t>(p[j]);
      lo = std::min(lo, p[j]);
      hi = std::max(hi, p[j]);
    }
  } else {
    for (std::size_t j = 0; j < frames; ++j) {
      const std::int32_t a = p[j * ch];
      o |= static_cast<std::uint32_t>(a);
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
  }
  e = {e.bits_or | o, lo, hi};
}

}  // namespace

void BitDepthParams::validate() const {
  if (!(block_ms >= 1 && block_ms <= 1000)) {
    throw std::invalid_argument("bit-depth parameter block_ms out of range: " + std::to_string(block_ms));
  }
  if (!(grid_min_concentration >= 0.05 && grid_min_concentration <= 1)) {
    throw std::invalid_argument("bit-depth parameter grid_min_concentration out of range: " +
                                std::to_string(grid_min_concentration));
  }
}

BitDepthAnalyzer::BitDepthAnalyzer(int sample_rate_hz, int container_bits, BitDepthParams params,
                                   bool sample_statistics)
    : params_(params), stats_(sample_statistics) {
  params_.validate();
  const int container = container_bits > 0 ? std::min(container_bits, 32) : 32;
  // Grids are tested in containers deeper than 16 bits only: 16-bit files are the common
  // case (CD rips), an 8-bit source in them is caught exactly by effective_bits unless
  // dithered, and dithered 8-bit sources are rare enough not to cost every file a pass.
  grid_depths_ = container > 16 ? std::array<int, 2>{16, 20} : std::array<int, 2>{0, 0};
  for (auto& d : grid_depths_) {
    if (d >= container) d = 0;  // a grid at or above the container's depth says nothing
  }
  if (grid_depths_[0] != 0) {
    residue_lanes_.assign(2 * kResidueBins, 0);
    residue_hist_.assign(kResidueBins, 0);
  }
  block_frames_ = static_cast<std::size_t>(
      std::max(1L, std::lround(params_.block_ms * 1e-3 * static_cast<double>(std::max(sample_rate_hz, 1)))));
  min_swing_ = 64 * (std::int32_t{1} << (32 - container));
}

void BitDepthAnalyzer::close_block() {
  for (std::size_t c = 0; c < block_or_.size(); ++c) {
    const std::int64_t swing = static_cast<std::int64_t>(block_max_[c]) - block_min_[c];
    if (swing >= min_swing_) ++block_tz_hist_[static_cast<std::size_t>(std::countr_zero(block_or_[c]))];
    block_or_[c] = 0;
    block_min_[c] = std::numeric_limits<std::int32_t>::max();
    block_max_[c] = std::numeric_limits<std::int32_t>::min();
  }
  block_fill_ = 0;
}

void BitDepthAnalyzer::consume_ints(const io::AudioBlock& block) {
  const auto ch = static_cast<std::size_t>(std::max(block.channels, 1));
  if (block_or_.size() != ch) {
    block_or_.assign(ch, 0);
    block_min_.assign(ch, std::numeric_limits<std::int32_t>::max());
    block_max_.assign(ch, std::numeric_limits<std::int32_t>::min());
    block_fill_ = 0;
  }
  const std::int32_t* v = block.ints.data();
  const std::size_t n = block.frames * ch;
  // Grid residues: one histogram of bits 15..4 of the left-justified samples (the residue
  // of the 16-bit grid holds bits 15..0, that of the 20-bit grid bits 11..0, so both
  // histograms of top-8-bit residues follow from it), bin 4096 for samples too close to
  // zero. Integer increments only, alternating between two copies so that consecutive
  // samples on the same bin (padded data) do not wait for each other's stores; the
  // trigonometry is done once, in finish().
  if (grid_depths_[0] != 0) {
    // In chunks: first the bin of every sample (a loop without stores to the histogram,
    // which the compiler vectorises), then the increments alone.
    constexpr std::size_t kChunk = 2048;
    std::array<std::uint32_t, kChunk> bins;
    std::uint32_t* h0 = residue_lanes_.data();
    std::uint32_t* h1 = h0 + kResidueBins;
    for (std::size_t start = 0; start < n; start += kChunk) {
      const std::size_t m = std::min(kChunk, n - start);
      residue_bins(v + start, m, bins.data());
      std::size_t j = 0;
      for (; j + 1 < m; j += 2) {
        ++h0[bins[j]];
        ++h1[bins[j + 1]];
      }
      if (j < m) ++h0[bins[j]];
    }
    lane_samples_ += n;
    if (lane_samples_ > (std::uint64_t{1} << 31)) {  // before a uint32 bin could overflow
      for (std::size_t k = 0; k < kResidueBins; ++k) {
        residue_hist_[k] += static_cast<std::int64_t>(h0[k]) + h1[k];
        h0[k] = 0;
        h1[k] = 0;
      }
      lane_samples_ = 0;
    }
  }
  // Low bits per block and channel, a block segment at a time.
  std::size_t i = 0;
  while (i < block.frames) {
    const std::size_t seg = std::min(block.frames - i, block_frames_ - block_fill_);
    const std::int32_t* p = v + i * ch;
    if (ch == 2) {
      std::array<Extremes, 2> e{{{0, block_min_[0], block_max_[0]}, {0, block_min_[1], block_max_[1]}}};
      stereo_extremes(p, seg, e.data());
      for (std::size_t c = 0; c < 2; ++c) {
        block_or_[c] |= e[c].bits_or;
        block_min_[c] = e[c].lo;
        block_max_[c] = e[c].hi;
        int_or_ |= e[c].bits_or;
        int_min_ = std::min(int_min_, e[c].lo);
        int_max_ = std::max(int_max_, e[c].hi);
      }
    } else {
      for (std::size_t c = 0; c < ch; ++c) {
        Extremes e{0, block_min_[c], block_max_[c]};
        channel_extremes(p + c, seg, ch, e);
        block_or_[c] |= e.bits_or;
        block_min_[c] = e.lo;
        block_max_[c] = e.hi;
        int_or_ |= e.bits_or;
        int_min_ = std::min(int_min_, e.lo);
        int_max_ = std::max(int_max_, e.hi);
      }
    }
    i += seg;
    block_fill_ += seg;
    if (block_fill_ == block_frames_) close_block();
  }
}

void BitDepthAnalyzer::consume(const io::AudioBlock& block) {
  const std::size_t n = block.frames * static_cast<std::size_t>(block.channels);
  if (!block.ints.empty()) {
    saw_ints_ = true;
    if (stats_) {
      consume_ints(block);  // gathers the OR, min and max of the samples on its way
    } else {
      std::uint32_t acc = 0;
      std::int32_t mx = int_max_;
      std::int32_t mn = int_min_;
      for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t v = block.ints[i];
        acc |= static_cast<std::uint32_t>(v);
        mx = std::max(mx, v);
        mn = std::min(mn, v);
      }
      int_or_ |= acc;
      int_max_ = mx;
      int_min_ = mn;
    }
    peak_ = std::max(peak_, std::max(static_cast<float>(int_max_), -static_cast<float>(int_min_)) / 2147483648.0F);
    return;
  }
  int min_exp = min_lsb_exp_;
  float pk = peak_;
  for (std::size_t i = 0; i < n; ++i) {
    const float x = block.samples[i];
    if (!std::isfinite(x)) {
      ++nonfinite_;
      continue;
    }
    if (x == 0.0F) continue;
    pk = std::max(pk, std::fabs(x));
    const auto bits = std::bit_cast<std::uint32_t>(x);
    const int biased = static_cast<int>((bits >> 23) & 0xFFU);
    std::uint32_t mant = bits & 0x7FFFFFU;
    int exp = biased - 127 - 23;
    if (biased != 0) {
      mant |= 0x800000U;
    } else {
      exp = -126 - 23;  // subnormal
    }
    min_exp = std::min(min_exp, exp + std::countr_zero(mant));
  }
  min_lsb_exp_ = min_exp;
  peak_ = pk;
}

BitDepthFeatures BitDepthAnalyzer::finish() const {
  BitDepthFeatures f;
  f.peak = peak_;
  f.nonfinite_samples = nonfinite_;
  if (saw_ints_) {
    if (int_or_ != 0) f.effective_bits = 32 - std::countr_zero(int_or_);
    if (!stats_) return f;
    for (std::size_t g = 0; g < grid_depths_.size(); ++g) {
      const int d = grid_depths_[g];
      if (d == 0) continue;
      // Top 8 bits of the residue: bits 15..8 (d = 16) or 11..4 (d = 20) of the samples.
      std::array<std::int64_t, 256> hist{};
      for (std::size_t k = 0; k < 4096; ++k) {
        const std::int64_t c = residue_hist_[k] + residue_lanes_[k] + residue_lanes_[kResidueBins + k];
        hist[d == 16 ? k >> 4 : k & 0xFFU] += c;
      }
      double cs = 0.0;
      double sn = 0.0;
      std::int64_t count = 0;
      for (std::size_t k = 0; k < 256; ++k) {
        const auto c = static_cast<double>(hist[k]);
        const double phase = 2.0 * std::numbers::pi * (static_cast<double>(k) + 0.5) / 256.0;
        cs += c * std::cos(phase);
        sn += c * std::sin(phase);
        count += hist[k];
      }
      if (count == 0) continue;
      const double n = static_cast<double>(count);
      const double r = std::hypot(cs / n, sn / n);
      (d == 16 ? f.grid16_concentration : f.grid20_concentration) = r;
      if (!f.grid_bits && r >= params_.grid_min_concentration) f.grid_bits = d;
    }
    if (f.effective_bits) {
      f.original_bits_estimate = f.grid_bits ? std::min(*f.effective_bits, *f.grid_bits) : *f.effective_bits;
      const int file_tz = std::countr_zero(int_or_);
      std::int64_t total = 0;
      std::int64_t zeroed = 0;
      double extra = 0.0;
      for (std::size_t tz = 0; tz < block_tz_hist_.size(); ++tz) {
        const std::int64_t c = block_tz_hist_[tz];
        total += c;
        if (static_cast<int>(tz) > file_tz) {
          zeroed += c;
          extra += static_cast<double>(c) * (static_cast<int>(tz) - file_tz);
        }
      }
      f.blocks = total;
      if (total > 0) {
        f.zeroed_block_fraction = static_cast<double>(zeroed) / static_cast<double>(total);
        f.zeroed_bits_mean = extra / static_cast<double>(total);
        // 10th percentile of the blocks' effective bits = 90th percentile of their zeros.
        std::int64_t acc = 0;
        const auto target = static_cast<std::int64_t>(std::ceil(0.9 * static_cast<double>(total)));
        for (std::size_t tz = 0; tz < block_tz_hist_.size(); ++tz) {
          acc += block_tz_hist_[tz];
          if (acc >= target) {
            f.block_bits_p10 = 32 - static_cast<int>(tz);
            break;
          }
        }
      }
    }
    return f;
  } else if (min_lsb_exp_ < 1000) {
    f.effective_bits = std::clamp(1 - min_lsb_exp_, 1, 24);
  }
  return f;
}

}  // namespace fakeless::features
