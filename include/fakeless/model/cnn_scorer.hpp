#pragma once
// The patch CNN as a scorer: the network of model/cnn.hpp run over a file's patches
// (features/patches.hpp), what scripts/train-cnn fitted around it (calibration, thresholds,
// fusion with the trees), and the two scorers built on it:
//   --model cnn     p_lossy from the CNN alone;
//   --model fused   (the default) p_lossy from the trees and the CNN together:
//                   p_fused = sigmoid(w_tree * logit(p_tree) + w_cnn * cnn_logit + bias);
//                   p_lossy = p_tree where the trees flag the file on their own and score
//                   it higher, p_fused elsewhere; flagged at the lower of the fusion's and
//                   the trees' thresholds. With the fusion's the lower (as shipped: chosen
//                   out of fold by scripts/fusion-cv --write), that is the union: flagged
//                   when the trees flag the file on their own (a confident CNN "lossless"
//                   cannot overrule them) or the blend reaches its threshold; p_lossy keeps
//                   the blend's calibration wherever the trees do not flag.
// Both take every other finding (upsampled, padded, origin codec and bitrate) from the
// trees, and both score segments on request (--segments): a file that is not lossy as a
// whole but holds a segment that fires (CnnModel::segment_threshold, segment_contrast) is
// flagged lossy and "spliced".
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakeless/features/patches.hpp"
#include "fakeless/model/cnn.hpp"
#include "fakeless/model/scorer.hpp"
#include "fakeless/model/trees.hpp"

namespace fakeless::model {

class CnnModel {
 public:
  struct Fusion {
    std::string tree;  // the tree model it was fitted with ("tree-v1@<digest>")
    double w_tree = 0.0;
    double w_cnn = 0.0;
    double bias = 0.0;
    double threshold = 0.5;
  };
  struct FileScore {
    std::optional<double> logit;  // median of the patch logits; nullopt without patches
    int patches = 0;
    std::vector<SegmentScore> segments;  // segment mode: calibrated per segment
  };

  // Parses a model written by scripts/train-cnn; throws std::invalid_argument with the reason.
  static CnnModel from_json_text(std::string_view text, const std::string& source);
  static CnnModel from_file(const std::string& path);
  // The built-in model (the newest data/models/cnn-*.json compiled in); nullptr when the
  // binary was built without one.
  static const CnnModel* builtin();

  // The patches this model reads; segment_s > 0: segment mode.
  [[nodiscard]] features::PatchParams patch_params(double segment_s) const;
  // The file's logit from `whole` (its own patches), the segments' scores from `segments`
  // (a segment-mode set; empty: none). A patch that already carries its logit
  // (Patch::logit: scored as it closed) is not run again.
  [[nodiscard]] FileScore score(const features::PatchSet& whole, const features::PatchSet& segments = {}) const;
  // The network's logit of each patch, from its values (64 patches at a time: a patch's
  // logit does not depend on its batch).
  [[nodiscard]] std::vector<float> logits(std::span<const features::Patch> patches) const;
  [[nodiscard]] double calibrated(double logit) const;
  [[nodiscard]] double threshold() const { return threshold_; }
  [[nodiscard]] double segment_threshold() const { return segment_threshold_; }
  // A segment fires when p_lossy >= segment_threshold() and its log odds stand
  // segment_contrast() above segment_reference() of its file's segments (a passage unlike
  // the rest).
  [[nodiscard]] double segment_contrast() const { return segment_contrast_; }
  [[nodiscard]] const std::optional<Fusion>& fusion() const { return fusion_; }
  [[nodiscard]] std::string name() const { return name_ + "@" + net_.digest(); }
  [[nodiscard]] const std::string& base_name() const { return name_; }
  [[nodiscard]] const CnnNet& net() const { return net_; }
  [[nodiscard]] nlohmann::ordered_json summary() const;  // for `fakeless models --json`

 private:
  CnnNet net_;
  std::string name_;
  features::PatchParams patches_;
  double cal_a_ = 1.0;
  double cal_b_ = 0.0;
  double threshold_ = 0.5;
  double segment_threshold_ = 0.5;
  double segment_contrast_ = 0.0;
  std::optional<Fusion> fusion_;

  [[nodiscard]] std::vector<float> patch_logits(const features::PatchSet& set) const;  // one per patch
};

// What --model cnn and --model fused share: the trees decide everything but the lossy
// score (upsampled, padded, origin), the CNN scores the file's patches, and its evidence,
// segments and "spliced" flag go into the decision. A file without a CNN score (shorter
// than one patch) is scored by the trees alone, at their own threshold.
class CnnBackedScorer : public Scorer {
 public:
  [[nodiscard]] Decision decide(const FileFeatures& features) const final;
  [[nodiscard]] double lossy_threshold() const final { return threshold_; }
  [[nodiscard]] std::optional<features::PatchParams> patch_params(double segment_s) const final {
    return cnn_->patch_params(segment_s);
  }
  [[nodiscard]] std::vector<float> patch_logits(std::span<const features::Patch> patches) const final {
    return cnn_->logits(patches);
  }

 protected:
  // Throws std::invalid_argument when threshold is not in (0, 1].
  CnnBackedScorer(const TreeModel& trees, const CnnModel& cnn, double threshold);
  // The lossy score of a file the CNN scored (cnn_logit: its raw logit); may rewrite the
  // drivers in d.
  [[nodiscard]] virtual TreeModel::LossyScore lossy(double p_tree, double cnn_logit, Decision& d) const = 0;

  const TreeModel* trees_;
  const CnnModel* cnn_;
  double threshold_;
};

// --model cnn
class CnnScorer final : public CnnBackedScorer {
 public:
  CnnScorer(const TreeModel& trees, const CnnModel& cnn, std::optional<double> threshold = std::nullopt);
  [[nodiscard]] std::string name() const override;

 private:
  [[nodiscard]] TreeModel::LossyScore lossy(double p_tree, double cnn_logit, Decision& d) const override;
};

// --model fused (default when the binary has a CNN)
class FusedScorer final : public CnnBackedScorer {
 public:
  // Threshold: max(fusion threshold, trees' threshold) unless given. Throws
  // std::invalid_argument when the CNN carries no fusion, or one fitted with other trees.
  FusedScorer(const TreeModel& trees, const CnnModel& cnn, std::optional<double> threshold = std::nullopt);
  [[nodiscard]] std::string name() const override;

 private:
  [[nodiscard]] TreeModel::LossyScore lossy(double p_tree, double cnn_logit, Decision& d) const override;
  CnnModel::Fusion fusion_;
};

// What a firing segment must stand out from: the lower quartile of the file's segment log
// odds (linear interpolation between order statistics, as numpy's percentile). Not the
// median: a passage that spans half of a short file's segments would be its own median.
// Empty input: 0.
[[nodiscard]] double segment_reference(std::vector<double> log_odds);

}  // namespace fakeless::model
