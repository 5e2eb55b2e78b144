#pragma once
// The per-file pipeline: AudioSource -> downmix -> Stft -> analyzers -> FileFeatures,
// and the one boundary where a file's errors become an error record.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/dsp/fft.hpp"
#include "fakeless/dsp/stft.hpp"
#include "fakeless/features/bit_depth.hpp"
#include "fakeless/features/cutoff.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless {

struct AnalysisOptions {
  std::size_t block_frames = 8192;          // frames decoded per read
  double timeout_s = 0.0;                   // per-file time budget; 0: none
  std::optional<dsp::StftParams> stft;      // default: dsp::StftParams::for_rate
  features::CutoffParams cutoff;
};

struct FileFeatures {
  io::AudioFormat format;
  std::int64_t frames_read = 0;
  dsp::StftParams stft;
  features::CutoffFeatures cutoff;
  features::BitDepthFeatures bit_depth;

  [[nodiscard]] double duration_s() const {
    return format.sample_rate > 0 ? static_cast<double>(frames_read) / format.sample_rate : 0.0;
  }
};

// Streams the whole source once. Throws fakeless::Error for bad input, and
// Error(timeout) when `deadline` passes (checked between blocks of block_frames).
// `tap` (optional) receives every spectrum frame after the analyzers, so one decode
// pass can both analyse a file and draw its spectrogram.
FileFeatures extract_features(io::AudioSource& source, dsp::FftCache& ffts, const AnalysisOptions& options,
                              std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
                              dsp::FrameConsumer* tap = nullptr);

// Every feature by name, for `fakeless features` and the training scripts. Non-finite
// or unknown values are null.
nlohmann::ordered_json features_to_json(const FileFeatures& features);

// Rounds to `decimals` places; non-finite -> null.
nlohmann::ordered_json number(double value, int decimals);
nlohmann::ordered_json number(const std::optional<double>& value, int decimals);

}  // namespace fakeless
