#pragma once
// Spectral holes and band rupture: what a codec's quantiser leaves in the spectrogram
// besides its low-pass (paper 003, 2.1-2.2 and 4.3).
//
// The analyzer streams per-band counters; the regions they are summed over (below and
// above the cutoff) are chosen in finish(), once the cutoff is known.
//
// Definitions (bin power as in dsp/stft.hpp; every comparison is a ratio of linear powers,
// so there is no logarithm per bin):
//  - Band: bins_per_band adjacent bins (the power of two nearest to band_hz: 8 bins =
//    172 Hz at 44.1 kHz, N = 2048). P_b = mean bin power of band b.
//  - Active frame: frame signal power above activity_threshold_db; only active frames
//    count, and temporal comparisons use only runs of consecutive active frames.
//  - Frame level L(t): the mean band power of the frame (loudness reference).
//  - Floor: the per-bin power of rounding noise of the container's depth (at most 16 bits:
//    decoded lossy audio is usually 16-bit) passed to the constructor. A band is *on* in a
//    frame when P_b > max(floor * 10^(floor_margin_db/10), L(t) * 10^(-band_off_db/10)):
//    above the noise and within band_off_db of the frame's level; a band that was off in
//    the previous active frame must exceed that threshold by hysteresis_db to turn on
//    (noise hovering at the threshold does not flicker; a codec switching a band between
//    content and nothing does).
//  - Hole (a time-frequency pit): band b of frame t is at least hole_depth_db below the
//    loudest band within hole_side_hz on *each* side (b-w..b-1 and b+1..b+w) and at least
//    hole_depth_db / 2 below its own level in the previous or the next frame (so holes up
//    to ~2 hole_side_hz wide count). Both sides and a neighbour in time must be
//    loud, so a slope next to a lone peak, a stable valley between harmonics, or the
//    silence above a low-pass are not holes; a scale-factor band a codec zeroed for one
//    frame is. A band-frame is *eligible* when both sides stand hole_depth_db +
//    floor_margin_db above the floor (a hole there could be seen above the noise).
//    Bands within hole_side_hz of 0 Hz or Nyquist are not evaluated (for dropouts either).
//  - Dropout: band b of frame t is at least hole_depth_db below its level in both the
//    previous and the next frame, both of which are on (a band switched off for a frame).
//  - Flicker: on/off changes of a band between consecutive active frames, per pair.
//  - Relative level: 10 log10(P_b / L(t)), in dB (one logarithm per band per frame);
//    its standard deviation over time says how the energy just below the cutoff behaves.
//  - Transient frame: an active frame whose power is at least transient_rise_db above the
//    previous frame's (active or not: an onset after silence counts). Band powers relative to L(t) are summed separately for those frames.
//
// Regions, for a reference frequency F (the cutoff, else the bandwidth, else Nyquist):
//    low   = [2 kHz, F/2)          bulk of the spectrum, where codecs leave holes too
//    high  = [F/2, F - 300 Hz)     the top octave under the cutoff, where they starve most
//    edge  = [F - 1.5 kHz, F - 300 Hz)   just below the cutoff
//    above = [F + 300 Hz, Nyquist - 300 Hz)
// Rates are pits / eligible band-frames, dropouts / eligible band-frames, transitions /
// band-frame pairs; null when a region has nothing eligible.
#include <cstdint>
#include <optional>
#include <vector>

#include "fakeless/dsp/stft.hpp"

namespace fakeless::features {

struct HolesParams {
  double activity_threshold_db = -75.0;  // [-140, 0] dBFS, frame power
  double band_hz = 172.0;                // [40, 2000] Hz, width of a band (rounded to 2^k bins)
  double hole_depth_db = 30.0;           // [6, 80] dB, depth of a hole / dropout
  double hole_side_hz = 700.0;           // [40, 4000] Hz, reach of a hole's neighbours (>= 1 band)
  double floor_margin_db = 10.0;         // [0, 40] dB, above the rounding floor
  double band_off_db = 60.0;             // [20, 120] dB, below the frame level = off
  double hysteresis_db = 10.0;           // [0, 40] dB, an off band turns on this far above
  double transient_rise_db = 6.0;        // [1, 40] dB, frame-to-frame rise of a transient
  double low_region_hz = 2000.0;         // [0, 20000] Hz, lower end of the low region

