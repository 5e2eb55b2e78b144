#include "fakeless/report/html.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/report/verdict.hpp"

namespace fakeless::report {
namespace {

using nlohmann::json;

constexpr std::array<const char*, 7> kGroups = {"lossy", "upsampled", "padded", "uncertain", "lossless", "error",
                                                "other"};

constexpr const char* kStyle = R"CSS(
:root { color-scheme: dark; --bg:#16161a; --fg:#e4e4ea; --dim:#9a9aa6; --line:#30303a; }
body { background:var(--bg); color:var(--fg); font:14px/1.4 "DejaVu Sans", system-ui, sans-serif; margin:1.2em; }
h1 { font-size:1.3em; margin:0 0 .3em; }
.meta, .dim { color:var(--dim); }
#controls { position:sticky; top:0; background:var(--bg); padding:.5em 0; border-bottom:1px solid var(--line);
            display:flex; flex-wrap:wrap; gap:.4em 1em; align-items:center; z-index:1; }
#controls label { cursor:pointer; user-select:none; }
#q { min-width:22em; background:#222228; color:var(--fg); border:1px solid var(--line); padding:.25em .4em; }
table { border-collapse:collapse; margin-top:.6em; width:100%; }
th, td { border-bottom:1px solid var(--line); padding:.3em .5em; vertical-align:top; text-align:left; }
th { cursor:pointer; white-space:nowrap; position:sticky; top:2.6em; background:#1f1f25; }
th[aria-sort=ascending]::after { content:" \25B2"; }
th[aria-sort=descending]::after { content:" \25BC"; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.path { word-break:break-all; max-width:28em; }
.v { font-weight:bold; }
.v-lossless { color:#6edc78; } .v-lossy { color:#ff6060; } .v-upsampled { color:#ffaa3c; }
.v-padded { color:#f0dc5a; } .v-uncertain, .v-other { color:var(--dim); } .v-error { color:#ff8cc8; }
img.spec { width:420px; max-width:100%; display:block; cursor:zoom-in; margin-top:.3em; }
img.spec.big { width:min(1280px, 96vw); cursor:zoom-out; }
.err { color:#ff8cc8; }
footer { margin-top:1em; color:var(--dim); }
)CSS";

constexpr const char* kScript = R"JS(
(function () {
  const table = document.getElementById('results');
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const boxes = Array.from(document.querySelectorAll('#controls input[type=checkbox]'));
  const q = document.getElementById('q');
  const shown = document.getElementById('shown');
  const counts = {};
  rows.forEach(r => { counts[r.dataset.verdict] = (counts[r.dataset.verdict] || 0) + 1; });
  boxes.forEach(b => {
    const n = counts[b.value] || 0;
    b.parentElement.querySelector('.n').textContent = n;
    if (n === 0) b.parentElement.hidden = true;
  });
  function apply() {
    const on = new Set(boxes.filter(b => b.checked).map(b => b.value));
    const text = q.value.toLowerCase();
    let n = 0;
    rows.forEach(r => {
      const show = on.has(r.dataset.verdict) && (text === '' || r.dataset.path.toLowerCase().includes(text));
      r.hidden = !show;
      if (show) n++;
    });
    shown.textContent = n + ' of ' + rows.length + ' shown';
  }
  boxes.forEach(b => b.addEventListener('change', apply));
  q.addEventListener('input', apply);
  document.getElementById('only-flagged').addEventListener('click', () => {
    boxes.forEach(b => { b.checked = ['lossy', 'upsampled', 'padded'].includes(b.value); });
    apply();
  });
  document.getElementById('show-all').addEventListener('click', () => {
    boxes.forEach(b => { b.checked = true; });
    q.value = '';
    apply();
  });
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, i) => th.addEventListener('click', () => {
    const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    heads.forEach(h => h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    const numeric = th.dataset.type === 'num';
    const key = r => {
      const c = r.cells[i];
      const v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
      if (!numeric) return v.toLowerCase();
      const x = parseFloat(v);
      return isNaN(x) ? null : x;
    };
    const keyed = rows.map((r, k) => [key(r), k, r]);
    keyed.sort((a, b) => {
      if (a[0] === null || b[0] === null) return a[0] === b[0] ? a[1] - b[1] : (a[0] === null ? 1 : -1);
      return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1];
    });
    rows.length = 0;
    keyed.forEach(e => { rows.push(e[2]); body.appendChild(e[2]); });
  }));
  document.querySelectorAll('img.spec').forEach(img => img.addEventListener('click', () => img.classList.toggle('big')));
  apply();
})();
)JS";

std::optional<double> num(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// v with `decimals` places; decimals < 0: shortest exact ("%.17g").
std::string fmt(double v, int decimals) {
  char buf[64];
  if (decimals < 0) {
    std::snprintf(buf, sizeof buf, "%.17g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  return buf;
}

// A numeric cell: shown text, and the raw value for sorting.
std::string num_cell(std::optional<double> v, int decimals, double scale = 1.0) {
  if (!v || !std::isfinite(*v)) return "<td class=\"num\" data-v=\"\">\xE2\x80\x93</td>";
  return "<td class=\"num\" data-v=\"" + fmt(*v, -1) + "\">" + fmt(*v * scale, decimals) + "</td>";
}

std::string group_of(const json& rec) {
  if (str(rec, "status") == "error") return "error";
  const std::string v = str(rec, "verdict");
  for (const char* g : kGroups) {
    if (v == g) return v;
  }
  return "other";
}

std::string duration_text(std::optional<double> s) {
  if (!s || !std::isfinite(*s)) return "";
  const long t = std::lround(*s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

}  // namespace

void HtmlOptions::validate() const {
  if (max_images < 0 || max_images > 1000000) {
    throw std::invalid_argument("max_images out of range [0, 1000000]: " + std::to_string(max_images));
  }
}

std::string html_escape(std::string_view text) {
  const std::string shown = display_text(text);
  std::string out;
  out.reserve(shown.size() + shown.size() / 8);
  for (const char c : shown) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

HtmlStats write_html_report(std::istream& ndjson, std::ostream& html, const HtmlOptions& options,
                            const ImageMaker& images, spdlog::logger& log) {
  options.validate();
  HtmlStats st;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>fakeless report</title>\n<style>"
       << kStyle << "</style>\n</head>\n<body>\n<h1>fakeless report</h1>\n<p class=\"meta\">Results from "
       << html_escape(options.source_name)
       << ". Click a column header to sort; the boxes and the text field filter the rows. Click a spectrogram to "
          "enlarge it.</p>\n<div id=\"controls\">\n";
  for (const char* g : kGroups) {
    html << "<label class=\"v-" << g << "\"><input type=\"checkbox\" value=\"" << g << "\" checked> " << g
         << " (<span class=\"n\">0</span>)</label>\n";
  }
  html << "<button type=\"button\" id=\"only-flagged\">only flagged</button>"
          "<button type=\"button\" id=\"show-all\">show all</button>\n"
          "<input type=\"search\" id=\"q\" placeholder=\"filter by path\" aria-label=\"filter by path\">\n"
          "<span id=\"shown\" class=\"dim\"></span>\n</div>\n"
          "<table id=\"results\">\n<thead><tr>"
          "<th data-type=\"text\">path</th><th data-type=\"text\">verdict</th><th data-type=\"num\">p_lossy</th>"
          "<th data-type=\"num\">cutoff (kHz)</th><th data-type=\"num\">sharpness (dB)</th>"
          "<th data-type=\"num\">stability</th><th data-type=\"num\">bandwidth (kHz)</th>"
          "<th data-type=\"num\">effective bits</th><th data-type=\"num\">rate (kHz)</th>"
          "<th data-type=\"num\">duration</th><th data-type=\"text\">evidence</th>"
          "</tr></thead>\n<tbody>\n";

  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(ndjson, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!rec.is_object() || !rec.contains("path") || !rec["path"].is_string()) {
      ++st.bad_lines;
      log.warn("line {}: not a fakeless record; skipped", line_no);
      continue;
    }
    ++st.records;
    const std::string path = rec["path"].get<std::string>();
    std::string open_path = path;
    if (const std::string b64 = str(rec, "path_b64"); !b64.empty()) {
      if (auto bytes = base64_decode(b64)) open_path = *bytes;
    }
    const std::string group = group_of(rec);
    const json& ev = rec.contains("evidence") ? rec["evidence"] : json();
    const json& fm = rec.contains("format") ? rec["format"] : json();
    const std::string p = html_escape(path);
    html << "<tr data-verdict=\"" << group << "\" data-path=\"" << p << "\">";
    html << "<td class=\"path\">" << p << "</td>";
    if (group == "error") {
      html << "<td class=\"v v-error\">error</td>";
    } else {
      html << "<td class=\"v v-" << group << "\">" << html_escape(str(rec, "verdict")) << "</td>";
    }
    html << num_cell(num(rec, "p_lossy"), 3) << num_cell(num(ev, "cutoff_hz"), 2, 1e-3)
         << num_cell(num(ev, "cutoff_sharpness_db"), 1) << num_cell(num(ev, "cutoff_stability"), 2)
         << num_cell(num(ev, "bandwidth_hz"), 2, 1e-3) << num_cell(num(ev, "effective_bits"), 0)
         << num_cell(num(fm, "sample_rate"), 1, 1e-3);
    {
      const auto d = num(fm, "duration_s");
      html << "<td class=\"num\" data-v=\"" << (d ? fmt(*d, -1) : "") << "\">" << duration_text(d) << "</td>";
    }
    html << "<td>";
    if (group == "error") {
      const json& e = rec.contains("error") ? rec["error"] : json();
      html << "<span class=\"err\">" << html_escape(str(e, "code")) << "</span>: " << html_escape(str(e, "message"));
    } else {
      html << html_escape(str(rec, "reason"));
      if (rec.contains("flags") && rec["flags"].is_array() && !rec["flags"].empty()) {
        std::string flags;
        for (const auto& f : rec["flags"]) flags += (flags.empty() ? "" : ", ") + (f.is_string() ? f.get<std::string>() : f.dump());
        html << " <span class=\"dim\">flags: " << html_escape(flags) << "</span>";
      }
      std::string container = str(fm, "container");
      if (const auto bits = num(fm, "bits")) container.append(" ").append(fmt(*bits, 0)).append(" bit");
      if (const auto ch = num(fm, "channels")) container.append(" ").append(fmt(*ch, 0)).append(" ch");
      if (!container.empty()) html << " <span class=\"dim\">(" << html_escape(container) << ")</span>";
      const bool flagged = rec.contains("flags") && rec["flags"].is_array() && !rec["flags"].empty();
      if (flagged) {
        ++st.flagged;
        if (st.images >= options.max_images) {
          ++st.images_capped;
        } else {
          log.debug("rendering the spectrogram of {}", display_text(path));
          const Image img = images(open_path);
          if (img.png.empty()) {
            ++st.images_failed;
            log.warn("{}: no spectrogram: {}", display_text(path), img.error);
            html << "<div class=\"dim\">no spectrogram: " << html_escape(img.error) << "</div>";
          } else {
            ++st.images;
            html << "<img class=\"spec\" alt=\"spectrogram of " << p << "\" src=\"data:image/png;base64,"
                 << base64(img.png) << "\">";
          }
        }
      }
    }
    html << "</td></tr>\n";
  }
  html << "</tbody>\n</table>\n<footer>" << st.records << " records";
  if (st.bad_lines > 0) html << ", " << st.bad_lines << " lines that are not records skipped";
  html << "; " << st.flagged << " flagged, " << st.images << " spectrograms embedded";
  if (st.images_failed > 0) html << ", " << st.images_failed << " could not be made";
  if (st.images_capped > 0) {
    html << "; " << st.images_capped << " flagged files past the limit of " << options.max_images
         << " images have none (--max-images)";
  }
  html << ".</footer>\n<script>" << kScript << "</script>\n</body>\n</html>\n";
  html.flush();
  return st;
}

}  // namespace fakeless::report
