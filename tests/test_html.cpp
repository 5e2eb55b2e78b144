#include <catch2/catch.hpp>
#include <sndfile.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <sstream>

#include "fakeless/cli/cli.hpp"
#include "fakeless/render/spectrogram.hpp"
#include "fakeless/report/html.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;
using testsig::TempDir;

namespace {

std::shared_ptr<spdlog::logger> quiet_logger(std::ostringstream& sink) {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(sink));
}

// Does any src= or href= attribute point at http:, https: or a protocol-relative URL?
bool fetches_from_network(const std::string& page) {
  std::string lower = page;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string attr : {"src", "href"}) {
    for (auto p = lower.find(attr); p != std::string::npos; p = lower.find(attr, p + 1)) {
      std::size_t i = p + attr.size();
      while (i < lower.size() && std::isspace(static_cast<unsigned char>(lower[i]))) ++i;
      if (i >= lower.size() || lower[i] != '=') continue;
      ++i;
      while (i < lower.size() && (std::isspace(static_cast<unsigned char>(lower[i])) || lower[i] == '"' || lower[i] == '\'')) ++i;
      const std::string_view v(lower.data() + i, lower.size() - i);
      if (v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")) return true;
    }
  }
  return false;
}

std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

const std::string kLossy =
    R"({"schema":1,"path":"A/lossy.flac","status":"ok","verdict":"lossy","flags":["lossy"],"p_lossy":0.99,)"
    R"("reason":"cutoff at 16.7 kHz","format":{"container":"flac","sample_rate":44100,"channels":2,"bits":16,)"
    R"("duration_s":30.0},"evidence":{"cutoff_hz":16721,"cutoff_sharpness_db":49.3,"cutoff_stability":0.95,)"
    R"("bandwidth_hz":16882,"effective_bits":16}})";
const std::string kLossless =
    R"({"schema":1,"path":"B/fine.flac","status":"ok","verdict":"lossless","flags":[],"p_lossy":0.02,)"
    R"("reason":"no cutoff","format":{"sample_rate":96000},"evidence":{"cutoff_hz":null}})";
const std::string kError =
    R"({"schema":1,"path":"C/bad.flac","status":"error","error":{"code":"truncated","message":"cut <short> & sweet"}})";

}  // namespace

