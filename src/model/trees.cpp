#include "fakeless/model/trees.hpp"

#include "fakeless/model/json_sax.hpp"
#include "fakeless/model/model_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

namespace fakeless::model {
namespace {

constexpr const char* kFormat = "fakeless-trees";
constexpr int kFormatVersion = 1;
constexpr std::size_t kMaxDrivers = 4;

[[noreturn]] void bad(const std::string& what, const std::string& msg) {
  throw std::invalid_argument(what + ": " + msg);
}

// The array `key` of j, of finite numbers.
std::vector<double> real_array(const nlohmann::json& j, const char* key, const std::string& what) {
  if (!j.contains(key) || !j[key].is_array()) bad(what, std::string("missing array '") + key + "'");
  std::vector<double> out;
  out.reserve(j[key].size());
  for (const auto& v : j[key]) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      bad(what, std::string("'") + key + "' holds a non-number or a non-finite number");
    }
    out.push_back(v.get<double>());
  }
  return out;
}

// Every array the same length, split features known, children after their parent (so
// evaluation always terminates and never leaves the arrays).
void validate_tree(const Tree& t, std::size_t n_features, const std::string& what) {
  const std::size_t n = t.feature.size();
  if (n == 0) bad(what, "empty tree");
  if (t.threshold.size() != n || t.missing_left.size() != n || t.left.size() != n || t.right.size() != n ||
      t.value.size() != n) {
    bad(what, "tree arrays differ in length");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (t.feature[i] < 0) continue;
    if (static_cast<std::size_t>(t.feature[i]) >= n_features) bad(what, "split on an unknown feature index");
    for (const auto c : {t.left[i], t.right[i]}) {
      if (c <= static_cast<std::int32_t>(i) || static_cast<std::size_t>(c) >= n) bad(what, "bad child index");
    }
  }
}

// Reads a model without building a JSON tree of its ~10^6 tree numbers: the SAX events of
// every head's "trees" array go straight into Tree arrays, everything else (names,
// classes, calibration: small) into an ordinary json value. Twice as fast as a full parse
// and a fraction of its memory.
class ModelReader final : public SmallTreeSax {
 public:
  std::map<std::string, std::vector<std::vector<Tree>>> trees;  // head -> [iteration][column]

  bool null() override { return scalar(nullptr); }
  bool boolean(bool v) override { return scalar(v); }
  bool number_integer(number_integer_t v) override {
    return depth_ ? integer(static_cast<double>(v), v >= INT32_MIN && v <= INT32_MAX) : scalar(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    return depth_ ? integer(static_cast<double>(v), v <= INT32_MAX) : scalar(v);
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (depth_ == 0) return scalar(v);
    if (depth_ != 4 || !real_field()) return fail("a tree holds a non-integer where an integer belongs");
    return push(v);
  }
  bool string(string_t& v) override { return depth_ ? fail("a tree holds a string") : scalar(v); }
  bool start_object(std::size_t) override {
    if (depth_ == 0) return open(nlohmann::json::object());
    if (depth_ != 2) return fail("a tree is misplaced");
    trees_of_->back().emplace_back();
    depth_ = 3;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 3) {
      field_ = field_of(k);
      if (field_ == Field::unknown) return fail("unknown tree field '" + k + "'");
      return true;
    }
    key_ = k;
    return true;
  }
  bool end_object() override {
    if (depth_ == 3) {
      depth_ = 2;
      return true;
    }
    return close();
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) {
      if (key_ == "trees" && stack_.size() == 3 && names_[1] == "heads" && stack_.back()->is_object()) {
        trees_of_ = &trees[names_[2]];
        trees_of_->clear();
        depth_ = 1;
        return scalar(nlohmann::json::array());  // placeholder in the small tree
      }
      return open(nlohmann::json::array());
    }
    if (depth_ == 1) {
      trees_of_->emplace_back();
      depth_ = 2;
      return true;
    }
    if (depth_ == 3) {
      depth_ = 4;
      return true;
    }
    return fail("a tree is nested too deeply");
  }
  bool end_array() override {
    if (depth_ == 0) return close();
    --depth_;
    if (depth_ == 3) field_ = Field::none;
    return true;
  }

 private:
  enum class Field { none, feature, threshold, missing_left, left, right, value, unknown };
  Field field_ = Field::none;
  int depth_ = 0;  // inside "trees": 1 iterations, 2 columns, 3 a tree, 4 one of its arrays
  std::vector<std::vector<Tree>>* trees_of_ = nullptr;

  static Field field_of(const std::string& k) {
    if (k == "feature") return Field::feature;
    if (k == "threshold") return Field::threshold;
    if (k == "missing_left") return Field::missing_left;
    if (k == "left") return Field::left;
    if (k == "right") return Field::right;
    if (k == "value") return Field::value;
    return Field::unknown;
  }
  [[nodiscard]] bool real_field() const { return field_ == Field::threshold || field_ == Field::value; }
  bool integer(double v, bool fits) {
    if (depth_ != 4) return fail("a number is misplaced in a tree");
    if (!real_field() && !fits) return fail("a tree index is out of range");
    return push(v);
  }
  bool push(double v) {
    Tree& t = trees_of_->back().back();
    switch (field_) {
      case Field::feature:
        t.feature.push_back(static_cast<std::int32_t>(v));
        return true;
      case Field::threshold:
        if (!std::isfinite(v)) return fail("a threshold is not finite");
        t.threshold.push_back(v);
        return true;
      case Field::missing_left:
        t.missing_left.push_back(v != 0.0 ? 1 : 0);
        return true;
      case Field::left:
        t.left.push_back(static_cast<std::int32_t>(v));
        return true;
      case Field::right:
        t.right.push_back(static_cast<std::int32_t>(v));
        return true;
      case Field::value:
        if (!std::isfinite(v)) return fail("a value is not finite");
        t.value.push_back(v);
        return true;
      default:
        return fail("a number outside a tree field");
    }
  }
};

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double round_to(double v, double step) { return std::round(v / step) * step; }


