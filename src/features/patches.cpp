#include "fakeless/features/patches.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "fakeless/dsp/clones.hpp"
#include "fakeless/features/cutoff.hpp"

namespace fakeless::features {

void PatchParams::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("patch parameters: " + what); };
  if (frames < 4 || frames > 1024) fail("frames must be in [4, 1024], got " + std::to_string(frames));
  if (bands < 8 || bands > 4096) fail("bands must be in [8, 4096], got " + std::to_string(bands));
  if (!(top_hz >= 1000.0 && top_hz <= 200000.0)) fail("top_hz must be in [1000, 200000]");
  if (floor_bits < 8 || floor_bits > 32) fail("floor_bits must be in [8, 32], got " + std::to_string(floor_bits));
  if (!(scale_db >= 1.0 && scale_db <= 100.0)) fail("scale_db must be in [1, 100]");
  if (budget < 1 || budget > 1000) fail("budget must be in [1, 1000], got " + std::to_string(budget));
  if (!(min_power_db >= -200.0 && min_power_db <= 0.0)) fail("min_power_db must be in [-200, 0]");
  if (!(segment_s == 0.0 || (segment_s >= 1.0 && segment_s <= 3600.0))) {
    fail("segment length must be 0 (off) or in [1, 3600] s");
  }
  if (per_segment < 1 || per_segment > 16) fail("per_segment must be in [1, 16]");
  if (max_segments < 1 || max_segments > 100000) fail("max_segments must be in [1, 100000]");
}

namespace {

// Per band, the sum of its bins' powers (0 above Nyquist); the mean and the value are taken
// in close_current, for the patches kept.
FAKELESS_CLONES void band_sums(const float* p, std::size_t bins, const std::size_t* band_lo, const std::size_t* band_hi,
                               std::size_t nb, double* row) {
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t lo = std::min(band_lo[b], bins);
    const std::size_t hi = std::min(band_hi[b], bins);
    double sum = 0.0;
    for (std::size_t k = lo; k < hi; ++k) sum += p[k];
    row[b] = sum;
  }
}

}  // namespace

PatchSampler::PatchSampler(int sample_rate_hz, const dsp::StftParams& stft, std::optional<std::int64_t> total_samples,
                           PatchParams params)
    : params_(params),
      sample_rate_hz_(sample_rate_hz),
      stft_(stft),
      floor_db_(quantisation_floor_db(params.floor_bits, stft.fft_size)) {
  params_.validate();
  const auto bins = static_cast<std::size_t>(stft.fft_size / 2 + 1);
  const double bin_hz = static_cast<double>(sample_rate_hz) / stft.fft_size;
  const double band_hz = params_.top_hz / params_.bands;
  band_lo_.assign(static_cast<std::size_t>(params_.bands), 0);
  band_hi_.assign(static_cast<std::size_t>(params_.bands), 0);
  for (int b = 0; b < params_.bands; ++b) {
    // Bins whose centre k * bin_hz lies in [b * band_hz, (b + 1) * band_hz).
    auto first_at_or_above = [&](double hz) {
      const double k = std::ceil(hz / bin_hz - 1e-9);
      return static_cast<std::size_t>(std::clamp(k, 0.0, static_cast<double>(bins)));
    };
    band_lo_[static_cast<std::size_t>(b)] = first_at_or_above(b * band_hz);
    band_hi_[static_cast<std::size_t>(b)] = first_at_or_above((b + 1) * band_hz);
  }
  ring_.assign(kRingWindows * static_cast<std::size_t>(params_.frames) * static_cast<std::size_t>(params_.bands), 0.0);
  ring_energy_.assign(static_cast<std::size_t>(params_.frames), 0.0);

  const std::int64_t n = params_.frames;
  const double hop_s = static_cast<double>(stft.hop) / sample_rate_hz;
  std::optional<std::int64_t> total_frames;
  if (total_samples) {
    total_frames = *total_samples >= stft.fft_size ? (*total_samples - stft.fft_size) / stft.hop + 1 : 0;
  }
  if (params_.segment_s > 0.0) {
    std::int64_t seg = std::max<std::int64_t>(std::llround(params_.segment_s / hop_s), n * params_.per_segment);
    if (total_frames) {
      const std::int64_t count = (*total_frames + seg - 1) / seg;
      if (count > params_.max_segments) seg = (*total_frames + params_.max_segments - 1) / params_.max_segments;
    }
    seg -= seg % params_.per_segment;  // whole sub-strata (unknown length)
    unknown_len_ = seg;  // segment length, in frames
    known_ = total_frames.has_value();
    if (known_) {
      for (std::int64_t b = 0, k = 0; b < *total_frames; b += seg, ++k) {
        const std::int64_t e = std::min(b + seg, *total_frames);
        PatchSegment s;
        s.start_s = static_cast<double>(b) * hop_s;
        // The last segment runs to the end of the file, its partial frame included.
        s.end_s = e == *total_frames ? static_cast<double>(*total_samples) / sample_rate_hz
                                     : static_cast<double>(e) * hop_s;
        segments_.push_back(s);
        const std::int64_t parts = std::clamp<std::int64_t>((e - b) / n, 0, params_.per_segment);
        for (std::int64_t j = 0; j < parts; ++j) {
          strata_.push_back({b + j * (e - b) / parts, b + (j + 1) * (e - b) / parts, static_cast<int>(k)});
        }
      }
    }
  } else if (total_frames) {
    known_ = true;
    const std::int64_t count = std::min<std::int64_t>(params_.budget, *total_frames / n);
    for (std::int64_t j = 0; j < count; ++j) {
      strata_.push_back({j * *total_frames / count, (j + 1) * *total_frames / count, -1});
    }
  } else {
    unknown_len_ = n;
  }
  if (!known_) {
    // Strata made as the frames arrive (see next_unknown_stratum in consume).
    strata_.clear();
  }
}

