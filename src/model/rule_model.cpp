#include "fakeless/model/rule_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace fakeless::model {

std::string RuleModel::version() { return "rule-v2"; }

void RuleParams::validate() const {
  if (!(lossy_threshold > 0.0 && lossy_threshold <= 1.0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", lossy_threshold);
    throw std::invalid_argument(std::string("lossy threshold must be in (0, 1], got ") + buf);
  }
}

// p_lossy is a "soft AND" of three margins, each scaled to be ~1 per typical unit of
// doubt: the cutoff must be steep, stable over time and below where genuine anti-alias
// filters sit. p_lossy = 1 / (1 + exp(-2 min(margins))), so p_lossy > 0.5 exactly when
// all three hold. It is a score, not a calibrated probability (trained models will be).
// The file is flagged lossy when p_lossy >= lossy_threshold (0.5 by default: all three
// margins hold); --threshold moves that line.
Decision RuleModel::decide(const FileFeatures& f) const {
  if (auto early = decide_without_model(f)) return *early;
  Decision d;
  const auto& c = f.cutoff;

  // Bit depth: exact, from the samples themselves.
  const auto& eb = f.bit_depth.effective_bits;
  const bool padded = eb && (f.format.is_float ? *eb <= 16 : *eb < f.format.bits);
  if (padded) d.original_bits = *eb;

  double p = params_.p_lossy_without_cutoff;
  std::string why;
  if (c.cutoff_hz && c.cutoff_sharpness_db && c.cutoff_stability) {
    const double m_sharp = (*c.cutoff_sharpness_db - params_.min_sharpness_db) / params_.sharpness_scale_db;
    const double m_stab = (*c.cutoff_stability - params_.min_stability) / params_.stability_scale;
    const double m_freq = (params_.max_lossy_cutoff_hz - *c.cutoff_hz) / params_.cutoff_scale_hz;
    p = 1.0 / (1.0 + std::exp(-2.0 * std::min({m_sharp, m_stab, m_freq})));
    char buf[160];
    std::snprintf(buf, sizeof buf, "cutoff at %s, %.0f dB drop, a wall in %.0f%% of the frames that reach it",
                  khz(*c.cutoff_hz).c_str(), *c.cutoff_sharpness_db, 100.0 * *c.cutoff_stability);
    why = buf;
  } else if (c.bandwidth_hz) {
    why = "no cutoff: content reaches " + khz(*c.bandwidth_hz) + " without a wall";
  } else {
    why = "no cutoff";
  }
  p = std::round(p * 1e4) / 1e4;
  d.p_lossy = p;
  const bool lossy = p >= params_.lossy_threshold;

  // The content's upper edge: a resampler's wall above a codec's cutoff, or the cutoff.
  const std::optional<double> edge = c.upper_wall_hz ? c.upper_wall_hz : c.cutoff_hz;
  const bool upsampled = f.format.sample_rate > 48000 && edge && *edge <= params_.max_upsampled_content_hz &&
                         (c.upper_wall_hz || (c.cutoff_sharpness_db && *c.cutoff_sharpness_db >= params_.min_sharpness_db));
  if (upsampled && *edge > 19000) d.original_rate_hz = *edge <= 22250 ? 44100 : 48000;

  if (lossy) d.flags.emplace_back("lossy");
  if (upsampled) d.flags.emplace_back("upsampled");
  if (padded) d.flags.emplace_back("padded");

  if (lossy) {
    d.verdict = "lossy";
    d.confidence = p;
    d.reason = why;
  } else if (upsampled) {
    d.verdict = "upsampled";
    d.confidence = 0.9;
    d.reason = "content stops at " + khz(*edge) + " in a " + khz(f.format.sample_rate) + " file";
  } else if (padded) {
    d.verdict = "padded";
    d.confidence = 0.99;
    d.reason = "samples use only " + std::to_string(*eb) + " of " + std::to_string(f.format.bits) + " bits";
  } else {
    d.verdict = "lossless";
    d.confidence = 1.0 - p;
    d.reason = why;
  }
  d.confidence = std::round(*d.confidence * 1e4) / 1e4;
  return d;
}

}  // namespace fakeless::model
