#include "fakeless/features/cutoff.hpp"
#include "fakeless/dsp/clones.hpp"
#include "fakeless/params.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace fakeless::features {
namespace {

void require(bool ok, const char* name, double value) { require_param(ok, "cutoff", name, value); }

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return dsp::kFloorDb;
  const auto k = static_cast<std::size_t>(std::floor(q * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// sum[k] += p[k] for k < n.
FAKELESS_CLONES void accumulate(double* sum, const float* p, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) sum[k] += p[k];
}

// The per-band counts of CutoffAnalyzer::consume for bands [lo, end), branch-free.
FAKELESS_CLONES void count_walls(const float* prefix, const float* suffix_max, std::size_t lo, std::size_t end,
                                 std::size_t g, std::size_t w, float inv_w, float present_level, float ratio,
                                 std::int64_t* present, std::int64_t* wall) {
  for (std::size_t b = lo; b < end; ++b) {
    const float below = (prefix[b - g] - prefix[b - g - w]) * inv_w;
    const auto content = static_cast<std::int64_t>(below > present_level);
    const auto walled = static_cast<std::int64_t>(below >= ratio * suffix_max[b + g]);
    present[b] += content;
    wall[b] += content & walled;  // bitwise: no branch, so the loop vectorises
  }
}

}  // namespace

void CutoffParams::validate() const {
  require(activity_threshold_db >= -140 && activity_threshold_db <= 0, "activity_threshold_db", activity_threshold_db);
  require(min_search_hz >= 100 && min_search_hz <= 100000, "min_search_hz", min_search_hz);
  require(below_window_hz >= 100 && below_window_hz <= 10000, "below_window_hz", below_window_hz);
  require(guard_hz >= 0 && guard_hz <= 2000, "guard_hz", guard_hz);
  require(min_drop_db > 0 && min_drop_db <= 100, "min_drop_db", min_drop_db);
  require(frame_drop_db > 0 && frame_drop_db <= 100, "frame_drop_db", frame_drop_db);
  require(stability_tolerance_hz >= 0 && stability_tolerance_hz <= 5000, "stability_tolerance_hz",
          stability_tolerance_hz);
  require(content_margin_db >= 0 && content_margin_db <= 60, "content_margin_db", content_margin_db);
}

std::optional<double> original_rate_estimate(int rate_hz, std::optional<double> edge_hz, double tolerance_hz) {
  const double nyquist = rate_hz / 2.0;
  if (!edge_hz || *edge_hz >= 0.86 * nyquist) return static_cast<double>(rate_hz);
  static constexpr int kRates[] = {8000,  11025, 12000, 16000, 22050,  24000,  32000,
                                   44100, 48000, 88200, 96000, 176400, 192000, 352800};
  for (const int r : kRates) {
    if (r >= rate_hz) break;
    if (*edge_hz >= 0.86 * r / 2.0 && *edge_hz <= r / 2.0 + tolerance_hz) return static_cast<double>(r);
  }
  return std::nullopt;
}

double quantisation_floor_db(int bits, int fft_size) {
  const double q = std::ldexp(1.0, -(bits - 1));
  const double sigma2 = q * q / 12.0;
  return dsp::power_db(6.0 * sigma2 / fft_size);
}

CutoffAnalyzer::CutoffAnalyzer(int sample_rate_hz, const dsp::StftParams& stft, CutoffParams params)
    : params_(params),
      sample_rate_hz_(sample_rate_hz),
      bin_hz_(static_cast<double>(sample_rate_hz) / stft.fft_size),
      nyquist_hz_(sample_rate_hz / 2.0) {
  params_.validate();
  band_hz_ = bin_hz_ * kBinsPerBand;
  bands_ = static_cast<std::size_t>(stft.fft_size / 2 / kBinsPerBand);
  guard_bands_ = static_cast<std::size_t>(std::lround(params_.guard_hz / band_hz_));
  below_bands_ = std::max<std::size_t>(2, static_cast<std::size_t>(std::lround(params_.below_window_hz / band_hz_)));
  frame_below_bands_ = std::max<std::size_t>(2, below_bands_ / 3);
  min_band_ = std::max(static_cast<std::size_t>(std::lround(params_.min_search_hz / band_hz_)),
                       guard_bands_ + below_bands_);
  activity_ms_ = std::pow(10.0, params_.activity_threshold_db / 10.0);
  frame_drop_ratio_ = std::pow(10.0, params_.frame_drop_db / 10.0);
  ltas_.assign(static_cast<std::size_t>(stft.fft_size / 2 + 1), 0.0);
  edge_hist_.assign(bands_, 0);
  present_.assign(bands_, 0);
  wall_.assign(bands_, 0);
  band_power_.assign(bands_, 0.0F);
  suffix_max_.assign(bands_ + 1, 0.0F);
  prefix_.assign(bands_ + 1, 0.0F);
}

double CutoffAnalyzer::band_center_hz(std::size_t band) const {
  return (static_cast<double>(band) + 0.5) * band_hz_;
}

void CutoffAnalyzer::consume(const dsp::SpectrumFrame& frame) {
  ++frames_;
  if (frame.mean_square < activity_ms_) return;
  ++active_;
  const std::span<const float> p = frame.power;
  accumulate(ltas_.data(), p.data(), ltas_.size());

  // Per-frame wall, in the linear domain (no logarithms per frame): the highest band b
  // where the mean band power just below b exceeds, by frame_drop_db, every band from
  // b + guard up to Nyquist.
  for (std::size_t b = 0; b < bands_; ++b) {
    const std::size_t k = b * kBinsPerBand;
    band_power_[b] = (p[k] + p[k + 1] + p[k + 2] + p[k + 3]) * 0.25F;
  }
  // Suffix maxima, compared as bit patterns: for floats >= +0 their order is the values'
  // order, and an integer max does not wait on a float compare. Exactly what
  // max(suffix, power) gives from 0: negative values and NaNs (never chosen by it) are never
  // chosen here either (negative patterns; a positive NaN is taken as 0).
  std::int32_t run = 0;  // the pattern of +0.0F
  // The prefix sums (in band order) in the same loop: two independent chains side by side.
  suffix_max_[bands_] = 0.0F;
  prefix_[0] = 0.0F;
  float sum = 0.0F;
  for (std::size_t i = 0; i < bands_; ++i) {
    const std::size_t b = bands_ - 1 - i;
    const float x = band_power_[b];
    run = std::max(run, std::isnan(x) ? 0 : std::bit_cast<std::int32_t>(x));
    suffix_max_[b] = std::bit_cast<float>(run);
    sum += band_power_[i];
    prefix_[i + 1] = sum;
  }

  const std::size_t w = frame_below_bands_;
  const std::size_t g = guard_bands_;
  const float ratio = static_cast<float>(frame_drop_ratio_);
  const float inv_w = 1.0F / static_cast<float>(w);
  std::size_t best = 0;
  float best_score = 0.0F;
  bool in_run = false;
  for (std::size_t b = bands_ - g - 1; b >= min_band_; --b) {
    const float below = (prefix_[b - g] - prefix_[b - g - w]) * inv_w;
    const float above = suffix_max_[b + g];
    const float score = below / (above + 1e-30F);
    if (score >= ratio) {
      in_run = true;
      if (score > best_score) {
        best_score = score;
        best = b;
      }
    } else if (in_run) {
      break;  // the highest run of qualifying bands is complete
    }
  }
  if (in_run) {
    ++edge_hist_[best];
    ++frames_with_edge_;
  }

  // Per candidate band: does this frame have content just below it (frame_drop_db over
  // the frame's own top bands), and if so, is everything from b + guard up to Nyquist
  // that much lower (a wall at b)?
  const float floor_f = suffix_max_[bands_ - kTopBands];
  const float present_level = ratio * floor_f;
  if (min_band_ + g < bands_) {
    count_walls(prefix_.data(), suffix_max_.data(), min_band_, bands_ - g, g, w, inv_w, present_level, ratio,
                present_.data(), wall_.data());
  }
}

CutoffFeatures CutoffAnalyzer::finish(std::optional<double> quantisation_floor_db) const {
  CutoffFeatures f;
  f.frames = frames_;
  f.active_frames = active_;
  if (active_ == 0) return f;

  const double inv = 1.0 / static_cast<double>(active_);
  std::vector<double> level(bands_);
  for (std::size_t b = 0; b < bands_; ++b) {
    double s = 0.0;
    for (std::size_t i = 0; i < kBinsPerBand; ++i) s += ltas_[b * kBinsPerBand + i];
    level[b] = dsp::power_db(s * inv / kBinsPerBand);
  }
  const std::size_t g = guard_bands_;
  const std::size_t w = below_bands_;
  auto mean_level = [&](std::size_t lo, std::size_t hi) {  // [lo, hi)
    double s = 0.0;
    for (std::size_t b = lo; b < hi; ++b) s += level[b];
    return hi > lo ? s / static_cast<double>(hi - lo) : dsp::kFloorDb;
  };

  // What lies above a candidate: the loudest band in the window right above it (so a
  // candidate below a wide transition band is not preferred), or the 90th percentile of
  // everything up to Nyquist (which must stay low), whichever is higher.
  // `end` bounds the region considered (Nyquist, or a higher wall already found).
  // The 90th percentiles of level[l, end) for every l, from one sorted suffix grown
  // downwards (the same element percentile() picks, without a copy and a selection per l).
  std::vector<double> suffix, p90;
  auto suffix_p90 = [&](std::size_t first, std::size_t end) {
    suffix.clear();
    p90.assign(end + 1, dsp::kFloorDb);
    for (std::size_t l = end; l-- > first;) {
      suffix.insert(std::upper_bound(suffix.begin(), suffix.end(), level[l]), level[l]);
      p90[l] = suffix[static_cast<std::size_t>(std::floor(0.9 * static_cast<double>(suffix.size() - 1) + 0.5))];
    }
  };
  auto above_level = [&](std::size_t b, std::size_t end) {
    const std::size_t lo = b + g;
    const std::size_t hi = std::min(end, lo + w);
    const double near_max = *std::max_element(level.begin() + static_cast<std::ptrdiff_t>(lo),
                                              level.begin() + static_cast<std::ptrdiff_t>(hi));
    return std::max(near_max, p90[lo]);
  };

  // Largest drop of the LTAS over candidate bands in [lo, end).
  auto largest_drop = [&](std::size_t lo, std::size_t end) {
    std::optional<std::size_t> at;
    double best = 0.0;
    const std::size_t first = std::max(lo, min_band_);
    if (first + g + 3 <= end) suffix_p90(first + g, end);
    for (std::size_t b = first; b + g + 3 <= end; ++b) {
      const double drop = mean_level(b - g - w, b - g) - above_level(b, end);
      if (drop > best) {
        best = drop;
        at = b;
      }
    }
    return std::make_pair(at, best);
  };

  auto [cut, best_drop] = largest_drop(min_band_, bands_);
  std::size_t end = bands_;
  // A file above 48 kHz may hold two walls: a codec's cutoff, and above it the edge of a
  // 44.1/48 kHz original (>= 19 kHz) where the decoder's noise floor meets the
  // resampler's deeper one. Whichever is larger was found first; look for the other at
  // least the 1 kHz window away, so one wall's own transition is not taken twice.
  constexpr double kOldNyquistHz = 19000.0;
  if (cut && best_drop >= params_.min_drop_db && sample_rate_hz_ > 48000) {
    if (band_center_hz(*cut) >= kOldNyquistHz && *cut > g + w) {
      const std::size_t below_upper = *cut - g - w;
      const auto [lower, lower_drop] = largest_drop(min_band_, below_upper);
      if (lower && lower_drop >= params_.min_drop_db) {
        f.upper_wall_hz = band_center_hz(*cut);
        end = below_upper;
        cut = lower;
        best_drop = lower_drop;
      }
    } else {
      // Candidates whose own 1 kHz window lies wholly above the cutoff's transition.
      const auto [upper, upper_drop] = largest_drop(*cut + 2 * (g + w), bands_);
      if (upper && upper_drop >= params_.min_drop_db && band_center_hz(*upper) >= kOldNyquistHz) {
        f.upper_wall_hz = band_center_hz(*upper);
        end = *upper - g - w;
      }
    }
  }

  auto smoothed = [&](std::size_t k) {
    return dsp::power_db((ltas_[k - 1] + ltas_[k] + ltas_[k + 1]) * inv / 3.0);
  };
  // Refine a wall at band b on bins: from the top of the transition downwards, the first
  // bin whose (3-bin smoothed) level rises above the midpoint of the drop.
  auto refine = [&](std::size_t b, double below, double floor) {
    const double mid = 0.5 * (below + floor);
    const std::size_t k_hi = std::min(ltas_.size() - 2, (b + g + 1) * kBinsPerBand);
    const std::size_t k_lo = (b - g - 1) * kBinsPerBand;
    double hz = band_center_hz(b);
    for (std::size_t k = k_hi; k > k_lo; --k) {
      if (smoothed(k) >= mid) {
        hz = (static_cast<double>(k) + 0.5) * bin_hz_;
        break;
      }
    }
    return hz;
  };
  auto floor_above = [&](std::size_t b, std::size_t e) {  // median level in [b + guard, e)
    const std::vector<double> above_v(level.begin() + static_cast<std::ptrdiff_t>(b + g),
                                      level.begin() + static_cast<std::ptrdiff_t>(e));
    return percentile(above_v, 0.5);
  };

  if (cut && best_drop >= params_.min_drop_db) {
    const std::size_t b = *cut;
    const double below = mean_level(b - g - w, b - g);
    const double floor = floor_above(b, end);
    const double cutoff = refine(b, below, floor);
    f.cutoff_hz = cutoff;
    f.noise_floor_db = floor;

    auto band_of = [&](double hz) {
      return static_cast<std::size_t>(std::clamp(hz / band_hz_, 0.0, static_cast<double>(bands_)));
    };
    const std::size_t lo_a = band_of(cutoff - 1000.0);
    const std::size_t lo_b = std::max(band_of(cutoff - 200.0), lo_a + 1);
    const std::size_t hi_a = std::min(band_of(cutoff + 200.0) + 1, bands_ - 1);
    const std::size_t hi_b = std::max(std::min(band_of(cutoff + 1000.0) + 1, bands_), hi_a + 1);
    f.level_below_cutoff_db = mean_level(lo_a, lo_b);
    f.cutoff_sharpness_db = *f.level_below_cutoff_db - mean_level(hi_a, hi_b);

    // Transition width and slope, on 3-bin smoothed bins within 2 kHz of the cutoff.
    const double drop = *f.level_below_cutoff_db - floor;
    if (drop > 0.0) {
      const auto kc = std::clamp(static_cast<std::size_t>(cutoff / bin_hz_), std::size_t{1}, ltas_.size() - 2);
      const auto reach = static_cast<std::size_t>(std::ceil(2000.0 / bin_hz_));
      const double upper = *f.level_below_cutoff_db - 0.2 * drop;
      const double lower = *f.level_below_cutoff_db - 0.8 * drop;
      std::size_t k20 = kc;
      while (k20 > 1 && kc - k20 < reach && smoothed(k20) < upper) --k20;
      std::size_t k80 = kc;
      while (k80 + 2 < ltas_.size() && k80 - kc < reach && smoothed(k80) > lower) ++k80;
      const double width = std::max(bin_hz_, static_cast<double>(k80 - k20) * bin_hz_);
      f.cutoff_transition_hz = width;
      f.cutoff_slope_db_per_khz = 0.6 * drop / (width / 1000.0);
    }

    // Stability: among frames with content just below a band near the cutoff, the
    // fraction with nothing above it; the best band within the tolerance counts.
    const auto tol = static_cast<std::int64_t>(std::ceil(params_.stability_tolerance_hz / band_hz_));
    const auto cb = static_cast<std::int64_t>(cutoff / band_hz_);
    double stability = 0.0;
    for (std::int64_t e = std::max<std::int64_t>(0, cb - tol);
         e <= std::min<std::int64_t>(static_cast<std::int64_t>(bands_) - 1, cb + tol); ++e) {
      const auto i = static_cast<std::size_t>(e);
      if (present_[i] > 0) stability = std::max(stability, static_cast<double>(wall_[i]) / static_cast<double>(present_[i]));
    }
    f.cutoff_stability = stability;
  }

  // The per-frame wall track: quantiles of the histogram of walls.
  if (frames_with_edge_ > 0) {
    auto quantile = [&](double q) {
      const auto target = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(frames_with_edge_)));
      std::int64_t acc = 0;
      for (std::size_t b = 0; b < bands_; ++b) {
        acc += edge_hist_[b];
        if (acc >= std::max<std::int64_t>(target, 1)) return band_center_hz(b);
      }
      return band_center_hz(bands_ - 1);
    };
    f.cutoff_track_median_hz = quantile(0.5);
    f.cutoff_track_iqr_hz = quantile(0.75) - quantile(0.25);
  }

  // The highest wall: scanning down from Nyquist, the first run of candidates whose drop
  // reaches min_drop_db, at its largest drop.
  if (bands_ > min_band_ + g + 3) {
    std::optional<std::size_t> top;
    double top_drop = 0.0;
    for (std::size_t b = bands_ - g - 3; b >= min_band_; --b) {
      const double drop = mean_level(b - g - w, b - g) - above_level(b, bands_);
      if (drop >= params_.min_drop_db) {
        if (drop > top_drop) {
          top_drop = drop;
          top = b;
        }
      } else if (top) {
        break;
      }
    }
    if (top) {
      f.upsample_edge_hz = refine(*top, mean_level(*top - g - w, *top - g), floor_above(*top, bands_));
      f.upsample_edge_drop_db = top_drop;
    }
  }
  f.original_rate_estimate_hz = original_rate_estimate(static_cast<int>(2 * nyquist_hz_), f.upsample_edge_hz, band_hz_);
  f.edge_presence = static_cast<double>(frames_with_edge_) / static_cast<double>(active_);

  const double floor_ref = f.noise_floor_db ? *f.noise_floor_db
                                            : quantisation_floor_db.value_or(dsp::kFloorDb + 40.0);
  for (std::size_t b = bands_; b-- > 0;) {
    if (level[b] > floor_ref + params_.content_margin_db) {
      f.bandwidth_hz = static_cast<double>(b + 1) * band_hz_;
      break;
    }
  }
  return f;
}

}  // namespace fakeless::features
