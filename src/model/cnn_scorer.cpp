#include "fakeless/model/cnn_scorer.hpp"

#include "fakeless/dsp/median.hpp"
#include "fakeless/model/model_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <stdexcept>

namespace fakeless::model {

namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double logit(double p) {
  const double q = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(q / (1.0 - q));
}

double round_to(double v, double step) { return std::round(v / step) * step; }

// A finite number from the model's meta, or the fallback when absent.
double number_at(const nlohmann::json& obj, const char* key, double fallback, const std::string& source) {
  if (!obj.is_object() || !obj.contains(key)) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    throw std::invalid_argument(source + ": '" + key + "' must be a finite number");
  }
  return v.get<double>();
}

double unit_at(const nlohmann::json& obj, const char* key, double fallback, const std::string& source) {
  const double v = number_at(obj, key, fallback, source);
  if (!(v > 0.0 && v <= 1.0)) throw std::invalid_argument(source + ": '" + key + "' must be in (0, 1]");
  return v;
}

std::string mmss(double s) {
  const auto t = static_cast<long>(std::floor(s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

// Segment mode: a file not lossy as a whole with a segment that fires (p_lossy at or above
// the segment threshold, log odds segment_contrast above segment_reference() of the file's
// segments) is lossy and "spliced" (the reason names the segments).
void flag_spliced(Decision& d, const CnnModel& cnn) {
  if (d.segments.empty() || d.verdict == "lossy") return;
  std::vector<double> odds;
  for (const auto& s : d.segments) {
    if (s.p_lossy) odds.push_back(logit(*s.p_lossy));
  }
  if (odds.empty()) return;
  const double ref = segment_reference(odds);
  const double line = logit(cnn.segment_threshold()) - 1e-12;
  std::string where;
  double top = 0.0;
  int hits = 0;
  for (const auto& s : d.segments) {
    if (!s.p_lossy) continue;
    const double lo = logit(*s.p_lossy);
    if (lo >= line && lo - ref >= cnn.segment_contrast()) {
      if (hits++ < 3) where += (where.empty() ? "" : ", ") + mmss(s.start_s) + "-" + mmss(s.end_s);
      top = std::max(top, *s.p_lossy);
    }
  }
  if (hits == 0) return;
  if (hits > 3) where += ", ...";
  d.flags.insert(d.flags.begin(), "lossy");
  d.flags.emplace_back("spliced");
  const std::string previous = d.verdict;
  d.verdict = "lossy";
  d.p_lossy = std::max(d.p_lossy.value_or(0.0), top);
  d.confidence = top;
  char buf[64];
  std::snprintf(buf, sizeof buf, " (CNN p_lossy up to %.2f)", top);
  d.reason = "a lossy passage in a file that is otherwise " + previous + ": " + where + buf;
}

// Per-segment and whole-file CNN scores into the decision.
void attach(Decision& d, const CnnModel& cnn, const CnnModel::FileScore& s) {
  if (s.logit) {
    CnnScore c;
    c.logit = round_to(*s.logit, 1e-3);
    c.p_lossy = round_to(cnn.calibrated(*s.logit), 1e-4);
    c.patches = s.patches;
    d.cnn = c;
  }
  d.segments = s.segments;
}

}  // namespace

CnnModel CnnModel::from_json_text(std::string_view text, const std::string& source) {
  CnnModel m;
  try {
    m.net_ = CnnNet::parse(text, source);
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  const auto& meta = m.net_.meta();
  m.name_ = meta.value("name", std::string("cnn"));
  const auto& in = meta.contains("input") ? meta.at("input") : nlohmann::json::object();
  features::PatchParams p;
  p.frames = static_cast<int>(m.net_.frames());
  p.bands = static_cast<int>(m.net_.bands());
  p.top_hz = number_at(in, "top_hz", p.top_hz, source);
  p.floor_bits = static_cast<int>(number_at(in, "floor_bits", p.floor_bits, source));
  p.scale_db = number_at(in, "scale_db", p.scale_db, source);
  p.budget = static_cast<int>(number_at(in, "budget", p.budget, source));
  p.min_power_db = number_at(in, "min_power_db", p.min_power_db, source);
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": input: " + e.what());
  }
  m.patches_ = p;
  if (meta.contains("aggregate") && meta.at("aggregate") != "median") {
    throw std::invalid_argument(source + ": only the 'median' aggregate is known");
  }
  const auto& cal = meta.contains("calibration") ? meta.at("calibration") : nlohmann::json::object();
  m.cal_a_ = number_at(cal, "a", 1.0, source);
  m.cal_b_ = number_at(cal, "b", 0.0, source);
  m.threshold_ = unit_at(meta, "threshold", 0.5, source);
  m.segment_threshold_ = unit_at(meta, "segment_threshold", m.threshold_, source);
  m.segment_contrast_ = number_at(meta, "segment_contrast", 0.0, source);
  if (m.segment_contrast_ < 0.0) throw std::invalid_argument(source + ": 'segment_contrast' must be >= 0");
  if (meta.contains("fusion") && !meta.at("fusion").is_null()) {
    const auto& fu = meta.at("fusion");
    if (!fu.is_object()) throw std::invalid_argument(source + ": 'fusion' must be an object");
    Fusion f;
    f.tree = fu.value("tree", std::string());
    f.w_tree = number_at(fu, "w_tree", 0.0, source);
    f.w_cnn = number_at(fu, "w_cnn", 0.0, source);
    f.bias = number_at(fu, "bias", 0.0, source);
    f.threshold = unit_at(fu, "threshold", 0.5, source);
    m.fusion_ = f;
  }
  return m;
}

CnnModel CnnModel::from_file(const std::string& path) {
  const auto text = read_model_file(path);
  if (!text) throw std::invalid_argument("cannot read model file " + path);
  return from_json_text(*text, path);
}

const CnnModel* CnnModel::builtin() {
  static const std::optional<CnnModel> model = []() -> std::optional<CnnModel> {
    const EmbeddedFile* best = newest_embedded_model("cnn-");
    if (best == nullptr) return std::nullopt;
    return from_json_text(best->data, std::string(best->name));
  }();
  return model ? &*model : nullptr;
}

features::PatchParams CnnModel::patch_params(double segment_s) const {
  features::PatchParams p = patches_;
  p.segment_s = segment_s;
  return p;
}

double CnnModel::calibrated(double z) const { return sigmoid(cal_a_ * z + cal_b_); }

std::vector<float> CnnModel::logits(std::span<const features::Patch> patches) const {
  const std::size_t n = patches.size();
  if (n == 0) return {};
  const std::size_t size = net_.frames() * net_.bands();
  for (const auto& p : patches) {
    if (p.values.size() != size) throw std::logic_error("patches of another shape than the CNN reads");
  }
  // In chunks: one flat copy of many patches would double them (a segment-mode set not
  // scored as it closed, as `fakeless patches` keeps it, holds up to 1,440: ~47 MB). A
  // patch's logit does not depend on its batch (cnn.cpp).
  constexpr std::size_t kChunk = 64;
  std::vector<float> out;
  out.reserve(n);
  std::vector<float> flat(std::min(n, kChunk) * size);
  for (std::size_t first = 0; first < n; first += kChunk) {
    const std::size_t m = std::min(kChunk, n - first);
    for (std::size_t i = 0; i < m; ++i) {
      const auto& v = patches[first + i].values;
      std::copy(v.begin(), v.end(), flat.begin() + static_cast<std::ptrdiff_t>(i * size));
    }
    const std::vector<float> z = net_.logits(std::span<const float>(flat.data(), m * size), m);
    out.insert(out.end(), z.begin(), z.end());
  }
  return out;
}

std::vector<float> CnnModel::patch_logits(const features::PatchSet& set) const {
  if (set.patches.empty()) return {};
  if (set.frames != static_cast<int>(net_.frames()) || set.bands != static_cast<int>(net_.bands())) {
    throw std::logic_error("patches of another shape than the CNN reads");
  }
  // The patches scored as they closed keep their logit; the others are run now.
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < set.patches.size(); ++i) {
    if (!set.patches[i].logit) todo.push_back(i);
  }
  if (todo.size() == set.patches.size()) return logits(set.patches);
  std::vector<float> out(set.patches.size());
  for (std::size_t i = 0; i < set.patches.size(); ++i) {
    if (set.patches[i].logit) out[i] = *set.patches[i].logit;
  }
  for (std::size_t i : todo) {
    out[i] = logits(std::span<const features::Patch>(&set.patches[i], 1)).front();
  }
  return out;
}

