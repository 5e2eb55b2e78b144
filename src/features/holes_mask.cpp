#include "fakeless/features/holes_mask.hpp"
#include "fakeless/params.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fakeless::features {
namespace {
void require(bool ok, const char* name, double value) { require_param(ok, "hole mask", name, value); }
}  // namespace

void HoleMaskParams::validate() const {
  require(depth_db >= 3 && depth_db <= 80, "depth_db", depth_db);
  require(neighbourhood_hz >= 200 && neighbourhood_hz <= 20000, "neighbourhood_hz", neighbourhood_hz);
  require(min_hz >= 0 && min_hz <= 400000, "min_hz", min_hz);
  require(min_width_hz >= 0 && min_width_hz <= 5000, "min_width_hz", min_width_hz);
  require(activity_threshold_db >= -140 && activity_threshold_db <= 0, "activity_threshold_db", activity_threshold_db);
}

HoleMasker::HoleMasker(std::size_t bins, double bin_hz, HoleMaskParams params)
    : params_(params), bins_(bins), bands_(bins / kBinsPerBand) {
  params_.validate();
  if (bins < 2 || !(bin_hz > 0)) throw std::invalid_argument("HoleMasker: bins must be >= 2 and bin_hz > 0");
  const double band_hz = bin_hz * static_cast<double>(kBinsPerBand);
  half_width_bands_ = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(params_.neighbourhood_hz / band_hz)));
  min_band_ = static_cast<std::size_t>(std::ceil(params_.min_hz / band_hz));
  min_run_bands_ = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(params_.min_width_hz / band_hz - 1e-9)));
  activity_ms_ = std::pow(10.0, params_.activity_threshold_db / 10.0);
  band_db_.assign(bands_, 0.0);
  band_hole_.assign(bands_, 0);
  scratch_.reserve(2 * half_width_bands_ + 1);
  mask_.assign(bins_, 0);
}

std::span<const std::uint8_t> HoleMasker::mask(const dsp::SpectrumFrame& frame) {
  std::fill(mask_.begin(), mask_.end(), std::uint8_t{0});
  std::fill(band_hole_.begin(), band_hole_.end(), std::uint8_t{0});
  if (frame.mean_square < activity_ms_ || frame.power.size() < bins_) return mask_;
  const std::span<const float> p = frame.power;
  for (std::size_t b = 0; b < bands_; ++b) {
    double sum = 0.0;
    for (std::size_t k = b * kBinsPerBand; k < (b + 1) * kBinsPerBand; ++k) sum += p[k];
    band_db_[b] = dsp::power_db(sum / static_cast<double>(kBinsPerBand));
  }
  for (std::size_t b = min_band_; b < bands_; ++b) {
    const std::size_t lo = b >= half_width_bands_ ? b - half_width_bands_ : 0;
    const std::size_t hi = std::min(bands_, b + half_width_bands_ + 1);
    scratch_.assign(band_db_.begin() + static_cast<std::ptrdiff_t>(lo), band_db_.begin() + static_cast<std::ptrdiff_t>(hi));
    const auto mid = scratch_.begin() + static_cast<std::ptrdiff_t>(scratch_.size() / 2);
    std::nth_element(scratch_.begin(), mid, scratch_.end());
    band_hole_[b] = is_hole(band_db_[b], *mid, params_.depth_db) ? 1 : 0;
  }
  // Keep runs of at least min_run_bands_ hole bands.
  std::size_t b = min_band_;
  while (b < bands_) {
    if (band_hole_[b] == 0) {
      ++b;
      continue;
    }
    std::size_t end = b;
    while (end < bands_ && band_hole_[end] != 0) ++end;
    if (end - b >= min_run_bands_) {
      std::fill(mask_.begin() + static_cast<std::ptrdiff_t>(b * kBinsPerBand),
                mask_.begin() + static_cast<std::ptrdiff_t>(end * kBinsPerBand), std::uint8_t{1});
    }
    b = end;
  }
  return mask_;
}

}  // namespace fakeless::features
