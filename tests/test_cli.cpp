#include <catch2/catch.hpp>
#include <sndfile.h>

#include <fstream>
#include <sstream>

#include "fakeless/cli/cli.hpp"
#include "fakeless/cli/progress.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using nlohmann::ordered_json;
using testsig::TempDir;

namespace {
struct Result {
  int status;
  std::string out;
  std::string err;
};
Result cli(std::vector<std::string> args, bool tty = false) {
  std::ostringstream out;
  std::ostringstream err;
  fakeless::cli::Environment env;
  env.stdout_is_terminal = tty;
  env.hardware_threads = 2;
  const int s = fakeless::cli::run_cli(args, out, err, env);
  return {s, out.str(), err.str()};
}
std::vector<ordered_json> lines(const std::string& s) {
  std::vector<ordered_json> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(ordered_json::parse(l));
  return v;
}
void clip(const std::string& path, double cutoff) {
  auto x = testsig::pink(44100 * 2, 0.3, 9);
  if (cutoff > 0) x = testsig::brickwall(x, 44100, cutoff, 255);
  testsig::write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, testsig::quantise(x, 16));
}
}  // namespace

TEST_CASE("version and help print to stdout and exit 0", "[cli]") {
  const auto v = cli({"--version"});
  CHECK(v.status == 0);
  CHECK_THAT(v.out, Catch::StartsWith("fakeless 0."));
  const auto h = cli({"--help"});
  CHECK(h.status == 0);
  CHECK_THAT(h.out, Catch::Contains("scan"));
  CHECK_THAT(h.out, Catch::Contains("Exit status"));
  const auto sh = cli({"scan", "--help"});
  CHECK(sh.status == 0);
  CHECK_THAT(sh.out, Catch::Contains("--jobs"));
}

TEST_CASE("usage errors exit 2 and print nothing on stdout", "[cli]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"scan"}, {"scan", "--bogus", "x"}, {"scan", "-j", "0", "x"}, {"scan", "--format", "xml", "x"}}) {
    const auto r = cli(args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK_FALSE(r.err.empty());
  }
}

TEST_CASE("bare paths mean scan with NDJSON when stdout is not a terminal and exit status bits", "[cli]") {
  TempDir d;
  clip(d / "good.flac", 0);
  const auto ok = cli({d.str()});
  CHECK(ok.status == 0);
  const auto recs = lines(ok.out);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["verdict"] == "lossless");

  clip(d / "lossy.flac", 15000);
  CHECK(cli({d.str()}).status == 1);
  testsig::write_text(d / "broken.flac", "xx");
  const auto both = cli({"scan", "-j", "1", "--ordered", d.str()});
  CHECK(both.status == 5);
  CHECK(lines(both.out).size() == 3);
  CHECK(cli({"-j", "2", d / "broken.flac"}).status == 4);
}

TEST_CASE("quiet mode leaves stderr empty and a terminal gets a table", "[cli]") {
  TempDir d;
  clip(d / "good.flac", 0);
  const auto q = cli({"scan", "-q", d.str()});
  CHECK(q.err.empty());
  CHECK(lines(q.out).size() == 1);
  const auto t = cli({"scan", d.str()}, /*tty=*/true);
  CHECK_THAT(t.out, Catch::StartsWith("VERDICT"));
  const auto c = cli({"scan", "--format", "csv", d.str()}, true);
  CHECK_THAT(c.out, Catch::StartsWith("path,status,verdict"));
  const auto j = cli({"scan", "--format", "json", d.str()});
  CHECK(ordered_json::parse(j.out).size() == 1);
}

TEST_CASE("features prints every feature of each file", "[cli]") {
  TempDir d;
  clip(d / "lossy.flac", 15000);
  const auto r = cli({"features", d / "lossy.flac", d / "missing.flac"});
  CHECK(r.status == 4);
  const auto recs = lines(r.out);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]["features"]["cutoff_hz"].get<double>() == Approx(15000).margin(300));
  CHECK(recs[0]["features"].contains("cutoff_stability"));
  CHECK(recs[0]["features"].contains("effective_bits"));
  CHECK(recs[1]["status"] == "error");
}