CnnModel::FileScore CnnModel::score(const features::PatchSet& whole, const features::PatchSet& segments) const {
  FileScore out;
  const std::vector<float> z = patch_logits(whole);
  if (!z.empty()) {
    out.logit = dsp::median(std::vector<double>(z.begin(), z.end()));
    out.patches = static_cast<int>(z.size());
  }
  if (segments.segments.empty()) return out;
  const std::vector<float> zs = patch_logits(segments);
  std::vector<std::vector<double>> per(segments.segments.size());
  for (std::size_t i = 0; i < zs.size(); ++i) {
    const int s = segments.patches[i].segment;
    if (s >= 0 && static_cast<std::size_t>(s) < per.size()) per[static_cast<std::size_t>(s)].push_back(zs[i]);
  }
  for (std::size_t s = 0; s < per.size(); ++s) {
    SegmentScore sc;
    sc.start_s = segments.segments[s].start_s;
    sc.end_s = segments.segments[s].end_s;
    if (!per[s].empty()) sc.p_lossy = round_to(calibrated(dsp::median(per[s])), 1e-4);
    out.segments.push_back(sc);
  }
  return out;
}

nlohmann::ordered_json CnnModel::summary() const {
  nlohmann::ordered_json j;
  j["name"] = name_;
  j["version"] = name();
  j["kind"] = "patch CNN";
  j["parameters"] = net_.parameter_count();
  j["layers"] = net_.layer_count();
  j["input"] = {{"frames", patches_.frames}, {"bands", patches_.bands}, {"top_hz", patches_.top_hz},
                {"budget", patches_.budget}};
  j["threshold"] = threshold_;
  j["segment_threshold"] = segment_threshold_;
  j["segment_contrast"] = segment_contrast_;
  if (fusion_) {
    j["fusion"] = {{"tree", fusion_->tree}, {"w_tree", fusion_->w_tree}, {"w_cnn", fusion_->w_cnn},
                   {"bias", fusion_->bias}, {"threshold", fusion_->threshold}};
  }
  return j;
}

