#include "fakeless/features/holes.hpp"
#include "fakeless/dsp/clones.hpp"
#include "fakeless/params.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fakeless::features {
namespace {

void require(bool ok, const char* name, double value) { require_param(ok, "holes", name, value); }

float db_ratio(double db) { return static_cast<float>(std::pow(10.0, db / 10.0)); }

// The loudest of the w bands on each side of bands [w, end) of `mid`, into left and right
// (each a running max over i = 1..w, in that order, as a loop per band would take it).
FAKELESS_CLONES void side_maxima(const float* mid, std::size_t w, std::size_t end, float* left, float* right) {
  for (std::size_t b = w; b < end; ++b) {
    left[b] = 0.0F;
    right[b] = 0.0F;
  }
  for (std::size_t i = 1; i <= w; ++i) {
    for (std::size_t b = w; b < end; ++b) {
      left[b] = std::max(left[b], mid[b - i]);
      right[b] = std::max(right[b], mid[b + i]);
    }
  }
}

struct OnOff {
  std::uint8_t* prev_on;
  std::int64_t* on;
  std::int64_t* transitions;
  float* rel;
};

// Per band of a frame's row: on/off against the threshold (with hysteresis after a frame
// whose state is known), the counts, and the level relative to the frame, branch-free.
FAKELESS_CLONES void on_off(const float* row, std::size_t bands, bool have_prev, float on_threshold,
                            float hysteresis_ratio, float inv_level, float rel_floor, OnOff o) {
  const float raised = on_threshold * hysteresis_ratio;
  for (std::size_t b = 0; b < bands; ++b) {
    // Bitwise rather than && on the conditions: no branch, so the loop vectorises.
    const bool was_off = have_prev & (o.prev_on[b] == 0);
    const float threshold = was_off ? raised : on_threshold;
    const std::uint8_t on = row[b] > threshold ? 1 : 0;
    o.on[b] += on;
    o.transitions[b] += static_cast<std::int64_t>(have_prev & (on != o.prev_on[b]));
    o.prev_on[b] = on;
    o.rel[b] = std::max(row[b] * inv_level, rel_floor);
  }
}

struct MiddleCounts {
  std::int64_t* eligible;
  std::int64_t* pits;
  std::int64_t* dropout_eligible;
  std::int64_t* dropouts;
};

// Pit and dropout counts of bands [w, end) of the middle row, branch-free.
FAKELESS_CLONES void middle_counts(const float* prev, const float* mid, const float* next, const float* left,
                                   const float* right, std::size_t w, std::size_t end, float ratio,
                                   float half_ratio, float elig_floor, MiddleCounts c) {
  for (std::size_t b = w; b < end; ++b) {
    const float side = std::min(left[b], right[b]);
    const float here = mid[b];
    // Bitwise rather than && on the conditions: no branch, so the loop vectorises.
    const auto eligible = static_cast<std::int64_t>(side >= elig_floor);
    const auto pit = static_cast<std::int64_t>(here < ratio * side) &
                     static_cast<std::int64_t>(here < half_ratio * std::max(prev[b], next[b]));
    c.eligible[b] += eligible;
    c.pits[b] += eligible & pit;
    const float around = std::min(prev[b], next[b]);
    const auto dropout_eligible = static_cast<std::int64_t>(around >= elig_floor);
    c.dropout_eligible[b] += dropout_eligible;
    c.dropouts[b] += dropout_eligible & static_cast<std::int64_t>(here < ratio * around);
  }
}

}  // namespace

void HolesParams::validate() const {
  require(activity_threshold_db >= -140 && activity_threshold_db <= 0, "activity_threshold_db", activity_threshold_db);
  require(band_hz >= 40 && band_hz <= 2000, "band_hz", band_hz);
  require(hole_depth_db >= 6 && hole_depth_db <= 80, "hole_depth_db", hole_depth_db);
  require(hole_side_hz >= 40 && hole_side_hz <= 4000, "hole_side_hz", hole_side_hz);
  require(floor_margin_db >= 0 && floor_margin_db <= 40, "floor_margin_db", floor_margin_db);
  require(band_off_db >= 20 && band_off_db <= 120, "band_off_db", band_off_db);
  require(hysteresis_db >= 0 && hysteresis_db <= 40, "hysteresis_db", hysteresis_db);
  require(transient_rise_db >= 1 && transient_rise_db <= 40, "transient_rise_db", transient_rise_db);
  require(low_region_hz >= 0 && low_region_hz <= 20000, "low_region_hz", low_region_hz);
}