std::string describe(const Driver& d) {
  char buf[160];
  if (d.value) {
    std::snprintf(buf, sizeof buf, "%s=%g (%+.1f)", d.feature.c_str(), *d.value, d.effect);
  } else {
    std::snprintf(buf, sizeof buf, "%s absent (%+.1f)", d.feature.c_str(), d.effect);
  }
  return buf;
}

}  // namespace

std::size_t Tree::leaf(std::span<const double> x) const {
  std::size_t i = 0;
  while (feature[i] >= 0) {
    const double v = x[static_cast<std::size_t>(feature[i])];
    const bool go_left = std::isnan(v) ? missing_left[i] != 0 : v <= threshold[i];
    i = static_cast<std::size_t>(go_left ? left[i] : right[i]);
  }
  return i;
}

TreeHead TreeHead::from_json(const nlohmann::json& j, std::size_t n_features, const std::string& what,
                             std::vector<std::vector<Tree>> trees) {
  if (!j.is_object()) bad(what, "not an object");
  TreeHead h;
  h.baseline_ = real_array(j, "baseline", what);
  h.columns_ = h.baseline_.size();
  if (h.columns_ == 0) bad(what, "empty baseline");
  if (!j.contains("classes") || !j["classes"].is_array()) bad(what, "missing 'classes'");
  for (const auto& c : j["classes"]) {
    if (!c.is_string()) bad(what, "a class name is not a string");
    h.classes_.push_back(c.get<std::string>());
  }
  const std::size_t expect = h.columns_ == 1 ? 2 : h.columns_;
  if (h.classes_.size() != expect) bad(what, "class count does not match the baseline");
  if (!j.contains("trees") || !j["trees"].is_array()) bad(what, "missing 'trees'");
  for (auto& it : trees) {
    if (it.size() != h.columns_) bad(what, "an iteration does not hold one tree per column");
    for (const auto& t : it) validate_tree(t, n_features, what);
  }
  h.trees_ = std::move(trees);
  h.extra_ = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k != "baseline" && k != "classes" && k != "trees" && k != "kind") h.extra_[k] = v;
  }
  return h;
}

std::size_t TreeHead::tree_count() const { return trees_.size() * columns_; }

std::vector<double> TreeHead::raw(std::span<const double> x) const {
  std::vector<double> r = baseline_;
  for (const auto& it : trees_) {
    for (std::size_t k = 0; k < columns_; ++k) r[k] += it[k].value[it[k].leaf(x)];
  }
  return r;
}

