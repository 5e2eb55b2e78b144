#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fakeless/model/json_sax.hpp"
#include "tempdir.hpp"

namespace {

using testsig::read_text;

// Writes every event as a line; doubles by their bits, so "the same value" means exactly.
class Recorder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> events;
  bool failed = false;
  std::size_t stop_after = static_cast<std::size_t>(-1);  // a handler returns false here

  bool null() override { return add("null"); }
  bool boolean(bool v) override { return add(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return add("int " + std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return add("uint " + std::to_string(v)); }
  bool number_float(number_float_t v, const string_t& s) override {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", v);
    return add("float " + std::string(buf) + " " + s);
  }
  bool string(string_t& v) override { return add("string " + v); }
  bool binary(binary_t&) override { return add("binary"); }
  bool start_object(std::size_t n) override { return add("{ " + std::to_string(n)); }
  bool key(string_t& k) override { return add("key " + k); }
  bool end_object() override { return add("}"); }
  bool start_array(std::size_t n) override { return add("[ " + std::to_string(n)); }
  bool end_array() override { return add("]"); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    failed = true;
    return false;
  }

 private:
  bool add(std::string e) {
    events.push_back(std::move(e));
    return events.size() < stop_after;
  }
};

struct Outcome {
  bool ok;
  Recorder rec;
};

Outcome ours(const std::string& text, std::size_t stop_after = static_cast<std::size_t>(-1)) {
  Outcome o{false, {}};
  o.rec.stop_after = stop_after;
  o.ok = fakeless::model::sax_parse(text, o.rec);
  return o;
}

Outcome theirs(const std::string& text, std::size_t stop_after = static_cast<std::size_t>(-1)) {
  Outcome o{false, {}};
  o.rec.stop_after = stop_after;
  try {
    o.ok = nlohmann::json::sax_parse(text, &o.rec);
  } catch (const nlohmann::json::exception&) {
    o.ok = false;
    o.rec.failed = true;
  }
  return o;
}

}  // namespace

TEST_CASE("json_sax: the same events and values as nlohmann's parser on valid JSON", "[json_sax]") {
  const std::vector<std::string> docs = {
      "0", "-0", "1", "-1", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
      "-9223372036854775809", "0.1", "-2.5e-3", "1E5", "1e+5", "6.02214076e23", "1e-400", "-1e-400",
      "0.30000000000000004", "2.2250738585072014e-308", "4.9e-324", "123456789012345678901234567890",
      "true", "false", "null", "\"\"", "\"plain\"", R"("esc \" \\ \/ \b \f \n \r \t")", R"("\u00e9\u20AC\ud83c\udfb5")",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb5\"", "[]", "{}", " [ 1 , [ ] , { } , \"x\" ] ",
      R"({"a":{"b":[1,2.5,{"c":null}],"d":true},"e":[[[]]],"f":-7})", "\xEF\xBB\xBF{\"bom\":1}",
      "\t\r\n [\n1\n]\n"};
  for (const auto& d : docs) {
    const auto a = ours(d);
    const auto b = theirs(d);
    INFO(d);
    CHECK(a.ok == b.ok);
    CHECK(a.rec.events == b.rec.events);
  }
}

TEST_CASE("json_sax: malformed JSON is an error, reported once, as nlohmann reports it", "[json_sax]") {
  const std::vector<std::string> bad = {
      "", " ", "[", "]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{1:2}", "01", "-", "1.",
      ".5", "1e", "1e+", "+1", "tru", "nul", "falsey", "\"open", "\"ctrl \x01\"", "\"bad \\x\"", "\"\\u12\"",
      "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\xff\"", "1e999",
      "-1e999", "[1] 2", "{\"a\":1}}", "[[[]]"};
  for (const auto& d : bad) {
    const auto a = ours(d);
    const auto b = theirs(d);
    INFO(d);
    CHECK_FALSE(b.ok);  // the reference agrees that it is malformed
    CHECK_FALSE(a.ok);
    CHECK(a.rec.failed);
    // Up to the error, the same events.
    CHECK(a.rec.events == b.rec.events);
  }
}

