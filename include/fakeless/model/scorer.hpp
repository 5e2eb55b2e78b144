#pragma once
// What every scorer returns, and the interface the pipeline calls. The scorers: the
// trained trees (model/trees.hpp, the default) and the documented rule (model/rule_model.hpp).
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fakeless/analysis.hpp"

namespace fakeless::model {

// A feature that moved the decision: its value and its effect on the lossy score (in log
// odds; positive pushes towards lossy).
struct Driver {
  std::string feature;
  std::optional<double> value;  // null: the feature was absent
  double effect = 0.0;
};

// Where a lossy file probably came from.
struct Origin {
  std::string codec;                  // mp3 | aac | vorbis | opus | other
  std::optional<int> bitrate_kbps;    // nominal class: 96, 128, 160, 192, 256, 320
  double confidence = 0.0;            // probability of `codec`
  std::optional<double> bitrate_confidence;
};

// What the patch CNN said about the whole file (model/cnn_scorer.hpp).
struct CnnScore {
  double logit = 0.0;     // the robust aggregate (median) of the patch logits
  double p_lossy = 0.0;   // calibrated, the CNN alone
  int patches = 0;        // patches scored
};

// A stretch of the file scored on its own (--segments): the CNN's calibrated p_lossy over
// the patches inside it; null when it held no audible patch.
struct SegmentScore {
  double start_s = 0.0;
  double end_s = 0.0;
  std::optional<double> p_lossy;
};

struct Decision {
  std::string verdict;              // lossless | lossy | upsampled | padded | uncertain
  std::vector<std::string> flags;   // every finding: lossy, upsampled, padded
  std::optional<double> p_lossy;    // null when the file gives no evidence either way
  std::optional<double> confidence; // confidence in `verdict`
  std::string reason;               // one human sentence
  std::optional<int> original_rate_hz;
  std::optional<int> original_bits;
  std::optional<Origin> origin;     // lossy files, when the scorer can tell
  std::vector<Driver> drivers;      // the few features that drove p_lossy, strongest first
  std::optional<CnnScore> cnn;      // scorers with the CNN
  std::vector<SegmentScore> segments;  // --segments only
};

// The decisions every scorer shares, made before any model is asked: a file that is itself
// lossy-encoded is lossy; silence, or a file shorter than one frame, is uncertain.
// nullopt: the scorer must decide.
std::optional<Decision> decide_without_model(const FileFeatures& features);

// "16.7 kHz"
std::string khz(double hz);

class Scorer {
 public:
  virtual ~Scorer() = default;
  [[nodiscard]] virtual Decision decide(const FileFeatures& features) const = 0;
  // Name and version, recorded in every verdict and in the cache key.
  [[nodiscard]] virtual std::string name() const = 0;
  // Flag lossy when p_lossy >= this.
  [[nodiscard]] virtual double lossy_threshold() const = 0;
  // The CNN input patches this scorer needs (nullopt: none); segment_s > 0 asks for
  // time-localised scores (segment mode, features/patches.hpp).
  [[nodiscard]] virtual std::optional<features::PatchParams> patch_params(double segment_s) const {
    (void)segment_s;
    return std::nullopt;
  }
  // The CNN's logit of each patch (patch_params' shape), for scoring segment patches as they
  // close; empty for scorers without a CNN.
  [[nodiscard]] virtual std::vector<float> patch_logits(std::span<const features::Patch> patches) const {
    (void)patches;
    return {};
  }
};

}  // namespace fakeless::model
