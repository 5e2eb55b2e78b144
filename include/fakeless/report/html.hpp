#pragma once
// `fakeless report`: schema-1 NDJSON in, one self-contained HTML page out.
//
// The page fetches nothing: CSS and JavaScript are inline, spectrograms are data: URIs,
// and a Content-Security-Policy forbids every other source. Rows are written as the
// records are read (memory does not grow with the number of records, beyond what the
// browser holds). Everything that comes from files (paths, messages, reasons) is
// HTML-escaped; invalid UTF-8 shows as U+FFFD and control characters as their visible
// Control Pictures.
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace fakeless::report {

struct HtmlOptions {
  std::int64_t max_images = 200;  // [0, 1000000]  spectrograms embedded, in record order
  std::string source_name;        // where the records came from, shown in the header

  void validate() const;  // throws std::invalid_argument naming the value
};

// The spectrogram of the file at `path` (its exact bytes: path_b64 when the record has
// one): PNG bytes, or an empty png and a reason.
struct Image {
  std::string png;
  std::string error;
};
using ImageMaker = std::function<Image(const std::string& path)>;

struct HtmlStats {
  std::int64_t records = 0;
  std::int64_t bad_lines = 0;     // not JSON objects of schema 1
  std::int64_t flagged = 0;
  std::int64_t images = 0;        // embedded
  std::int64_t images_failed = 0;
  std::int64_t images_capped = 0; // flagged files past max_images
};

HtmlStats write_html_report(std::istream& ndjson, std::ostream& html, const HtmlOptions& options,
                            const ImageMaker& images, spdlog::logger& log);

// Text for HTML content and attribute values: display_text, then & < > " ' escaped.
std::string html_escape(std::string_view text);

}  // namespace fakeless::report