  void validate() const;  // throws std::invalid_argument naming the value
};

struct HolesFeatures {
  std::optional<double> reference_hz;       // F
  std::optional<double> hole_rate_low;
  std::optional<double> hole_rate_high;
  std::optional<double> hole_rate_above;
  std::optional<double> dropout_rate_high;
  std::optional<double> flicker_high;
  std::optional<double> flicker_above;
  std::optional<double> edge_on_fraction;     // fraction of band-frames on, edge region
  std::optional<double> edge_level_std_db;    // std over time of the relative level, edge
  std::optional<double> edge_std_excess_db;   // edge std minus that of [F/4, F/2)
  std::optional<double> transient_above_db;   // level above F minus level in edge, transient frames
  std::optional<double> transient_above_gain_db;  // that, minus the same over all active frames
  std::int64_t transient_frames = 0;
};

class HolesAnalyzer final : public dsp::FrameConsumer {
 public:
  // floor_power: per-bin power of the rounding noise (see above), linear.
  HolesAnalyzer(int sample_rate_hz, const dsp::StftParams& stft, double floor_power, HolesParams params = {});

  void consume(const dsp::SpectrumFrame& frame) override;

  // reference_hz: the cutoff, else the bandwidth; nullopt -> Nyquist.
  [[nodiscard]] HolesFeatures finish(std::optional<double> reference_hz) const;

  [[nodiscard]] int bins_per_band() const { return static_cast<int>(bpb_); }
  [[nodiscard]] double band_hz() const { return band_hz_; }

 private:
  void evaluate_middle();  // pits and dropouts of the middle row of the 3-frame window

  HolesParams params_;
  double nyquist_hz_;
  double band_hz_;
  std::size_t bpb_;
  std::size_t bands_;
  std::size_t side_bands_;  // w
  float activity_ms_;
  float on_floor_;       // band power a band must exceed to be on, absolute
  float elig_floor_;     // both sides of a hole must exceed this
  float off_ratio_;      // 10^(-band_off_db/10)
  float hole_ratio_;     // 10^(-hole_depth_db/10)
  float rise_ratio_;
  float hysteresis_ratio_;

  // three most recent frames' band powers (ring), and whether each was active
  std::vector<float> rows_;  // 3 * bands_
  int newest_ = -1;           // ring index of the newest row
  int run_ = 0;               // consecutive active frames ending at the newest (capped at 3)
  double prev_ms_ = -1.0;
  std::vector<std::uint8_t> prev_on_;
  bool have_prev_on_ = false;
  std::vector<float> rel_db_;  // scratch
  std::vector<float> left_;    // scratch: loudest band within w below / above each band
  std::vector<float> right_;

  std::int64_t active_ = 0;
  std::int64_t pairs_ = 0;       // consecutive active frame pairs
  std::int64_t triples_ = 0;     // active frames with active neighbours both sides
  std::int64_t transients_ = 0;
  std::vector<std::int64_t> eligible_;
  std::vector<std::int64_t> pits_;
  std::vector<std::int64_t> dropouts_;
  std::vector<std::int64_t> dropout_eligible_;
  std::vector<std::int64_t> transitions_;
  std::vector<std::int64_t> on_;
  std::vector<double> rel_sum_;
  std::vector<double> rel_sq_;
  std::vector<double> all_pow_;    // sum of P_b / L(t) over active frames
  std::vector<double> trans_pow_;  // the same over transient frames
};

}  // namespace fakeless::features
