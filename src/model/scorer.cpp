#include "fakeless/model/scorer.hpp"

#include <cstdio>

namespace fakeless::model {

std::optional<Decision> decide_without_model(const FileFeatures& f) {
  Decision d;
  if (f.format.is_lossy_encoding) {
    d.verdict = "lossy";
    d.flags = {"lossy"};
    d.p_lossy = 1.0;
    d.confidence = 1.0;
    d.reason = "the file itself is encoded with a lossy codec (" + f.format.encoding + ")";
    return d;
  }
  if (f.cutoff.active_frames == 0) {
    d.verdict = "uncertain";
    d.reason = f.cutoff.frames == 0 ? "too short to analyse (shorter than one analysis frame)"
                                    : "no audible content to analyse (silence)";
    return d;
  }
  return std::nullopt;
}

std::string khz(double hz) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f kHz", hz / 1000.0);
  return buf;
}

}  // namespace fakeless::model