// ---- what --model cnn and fused share

CnnBackedScorer::CnnBackedScorer(const TreeModel& trees, const CnnModel& cnn, double threshold)
    : trees_(&trees), cnn_(&cnn), threshold_(threshold) {
  if (!(threshold_ > 0.0 && threshold_ <= 1.0)) throw std::invalid_argument("lossy threshold must be in (0, 1]");
}

Decision CnnBackedScorer::decide(const FileFeatures& f) const {
  const CnnModel::FileScore s = cnn_->score(f.patches, f.segment_patches);
  Decision d = trees_->decide(f, [&](double p_tree, Decision& dd) {
    if (!s.logit) return TreeModel::LossyScore{p_tree, trees_->lossy_threshold()};
    return lossy(p_tree, *s.logit, dd);
  });
  attach(d, *cnn_, s);
  flag_spliced(d, *cnn_);
  return d;
}

// ---- --model cnn

CnnScorer::CnnScorer(const TreeModel& trees, const CnnModel& cnn, std::optional<double> threshold)
    : CnnBackedScorer(trees, cnn, threshold.value_or(cnn.threshold())) {}

std::string CnnScorer::name() const { return cnn_->name() + "+" + trees_->name(); }

TreeModel::LossyScore CnnScorer::lossy(double, double cnn_logit, Decision& d) const {
  // The CNN alone: its term is the whole log odds.
  d.drivers.clear();
  Driver dr;
  dr.feature = "cnn_logit";
  dr.value = round_to(cnn_logit, 1e-3);
  dr.effect = round_to(logit(cnn_->calibrated(cnn_logit)), 1e-3);
  d.drivers.push_back(dr);
  return TreeModel::LossyScore{cnn_->calibrated(cnn_logit), threshold_};
}