namespace {
Result cli_env(std::vector<std::string> args, fakeless::cli::Environment env) {
  std::ostringstream out;
  std::ostringstream err;
  env.hardware_threads = 2;
  const int s = fakeless::cli::run_cli(args, out, err, env);
  return {s, out.str(), err.str()};
}
}  // namespace

TEST_CASE("files-from - reads NUL-separated paths from standard input", "[cli]") {
  TempDir d;
  clip(d / "a b.flac", 0);
  clip(d / "line\nbreak.flac", 15000);
  std::istringstream in(d / "a b.flac" + '\0' + d / "line\nbreak.flac" + '\0');
  fakeless::cli::Environment env;
  env.in = &in;
  const auto r = cli_env({"scan", "--files-from", "-", "-0", "--ordered", "-q"}, env);
  CHECK(r.status == 1);
  const auto recs = lines(r.out);
  REQUIRE(recs.size() == 2);
  CHECK(recs[1]["path"] == d / "line\nbreak.flac");
  CHECK(recs[1]["verdict"] == "lossy");
  CHECK(cli({"scan", "--files-from", d / "no-such-list"}).status == 2);
  CHECK(cli({"scan", "-0", d.str()}).status == 2);  // -0 without --files-from
}

TEST_CASE("only-flagged and threshold", "[cli]") {
  TempDir d;
  clip(d / "good.flac", 0);
  clip(d / "lossy.flac", 15000);
  testsig::write_text(d / "broken.flac", "xx");
  const auto r = cli({"scan", "--only-flagged", "--ordered", "-q", d.str()});
  CHECK(r.status == 5);
  const auto recs = lines(r.out);
  REQUIRE(recs.size() == 2);  // the flagged file and the error record; not the genuine one
  CHECK(recs[0]["error"]["code"] == "not_audio");
  CHECK(recs[1]["verdict"] == "lossy");
  // A threshold just above the file's p_lossy lets it through, for every trained scorer
  // whose p_lossy is below 1 here (the fused one may round a sure file to 1.0).
  int tried = 0;
  for (const char* m : {"fused", "tree", "cnn"}) {
    const auto base = cli({"scan", "--model", m, "-q", d / "lossy.flac"});
    const double p = lines(base.out)[0]["p_lossy"];
    if (!(p < 1.0)) continue;
    ++tried;
    const auto above =
        cli({"scan", "--model", m, "--threshold", std::to_string(std::min(1.0, p + 1e-4)), "-q", d / "lossy.flac"});
    CHECK(above.status == 0);
    CHECK(lines(above.out)[0]["verdict"] != "lossy");
    CHECK(lines(above.out)[0]["p_lossy"] == p);
  }
  CHECK(tried >= 1);
  CHECK(cli({"scan", "--threshold", "1.5", d.str()}).status == 2);
  CHECK(cli({"scan", "--threshold", "0", d.str()}).status == 2);
}

TEST_CASE("cache: a re-scan decodes nothing; --cache before a directory is refused", "[cli]") {
  TempDir d;
  TempDir c;
  clip(d / "a.flac", 0);
  clip(d / "b.flac", 15000);
  const auto first = cli({"scan", d.str(), "--cache", c / "x.sqlite"});
  CHECK_THAT(first.err, Catch::Contains("(2 decoded, 0 from cache)"));
  const auto second = cli({"scan", d.str(), "--cache", c / "x.sqlite"});
  CHECK_THAT(second.err, Catch::Contains("(0 decoded, 2 from cache)"));
  CHECK(second.status == first.status);
  const auto refused = cli({"scan", "--cache", d.str()});
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Catch::Contains("looks like a path to scan"));
  const auto stats = cli({"cache", "stats", "--cache", c / "x.sqlite"});
  CHECK(stats.status == 0);
  CHECK(ordered_json::parse(stats.out)["entries"] == 2);
  const auto exported = cli({"cache", "export", "--cache", c / "x.sqlite", "-q"});
  CHECK(lines(exported.out).size() == 2);
  CHECK(exported.err.empty());
  CHECK(cli({"cache", "stats", "--cache", c / "none.sqlite"}).status == 2);
}