std::vector<double> TreeHead::proba(std::span<const double> x) const {
  const auto r = raw(x);
  if (columns_ == 1) {
    const double p = sigmoid(r[0]);
    return {1.0 - p, p};
  }
  const double m = *std::max_element(r.begin(), r.end());
  std::vector<double> p(r.size());
  double sum = 0.0;
  for (std::size_t k = 0; k < r.size(); ++k) sum += (p[k] = std::exp(r[k] - m));
  for (auto& v : p) v /= sum;
  return p;
}

double TreeHead::contributions(std::span<const double> x, std::vector<double>& out) const {
  double bias = columns_ == 1 ? baseline_[0] : 0.0;
  if (columns_ != 1) return bias;
  for (const auto& it : trees_) {
    const Tree& t = it[0];
    bias += t.value[0];
    std::size_t i = 0;
    while (t.feature[i] >= 0) {
      const auto f = static_cast<std::size_t>(t.feature[i]);
      const double v = x[f];
      const bool go_left = std::isnan(v) ? t.missing_left[i] != 0 : v <= t.threshold[i];
      const auto next = static_cast<std::size_t>(go_left ? t.left[i] : t.right[i]);
      out[f] += t.value[next] - t.value[i];
      i = next;
    }
  }
  return bias;
}

TreeModel TreeModel::from_json_text(std::string_view text, const std::string& source) {
  ModelReader reader;
  bool ok = false;
  try {
    ok = sax_parse(text, reader);
  } catch (const nlohmann::json::exception& e) {
    bad(source, std::string("not JSON: ") + e.what());
  }
  if (!ok) bad(source, reader.error.empty() ? std::string("not JSON") : reader.error);
  const nlohmann::json& j = reader.root;
  if (!j.is_object() || j.value("format", "") != kFormat) bad(source, "not a fakeless-trees model");
  if (j.value("version", 0) != kFormatVersion) bad(source, "unsupported model format version");
  TreeModel m;
  m.name_ = j.value("name", "");
  if (m.name_.empty()) bad(source, "the model has no name");
  if (!j.contains("features") || !j["features"].is_array()) bad(source, "missing 'features'");
  for (const auto& f : j["features"]) {
    if (!f.is_string()) bad(source, "a feature name is not a string");
    m.features_.push_back(f.get<std::string>());
  }
  if (!j.contains("heads") || !j["heads"].is_object()) bad(source, "missing 'heads'");
  const auto& heads = j["heads"];
  auto head = [&](const char* name, bool required) {
    if (!heads.contains(name)) {
      if (required) bad(source, std::string("missing head '") + name + "'");
      return TreeHead{};
    }
    auto it = reader.trees.find(name);
    return TreeHead::from_json(heads[name], m.features_.size(), source + " head " + name,
                               it == reader.trees.end() ? std::vector<std::vector<Tree>>{} : std::move(it->second));
  };
  m.lossy_ = head("lossy", true);
  if (!m.lossy_.binary()) bad(source, "the lossy head must be binary");
  m.codec_ = head("codec", false);
  m.bitrate_ = head("bitrate", false);
  m.upsampled_ = head("upsampled", false);
  m.padded_ = head("padded", false);
  const auto& lx = m.lossy_.extra();
  if (lx.contains("calibration")) {
    const auto& c = lx["calibration"];
    if (c.value("kind", "") != "platt" || !c.contains("a") || !c["a"].is_number() || !c.contains("b") ||
        !c["b"].is_number()) {
      bad(source, "lossy calibration must be {kind: platt, a, b}");
    }
    m.platt_a_ = c["a"].get<double>();
    m.platt_b_ = c["b"].get<double>();
  }
  auto unit = [&](const nlohmann::json& x, const char* key, double fallback) {
    if (!x.contains(key)) return fallback;
    if (!x[key].is_number()) bad(source, std::string("'") + key + "' is not a number");
    const double v = x[key].get<double>();
    if (!(v > 0.0 && v <= 1.0)) bad(source, std::string("'") + key + "' must be in (0, 1]");
    return v;
  };
  m.threshold_ = unit(lx, "threshold", 0.5);
  if (!m.upsampled_.empty()) {
    m.upsampled_threshold_ = unit(m.upsampled_.extra(), "threshold", 0.5);
    m.upsampled_min_rate_ = m.upsampled_.extra().value("min_rate_hz", 48001);
  }
  if (!m.padded_.empty()) m.padded_threshold_ = unit(m.padded_.extra(), "threshold", 0.5);
  m.bytes_ = text.size();
  m.digest_ = model_digest(text);
  return m;
}

