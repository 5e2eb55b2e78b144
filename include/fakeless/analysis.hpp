#pragma once
// The per-file pipeline: AudioSource -> downmix -> Stft -> analyzers -> FileFeatures,
// and the one boundary where a file's errors become an error record.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakeless/dsp/fft.hpp"
#include "fakeless/dsp/stft.hpp"
#include "fakeless/features/bit_depth.hpp"
#include "fakeless/features/cutoff.hpp"
#include "fakeless/features/grid.hpp"
#include "fakeless/features/holes.hpp"
#include "fakeless/features/patches.hpp"
#include "fakeless/features/stereo.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless {

// Quick mode: instead of the whole file, `segments` stretches of `segment_s` seconds,
// one centred in each of `segments` equal parts of the file (deterministic: the same file
// always gives the same segments). A file shorter than twice that budget, or one that
// cannot seek, is decoded whole. The framer is reset at every segment, so no analysis
// frame straddles a join. Quick mode reads less, so it also checks less: a stream cut
// after the last segment is not noticed.
struct QuickParams {
  int segments = 6;        // [1, 100]
  double segment_s = 5.0;  // [0.5, 600] seconds

  void validate() const;  // throws std::invalid_argument naming the value
};

struct Segment {
  std::int64_t start = 0;   // first frame
  std::int64_t frames = 0;  // length
  bool operator==(const Segment&) const = default;
};

// The segments quick mode reads in a file of total_frames; empty: read the whole file.
std::vector<Segment> quick_segments(std::int64_t total_frames, int sample_rate_hz, const QuickParams& params);

// Feature groups that can be switched off (to measure their cost, or to run lighter);
// a group that is off leaves its fields null.
struct FeatureGroups {
  bool holes = true;      // spectral holes, band rupture, sub-cutoff behaviour, transients
  bool stereo = true;     // mid/side: a second (subsampled) spectrum of the side channel
  bool bit_stats = true;  // grid concentration and per-block low bits of integer samples
  bool grid = true;       // codec-grid evidence: MDCT re-analysis on each codec's frame grid

  // "holes,stereo,bits,grid" -> those groups off; throws std::invalid_argument on an unknown name.
  static FeatureGroups without(const std::string& comma_separated);
};

struct AnalysisOptions {
  std::size_t block_frames = 8192;          // frames decoded per read
  double timeout_s = 0.0;                   // per-file time budget; 0: none
  std::optional<dsp::StftParams> stft;      // default: dsp::StftParams::for_rate
  features::CutoffParams cutoff;
  bool quick = false;                       // analyse seeked segments only (QuickParams)
  QuickParams quick_params;
  features::HolesParams holes;
  features::StereoParams stereo;
  features::BitDepthParams bit_depth;
  features::GridParams grid;
  FeatureGroups groups;
  // CNN input patches (features/patches.hpp): sampled only when set (the CNN scorers set
  // it; `fakeless patches` too). With segment_s > 0 the file's own patches (whole-file
  // strata) are sampled as well as the segments', so the file's score does not depend on
  // whether segments were asked for.
  std::optional<features::PatchParams> patches;
  // Scores patches with the CNN (set by options_for when the scorer has one): in segment
  // mode each segment patch is scored as it closes and only its logit kept (Patch::logit),
  // so a long file's segments cost a few bytes each, not a 32 KB patch.
  std::function<std::vector<float>(std::span<const features::Patch>)> patch_logits;
  // --segments: time-localised CNN scores over segments of this many seconds (0: off);
  // analyze_source asks the scorer for patches in segment mode.
  double segment_s = 0.0;
};

struct FileFeatures {
  io::AudioFormat format;
  std::int64_t frames_read = 0;   // frames decoded (in quick mode, of the segments only)
  int quick_segments = 0;         // segments read in quick mode; 0: the whole file
  dsp::StftParams stft;
  features::CutoffFeatures cutoff;
  features::BitDepthFeatures bit_depth;
  features::HolesFeatures holes;
  features::StereoFeatures stereo;
  features::GridFeatures grid;
  features::PatchSet patches;          // the whole file's; empty unless AnalysisOptions::patches was set
  features::PatchSet segment_patches;  // segment mode (patches->segment_s > 0) only

  // The file's duration: decoded, or from the header when quick mode read segments only.
  [[nodiscard]] double duration_s() const {
    if (format.sample_rate <= 0) return 0.0;
    if (quick_segments > 0 && format.frames) return static_cast<double>(*format.frames) / format.sample_rate;
    return static_cast<double>(frames_read) / format.sample_rate;
  }
  [[nodiscard]] double analysed_s() const {
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
