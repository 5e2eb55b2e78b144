#include "fakeless/features/stereo.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fakeless::features {

void StereoParams::validate() const {
  if (side_frame_stride < 1 || side_frame_stride > dsp::kMaxHopFrames) {
    throw std::invalid_argument("stereo parameter side_frame_stride out of range: " +
                                std::to_string(side_frame_stride));
  }
  if (!(activity_threshold_db >= -140 && activity_threshold_db <= 0)) {
    throw std::invalid_argument("stereo parameter activity_threshold_db out of range: " +
                                std::to_string(activity_threshold_db));
  }
}

StereoAnalyzer::StereoAnalyzer(int sample_rate_hz, const dsp::StftParams& mid_stft, StereoParams params,
                               CutoffParams cutoff)
    : params_((params.validate(), params)),
      mid_stft_(mid_stft),
      bin_hz_(static_cast<double>(sample_rate_hz) / mid_stft.fft_size),
      nyquist_hz_(sample_rate_hz / 2.0),
      activity_ms_(std::pow(10.0, params.activity_threshold_db / 10.0)),
      first_bin_(std::max<std::size_t>(2, static_cast<std::size_t>(std::ceil(20.0 / bin_hz_)))),
      side_cutoff_(sample_rate_hz, side_stft(), cutoff) {
  if (mid_stft_.hop != mid_stft_.fft_size) {
    throw std::invalid_argument("stereo analysis needs the mid Stft's hop equal to its frame size, got hop " +
                                std::to_string(mid_stft_.hop));
  }
  const auto bins = static_cast<std::size_t>(mid_stft.fft_size / 2 + 1);
  mid_copy_.assign(bins, 0.0F);
  mid_sum_.assign(bins, 0.0);
  side_sum_.assign(bins, 0.0);
}

dsp::StftParams StereoAnalyzer::side_stft() const {
  dsp::StftParams p = mid_stft_;
  p.hop = mid_stft_.fft_size * params_.side_frame_stride;
  return p;
}

void StereoAnalyzer::observe_mid(const dsp::SpectrumFrame& mid) {
  if (mid.index % params_.side_frame_stride != 0) return;
  mid_copy_index_ = mid.index;
  mid_copy_active_ = mid.mean_square >= activity_ms_;
  if (mid_copy_active_) std::copy(mid.power.begin(), mid.power.end(), mid_copy_.begin());
}

void StereoAnalyzer::consume(const dsp::SpectrumFrame& side) {
  side_cutoff_.consume(side);
  // Side frame j covers the samples of mid frame j * stride, which the pipeline has
  // already shown us (it pushes each block to the mid Stft first).
  if (mid_copy_index_ != side.index * params_.side_frame_stride || !mid_copy_active_) return;
  ++paired_;
  for (std::size_t k = 0; k < mid_sum_.size(); ++k) {
    mid_sum_[k] += mid_copy_[k];
    side_sum_[k] += side.power[k];
  }
}

StereoFeatures StereoAnalyzer::finish(std::optional<double> mid_reference_hz,
                                      std::optional<double> quantisation_floor_db) const {
  StereoFeatures f;
  f.paired_frames = paired_;
  const CutoffFeatures sc = side_cutoff_.finish(quantisation_floor_db);
  f.side_cutoff_hz = sc.cutoff_hz;
  f.side_cutoff_sharpness_db = sc.cutoff_sharpness_db;
  f.side_bandwidth_hz = sc.bandwidth_hz;
  if (paired_ == 0) return f;

  auto ratio_db = [&](double lo_hz, double hi_hz) -> std::optional<double> {
    // lo_hz may be negative (a reference near 0 Hz at low rates): clamp before the cast.
    const auto lo = std::max(first_bin_, static_cast<std::size_t>(std::max(0.0, std::ceil(lo_hz / bin_hz_))));
    const auto hi = std::min(mid_sum_.size(), static_cast<std::size_t>(std::max(0.0, std::floor(hi_hz / bin_hz_))));
    if (hi <= lo) return std::nullopt;
    double m = 0.0;
    double s = 0.0;
    for (std::size_t k = lo; k < hi; ++k) {
      m += mid_sum_[k];
      s += side_sum_[k];
    }
    if (m <= 0.0) return std::nullopt;
    return dsp::power_db(s / m);
  };
  f.side_level_db = ratio_db(0.0, nyquist_hz_ + bin_hz_);
  const double ref = std::clamp(mid_reference_hz.value_or(nyquist_hz_), 0.0, nyquist_hz_);
  const auto base = ratio_db(ref / 4, ref / 2);
  const auto top = ratio_db(ref - 3000.0, ref - 300.0);
  if (base && top) f.side_hf_drop_db = *base - *top;
  return f;
}

}  // namespace fakeless::features
