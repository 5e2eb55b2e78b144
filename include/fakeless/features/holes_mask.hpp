#pragma once
// Spectral holes, as drawn on spectrograms (`fakeless spectrogram --holes`).
//
// A lossy encoder that runs out of bits zeroes whole scale-factor bands for a frame or
// two: the decoded spectrum shows dark notches in the middle of otherwise busy content.
// The criterion, per frame (levels in dB of normalised bin power, see dsp/stft.hpp):
//  - Band: 4 adjacent bins (~86 Hz at 44.1 kHz), band level = mean bin power in dB.
//  - A band is a hole when the frame is active (signal power above
//    activity_threshold_db, as for the cutoff) and the band lies more than depth_db below
//    the median level of the bands within +-neighbourhood_hz of it (itself included) in
//    the same frame, and it starts at or above min_hz (below it, the gaps between the
//    harmonics of low notes are genuine), and it belongs to a run of such bands at least
//    min_width_hz wide (2 bands by default: the gap between two harmonics of a chord is
//    one band; an encoder zeroes whole scale-factor bands, 100 Hz to several kHz wide).
// A band of 4 periodogram bins of plain noise falls 15 dB below its neighbourhood median
// in well under 0.1 % of frames, so noise-like genuine content yields almost no holes.
// Whether a hole lies below the detected cutoff (above it everything is "empty") is the
// caller's test: the cutoff is known only after the whole file.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fakeless/dsp/stft.hpp"

namespace fakeless::features {

struct HoleMaskParams {
  double depth_db = 15.0;                // [3, 80]  how far below the neighbourhood median
  double neighbourhood_hz = 1000.0;      // [200, 20000]  half-width of the neighbourhood
  double min_hz = 1000.0;                // [0, 400000]  no holes below this frequency
  double min_width_hz = 150.0;           // [0, 5000]  narrowest hole (rounded up to whole bands)
  double activity_threshold_db = -75.0;  // [-140, 0]  frames quieter than this have none

  void validate() const;  // throws std::invalid_argument naming the value
};

// The criterion itself: is a band at band_db a hole in a neighbourhood whose median is
// median_db?
[[nodiscard]] inline bool is_hole(double band_db, double median_db, double depth_db) {
  return band_db < median_db - depth_db;
}

class HoleMasker {
 public:
  static constexpr std::size_t kBinsPerBand = 4;

  // bins: N/2 + 1 of the STFT; bin_hz: its bin width.
  HoleMasker(std::size_t bins, double bin_hz, HoleMaskParams params = {});

  // One flag per bin of the frame (1: the bin belongs to a hole band). All zero for an
  // inactive frame. The span is valid until the next call.
  std::span<const std::uint8_t> mask(const dsp::SpectrumFrame& frame);

  [[nodiscard]] const HoleMaskParams& params() const { return params_; }

 private:
  HoleMaskParams params_;
  std::size_t bins_;
  std::size_t bands_;
  std::size_t half_width_bands_;
  std::size_t min_band_;
  std::size_t min_run_bands_;
  double activity_ms_;
  std::vector<double> band_db_;
  std::vector<double> scratch_;
  std::vector<std::uint8_t> band_hole_;
  std::vector<std::uint8_t> mask_;
};

}  // namespace fakeless::features
