#pragma once
// Mid/side analysis. Joint-stereo codecs (MP3 M/S, AAC M/S and intensity stereo, Vorbis
// channel coupling) spend fewer bits on the side channel S = (L - R) / 2 than on the mid
// M = (L + R) / 2 and often cut it lower (a 20 kHz mid with a 16 kHz side). The mono
// downmix the other analyzers see hides that.
//
// Cost bound: the side is transformed only on every side_frame_stride-th frame (default
// 4: a quarter of the main FFT work), by an Stft whose hop is stride * N, so side frame j
// covers exactly the samples of mid frame j * stride. Only stereo files have a side.
//
// Definitions (bin power and dB as in dsp/stft.hpp):
//  - Paired frame: a side frame whose mid frame is active (mid power above
//    activity_threshold_db). Mid and side bin powers are summed over paired frames.
//  - side_level_db: 10 log10(side power / mid power), all bins from 20 Hz.
//  - side_hf_drop_db: the side-to-mid ratio (dB) in [F/4, F/2) minus that in
//    [F - 3 kHz, F - 300 Hz), F being the mid's cutoff, else its bandwidth, else Nyquist.
//    About 0 when the side has the mid's spectrum shape; large when the side loses its top.
//  - side_cutoff_hz, side_cutoff_sharpness_db, side_bandwidth_hz: the CutoffAnalyzer's
//    definitions applied to the side spectrum of the same frames (side frames quieter
//    than the activity threshold do not vote there).
#include <optional>
#include <vector>

#include "fakeless/dsp/stft.hpp"
#include "fakeless/features/cutoff.hpp"

namespace fakeless::features {

struct StereoParams {
  int side_frame_stride = 4;             // [1, dsp::kMaxHopFrames] frames
  double activity_threshold_db = -75.0;  // [-140, 0] dBFS, mid frame power

  void validate() const;  // throws std::invalid_argument naming the value
};

struct StereoFeatures {
  std::int64_t paired_frames = 0;
  std::optional<double> side_level_db;
  std::optional<double> side_hf_drop_db;
  std::optional<double> side_cutoff_hz;
  std::optional<double> side_cutoff_sharpness_db;
  std::optional<double> side_bandwidth_hz;
};

// Consumes side frames (it is the side Stft's sink) and is shown every mid frame.
class StereoAnalyzer final : public dsp::FrameConsumer {
 public:
  StereoAnalyzer(int sample_rate_hz, const dsp::StftParams& mid_stft, StereoParams params = {},
                 CutoffParams cutoff = {});

  // The parameters of the side Stft: the mid's frame size, hop = stride * N.
  [[nodiscard]] dsp::StftParams side_stft() const;

  void observe_mid(const dsp::SpectrumFrame& mid);  // every mid frame, in order
  void consume(const dsp::SpectrumFrame& side) override;

  [[nodiscard]] StereoFeatures finish(std::optional<double> mid_reference_hz,
                                      std::optional<double> quantisation_floor_db) const;

 private:
  StereoParams params_;
  dsp::StftParams mid_stft_;
  double bin_hz_;
  double nyquist_hz_;
  double activity_ms_;
  std::size_t first_bin_;
  CutoffAnalyzer side_cutoff_;
  std::vector<float> mid_copy_;  // the mid frame the next side frame pairs with
  std::int64_t mid_copy_index_ = -1;
  bool mid_copy_active_ = false;
  std::int64_t paired_ = 0;
  std::vector<double> mid_sum_;
  std::vector<double> side_sum_;
};

}  // namespace fakeless::features
