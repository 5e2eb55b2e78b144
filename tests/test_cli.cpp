#include <catch2/catch.hpp>
#include <sndfile.h>

#include <sstream>

#include "fakeless/cli/cli.hpp"
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
