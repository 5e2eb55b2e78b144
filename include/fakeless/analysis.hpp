#pragma once
// The per-file pipeline: AudioSource -> downmix -> Stft -> analyzers -> FileFeatures,
// and the one boundary where a file's errors become an error record.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/dsp/fft.hpp"
#include "fakeless/dsp/stft.hpp"
#include "fakeless/features/bit_depth.hpp"
#include "fakeless/features/cutoff.hpp"
#include "fakeless/features/holes.hpp"
#include "fakeless/features/stereo.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless {

// Feature groups that can be switched off (to measure their cost, or to run lighter);
// a group that is off leaves its fields null.
struct FeatureGroups {
  bool holes = true;      // spectral holes, band rupture, sub-cutoff behaviour, transients
  bool stereo = true;     // mid/side: a second (subsampled) spectrum of the side channel
  bool bit_stats = true;  // grid concentration and per-block low bits of integer samples

  // "holes,stereo,bits" -> those groups off; throws std::invalid_argument on an unknown name.
  static FeatureGroups without(const std::string& comma_separated);
};

struct AnalysisOptions {
  std::size_t block_frames = 8192;          // frames decoded per read
  std::optional<dsp::StftParams> stft;      // default: dsp::StftParams::for_rate
  features::CutoffParams cutoff;
  features::HolesParams holes;
  features::StereoParams stereo;
  features::BitDepthParams bit_depth;
  FeatureGroups groups;
};

struct FileFeatures {
  io::AudioFormat format;
  std::int64_t frames_read = 0;
  dsp::StftParams stft;
  features::CutoffFeatures cutoff;
  features::BitDepthFeatures bit_depth;
  features::HolesFeatures holes;
  features::StereoFeatures stereo;

  [[nodiscard]] double duration_s() const {
    return format.sample_rate > 0 ? static_cast<double>(frames_read) / format.sample_rate : 0.0;
  }
};

// Streams the whole source once. Throws fakeless::Error for bad input.
FileFeatures extract_features(io::AudioSource& source, dsp::FftCache& ffts, const AnalysisOptions& options);

// Every feature by name, for `fakeless features` and the training scripts. Non-finite
// or unknown values are null.
nlohmann::ordered_json features_to_json(const FileFeatures& features);

// Rounds to `decimals` places; non-finite -> null.
nlohmann::ordered_json number(double value, int decimals);
nlohmann::ordered_json number(const std::optional<double>& value, int decimals);

}  // namespace fakeless
