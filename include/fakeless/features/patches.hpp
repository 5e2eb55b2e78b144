#pragma once
// The CNN's inputs: log-magnitude patches of the mid spectrogram, sampled from where the
// music is, with bounded memory.
//
// A patch is `frames` consecutive STFT frames (the pipeline's own frames: hop = N, ~46 ms,
// so 32 frames ~ 1.5 s) by `bands` frequency bands of equal width over [0, top_hz)
// (256 x 86.1 Hz up to 22.05 kHz). A band's power is the mean power of the bins whose
// centre frequency lies in it; bands above the file's Nyquist frequency hold no bin and
// read 0. Its value is
//     v = max(0, (10 log10 P - floor_db) / scale_db)
// where floor_db is the per-bin level of the rounding noise of a `floor_bits`-deep integer
// format at the file's FFT size (features/cutoff.hpp): 0 is "nothing above the noise",
// full-scale music reaches ~6. Values are stored time-major: patch[t * bands + f].
//
// Sampling (deterministic, one pass): the file's frames are cut into `budget` strata of
// equal length (fewer when the file is short: every stratum holds at least one patch), and
// each stratum contributes the window of `frames` frames with the highest signal energy
// that lies entirely inside it. Windows whose mean frame power is below min_power_db
// (digital silence, fade-outs) are not taken. When the length is not known in advance
// (a stream without a frame count), strata start one patch long and adjacent pairs are
// merged (the louder patch kept) whenever 2 x budget have been filled, so memory stays at
// 2 x budget patches whatever the duration.
//
// Segment mode (segment_s > 0, for time-localised verdicts): the strata are consecutive
// segments of segment_s seconds (lengthened so there are at most max_segments), each cut
// into per_segment sub-strata; every patch records its segment. Kept in the set, the
// patches grow with the number of segments, which max_segments bounds when the length is
// known (360 x 4 patches of 32 KB: ~47 MB) and nothing does when it is not; so the scan
// hands them to a sink (set_sink) that scores each as it closes and keeps its logit.
// Four patches a segment, not two: a segment's score is their median, so one patch
// straddling a hard edit between two differently mastered recordings (which the CNN scores
// as lossy) does not make the segment fire (on validation: 17 of 60 joins of genuine masters
// fired with two patches a segment, none with four, and more spliced clips were found).
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fakeless/dsp/stft.hpp"

namespace fakeless::features {

struct PatchParams {
  int frames = 32;             // STFT frames per patch
  int bands = 256;             // frequency bands over [0, top_hz)
  double top_hz = 22050.0;     // upper edge of the top band
  int floor_bits = 16;         // the rounding floor that reads 0
  double scale_db = 20.0;      // dB per unit of value
  int budget = 12;             // patches per file (whole-file mode)
  double min_power_db = -70.0; // quieter windows (mean frame power, dBFS) are skipped
  double segment_s = 0.0;      // > 0: segment mode
  int per_segment = 4;         // patches per segment (segment mode)
  int max_segments = 360;      // segment mode: segments are lengthened to stay within this

  void validate() const;  // throws std::invalid_argument
};

struct Patch {
  std::int64_t first_frame = 0;  // STFT frame index of the patch's first frame
  double energy = 0.0;           // sum of the frames' mean square
  int segment = -1;              // segment mode: the segment it belongs to
  std::vector<float> values;     // frames * bands, time-major (empty once scored: logit)
  std::optional<float> logit;    // the CNN's logit, where a sink scored it as it closed
};

struct PatchSegment {
  double start_s = 0.0;
  double end_s = 0.0;
};

struct PatchSet {
  int frames = 0;
  int bands = 0;
  double seconds_per_frame = 0.0;       // hop / sample rate
  std::vector<Patch> patches;           // in time order
  std::vector<PatchSegment> segments;   // segment mode only

  [[nodiscard]] double start_s(const Patch& p) const { return static_cast<double>(p.first_frame) * seconds_per_frame; }
  [[nodiscard]] double end_s(const Patch& p) const {
    return static_cast<double>(p.first_frame + frames) * seconds_per_frame;
  }
};

class PatchSampler final : public dsp::FrameConsumer {
 public:
  // total_samples: the file's length in sample frames when known (sizes the strata).
  PatchSampler(int sample_rate_hz, const dsp::StftParams& stft, std::optional<std::int64_t> total_samples,
               PatchParams params);

  void consume(const dsp::SpectrumFrame& frame) override;
  // Where closed patches go instead of the set finish() returns (segment mode, whose patch
  // count grows with the file: the scan scores each as it closes and keeps its logit, so
  // memory does not grow with the duration). Called in time order, from consume() and
  // finish().
  using Sink = std::function<void(Patch&&)>;
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  // Forget the frames seen so far (no patch straddles a join, e.g. between quick segments).
  void reset() { filled_ = 0; }

  [[nodiscard]] PatchSet finish();

 private:
  struct Stratum {
    std::int64_t begin = 0;  // first frame
    std::int64_t end = 0;    // one past the last frame
    int segment = -1;
  };
  // Ends the current stratum: its best window (if any) is kept.
  void close_current();
  void take_candidate(std::int64_t first_frame, double energy);
  void merge_pairs();
  void fill_values(std::int64_t first_frame, std::vector<double>& dst) const;
  void keep_best();  // copies the best window out of the ring (once)
  static constexpr std::size_t kRingWindows = 4;

  PatchParams params_;
  int sample_rate_hz_;
  dsp::StftParams stft_;
  double floor_db_;
  std::vector<std::size_t> band_lo_, band_hi_;  // bin range of each band
  // Ring of the last `frames` frames: band values and frame energies.
  std::vector<double> ring_;  // mean band powers (linear) of the last kRingWindows * frames frames
  std::vector<double> ring_energy_;
  std::int64_t filled_ = 0;   // consecutive frames in the ring (capped at frames)
  std::int64_t last_index_ = -1;

  // Strata: known layout (computed up front) or, unknown length, fixed length doubling.
  std::vector<Stratum> strata_;
  std::size_t current_ = 0;
  bool known_ = false;
  std::int64_t unknown_len_ = 0;      // stratum length (frames) when the length is unknown

  std::optional<Patch> best_;  // the best window of the current stratum so far
  std::vector<double> best_power_;  // its mean band powers, turned into values when it is kept
  bool best_copied_ = false;         // best_power_ holds best_'s window
  std::vector<Patch> done_;
  std::vector<PatchSegment> segments_;
  Sink sink_;
};

}  // namespace fakeless::features