TEST_CASE("shard rejects K outside 1..N", "[cli]") {
  TempDir d;
  clip(d / "a.flac", 0);
  CHECK(cli({"scan", "--shard", "1/1", "-q", d.str()}).status == 0);
  for (const char* bad : {"0/2", "3/2", "x"}) CHECK(cli({"scan", "--shard", bad, d.str()}).status == 2);
}

TEST_CASE("log-file gets the log even with -q, which keeps stderr empty", "[cli]") {
  TempDir d;
  clip(d / "a.flac", 0);
  testsig::write_text(d / "broken.flac", "xx");
  const auto r = cli({"scan", "-q", "--log-file", d / "log.txt", d / "a.flac", d / "broken.flac"});
  CHECK(r.status == 4);
  CHECK(r.err.empty());
  std::ifstream f(d / "log.txt");
  std::stringstream log;
  log << f.rdbuf();
  CHECK_THAT(log.str(), Catch::Contains("warning: " + d / "broken.flac" + ": not_audio"));
  CHECK_THAT(log.str(), Catch::Contains("2 files (2 decoded, 0 from cache)"));
  CHECK(cli({"scan", "--log-file", d / "a.flac/log", d.str()}).status == 2);  // a file as its directory
}

TEST_CASE("progress: on stderr only when asked or on a terminal; colours never with NO_COLOR", "[cli]") {
  TempDir d;
  clip(d / "a.flac", 15000);
  fakeless::cli::Environment env;
  env.stderr_is_terminal = false;
  const auto off = cli_env({"scan", d.str()}, env);
  CHECK(off.err.find('\r') == std::string::npos);
  const auto on = cli_env({"scan", "--progress", "always", d.str()}, env);
  CHECK(on.err.find('\r') != std::string::npos);
  CHECK(on.out.find('\r') == std::string::npos);
  CHECK(lines(on.out).size() == 1);
  env.stderr_is_terminal = true;
  env.stdout_is_terminal = true;
  const auto tty = cli_env({"scan", "--progress", "never", d.str()}, env);
  CHECK(tty.err.find('\r') == std::string::npos);
  CHECK(tty.out.find("\x1b[31mlossy") != std::string::npos);  // a coloured table
  env.no_color = true;
  const auto plain = cli_env({"scan", d.str()}, env);
  CHECK(plain.out.find('\x1b') == std::string::npos);
  CHECK(plain.err.find("\x1b[3") == std::string::npos);
}

TEST_CASE("the progress line counts files, shows the total once discovery ends, and an ETA", "[cli]") {
  std::ostringstream err;
  fakeless::cli::Progress p(err, false, false);
  p.found(10);
  CHECK_THAT(p.line(), Catch::Contains("0 done, 10 found so far"));
  fakeless::report::Verdict v;
  v.decision.flags = {"lossy"};
  p.file_done(v, 2'000'000);
  p.discovery_done(40);
  CHECK_THAT(p.line(), Catch::Contains("1/40 files"));
  CHECK_THAT(p.line(), Catch::Contains("ETA"));
  CHECK_THAT(p.line(), Catch::Contains("1 flagged, 0 errors"));
  CHECK(fakeless::cli::format_duration(3725) == "1:02:05");
  CHECK(fakeless::cli::format_duration(65) == "1:05");
}