TEST_CASE("html_escape: markup, quotes, control characters and invalid UTF-8", "[html]") {
  CHECK(report::html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(report::html_escape("x\ny") == "x\xE2\x90\x8Ay");   // U+240A
  CHECK(report::html_escape("x\xFFy") == "x\xEF\xBF\xBDy");  // U+FFFD
  CHECK(report::html_escape("caf\xC3\xA9") == "caf\xC3\xA9");
}

TEST_CASE("the HTML report: rows, evidence, errors, escaping, images for flagged files only", "[html]") {
  const std::string hostile =
      R"({"schema":1,"path":"<script>alert(1)</script>\n\"q\"&'.flac","path_b64":"PHNjcmlwdD4=","status":"ok",)"
      R"("verdict":"padded","flags":["padded"],"reason":"<img src=x onerror=alert(2)>","evidence":{}})";
  std::istringstream in(kLossy + "\n" + kLossless + "\n\nnot json\n" + kError + "\n" + hostile + "\n");
  std::ostringstream html, logs;
  std::vector<std::string> asked;
  const report::ImageMaker images = [&](const std::string& path) -> report::Image {
    asked.push_back(path);
    return {"\x89PNG fake bytes", {}};
  };
  report::HtmlOptions opt;
  opt.source_name = "r&d.ndjson";
  const auto st = report::write_html_report(in, html, opt, images, *quiet_logger(logs));
  const std::string page = html.str();
  CHECK(st.records == 4);
  CHECK(st.bad_lines == 1);
  CHECK(st.flagged == 2);
  CHECK(st.images == 2);
  // Images were asked for the flagged files only, by their exact bytes (path_b64 wins).
  REQUIRE(asked.size() == 2);
  CHECK(asked[0] == "A/lossy.flac");
  CHECK(asked[1] == "<script>");
  CHECK(occurrences(page, "src=\"data:image/png;base64,") == 2);
  CHECK(occurrences(page, "<tr data-verdict=") == 4);
  CHECK_THAT(page, Catch::Contains("data-verdict=\"lossy\" data-path=\"A/lossy.flac\""));
  CHECK_THAT(page, Catch::Contains("data-verdict=\"error\""));
  CHECK_THAT(page, Catch::Contains("truncated"));
  CHECK_THAT(page, Catch::Contains("cut &lt;short&gt; &amp; sweet"));
  CHECK_THAT(page, Catch::Contains("r&amp;d.ndjson"));
  CHECK_THAT(page, Catch::Contains(">16.72<"));  // cutoff in kHz
  CHECK_THAT(page, Catch::Contains(">49.3<"));
  // Nothing from the records reaches the page unescaped.
  CHECK_THAT(page, !Catch::Contains("<script>alert"));
  CHECK_THAT(page, !Catch::Contains("<img src=x"));
  CHECK_THAT(page, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;\xE2\x90\x8A&quot;q&quot;&amp;&#39;.flac"));
  CHECK(occurrences(page, "<script>") == 1);  // ours
  // Self-contained: no http(s) sources or links.
  CHECK_FALSE(fetches_from_network(page));
  CHECK(fetches_from_network("<img SRC = 'https://x/y.png'>"));  // the check itself can fail
  CHECK(fetches_from_network("<a href=//cdn.example/x>"));
  CHECK_THAT(page, Catch::Contains("Content-Security-Policy"));
}

TEST_CASE("the HTML report caps its images at max_images", "[html]") {
  std::string lines;
  for (int i = 0; i < 5; ++i) lines += kLossy + "\n";
  std::istringstream in(lines);
  std::ostringstream html, logs;
  int calls = 0;
  report::HtmlOptions opt;
  opt.max_images = 3;
  const auto st = report::write_html_report(
      in, html, opt, [&](const std::string&) { ++calls; return report::Image{"png", {}}; }, *quiet_logger(logs));
  CHECK(calls == 3);
  CHECK(st.images == 3);
  CHECK(st.images_capped == 2);
  CHECK_THAT(html.str(), Catch::Contains("--max-images"));
}

TEST_CASE("fakeless report reads a file or stdin and renders the flagged files it can open", "[html][cli]") {
  TempDir dir;
  const auto lp = testsig::brickwall(testsig::pink(44100 * 2, 0.3, 21), 44100, 16000, 255);
  testsig::write_audio(dir / "lossy.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, testsig::quantise(lp, 16));
  testsig::write_audio(dir / "fine.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
                       testsig::quantise(testsig::pink(44100 * 2, 0.3, 22), 16));
  std::ostringstream scan_out, scan_err;
  cli::Environment env;
  const int s = cli::run_cli({"scan", "--ordered", "--format", "ndjson", dir / "lossy.flac", dir / "fine.flac",
                              dir / "missing.flac"},
                             scan_out, scan_err, env);
  REQUIRE(s == 5);  // flagged + an error
  testsig::write_text(dir / "r.ndjson", scan_out.str());

  std::ostringstream out, err;
  REQUIRE(cli::run_cli({"report", dir / "r.ndjson", "-o", dir / "r.html"}, out, err, env) == 0);
  CHECK(out.str().empty());
  std::ifstream f(dir / "r.html");
  const std::string page((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(occurrences(page, "<tr data-verdict=") == 3);
  CHECK(occurrences(page, "src=\"data:image/png;base64,iVBORw0KGgo") == 1);  // a real PNG, the lossy file's
  CHECK_THAT(page, Catch::Contains("not_found"));

  std::istringstream stdin_records(scan_out.str());
  env.in = &stdin_records;
  std::ostringstream out2, err2;
  REQUIRE(cli::run_cli({"report", "-", "--max-images", "0"}, out2, err2, env) == 0);
  CHECK(occurrences(out2.str(), "<tr data-verdict=") == 3);
  CHECK(occurrences(out2.str(), "data:image/png") == 0);

  std::ostringstream out3, err3;
  CHECK(cli::run_cli({"report", dir / "nope.ndjson"}, out3, err3, env) == 2);
  CHECK(cli::run_cli({"report", "-", "--max-images", "-1"}, out3, err3, env) == 2);
}

TEST_CASE("scan --spectrograms writes one image per flagged file, never into the scanned tree", "[html][cli][scan]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "music/A");
  std::filesystem::create_directories(dir / "music/B");
  const auto lp = testsig::brickwall(testsig::pink(44100 * 2, 0.3, 23), 44100, 16000, 255);
  for (const char* sub : {"music/A/01.flac", "music/B/01.flac"}) {
    testsig::write_audio(dir / sub, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, testsig::quantise(lp, 16));
  }
  testsig::write_audio(dir / "music/A/02.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
                       testsig::quantise(testsig::pink(44100 * 2, 0.3, 24), 16));
  std::ostringstream out, err;
  cli::Environment env;
  const int s = cli::run_cli({"scan", "-j", "2", "--format", "ndjson", dir / "music", "--spectrograms", dir / "img"},
                             out, err, env);
  CHECK(s == 1);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir / "img")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() == 2);  // the two lossy files, same base name, no collision
  CHECK(names[0] != names[1]);
  for (const auto& n : names) CHECK_THAT(n, Catch::StartsWith("01.flac.") && Catch::EndsWith(".png"));
  CHECK(std::find(names.begin(), names.end(), render::image_file_name(dir / "music/A/01.flac")) != names.end());
  // Nothing new under the scanned tree.
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "music")) files += e.is_regular_file();
  CHECK(files == 3);
}