TEST_CASE("json_sax: a handler that returns false stops the parse", "[json_sax]") {
  const std::string d = R"({"a":[1,2,3],"b":"x"})";
  for (std::size_t stop = 1; stop <= 7; ++stop) {
    const auto a = ours(d, stop);
    const auto b = theirs(d, stop);
    INFO(stop);
    CHECK_FALSE(a.ok);
    CHECK_FALSE(a.rec.failed);
    CHECK(a.rec.events == b.rec.events);
  }
}

TEST_CASE("json_sax: the shipped model files give nlohmann's events exactly", "[json_sax]") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FAKELESS_MODELS_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name.ends_with(".checks.json")) continue;
    ++files;
    const auto text = read_text(entry.path().string());
    REQUIRE(text.size() > 1000);
    const auto a = ours(text);
    const auto b = theirs(text);
    INFO(name);
    CHECK(a.ok);
    CHECK(b.ok);
    CHECK(a.rec.events.size() == b.rec.events.size());
    CHECK(a.rec.events == b.rec.events);
  }
  CHECK(files >= 2);  // the trees and the CNN
}

TEST_CASE("json_sax: random token soups and mutated documents give nlohmann's events", "[json_sax]") {
  // Differential test: fragments glued at random (mostly malformed), and one-byte edits of
  // valid documents; whatever nlohmann's parser makes of them, ours must make the same.
  const std::vector<std::string> pieces = {
      "{", "}", "[", "]", ",", ":", " ", "\n", "\"a\"", "\"k\"", "\"\\u00e9\"", "\"\\ud83c\\udfb5\"", "\"\\\"\"",
      "1", "-0", "0.5", "1.5e3", "-2E-2", "18446744073709551616", "1e999", "1e-999", "01", "-", "1.", "true",
      "false", "null", "tru", "\"open", "\\", "\"\xc3\xa9\"", "\"\xc3\"", "\x01", "+1", ".5"};
  const std::vector<std::string> valid = {R"({"a":[1,2.5,{"c":null}],"d":true,"e":"x\u00e9y"})",
                                          R"([0,-1,1e5,"s",[],{},[[{"k":[false]}]]])", R"({"n":-12.75e-3})"};
  std::uint32_t state = 12345;
  auto next = [&](std::uint32_t n) {
    state = state * 1664525U + 1013904223U;
    return (state >> 8) % n;
  };
  std::vector<std::string> docs;
  for (int i = 0; i < 3000; ++i) {
    std::string d;
    const auto len = 1 + next(10);
    for (std::uint32_t k = 0; k < len; ++k) d += pieces[next(static_cast<std::uint32_t>(pieces.size()))];
    docs.push_back(std::move(d));
  }
  const std::string edits = "{}[],:\"\\0123456789.eE+-tfn x\x80";
  for (int i = 0; i < 3000; ++i) {
    std::string d = valid[next(static_cast<std::uint32_t>(valid.size()))];
    const auto at = next(static_cast<std::uint32_t>(d.size()));
    const auto op = next(3);
    const char c = edits[next(static_cast<std::uint32_t>(edits.size()))];
    if (op == 0) d.erase(at, 1);
    if (op == 1) d.insert(d.begin() + at, c);
    if (op == 2) d[at] = c;
    docs.push_back(std::move(d));
  }
  int parsed = 0;
  for (const auto& d : docs) {
    const auto a = ours(d);
    const auto b = theirs(d);
    INFO(d);
    REQUIRE(a.ok == b.ok);
    REQUIRE(a.rec.events == b.rec.events);
    parsed += a.ok ? 1 : 0;
  }
  // Both outcomes are well represented.
  CHECK(parsed > 500);
  CHECK(parsed < 5500);
}