void PatchSampler::fill_values(std::int64_t first_frame, std::vector<double>& dst) const {
  const auto n = static_cast<std::size_t>(params_.frames);
  const auto b = static_cast<std::size_t>(params_.bands);
  const std::size_t slots = ring_.size() / b;
  dst.resize(n * b);
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t slot = static_cast<std::size_t>(first_frame + static_cast<std::int64_t>(t)) % slots;
    std::copy_n(ring_.begin() + static_cast<std::ptrdiff_t>(slot * b), b, dst.begin() + static_cast<std::ptrdiff_t>(t * b));
  }
}

void PatchSampler::keep_best() {
  if (best_ && !best_copied_) {
    fill_values(best_->first_frame, best_power_);
    best_copied_ = true;
  }
}

void PatchSampler::close_current() {
  keep_best();
  if (best_) {
    // Values only now: one logarithm per value of the patches kept, not per band of every frame.
    // A mean clearly below the floor's power gives a value <= 0, clamped to 0: no logarithm
    // needed (the margin keeps the result exactly what the logarithm would give; bands
    // above a codec's cutoff, and quiet ones, are often there).
    const double below_floor = std::pow(10.0, floor_db_ / 10.0) * (1.0 - 1e-9);
    best_->values.resize(best_power_.size());
    const auto nb = static_cast<std::size_t>(params_.bands);
    for (std::size_t i = 0; i < best_power_.size(); ++i) {
      const std::size_t b = i % nb;
      const std::size_t count = band_hi_[b] > band_lo_[b] ? band_hi_[b] - band_lo_[b] : 1;
      const double mean = best_power_[i] / static_cast<double>(count);
      const double v = mean > below_floor ? (10.0 * std::log10(mean) - floor_db_) / params_.scale_db : 0.0;
      best_->values[i] = static_cast<float>(std::max(0.0, v));
    }
    if (sink_) {
      sink_(std::move(*best_));
    } else {
      done_.push_back(std::move(*best_));
    }
    best_.reset();
  }
  if (!known_ && params_.segment_s <= 0.0 && done_.size() >= 2 * static_cast<std::size_t>(params_.budget)) {
    merge_pairs();
    unknown_len_ *= 2;
  }
}

void PatchSampler::merge_pairs() {
  std::vector<Patch> kept;
  kept.reserve(done_.size() / 2 + 1);
  for (std::size_t i = 0; i < done_.size(); i += 2) {
    if (i + 1 < done_.size() && done_[i + 1].energy > done_[i].energy) {
      kept.push_back(std::move(done_[i + 1]));
    } else {
      kept.push_back(std::move(done_[i]));
    }
  }
  done_ = std::move(kept);
}

