#pragma once
// The verdict record, schema 1 (see README.md, "Output"). One per input file, errors too.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/error.hpp"
#include "fakeless/io/audio_source.hpp"
#include "fakeless/model/scorer.hpp"

namespace fakeless::report {

inline constexpr int kSchema = 1;

struct Verdict {
  std::string path;  // as given or discovered; raw bytes, may be non-UTF-8
  // Error records:
  std::optional<ErrorCode> error;
  std::string error_message;
  // Analysed files:
  io::AudioFormat format;
  double duration_s = 0.0;
  model::Decision decision;
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
  std::string model;
  double elapsed_ms = 0.0;
  // Quick mode (--quick): how many seeked segments were analysed and their total length;
  // 0 when the whole file was decoded.
  int quick_segments = 0;
  double analysed_s = 0.0;
  // Answered from the result cache (elapsed_ms is then the time of the original analysis).
  bool cached = false;

  [[nodiscard]] bool ok() const { return !error.has_value(); }
  [[nodiscard]] bool flagged() const { return ok() && !decision.flags.empty(); }
};

Verdict error_verdict(std::string path, ErrorCode code, std::string message);

// The schema-1 object. A path that is not valid UTF-8 is written with U+FFFD in place of
// the bad bytes, and its exact bytes are added as base64 in "path_b64".
nlohmann::ordered_json to_json(const Verdict& v);

// The inverse of to_json, for records read back from the cache. Throws
// std::invalid_argument when the object is not a schema-1 record.
Verdict from_json(const nlohmann::ordered_json& j);

// Serialises without ever throwing on invalid UTF-8 (replaced by U+FFFD).
std::string dump_line(const nlohmann::ordered_json& j);

bool is_valid_utf8(std::string_view s);
// The text as valid UTF-8: each invalid byte becomes U+FFFD, and ASCII control characters
// (newline, tab, ESC, ...) become their visible Control Pictures (U+2400 + c, U+2421 for
// DEL), so a path can be shown on one line, in an image or a web page, without surprises.
std::string display_text(std::string_view s);
std::string base64(std::string_view bytes);
// Decodes standard base64 (padding optional); nullopt when the text is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace fakeless::report