TreeModel TreeModel::from_file(const std::string& path) {
  const auto text = read_model_file(path);
  if (!text) throw std::invalid_argument("cannot read model file " + path);
  return from_json_text(*text, path);
}

const TreeModel& TreeModel::builtin() {
  static const TreeModel model = [] {
    const EmbeddedFile* best = newest_embedded_model("tree-");
    if (best == nullptr) throw std::logic_error("no tree model was compiled in (data/models/tree-*.json)");
    return from_json_text(best->data, std::string(best->name));
  }();
  return model;
}

TreeModel TreeModel::with_threshold(double t) const {
  if (!(t > 0.0 && t <= 1.0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", t);
    throw std::invalid_argument(std::string("lossy threshold must be in (0, 1], got ") + buf);
  }
  TreeModel m = *this;
  m.threshold_ = t;
  return m;
}

std::vector<double> TreeModel::vectorize(const nlohmann::ordered_json& features) const {
  std::vector<double> x(features_.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < features_.size(); ++i) {
    const auto it = features.find(features_[i]);
    if (it != features.end() && it->is_number()) x[i] = it->get<double>();
  }
  return x;
}

double TreeModel::lossy_raw(std::span<const double> x) const { return lossy_.raw(x)[0]; }

double TreeModel::p_lossy(std::span<const double> x) const {
  return sigmoid(platt_a_ * lossy_raw(x) + platt_b_);
}

const TreeHead& TreeModel::head(const std::string& name) const {
  if (name == "lossy") return lossy_;
  if (name == "codec") return codec_;
  if (name == "bitrate") return bitrate_;
  if (name == "upsampled") return upsampled_;
  if (name == "padded") return padded_;
  throw std::invalid_argument("no head named " + name);
}

nlohmann::ordered_json TreeModel::summary() const {
  nlohmann::ordered_json j;
  j["name"] = name_;
  j["version"] = name();
  j["kind"] = "gradient-boosted trees";
  j["features"] = features_.size();
  j["bytes"] = bytes_;
  j["lossy_threshold"] = threshold_;
  nlohmann::ordered_json heads = nlohmann::ordered_json::object();
  for (const char* h : {"lossy", "codec", "bitrate", "upsampled", "padded"}) {
    const auto& t = head(h);
    if (t.empty()) continue;
    heads[h] = {{"classes", t.classes()}, {"trees", t.tree_count()}};
  }
  j["heads"] = heads;
  return j;
}

Decision TreeModel::decide(const FileFeatures& f) const { return decide(f, LossyOverride{}); }

Decision TreeModel::decide(const FileFeatures& f, const LossyOverride& override_lossy) const {
  if (auto early = decide_without_model(f)) return *early;
  Decision d;
  const auto& c = f.cutoff;

  const auto x = vectorize(features_to_json(f));

  // lossy: calibrated probability, and the features that moved it
  std::vector<double> contrib(features_.size(), 0.0);
  lossy_.contributions(x, contrib);
  double p = round_to(p_lossy(x), 1e-4);
  double threshold = threshold_;
  std::vector<std::size_t> order(features_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return std::abs(contrib[a]) > std::abs(contrib[b]); });
  for (std::size_t k = 0; k < std::min(kMaxDrivers, order.size()); ++k) {
    const std::size_t i = order[k];
    const double effect = round_to(platt_a_ * contrib[i], 1e-3);
    if (std::abs(effect) < 0.05) break;
    Driver dr;
    dr.feature = features_[i];
    if (!std::isnan(x[i])) dr.value = x[i];
    dr.effect = effect;
    d.drivers.push_back(std::move(dr));
  }
  if (override_lossy) {
    const LossyScore s = override_lossy(p, d);
    p = round_to(s.p, 1e-4);
    threshold = s.threshold;
  }
  d.p_lossy = p;
  const bool lossy = p >= threshold;

  // where it came from
  if (lossy && !codec_.empty()) {
    const auto pc = codec_.proba(x);
    const auto best = static_cast<std::size_t>(std::max_element(pc.begin(), pc.end()) - pc.begin());
    Origin o;
    o.codec = codec_.classes()[best];
    o.confidence = round_to(pc[best], 1e-3);
    if (!bitrate_.empty()) {
      const auto pb = bitrate_.proba(x);
      const auto bb = static_cast<std::size_t>(std::max_element(pb.begin(), pb.end()) - pb.begin());
      try {
        o.bitrate_kbps = std::stoi(bitrate_.classes()[bb]);
        o.bitrate_confidence = round_to(pb[bb], 1e-3);
      } catch (const std::exception&) {
        // a class that is not a number: no bitrate
      }
    }
    d.origin = o;
  }

  // bit depth: the exact count first (samples that use fewer bits), then the model
  const auto& eb = f.bit_depth.effective_bits;
  bool padded = eb && (f.format.is_float ? *eb <= 16 : *eb < f.format.bits);
  if (padded) d.original_bits = *eb;
  if (!padded && !padded_.empty() && (f.format.is_float || f.format.bits > 16)) {
    padded = padded_.proba(x)[1] >= padded_threshold_;
    if (padded && f.bit_depth.original_bits_estimate && *f.bit_depth.original_bits_estimate < f.format.bits) {
      d.original_bits = *f.bit_depth.original_bits_estimate;
    } else if (padded) {
      d.original_bits = 16;
    }
  }

  // sample rate
  bool upsampled = false;
  if (!upsampled_.empty() && f.format.sample_rate >= upsampled_min_rate_) {
    upsampled = upsampled_.proba(x)[1] >= upsampled_threshold_;
  }
  if (upsampled) {
    if (c.original_rate_estimate_hz) {
      d.original_rate_hz = static_cast<int>(*c.original_rate_estimate_hz);
    } else {
      const std::optional<double> edge = c.upper_wall_hz ? c.upper_wall_hz : c.cutoff_hz;
      if (edge && *edge > 19000 && *edge <= 24500) d.original_rate_hz = *edge <= 22250 ? 44100 : 48000;
    }
  }

  if (lossy) d.flags.emplace_back("lossy");
  if (upsampled) d.flags.emplace_back("upsampled");
  if (padded) d.flags.emplace_back("padded");

  std::string why;
  if (c.cutoff_hz && c.cutoff_sharpness_db) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "cutoff at %s, %.0f dB drop", khz(*c.cutoff_hz).c_str(), *c.cutoff_sharpness_db);
    why = buf;
  } else if (c.bandwidth_hz) {
    why = "no cutoff: content reaches " + khz(*c.bandwidth_hz);
  } else {
    why = "no cutoff";
  }
  std::string drivers;
  for (std::size_t k = 0; k < std::min<std::size_t>(2, d.drivers.size()); ++k) {
    drivers += (k ? ", " : "") + describe(d.drivers[k]);
  }
  if (!drivers.empty()) why += "; strongest evidence " + drivers;

  if (lossy) {
    d.verdict = "lossy";
    d.confidence = p;
    d.reason = why;
    if (d.origin) d.reason = "probably " + d.origin->codec + "; " + d.reason;
  } else if (upsampled) {
    d.verdict = "upsampled";
    d.confidence = round_to(upsampled_.proba(x)[1], 1e-4);
    d.reason = "content stops at " + (c.bandwidth_hz ? khz(*c.bandwidth_hz) : std::string("?")) + " in a " +
               khz(f.format.sample_rate) + " file";
  } else if (padded) {
    d.verdict = "padded";
    d.confidence = eb && *eb < f.format.bits ? 0.99 : round_to(padded_.proba(x)[1], 1e-4);
    d.reason = eb && *eb < f.format.bits
                   ? "samples use only " + std::to_string(*eb) + " of " + std::to_string(f.format.bits) + " bits"
                   : "the low bits hold only noise of a " + std::to_string(d.original_bits.value_or(16)) +
                         "-bit source";
  } else {
    d.verdict = "lossless";
    d.confidence = round_to(1.0 - p, 1e-4);
    d.reason = why;
  }
  return d;
}

}  // namespace fakeless::model