HolesAnalyzer::HolesAnalyzer(int sample_rate_hz, const dsp::StftParams& stft, double floor_power, HolesParams params)
    : params_(params), nyquist_hz_(sample_rate_hz / 2.0) {
  params_.validate();
  const double bin_hz = static_cast<double>(sample_rate_hz) / stft.fft_size;
  const int exponent = static_cast<int>(std::lround(std::log2(std::max(params_.band_hz / bin_hz, 2.0))));
  bpb_ = std::min<std::size_t>(std::size_t{1} << exponent, static_cast<std::size_t>(stft.fft_size / 16));
  bpb_ = std::max<std::size_t>(bpb_, 1);
  band_hz_ = bin_hz * static_cast<double>(bpb_);
  bands_ = static_cast<std::size_t>(stft.fft_size / 2) / bpb_;
  side_bands_ = std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(params_.hole_side_hz / band_hz_)), 1,
                                        std::max<std::size_t>(1, bands_ / 4));
  activity_ms_ = db_ratio(params_.activity_threshold_db);
  const double floor = std::max(floor_power, 1e-30);
  on_floor_ = static_cast<float>(floor * db_ratio(params_.floor_margin_db));
  elig_floor_ = static_cast<float>(floor * db_ratio(params_.floor_margin_db + params_.hole_depth_db));
  off_ratio_ = db_ratio(-params_.band_off_db);
  hole_ratio_ = db_ratio(-params_.hole_depth_db);
  rise_ratio_ = db_ratio(params_.transient_rise_db);
  hysteresis_ratio_ = db_ratio(params_.hysteresis_db);
  rows_.assign(3 * bands_, 0.0F);
  prev_on_.assign(bands_, 0);
  rel_db_.assign(bands_, 0.0F);
  left_.assign(bands_, 0.0F);
  right_.assign(bands_, 0.0F);
  eligible_.assign(bands_, 0);
  pits_.assign(bands_, 0);
  dropouts_.assign(bands_, 0);
  dropout_eligible_.assign(bands_, 0);
  transitions_.assign(bands_, 0);
  on_.assign(bands_, 0);
  rel_sum_.assign(bands_, 0.0);
  rel_sq_.assign(bands_, 0.0);
  all_pow_.assign(bands_, 0.0);
  trans_pow_.assign(bands_, 0.0);
}

void HolesAnalyzer::consume(const dsp::SpectrumFrame& frame) {
  const double previous_ms = prev_ms_;
  prev_ms_ = frame.mean_square;  // silent frames too: a note after silence is a transient
  if (frame.mean_square < activity_ms_) {
    run_ = 0;
    have_prev_on_ = false;
    return;
  }
  ++active_;
  newest_ = (newest_ + 1) % 3;
  run_ = std::min(run_ + 1, 3);
  float* row = rows_.data() + static_cast<std::size_t>(newest_) * bands_;
  const std::span<const float> p = frame.power;
  const float inv_bpb = 1.0F / static_cast<float>(bpb_);
  float total = 0.0F;
  for (std::size_t b = 0; b < bands_; ++b) {
    const float* q = p.data() + b * bpb_;
    float s = 0.0F;
    for (std::size_t i = 0; i < bpb_; ++i) s += q[i];
    row[b] = s * inv_bpb;
    if (b > 0) total += row[b];  // band 0 holds DC and rumble
  }
  const float level = std::max(total / static_cast<float>(bands_ - 1), 1e-30F);
  const float inv_level = 1.0F / level;
  const float on_threshold = std::max(on_floor_, level * off_ratio_);
  const float rel_floor = on_floor_ * inv_level;

  // Hysteresis: an off band must rise hysteresis_db above the threshold to turn on, so
  // a band hovering at the threshold (noise) does not flicker; a codec's switching,
  // from content to nothing, does.
  on_off(row, bands_, have_prev_on_, on_threshold, hysteresis_ratio_, inv_level, rel_floor,
         {prev_on_.data(), on_.data(), transitions_.data(), rel_db_.data()});
  if (have_prev_on_) ++pairs_;
  have_prev_on_ = true;

  // One logarithm per band (not per bin): the relative level in dB, for its spread in time.
  // Bands clamped at the floor (silence above a cutoff) share one, taken once per frame.
  const double floor_db = 10.0 * std::log10(static_cast<double>(rel_floor));
  for (std::size_t b = 0; b < bands_; ++b) {
    const double db = rel_db_[b] == rel_floor ? floor_db : 10.0 * std::log10(static_cast<double>(rel_db_[b]));
    rel_sum_[b] += db;
    rel_sq_[b] += db * db;
  }
  const bool transient = previous_ms >= 0.0 && frame.mean_square >= rise_ratio_ * previous_ms;
  for (std::size_t b = 0; b < bands_; ++b) all_pow_[b] += row[b] * inv_level;
  if (transient) {
    ++transients_;
    for (std::size_t b = 0; b < bands_; ++b) trans_pow_[b] += row[b] * inv_level;
  }
  if (run_ == 3) evaluate_middle();
}

