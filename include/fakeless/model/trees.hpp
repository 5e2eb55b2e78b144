#pragma once
// The trained scorer: gradient-boosted trees over the feature vector of
// `fakeless features`, in the JSON format scripts/train-tree writes ("fakeless-trees" v1),
// embedded in the binary at build time (cmake/EmbedModels.cmake).
//
// The model reads features by name from features_to_json() - the very numbers the training
// script saw, rounding included - so training and inference cannot disagree.
#include <cstdint>
#include <span>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakeless/model/scorer.hpp"

namespace fakeless::model {

// A file compiled into the binary (data/models/*.json, *.md).
struct EmbeddedFile {
  std::string_view name;
  std::string_view data;
};
std::span<const EmbeddedFile> embedded_files();

// One tree, struct of arrays; node 0 is the root, feature < 0 marks a leaf. Every node
// carries a value (for internal nodes, the expected value of the leaves below it), so the
// changes along a path attribute the leaf's value to the features split on.
struct Tree {
  std::vector<std::int32_t> feature;
  std::vector<double> threshold;
  std::vector<std::uint8_t> missing_left;
  std::vector<std::int32_t> left;
  std::vector<std::int32_t> right;
  std::vector<double> value;

  [[nodiscard]] std::size_t leaf(std::span<const double> x) const;  // NaN = missing
};

// One head: baseline + the sum of its trees, per class column (1 column when binary).
class TreeHead {
 public:
  TreeHead() = default;
  // j: the head's object (its "trees" array is read separately, into `trees`:
  // [iteration][column]). Throws std::invalid_argument with a precise message when the
  // head is malformed.
  static TreeHead from_json(const nlohmann::json& j, std::size_t n_features, const std::string& what,
                            std::vector<std::vector<Tree>> trees);

  [[nodiscard]] bool empty() const { return columns_ == 0; }
  [[nodiscard]] bool binary() const { return columns_ == 1; }
  [[nodiscard]] const std::vector<std::string>& classes() const { return classes_; }
  [[nodiscard]] std::vector<double> raw(std::span<const double> x) const;
  // Binary: {P(classes[0]), P(classes[1])} by the logistic; multiclass: softmax.
  [[nodiscard]] std::vector<double> proba(std::span<const double> x) const;
  // Binary heads: adds each feature's contribution to the raw score to `out` (size =
  // feature count); returns the bias (baseline + the roots' expected values).
  double contributions(std::span<const double> x, std::vector<double>& out) const;
  [[nodiscard]] const nlohmann::json& extra() const { return extra_; }  // calibration, threshold, ...
  [[nodiscard]] std::size_t tree_count() const;

 private:
  std::size_t columns_ = 0;
  std::vector<std::string> classes_;
  std::vector<double> baseline_;
  std::vector<std::vector<Tree>> trees_;  // [iteration][column]
  nlohmann::json extra_;
};

class TreeModel final : public Scorer {
 public:
  // Parses a model; `source` names it in error messages. Throws std::invalid_argument.
  static TreeModel from_json_text(std::string_view text, const std::string& source);
  static TreeModel from_file(const std::string& path);
  // The built-in model (the newest data/models/tree-*.json compiled in).
  static const TreeModel& builtin();

  [[nodiscard]] Decision decide(const FileFeatures& features) const override;
  // The same, with the lossy score replaced: `lossy` receives the trees' calibrated
  // p_lossy and the decision so far (drivers set) and returns the p_lossy and threshold to
  // decide with (it may edit the drivers). Used by the CNN and fused scorers, which take
  // every other finding (upsampled, padded, origin) from the trees.
  struct LossyScore {
    double p = 0.0;
    double threshold = 1.0;
  };
  using LossyOverride = std::function<LossyScore(double p_tree, Decision& d)>;
  [[nodiscard]] Decision decide(const FileFeatures& features, const LossyOverride& lossy) const;
  // "<name>@<8 hex digits of the model file's FNV-1a hash>": a retrained model under the
  // same name is a different version (cache entries of the old one are not reused).
  [[nodiscard]] std::string name() const override { return name_ + "@" + digest_; }
  [[nodiscard]] const std::string& base_name() const { return name_; }  // as in the file
  [[nodiscard]] double lossy_threshold() const override { return threshold_; }
  // A copy that flags lossy at p_lossy >= t, t in (0, 1]; throws std::invalid_argument.
  [[nodiscard]] TreeModel with_threshold(double t) const;

  // The model's input vector from a features_to_json() object (absent or null -> NaN).
  [[nodiscard]] std::vector<double> vectorize(const nlohmann::ordered_json& features) const;
  [[nodiscard]] const std::vector<std::string>& feature_names() const { return features_; }
  [[nodiscard]] double lossy_raw(std::span<const double> x) const;
  [[nodiscard]] double p_lossy(std::span<const double> x) const;  // calibrated
  [[nodiscard]] const TreeHead& head(const std::string& name) const;  // lossy codec bitrate upsampled padded
  [[nodiscard]] nlohmann::ordered_json summary() const;                // for `fakeless models`

 private:
  std::string name_;
  std::string digest_;
  std::vector<std::string> features_;
  TreeHead lossy_, codec_, bitrate_, upsampled_, padded_;
  double platt_a_ = 1.0, platt_b_ = 0.0;
  double threshold_ = 0.5;
  double upsampled_threshold_ = 0.5;
  int upsampled_min_rate_ = 48001;
  double padded_threshold_ = 0.5;
  std::size_t bytes_ = 0;
};

}  // namespace fakeless::model
