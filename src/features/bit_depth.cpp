#include "fakeless/features/bit_depth.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace fakeless::features {

void BitDepthAnalyzer::consume(const io::AudioBlock& block) {
  const std::size_t n = block.frames * static_cast<std::size_t>(block.channels);
  if (!block.ints.empty()) {
    saw_ints_ = true;
    std::uint32_t acc = 0;
    std::int32_t mx = 0;
    std::int32_t mn = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t v = block.ints[i];
      acc |= static_cast<std::uint32_t>(v);
      mx = std::max(mx, v);
      mn = std::min(mn, v);
    }
    int_or_ |= acc;
    const float pk = std::max(static_cast<float>(mx), -static_cast<float>(mn)) / 2147483648.0F;
    peak_ = std::max(peak_, pk);
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
  } else if (min_lsb_exp_ < 1000) {
    f.effective_bits = std::clamp(1 - min_lsb_exp_, 1, 24);
  }
  return f;
}

}  // namespace fakeless::features
