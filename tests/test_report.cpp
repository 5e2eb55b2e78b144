#include <catch2/catch.hpp>
#include <sstream>

#include "fakeless/report/writers.hpp"
#include "signals.hpp"

using namespace fakeless;
using nlohmann::ordered_json;

namespace {
report::Verdict sample_verdict(std::string path = "Artist/Album/01.flac") {
  const auto x = testsig::brickwall(testsig::pink(44100 * 2), 44100, 16000, 255);
  auto src = io::memory_source_int(testsig::pcm_format(44100, 1, 16), testsig::quantise(x, 16));
  dsp::FftCache ffts;
  return analyze_source(*src, std::move(path), ffts, {}, model::RuleModel{});
}
}  // namespace

TEST_CASE("schema 1 record of an analysed file", "[report]") {
  const auto j = report::to_json(sample_verdict());
  CHECK(j.begin().key() == "schema");
  CHECK(j["schema"] == 1);
  CHECK(j["path"] == "Artist/Album/01.flac");
  CHECK(j["status"] == "ok");
  CHECK(j["verdict"] == "lossy");
  CHECK(j["flags"] == ordered_json::array({"lossy"}));
  CHECK(j["p_lossy"].is_number());
  CHECK(j["confidence"].is_number());
  CHECK(j["format"]["sample_rate"] == 44100);
  CHECK(j["format"]["channels"] == 1);
  CHECK(j["format"]["bits"] == 16);
  CHECK(j["format"]["duration_s"] == 2.0);
  CHECK(j["evidence"]["cutoff_hz"].is_number_integer());
  CHECK(j["evidence"]["effective_bits"] == 16);
  CHECK(j["model"].get<std::string>().rfind("rule-v2", 0) == 0);
  CHECK(j["elapsed_ms"].is_number());
  CHECK_FALSE(j.contains("error"));
}

TEST_CASE("error records carry schema, path, code and message only", "[report]") {
  const auto j = report::to_json(report::error_verdict("x.flac", ErrorCode::truncated, "ends early"));
  CHECK(j.dump() ==
        R"({"schema":1,"path":"x.flac","status":"error","error":{"code":"truncated","message":"ends early"}})");
}

TEST_CASE("non-finite numbers are written as null, never -inf or nan", "[report]") {
  CHECK(number(std::numeric_limits<double>::infinity(), 1).is_null());
  CHECK(number(-std::numeric_limits<double>::infinity(), 1).is_null());
  CHECK(number(std::nan(""), 1).is_null());
  CHECK(number(std::optional<double>{}, 1).is_null());
  CHECK(number(41.234, 1) == 41.2);
  CHECK(number(-0.00001, 2).dump() == "0.0");
}

TEST_CASE("a path that is not UTF-8 stays valid JSON and keeps its bytes in base64", "[report]") {
  const std::string bad = "bad\xff" "name.flac";
  const auto line = report::dump_line(report::to_json(report::error_verdict(bad, ErrorCode::not_found, "x")));
  const auto back = ordered_json::parse(line);  // throws if not valid JSON / UTF-8
  CHECK(back["path"] == "bad\xEF\xBF\xBDname.flac");
  CHECK(back["path_b64"] == report::base64(bad));
  CHECK(report::base64("fakeless") == "ZmFrZWxlc3M=");
  CHECK(report::base64("ab") == "YWI=");
  CHECK(report::base64("abc") == "YWJj");
  CHECK(report::is_valid_utf8("caf\xC3\xA9"));
  CHECK_FALSE(report::is_valid_utf8("\xC3"));
  CHECK_FALSE(report::is_valid_utf8("\xED\xA0\x80"));  // surrogate
}

TEST_CASE("ndjson writes one whole line per record and json one valid array", "[report]") {
  const auto v = sample_verdict("a\nb.flac");
  const auto e = report::error_verdict("c.flac", ErrorCode::empty_file, "empty");
  std::ostringstream nd;
  auto w = report::make_writer(report::Format::ndjson, nd);
  w->begin();
  w->write(v);
  w->write(e);
  w->end();
  std::istringstream lines(nd.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    CHECK(ordered_json::parse(line)["schema"] == 1);
    ++n;
  }
  CHECK(n == 2);

  std::ostringstream js;
  auto a = report::make_writer(report::Format::json, js);
  a->begin();
  a->write(v);
  a->write(e);
  a->end();
  const auto arr = ordered_json::parse(js.str());
  REQUIRE(arr.is_array());
  CHECK(arr.size() == 2);
  CHECK(arr[0]["path"] == "a\nb.flac");

  std::ostringstream empty;
  auto z = report::make_writer(report::Format::json, empty);
  z->begin();
  z->end();
  CHECK(ordered_json::parse(empty.str()) == ordered_json::array());
}

TEST_CASE("csv quotes fields with commas, quotes and newlines", "[report]") {
  std::ostringstream out;
  auto w = report::make_writer(report::Format::csv, out);
  w->begin();
  w->write(report::error_verdict("a,\"b\".flac", ErrorCode::not_audio, "bad, very"));
  const std::string s = out.str();
  CHECK(s.rfind("path,status,verdict", 0) == 0);
  CHECK_THAT(s, Catch::Contains(R"("a,""b"".flac",error)"));
  CHECK_THAT(s, Catch::Contains(R"("bad, very")"));
}

TEST_CASE("table output names the verdict and the reason", "[report]") {
  std::ostringstream out;
  auto w = report::make_writer(report::Format::table, out);
  w->begin();
  w->write(sample_verdict());
  CHECK_THAT(out.str(), Catch::Contains("lossy"));
  CHECK_THAT(out.str(), Catch::Contains("Artist/Album/01.flac"));
  CHECK_THAT(out.str(), Catch::Contains("cutoff at 1"));
  CHECK_THROWS(report::parse_format("xml"));
}
