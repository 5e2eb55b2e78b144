#include "fakeless/report/verdict.hpp"

#include <stdexcept>

#include "fakeless/analysis.hpp"

namespace fakeless::report {

Verdict error_verdict(std::string path, ErrorCode code, std::string message) {
  Verdict v;
  v.path = std::move(path);
  v.error = code;
  v.error_message = std::move(message);
  return v;
}

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const std::size_t n = s.size();
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1FU;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0FU;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07U;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3FU);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}
}  // namespace

std::string display_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      const std::uint32_t cp = c == 0x7F ? 0x2421 : 0x2400 + c;  // three UTF-8 bytes: E2 90 xx
      out += static_cast<char>(0xE2);
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] != '='; ++i) {
    const char c = text[i];
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFFU);
    }
  }
  for (; i < text.size(); ++i) {
    if (text[i] != '=') return std::nullopt;
  }
  return out;
}

nlohmann::ordered_json to_json(const Verdict& v) {
  nlohmann::ordered_json j;
  j["schema"] = kSchema;
  j["path"] = v.path;
  if (!is_valid_utf8(v.path)) j["path_b64"] = base64(v.path);
  if (v.error) {
    j["status"] = "error";
    j["error"] = {{"code", std::string(to_string(*v.error))}, {"message", v.error_message}};
    if (v.cached) j["cached"] = true;
    return j;
  }
  const auto& d = v.decision;
  j["status"] = "ok";
  j["verdict"] = d.verdict;
  j["flags"] = d.flags;
  j["confidence"] = number(d.confidence, 4);
  j["p_lossy"] = number(d.p_lossy, 4);
  j["reason"] = d.reason;
  j["format"] = {{"container", v.format.container},     {"encoding", v.format.encoding},
                 {"sample_rate", v.format.sample_rate}, {"channels", v.format.channels},
                 {"bits", v.format.bits},               {"duration_s", number(v.duration_s, 3)}};
  j["evidence"] = v.evidence;
  if (d.original_rate_hz) j["original_rate_hz"] = *d.original_rate_hz;
  if (d.original_bits) j["original_bits"] = *d.original_bits;
  if (d.origin) {
    nlohmann::ordered_json o;
    o["codec"] = d.origin->codec;
    o["bitrate_kbps"] = d.origin->bitrate_kbps ? nlohmann::ordered_json(*d.origin->bitrate_kbps) : nullptr;
    o["confidence"] = number(d.origin->confidence, 3);
    if (d.origin->bitrate_confidence) o["bitrate_confidence"] = number(d.origin->bitrate_confidence, 3);
    j["origin"] = std::move(o);
  }
  if (!d.segments.empty()) {
    auto segs = nlohmann::ordered_json::array();
    for (const auto& s : d.segments) {
      segs.push_back({{"start_s", number(s.start_s, 3)}, {"end_s", number(s.end_s, 3)}, {"p_lossy", number(s.p_lossy, 4)}});
    }
    j["segments"] = std::move(segs);
  }
  j["model"] = v.model;
  j["elapsed_ms"] = number(v.elapsed_ms, 0);
  if (v.quick_segments > 0) j["quick"] = {{"segments", v.quick_segments}, {"analysed_s", number(v.analysed_s, 3)}};
  if (v.cached) j["cached"] = true;
  return j;
}

namespace {

std::optional<double> opt_double(const nlohmann::ordered_json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::optional<int> opt_int(const nlohmann::ordered_json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  return j[key].get<int>();
}

ErrorCode error_code_from(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::internal_error); ++c) {
    if (to_string(static_cast<ErrorCode>(c)) == name) return static_cast<ErrorCode>(c);
  }
  throw std::invalid_argument("unknown error code '" + name + "'");
}

}  // namespace

Verdict from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object() || j.value("schema", 0) != kSchema || !j.contains("path") || !j.contains("status")) {
    throw std::invalid_argument("not a schema-1 verdict record");
  }
  Verdict v;
  if (j.contains("path_b64")) {
    auto bytes = base64_decode(j["path_b64"].get<std::string>());
    if (!bytes) throw std::invalid_argument("path_b64 is not base64");
    v.path = std::move(*bytes);
  } else {
    v.path = j["path"].get<std::string>();
  }
  if (j["status"] == "error") {
    v.error = error_code_from(j.at("error").at("code").get<std::string>());
    v.error_message = j["error"].value("message", "");
    v.cached = j.value("cached", false);
    return v;
  }
  auto& d = v.decision;
  d.verdict = j.at("verdict").get<std::string>();
  d.flags = j.at("flags").get<std::vector<std::string>>();
  d.confidence = opt_double(j, "confidence");
  d.p_lossy = opt_double(j, "p_lossy");
  d.reason = j.value("reason", "");
  d.original_rate_hz = opt_int(j, "original_rate_hz");
  d.original_bits = opt_int(j, "original_bits");
  if (j.contains("origin") && j["origin"].is_object()) {
    const auto& o = j["origin"];
    model::Origin origin;
    origin.codec = o.value("codec", "");
    origin.bitrate_kbps = opt_int(o, "bitrate_kbps");
    origin.confidence = opt_double(o, "confidence").value_or(0.0);
    origin.bitrate_confidence = opt_double(o, "bitrate_confidence");
    d.origin = origin;
  }
  if (j.contains("evidence") && j["evidence"].contains("drivers") && j["evidence"]["drivers"].is_array()) {
    for (const auto& o : j["evidence"]["drivers"]) {
      if (!o.is_object()) continue;
      model::Driver dr;
      dr.feature = o.value("feature", "");
      dr.value = opt_double(o, "value");
      dr.effect = opt_double(o, "effect").value_or(0.0);
      d.drivers.push_back(std::move(dr));
    }
  }
  if (j.contains("evidence") && j["evidence"].contains("cnn") && j["evidence"]["cnn"].is_object()) {
    const auto& o = j["evidence"]["cnn"];
    model::CnnScore c;
    c.p_lossy = opt_double(o, "p_lossy").value_or(0.0);
    c.logit = opt_double(o, "logit").value_or(0.0);
    c.patches = o.value("patches", 0);
    d.cnn = c;
  }
  if (j.contains("segments") && j["segments"].is_array()) {
    for (const auto& o : j["segments"]) {
      if (!o.is_object()) continue;
      d.segments.push_back({opt_double(o, "start_s").value_or(0.0), opt_double(o, "end_s").value_or(0.0),
                            opt_double(o, "p_lossy")});
    }
  }
  const auto& f = j.at("format");
  v.format.container = f.value("container", "");
  v.format.encoding = f.value("encoding", "");
  v.format.sample_rate = f.value("sample_rate", 0);
  v.format.channels = f.value("channels", 0);
  v.format.bits = f.value("bits", 0);
  v.duration_s = opt_double(f, "duration_s").value_or(0.0);
  v.evidence = j.value("evidence", nlohmann::ordered_json::object());
  v.model = j.value("model", "");
  v.elapsed_ms = opt_double(j, "elapsed_ms").value_or(0.0);
  if (j.contains("quick") && j["quick"].is_object()) {
    v.quick_segments = j["quick"].value("segments", 0);
    v.analysed_s = opt_double(j["quick"], "analysed_s").value_or(0.0);
  }
  v.cached = j.value("cached", false);
  return v;
}

std::string dump_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace fakeless::report
