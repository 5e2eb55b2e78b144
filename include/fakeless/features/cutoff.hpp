#pragma once
// Cutoff analysis: where does the spectrum fall to the noise floor, how steeply, and
// does it do so at the same frequency frame after frame?
//
// Definitions (all levels are dB of normalised bin power, see dsp/stft.hpp):
//  - Active frame: frame signal power above activity_threshold_db (default -75 dBFS);
//    silence, fades and near-silent passages do not vote.
//  - Band: 4 adjacent bins (~86 Hz at 44.1 kHz). Band level = mean bin power, in dB.
//  - LTAS: long-term average spectrum, the mean bin power over active frames.
//  - cutoff_hz: the frequency of the largest drop of the LTAS: the mean level in a 1 kHz
//    window below a candidate frequency minus the higher of (a) the loudest band in the
//    1 kHz window above it and (b) the 90th percentile of everything above it (so the
//    region above must *stay* low, up to Nyquist). Reported only when that drop
//    is at least min_drop_db; null when the spectrum reaches Nyquist (no cutoff). The
//    frequency is refined to where the LTAS crosses the midpoint of the drop.
//  - cutoff_sharpness_db: mean LTAS level in [cutoff-1000, cutoff-200] Hz minus that in
//    [cutoff+200, cutoff+1000] Hz. A codec's brick-wall low-pass gives 30-60 dB; an
//    analog-style roll-off or a natural decline a few dB.
//  - cutoff_stability: of the active frames that have content just below the cutoff
//    (the mean of ~250 Hz under it stands frame_drop_db above the frame's own top bands),
//    the fraction where everything from just above the cutoff up to Nyquist is
//    frame_drop_db lower: a wall in that very frame. The best band within
//    stability_tolerance_hz of cutoff_hz counts. A codec cuts whenever there is content
//    to cut; genuine material that is merely quiet up there does not stop dead every time.
//  - edge_presence: the fraction of active frames that show a wall anywhere (the highest
//    drop of at least frame_drop_db within ~350 Hz with nothing above it up to Nyquist).
//  - upper_wall_hz: in a file above 48 kHz whose largest drop lies at 19 kHz or above
//    (where a 44.1/48 kHz original ended), the search is repeated below it; when a
//    second wall is found there, it is cutoff_hz and the first is upper_wall_hz (a codec's
//    cutoff under a resampler's edge: lossy, then upsampled).
//  - noise_floor_db: median LTAS level above the cutoff (when there is one).
//  - bandwidth_hz: the highest frequency where the LTAS stands content_margin_db above
//    the noise floor: the floor above the cutoff if there is one, else the quantisation
//    floor of the samples' effective bit depth (passed to finish()).
//  - cutoff_track_median_hz, cutoff_track_iqr_hz: median and interquartile range of the
//    per-frame walls (the frames counted in edge_presence). A codec's wall moves by a band
//    or two; a bitrate-adaptive encoder's (or natural material's) moves more.
//  - cutoff_transition_hz: width of the transition, from where the LTAS (3-bin smoothed)
//    last stands within 20% of the drop below level_below_cutoff_db, to where it first
//    falls 80% of the way down to noise_floor_db (searched within 2 kHz of the cutoff).
//    cutoff_slope_db_per_khz = 0.6 * drop / width: a codec's brick wall gives > 50 dB/kHz,
//    an analog roll-off (12-24 dB/octave) a few dB/kHz.
//  - upsample_edge_hz: the *highest* wall of the LTAS (the cutoff is the *largest*): the
//    highest run of candidates whose drop reaches min_drop_db, at its largest drop,
//    refined like cutoff_hz. In an upsampled file it is the old Nyquist's resampler
//    transition, even when a lossy cutoff lies further down (if the old noise floor is
//    above the new one). upsample_edge_drop_db is its drop.
//  - original_rate_estimate_hz: the lowest standard rate R below the file's rate whose
//    Nyquist the edge fits: 0.86 R/2 <= upsample_edge_hz <= R/2 + one band (resamplers
//    start their transition at 0.9-0.99 R/2); the file's own rate when there is no edge or
//    the edge is above 0.86 of its Nyquist; null when the edge fits no standard rate.
#include <cstdint>
#include <optional>
#include <vector>

