#pragma once
// The documented rule on the cutoff and bit-depth features (`--model rule`): no training,
// every threshold explained; the trained trees (model/trees.hpp) are the default. See README.md, "How the verdict is made".
#include <optional>
#include <string>
#include <vector>

#include "fakeless/analysis.hpp"
#include "fakeless/model/scorer.hpp"

namespace fakeless::model {


struct RuleParams {
  double min_sharpness_db = 33.0;     // brick-wall vs roll-off (see README: chosen on the train split)
  double sharpness_scale_db = 6.0;
  double min_stability = 0.7;         // walls in the frames that reach the cutoff
  double stability_scale = 0.15;
  double max_lossy_cutoff_hz = 20800; // genuine anti-alias filters sit above this
  double cutoff_scale_hz = 400;
  double max_upsampled_content_hz = 24500;
  double p_lossy_without_cutoff = 0.02;
  double lossy_threshold = 0.5;       // flag lossy when p_lossy >= this; (0, 1], CLI --threshold

  void validate() const;  // throws std::invalid_argument naming the offending value
};

class RuleModel final : public Scorer {
 public:
  explicit RuleModel(RuleParams params = {}) : params_((params.validate(), params)) {}
  [[nodiscard]] Decision decide(const FileFeatures& features) const override;
  [[nodiscard]] std::string name() const override { return version(); }
  [[nodiscard]] double lossy_threshold() const override { return params_.lossy_threshold; }
  [[nodiscard]] static std::string version();
  [[nodiscard]] const RuleParams& params() const { return params_; }

 private:
  RuleParams params_;
};

}  // namespace fakeless::model