void HolesAnalyzer::evaluate_middle() {
  const float* next = rows_.data() + static_cast<std::size_t>(newest_) * bands_;
  const float* mid = rows_.data() + static_cast<std::size_t>((newest_ + 2) % 3) * bands_;
  const float* prev = rows_.data() + static_cast<std::size_t>((newest_ + 1) % 3) * bands_;
  ++triples_;
  const float ratio = hole_ratio_;
  const float half_ratio = std::sqrt(hole_ratio_);  // half the depth, in dB, for the time test
  const std::size_t w = side_bands_;
  if (2 * w >= bands_) return;
  const std::size_t end = bands_ - w;
  side_maxima(mid, w, end, left_.data(), right_.data());
  middle_counts(prev, mid, next, left_.data(), right_.data(), w, end, ratio, half_ratio, elig_floor_,
                {eligible_.data(), pits_.data(), dropout_eligible_.data(), dropouts_.data()});
}

HolesFeatures HolesAnalyzer::finish(std::optional<double> reference_hz) const {
  HolesFeatures f;
  f.transient_frames = transients_;
  if (active_ == 0) return f;
  const double ref = std::clamp(reference_hz.value_or(nyquist_hz_), 0.0, nyquist_hz_);
  f.reference_hz = ref;

  // Bands whose centre lies in [lo, hi).
  auto range = [&](double lo, double hi) {
    std::size_t a = bands_;
    std::size_t z = 0;
    for (std::size_t b = 0; b < bands_; ++b) {
      const double c = (static_cast<double>(b) + 0.5) * band_hz_;
      if (c >= lo && c < hi) {
        a = std::min(a, b);
        z = std::max(z, b + 1);
      }
    }
    return std::pair<std::size_t, std::size_t>{a, std::max(a, z)};
  };
  auto rate = [&](const std::vector<std::int64_t>& num, const std::vector<std::int64_t>& den, double lo,
                  double hi) -> std::optional<double> {
    const auto [a, z] = range(lo, hi);
    std::int64_t n = 0;
    std::int64_t d = 0;
    for (std::size_t b = a; b < z; ++b) {
      n += num[b];
      d += den[b];
    }
    if (d == 0) return std::nullopt;
    return static_cast<double>(n) / static_cast<double>(d);
  };
  auto per_frame = [&](const std::vector<std::int64_t>& num, std::int64_t frames, double lo,
                       double hi) -> std::optional<double> {
    const auto [a, z] = range(lo, hi);
    if (z <= a || frames == 0) return std::nullopt;
    std::int64_t n = 0;
    for (std::size_t b = a; b < z; ++b) n += num[b];
    return static_cast<double>(n) / (static_cast<double>(frames) * static_cast<double>(z - a));
  };
  auto mean_std = [&](double lo, double hi) -> std::optional<double> {
    const auto [a, z] = range(lo, hi);
    if (z <= a) return std::nullopt;
    const double n = static_cast<double>(active_);
    double s = 0.0;
    for (std::size_t b = a; b < z; ++b) {
      const double m = rel_sum_[b] / n;
      s += std::sqrt(std::max(0.0, rel_sq_[b] / n - m * m));
    }
    return s / static_cast<double>(z - a);
  };
  auto mean_pow = [&](const std::vector<double>& v, double lo, double hi) -> std::optional<double> {
    const auto [a, z] = range(lo, hi);
    if (z <= a) return std::nullopt;
    double s = 0.0;
    for (std::size_t b = a; b < z; ++b) s += v[b];
    return s / static_cast<double>(z - a);
  };

  const double low_lo = params_.low_region_hz;
  const double top = nyquist_hz_ - 300.0;
  f.hole_rate_low = rate(pits_, eligible_, low_lo, ref / 2);
  f.hole_rate_high = rate(pits_, eligible_, std::max(low_lo, ref / 2), ref - 300.0);
  f.hole_rate_above = rate(pits_, eligible_, ref + 300.0, top);
  f.dropout_rate_high = rate(dropouts_, dropout_eligible_, std::max(low_lo, ref / 2), ref - 300.0);
  f.flicker_high = per_frame(transitions_, pairs_, std::max(low_lo, ref / 2), ref - 300.0);
  f.flicker_above = per_frame(transitions_, pairs_, ref + 300.0, top);
  f.edge_on_fraction = per_frame(on_, active_, ref - 1500.0, ref - 300.0);
  f.edge_level_std_db = mean_std(ref - 1500.0, ref - 300.0);
  const auto base_std = mean_std(ref / 4, ref / 2);
  if (f.edge_level_std_db && base_std) f.edge_std_excess_db = *f.edge_level_std_db - *base_std;

  const auto t_above = mean_pow(trans_pow_, ref + 300.0, top);
  const auto t_edge = mean_pow(trans_pow_, ref - 1500.0, ref - 300.0);
  const auto a_above = mean_pow(all_pow_, ref + 300.0, top);
  const auto a_edge = mean_pow(all_pow_, ref - 1500.0, ref - 300.0);
  if (transients_ > 0 && t_above && t_edge && *t_edge > 0.0) {
    f.transient_above_db = dsp::power_db(*t_above / *t_edge);
    if (a_above && a_edge && *a_edge > 0.0) {
      f.transient_above_gain_db = *f.transient_above_db - dsp::power_db(*a_above / *a_edge);
    }
  }
  return f;
}

}  // namespace fakeless::features