TEST_CASE("features --without leaves a group's fields null, and the same fields are always there", "[cli]") {
  TempDir d;
  clip(d / "lossy.flac", 15000);
  const auto all = lines(cli({"features", d / "lossy.flac"}).out);
  const auto some = lines(cli({"features", "--without", "holes,bits", d / "lossy.flac"}).out);
  REQUIRE(all.size() == 1);
  REQUIRE(some.size() == 1);
  const auto& a = all[0]["features"];
  const auto& s = some[0]["features"];
  CHECK(a.size() == s.size());
  CHECK(a["hole_rate_high"].is_number());
  CHECK(s["hole_rate_high"].is_null());
  CHECK(a["zeroed_block_fraction"].is_number());
  CHECK(s["zeroed_block_fraction"].is_null());
  CHECK(s["effective_bits"] == a["effective_bits"]);  // the exact count is not optional
  CHECK(s["cutoff_hz"] == a["cutoff_hz"]);
  CHECK(s["cutoff_slope_db_per_khz"] == a["cutoff_slope_db_per_khz"]);

  const auto bad = cli({"features", "--without", "holes,nonsense", d / "lossy.flac"});
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("nonsense"));
  CHECK(bad.out.empty());
}

TEST_CASE("scan with segments: a flag (the next word stays a path), segments cover the file; misuse exits 2", "[cli]") {
  TempDir d;
  // 13 s: segments are at least four patches (~6 s) long.
  testsig::write_audio(d / "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
                       testsig::quantise(testsig::pink(44100 * 13, 0.3, 9), 16));
  const auto r = cli({"scan", "--segments", "--segment-length", "2", "-q", d / "a.flac"});
  CHECK(r.status == 0);
  const auto recs = lines(r.out);
  REQUIRE(recs.size() == 1);
  const auto& segs = recs[0]["segments"];
  REQUIRE(segs.is_array());
  REQUIRE(segs.size() >= 2);
  CHECK(segs[0]["start_s"] == 0.0);
  for (std::size_t i = 1; i < segs.size(); ++i) CHECK(segs[i]["start_s"] == segs[i - 1]["end_s"]);
  CHECK(segs.back()["end_s"].get<double>() == Approx(recs[0]["format"]["duration_s"].get<double>()).margin(1e-3));
  // Without --segments no segments; the flag does not swallow the path after it.
  CHECK_FALSE(lines(cli({"scan", "-q", d / "a.flac"}).out)[0].contains("segments"));
  CHECK(lines(cli({"scan", "--segments", d / "a.flac", "-q"}).out).size() == 1);
  CHECK(cli({"scan", "--segment-length", "5", d / "a.flac"}).status == 2);
  CHECK(cli({"scan", "--segments", "--quick", d / "a.flac"}).status == 2);
  CHECK(cli({"scan", "--segments", "--model", "tree", d / "a.flac"}).status == 2);
}

TEST_CASE("patches writes one .npy per file (float32, patches x 32 x 256) and an error record for a bad file", "[cli]") {
  TempDir d;
  TempDir o;
  testsig::write_audio(d / "a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1,
                       testsig::quantise(testsig::pink(44100 * 7, 0.3, 9), 16));
  testsig::write_text(d / "bad.flac", "xx");
  const auto r = cli({"patches", "-q", "-o", o.str(), d / "a.flac", d / "bad.flac"});
  CHECK(r.status == 4);
  const auto recs = lines(r.out);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]["status"] == "ok");
  CHECK(recs[1]["status"] == "error");
  const int n = recs[0]["patches"];
  CHECK(n == 4);  // 150 frames: 4 strata of at least 32
  CHECK(recs[0]["start_s"].size() == 4U);
  std::ifstream f(o / recs[0]["npy"].get<std::string>(), std::ios::binary);
  REQUIRE(f.good());
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.substr(1, 5) == "NUMPY");
  const std::size_t header = 10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
  CHECK(header % 64 == 0);
  CHECK_THAT(bytes.substr(10, header - 10), Catch::Contains("'descr': '<f4'") && Catch::Contains("(4, 32, 256)"));
  CHECK(bytes.size() == header + 4U * 32U * 256U * sizeof(float));
  // An output that cannot be written is the caller's problem: exit 2.
  testsig::write_text(o / "file", "x");
  CHECK(cli({"patches", "-q", "-o", o / "file", d / "a.flac"}).status == 2);
}
