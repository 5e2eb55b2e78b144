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
#include <cstdint>
#include <optional>

#include "fakeless/io/audio_source.hpp"

namespace fakeless::features {

struct BitDepthFeatures {
  std::optional<int> effective_bits;
  double peak = 0.0;  // largest |sample|, full scale = 1
  std::int64_t nonfinite_samples = 0;
};

class BitDepthAnalyzer {
 public:
  void consume(const io::AudioBlock& block);
  [[nodiscard]] BitDepthFeatures finish() const;

 private:
  std::uint32_t int_or_ = 0;
  bool saw_ints_ = false;
  int min_lsb_exp_ = 1000;  // floats: lowest set bit exponent seen
  float peak_ = 0.0F;
  std::int64_t nonfinite_ = 0;
};

}  // namespace fakeless::features
