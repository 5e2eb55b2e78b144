#pragma once
// Result writers. The scanner calls them from one thread at a time (under its output
// lock); each write() emits whole lines and flushes, so an interrupted run never leaves
// a half-written record and every finished result is already out.
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "fakeless/report/verdict.hpp"

namespace fakeless::report {

enum class Format { ndjson, json, table, csv };

// Parses "ndjson" | "json" | "table" | "csv"; throws std::invalid_argument otherwise.
Format parse_format(std::string_view name);

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void begin() {}
  virtual void write(const Verdict& v) = 0;
  virtual void end() {}
};

// color: the table writer colours the verdict (only ever asked for on a terminal without
// NO_COLOR); the machine formats never contain colour codes.
std::unique_ptr<ResultWriter> make_writer(Format format, std::ostream& out, bool color = false);

}  // namespace fakeless::report