#include "fakeless/dsp/stft.hpp"

namespace fakeless::features {

struct CutoffParams {
  double activity_threshold_db = -75.0;   // [-140, 0]
  double min_search_hz = 2000.0;          // lowest cutoff considered
  double below_window_hz = 1000.0;        // level window under a candidate
  double guard_hz = 170.0;                // gap on each side of a candidate
  double min_drop_db = 15.0;              // LTAS drop needed to report a cutoff
  double frame_drop_db = 15.0;            // per-frame wall
  double stability_tolerance_hz = 350.0;
  double content_margin_db = 10.0;

  void validate() const;  // throws std::invalid_argument naming the value
};

struct CutoffFeatures {
  std::int64_t frames = 0;
  std::int64_t active_frames = 0;
  std::optional<double> cutoff_hz;
  std::optional<double> cutoff_sharpness_db;
  std::optional<double> cutoff_stability;
  std::optional<double> edge_presence;
  std::optional<double> noise_floor_db;
  std::optional<double> level_below_cutoff_db;
  std::optional<double> bandwidth_hz;
  std::optional<double> upper_wall_hz;  // files above 48 kHz: a resampler's wall above the cutoff
  std::optional<double> cutoff_track_median_hz;
  std::optional<double> cutoff_track_iqr_hz;
  std::optional<double> cutoff_transition_hz;
  std::optional<double> cutoff_slope_db_per_khz;
  std::optional<double> upsample_edge_hz;
  std::optional<double> upsample_edge_drop_db;
  std::optional<double> original_rate_estimate_hz;
};

// The lowest standard sample rate below rate_hz whose Nyquist fits a content edge at
// edge_hz (see original_rate_estimate_hz above); tolerance_hz widens the upper bound.
std::optional<double> original_rate_estimate(int rate_hz, std::optional<double> edge_hz, double tolerance_hz);

class CutoffAnalyzer final : public dsp::FrameConsumer {
 public:
  CutoffAnalyzer(int sample_rate_hz, const dsp::StftParams& stft, CutoffParams params = {});

  void consume(const dsp::SpectrumFrame& frame) override;

  // quantisation_floor_db: expected LTAS level of the sample format's rounding noise, or
  // nullopt when unknown (floating point).
  [[nodiscard]] CutoffFeatures finish(std::optional<double> quantisation_floor_db) const;

  [[nodiscard]] double band_hz() const { return band_hz_; }
  static constexpr int kBinsPerBand = 4;

 private:
  [[nodiscard]] double band_center_hz(std::size_t band) const;

  CutoffParams params_;
  int sample_rate_hz_;
  double bin_hz_;
  double band_hz_;
  double nyquist_hz_;
  std::size_t bands_;
  std::size_t guard_bands_;
  std::size_t below_bands_;
  std::size_t frame_below_bands_;
  std::size_t min_band_;
  double activity_ms_;
  double frame_drop_ratio_;
  std::int64_t frames_ = 0;
  std::int64_t active_ = 0;
  std::vector<double> ltas_;           // summed bin power over active frames
  std::vector<std::int64_t> edge_hist_;  // per-frame wall position, by band
  std::vector<std::int64_t> present_;    // frames with content just below each band
  std::vector<std::int64_t> wall_;       // ...and nothing above it
  static constexpr std::size_t kTopBands = 4;  // a frame's own floor: its top ~350 Hz
  std::int64_t frames_with_edge_ = 0;
  // scratch, reused every frame
  std::vector<float> band_power_;
  std::vector<float> suffix_max_;
  std::vector<float> prefix_;
};

// LTAS level of white rounding noise of a `bits`-deep integer format at this FFT size:
// sigma^2 = q^2 / 12 with q = 2^-(bits-1); P = 6 sigma^2 / N for the Hann window.
double quantisation_floor_db(int bits, int fft_size);

}  // namespace fakeless::features
