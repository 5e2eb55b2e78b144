#pragma once
// Short-time Fourier transform of a mono stream, pushed block by block.
//
// Conventions (every analyzer relies on them):
//  - Window: periodic Hann, w[n] = 0.5 - 0.5 cos(2 pi n / N).
//  - Frame size N: the power of two nearest (in log scale) to 46.4 ms of audio, so
//    2048 at 44.1/48 kHz, 4096 at 88.2/96 kHz, 8192 at 176.4/192 kHz, 512 at 8 kHz.
//    The bin width fs/N is therefore ~21-23 Hz at every common rate.
//  - Hop: N (no overlap) by default. The analyzers estimate statistics of the spectrum
//    (long-term average, per-frame walls), which overlap does not make more accurate;
//    it would double the FFT work. Overlapping hops remain available (StftParams::hop),
//    and so do hops longer than N (frames with unanalysed gaps between them, up to
//    kMaxHopFrames * N): a cheap subsampled spectrum, e.g. the side channel's.
//  - Bin power P[k] is normalised so that a full-scale sine (amplitude 1) centred on a
//    bin reads P = 1, i.e. 0 dB: P[k] = c_k |X[k]|^2 / (sum w)^2 with c_k = 4 for
//    0 < k < N/2 and 1 for k = 0 and k = N/2.
//  - dB means 10 log10(P); analyzers clamp at kFloorDb so digital silence is finite.
//  - mean_square is the power of the frame's signal (window-compensated, Parseval),
//    ignoring bins below 20 Hz (and bins 0-1, where the window spreads DC) so DC
//    offset and rumble do not count as content.
//  - Only full frames are analysed; a stream shorter than one frame yields none.
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "fakeless/dsp/fft.hpp"

namespace fakeless::dsp {

inline constexpr double kFloorDb = -200.0;

// Normalised power -> dB, clamped at kFloorDb (digital silence stays finite).
inline double power_db(double power) { return power > 1e-20 ? 10.0 * std::log10(power) : kFloorDb; }

inline constexpr int kMaxHopFrames = 64;  // hop <= kMaxHopFrames * fft_size

// Mid (L + R) / 2 and, unless side is null, side (L - R) / 2 of interleaved stereo frames.
void mid_side(const float* stereo, std::size_t frames, float* mid, float* side);

struct StftParams {
  int fft_size = 2048;
  int hop = 1024;

  // Defaults for a sample rate, per the conventions above.
  static StftParams for_rate(int sample_rate_hz);
  // Throws std::invalid_argument naming the offending value.
  void validate() const;
};

struct SpectrumFrame {
  std::int64_t index = 0;          // frame number, from 0
  std::span<const float> power;    // N/2 + 1 normalised bin powers
  double mean_square = 0.0;        // signal power of the frame above 20 Hz
};

class FrameConsumer {
 public:
  virtual ~FrameConsumer() = default;
  virtual void consume(const SpectrumFrame& frame) = 0;
};

class Stft {
 public:
  Stft(StftParams params, int sample_rate_hz, FftCache& cache);

  // Feeds mono samples; calls sink.consume for every frame completed, in order, before it
  // returns (a frame's power span is valid until the next push).
  void push(std::span<const float> mono, FrameConsumer& sink);
  // Drops the samples of the frame being filled: the next frame starts with the next
  // sample pushed. Used between the segments of quick mode, so no frame straddles a join.
  void reset() {
    filled_ = 0;
    skip_ = 0;
  }

  [[nodiscard]] const StftParams& params() const { return params_; }
  [[nodiscard]] std::int64_t frames_emitted() const { return frames_; }
  [[nodiscard]] double bin_hz() const { return bin_hz_; }

 private:
  // Windows and transforms the N samples at `samples` into the next batch slot.
  void transform(const float* samples, FrameConsumer& sink);
  // Hands the batched frames to sink (their signal powers summed side by side).
  void emit(FrameConsumer& sink);

  static constexpr std::size_t kBatch = 4;  // frames transformed before they are emitted

  StftParams params_;
  double bin_hz_;
  RealFft& fft_;
  std::vector<float> window_;
  std::vector<float> pending_;  // the last N samples seen
  std::size_t filled_ = 0;      // valid samples in pending_
  std::size_t skip_ = 0;        // samples still to discard before the next frame (hop > N)
  std::vector<float> batch_;    // kBatch x (N/2 + 1) bin powers, batched_ of them filled
  std::size_t batched_ = 0;
  std::vector<float> scale_;    // c_k / (sum w)^2, zero below 20 Hz for mean_square
  std::size_t first_content_bin_ = 1;
  double ms_norm_ = 0.0;
  std::int64_t frames_ = 0;
};

}  // namespace fakeless::dsp