// ---- --model fused

namespace {

// The CNN's fusion, checked against the trees it is used with.
const CnnModel::Fusion& fusion_with(const TreeModel& trees, const CnnModel& cnn) {
  if (!cnn.fusion()) throw std::invalid_argument(cnn.name() + " carries no fusion with the trees (use --model cnn)");
  const CnnModel::Fusion& fusion = *cnn.fusion();
  if (!fusion.tree.empty() && fusion.tree != trees.name()) {
    throw std::invalid_argument("the fusion of " + cnn.name() + " was fitted with " + fusion.tree + ", not " +
                                trees.name() + " (use --model tree or cnn with other trees)");
  }
  return fusion;
}

}  // namespace

FusedScorer::FusedScorer(const TreeModel& trees, const CnnModel& cnn, std::optional<double> threshold)
    : CnnBackedScorer(trees, cnn,
                      threshold.value_or(std::min(fusion_with(trees, cnn).threshold, trees.lossy_threshold()))),
      fusion_(fusion_with(trees, cnn)) {}

// "+union": the trees' score stands where they flag the file, and the file is flagged at the
// lower of the two thresholds (cached verdicts of an earlier rule, "+max" at the larger one,
// must not answer for it); change the tag when the rule changes.
std::string FusedScorer::name() const { return trees_->name() + "+" + cnn_->name() + "+union"; }

TreeModel::LossyScore FusedScorer::lossy(double p_tree, double cnn_logit, Decision& d) const {
  const double z = fusion_.w_tree * logit(p_tree) + fusion_.w_cnn * cnn_logit + fusion_.bias;
  const double p_fused = sigmoid(z);
  // Where the trees flag the file on their own and score it higher, their score stands, and
  // their drivers, as they gave them, are the explanation (the CNN's score is still in
  // evidence.cnn). Elsewhere the blend's score, which keeps its calibration.
  if (p_tree >= trees_->lossy_threshold() && p_tree > p_fused) return TreeModel::LossyScore{p_tree, threshold_};
  // Effects in the fused log odds: the trees' scaled by w_tree, the CNN's own term.
  for (auto& dr : d.drivers) dr.effect = round_to(dr.effect * fusion_.w_tree, 1e-3);
  Driver c;
  c.feature = "cnn_logit";
  c.value = round_to(cnn_logit, 1e-3);
  c.effect = round_to(fusion_.w_cnn * cnn_logit, 1e-3);
  d.drivers.push_back(c);
  std::stable_sort(d.drivers.begin(), d.drivers.end(),
                   [](const Driver& a, const Driver& b) { return std::abs(a.effect) > std::abs(b.effect); });
  if (d.drivers.size() > 6) d.drivers.resize(6);
  return TreeModel::LossyScore{p_fused, threshold_};
}

double segment_reference(std::vector<double> log_odds) {
  if (log_odds.empty()) return 0.0;
  std::sort(log_odds.begin(), log_odds.end());
  const double pos = 0.25 * static_cast<double>(log_odds.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, log_odds.size() - 1);
  return log_odds[lo] + (pos - static_cast<double>(lo)) * (log_odds[hi] - log_odds[lo]);
}

}  // namespace fakeless::model