void PatchSampler::take_candidate(std::int64_t first_frame, double energy) {
  if (best_ && energy <= best_->energy) return;  // ties: the earliest window stays
  const double mean_power = energy / params_.frames;
  if (!(mean_power > 0.0) || 10.0 * std::log10(mean_power) < params_.min_power_db) return;
  if (!best_) best_.emplace();
  best_->first_frame = first_frame;
  best_->energy = energy;
  best_->segment = strata_.empty() ? -1 : strata_[current_].segment;
  best_copied_ = false;  // copied out of the ring only when it is about to be overwritten
}

void PatchSampler::consume(const dsp::SpectrumFrame& frame) {
  const auto nb = static_cast<std::size_t>(params_.bands);
  const auto n = static_cast<std::int64_t>(params_.frames);
  if (frame.index != last_index_ + 1) filled_ = 0;  // a gap: no window straddles it
  last_index_ = frame.index;
  // The value ring holds kRingWindows windows: the best window so far is copied out only
  // when its first frame is about to be overwritten (at most once per
  // (kRingWindows - 1) * frames frames), not every time a louder window turns up.
  const auto slots = static_cast<std::int64_t>(ring_.size() / nb);
  if (best_ && !best_copied_ && best_->first_frame <= frame.index - slots) keep_best();
  const auto slot = static_cast<std::size_t>(frame.index % n);
  double* row = ring_.data() + static_cast<std::size_t>(frame.index % slots) * nb;
  band_sums(frame.power.data(), frame.power.size(), band_lo_.data(), band_hi_.data(), nb, row);
  ring_energy_[slot] = frame.mean_square;
  filled_ = std::min(filled_ + 1, n);
  if (filled_ < n) return;
  double energy = 0.0;  // summed afresh: no drift over hours of frames
  for (double e : ring_energy_) energy += e;
  const std::int64_t start = frame.index - n + 1;

  if (known_) {
    while (current_ < strata_.size() && start + n > strata_[current_].end) {
      close_current();
      ++current_;
    }
    if (current_ >= strata_.size() || start < strata_[current_].begin) return;
    take_candidate(start, energy);
    return;
  }
  // Unknown length: strata made as the frames arrive, from frame 0. Whole-file mode: strata
  // of unknown_len_ frames (doubled by close_current when pairs merge). Segment mode:
  // per_segment strata of unknown_len_ / per_segment frames make one segment.
  const std::int64_t len = params_.segment_s > 0.0 ? unknown_len_ / params_.per_segment : unknown_len_;
  auto stratum_at = [&](std::int64_t begin) {
    const int seg = params_.segment_s > 0.0 ? static_cast<int>(begin / unknown_len_) : -1;
    return Stratum{begin, begin + len, seg};
  };
  if (strata_.empty()) {
    strata_.push_back(stratum_at(0));
    current_ = 0;
  }
  while (start + n > strata_[current_].end) {
    const std::int64_t next = strata_[current_].end;
    close_current();  // may double unknown_len_ (whole-file mode)
    strata_[current_] = stratum_at(next);  // only the current stratum is kept
  }
  if (start < strata_[current_].begin) return;
  take_candidate(start, energy);
}

PatchSet PatchSampler::finish() {
  if (current_ < strata_.size()) close_current();
  if (!known_ && params_.segment_s <= 0.0) {
    while (done_.size() > static_cast<std::size_t>(params_.budget)) merge_pairs();
  }
  PatchSet out;
  out.frames = params_.frames;
  out.bands = params_.bands;
  out.seconds_per_frame = static_cast<double>(stft_.hop) / sample_rate_hz_;
  out.patches = std::move(done_);
  done_.clear();
  if (params_.segment_s > 0.0) {
    if (!known_) {
      // Segments up to the last frame seen.
      segments_.clear();
      const std::int64_t total = last_index_ + 1;
      for (std::int64_t b = 0; b < total; b += unknown_len_) {
        const std::int64_t e = std::min(b + unknown_len_, total);
        segments_.push_back({static_cast<double>(b) * out.seconds_per_frame,
                             static_cast<double>(e - 1) * out.seconds_per_frame +
                                 static_cast<double>(stft_.fft_size) / sample_rate_hz_});
      }
    }
    out.segments = segments_;
  }
  return out;
}

}  // namespace fakeless::features
