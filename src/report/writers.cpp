#include "fakeless/report/writers.hpp"

#include <cstdio>
#include <stdexcept>

namespace fakeless::report {
namespace {

class NdjsonWriter final : public ResultWriter {
 public:
  explicit NdjsonWriter(std::ostream& out) : out_(out) {}
  void write(const Verdict& v) override { out_ << dump_line(to_json(v)) << '\n' << std::flush; }

 private:
  std::ostream& out_;
};

// A JSON array, streamed: "[" first, one element per line, "]" at the end.
class JsonArrayWriter final : public ResultWriter {
 public:
  explicit JsonArrayWriter(std::ostream& out) : out_(out) {}
  void begin() override { out_ << "[" << std::flush; }
  void write(const Verdict& v) override {
    out_ << (first_ ? "\n" : ",\n") << dump_line(to_json(v)) << std::flush;
    first_ = false;
  }
  void end() override { out_ << (first_ ? "]\n" : "\n]\n") << std::flush; }

 private:
  std::ostream& out_;
  bool first_ = true;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

std::string plain(const nlohmann::ordered_json& j) {
  if (j.is_null()) return "";
  if (j.is_string()) return j.get<std::string>();
  return dump_line(j);
}

class CsvWriter final : public ResultWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  void begin() override {
    out_ << "path,status,verdict,flags,p_lossy,confidence,cutoff_hz,cutoff_sharpness_db,cutoff_stability,"
            "bandwidth_hz,effective_bits,container,sample_rate,channels,bits,duration_s,error_code,error_message,"
            "reason\n"
         << std::flush;
  }
  void write(const Verdict& v) override {
    const nlohmann::ordered_json j = to_json(v);
    std::string flags;
    if (j.contains("flags")) {
      for (const auto& f : j["flags"]) {
        if (!flags.empty()) flags += ';';
        flags += f.get<std::string>();
      }
    }
    auto get = [&](const char* a, const char* b = nullptr) -> std::string {
      if (!j.contains(a)) return "";
      const auto& x = b ? j[a].value(b, nlohmann::ordered_json()) : j[a];
      return plain(x);
    };
    const std::string fields[] = {v.path,
                                  get("status"), get("verdict"), flags, get("p_lossy"), get("confidence"),
                                  get("evidence", "cutoff_hz"), get("evidence", "cutoff_sharpness_db"),
                                  get("evidence", "cutoff_stability"), get("evidence", "bandwidth_hz"),
                                  get("evidence", "effective_bits"), get("format", "container"),
                                  get("format", "sample_rate"), get("format", "channels"), get("format", "bits"),
                                  get("format", "duration_s"), get("error", "code"), get("error", "message"),
                                  get("reason")};
    bool first = true;
    for (const auto& f : fields) {
      out_ << (first ? "" : ",") << csv_field(f);
      first = false;
    }
    out_ << '\n' << std::flush;
  }

 private:
  std::ostream& out_;
};

// For people at a terminal: one aligned line per file.
class TableWriter final : public ResultWriter {
 public:
  TableWriter(std::ostream& out, bool color) : out_(out), color_(color) {}
  void begin() override {
    out_ << "VERDICT    P_LOSSY  CUTOFF    FORMAT            PATH / REASON\n" << std::flush;
  }
  void write(const Verdict& v) override {
    // Paths are shown as JSON would escape them: no raw control characters on a terminal.
    const std::string shown = dump_line(nlohmann::ordered_json(v.path));
    const std::string path = shown.substr(1, shown.size() - 2);
    char line[256];
    if (!v.ok()) {
      std::snprintf(line, sizeof line, "%-10s %-7s  %-8s  %-16s  ", "error", "-", "-",
                    std::string(to_string(*v.error)).c_str());
      out_ << paint(line, "\x1b[35m") << path << "\n           " << v.error_message << '\n' << std::flush;
      return;
    }
    const auto& d = v.decision;
    char p[16] = "-";
    if (d.p_lossy) std::snprintf(p, sizeof p, "%.3f", *d.p_lossy);
    char cut[16] = "none";
    if (v.evidence.contains("cutoff_hz") && v.evidence["cutoff_hz"].is_number()) {
      std::snprintf(cut, sizeof cut, "%.1fk", v.evidence["cutoff_hz"].get<double>() / 1000.0);
    }
    char fmt[32];
    std::snprintf(fmt, sizeof fmt, "%s %g/%d", v.format.container.c_str(), v.format.sample_rate / 1000.0,
                  v.format.bits);
    std::snprintf(line, sizeof line, "%-10s %-7s  %-8s  %-16s  ", d.verdict.c_str(), p, cut, fmt);
    const char* c = d.verdict == "lossless" ? "\x1b[32m" : v.flagged() ? "\x1b[31m" : nullptr;
    out_ << (c != nullptr ? paint(line, c) : std::string(line)) << path << "\n           " << d.reason << '\n'
         << std::flush;
  }

 private:
  // Colours the first word (the verdict column) of a table line.
  [[nodiscard]] std::string paint(const std::string& line, const char* color) const {
    if (!color_) return line;
    const auto end = line.find(' ');
    return color + line.substr(0, end) + "\x1b[0m" + line.substr(end);
  }

  std::ostream& out_;
  bool color_;
};

}  // namespace

Format parse_format(std::string_view name) {
  if (name == "ndjson") return Format::ndjson;
  if (name == "json") return Format::json;
  if (name == "table") return Format::table;
  if (name == "csv") return Format::csv;
  throw std::invalid_argument("unknown format '" + std::string(name) + "' (ndjson, json, table, csv)");
}

std::unique_ptr<ResultWriter> make_writer(Format format, std::ostream& out, bool color) {
  switch (format) {
    case Format::ndjson: return std::make_unique<NdjsonWriter>(out);
    case Format::json: return std::make_unique<JsonArrayWriter>(out);
    case Format::table: return std::make_unique<TableWriter>(out, color);
    case Format::csv: return std::make_unique<CsvWriter>(out);
  }
  throw std::invalid_argument("unknown format");
}

}  // namespace fakeless::report
