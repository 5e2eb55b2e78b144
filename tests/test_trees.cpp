// The tree evaluator against the training library: the fixed feature vectors that
// scripts/train-tree stored next to the model must give sklearn's numbers to 1e-6.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/model/trees.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/report/verdict.hpp"
#include "signals.hpp"

using fakeless::model::TreeModel;

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// A small hand-made model: two features, one tree per head.
std::string tiny_model(const std::string& lossy_tree) {
  return R"({"format":"fakeless-trees","version":1,"name":"tree-test","features":["a","b"],
    "heads":{"lossy":{"kind":"binary","classes":["lossless","lossy"],"baseline":[0.5],
    "calibration":{"kind":"platt","a":1.0,"b":0.0},"threshold":0.5,"trees":[[)" +
         lossy_tree + "]]}}}";
}

const char* kTree =
    R"({"feature":[0,-1,1,-1,-1],"threshold":[1.0,0,2.0,0,0],"missing_left":[1,0,0,0,0],)"
    R"("left":[1,0,3,0,0],"right":[2,0,4,0,0],"value":[0.1,-1.0,0.5,0.25,0.75]})";

}  // namespace

TEST_CASE("the built-in tree model reproduces the training library's outputs", "[trees]") {
  const TreeModel& m = TreeModel::builtin();
  const auto checks = read_json(std::string(FAKELESS_MODELS_DIR) + "/" + m.base_name() + ".checks.json");
  REQUIRE(checks.is_array());
  REQUIRE(checks.size() >= 5);
  for (const auto& c : checks) {
    nlohmann::ordered_json features = nlohmann::ordered_json::object();
    for (const auto& [k, v] : c["features"].items()) features[k] = v;
    const auto x = m.vectorize(features);
    CHECK(m.lossy_raw(x) == Approx(c["lossy_raw"].get<double>()).margin(1e-6));
    const auto pc = m.head("codec").proba(x);
    REQUIRE(pc.size() == c["codec_proba"].size());
    for (std::size_t k = 0; k < pc.size(); ++k) CHECK(pc[k] == Approx(c["codec_proba"][k].get<double>()).margin(1e-6));
    const auto pb = m.head("bitrate").proba(x);
    REQUIRE(pb.size() == c["bitrate_proba"].size());
    for (std::size_t k = 0; k < pb.size(); ++k) {
      CHECK(pb[k] == Approx(c["bitrate_proba"][k].get<double>()).margin(1e-6));
    }
    CHECK(m.head("upsampled").proba(x)[1] == Approx(c["upsampled_proba"].get<double>()).margin(1e-6));
    CHECK(m.head("padded").proba(x)[1] == Approx(c["padded_proba"].get<double>()).margin(1e-6));
  }
}

TEST_CASE("feature contributions add up to the raw score", "[trees]") {
  const TreeModel& m = TreeModel::builtin();
  const auto checks = read_json(std::string(FAKELESS_MODELS_DIR) + "/" + m.base_name() + ".checks.json");
  for (const auto& c : checks) {
    nlohmann::ordered_json features = nlohmann::ordered_json::object();
    for (const auto& [k, v] : c["features"].items()) features[k] = v;
    const auto x = m.vectorize(features);
    std::vector<double> contrib(x.size(), 0.0);
    const double bias = m.head("lossy").contributions(x, contrib);
    double sum = bias;
    for (double v : contrib) sum += v;
    CHECK(sum == Approx(m.lossy_raw(x)).margin(1e-9));
  }
}

TEST_CASE("a hand-made tree routes values, missing values and ties as documented", "[trees]") {
  const TreeModel m = TreeModel::from_json_text(tiny_model(kTree), "tiny");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto raw = [&](double a, double b) {
    const std::vector<double> x{a, b};
    return m.lossy_raw(x);
  };
  CHECK(raw(0.0, 0.0) == Approx(0.5 - 1.0));  // a <= 1 -> left leaf
  CHECK(raw(1.0, 9.0) == Approx(0.5 - 1.0));  // ties go left
  CHECK(raw(nan, 9.0) == Approx(0.5 - 1.0));  // missing_left = 1
  CHECK(raw(2.0, 2.0) == Approx(0.5 + 0.25));
  CHECK(raw(2.0, nan) == Approx(0.5 + 0.75));  // missing_left = 0 -> right
  CHECK(m.p_lossy(std::vector<double>{2.0, nan}) == Approx(1.0 / (1.0 + std::exp(-1.25))));
  // features by name; absent and null ones are missing
  nlohmann::ordered_json f = {{"b", 3.0}, {"a", nullptr}, {"other", 1.0}};
  const auto x = m.vectorize(f);
  REQUIRE(x.size() == 2);
  CHECK(std::isnan(x[0]));
  CHECK(x[1] == 3.0);
}

TEST_CASE("malformed models are refused with a reason", "[trees]") {
  auto refuses = [](const std::string& text, const std::string& needle) {
    try {
      (void)TreeModel::from_json_text(text, "m.json");
      FAIL("accepted: " << text.substr(0, 80));
    } catch (const std::invalid_argument& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  refuses("{", "not JSON");
  refuses(R"({"format":"other"})", "not a fakeless-trees model");
  refuses(R"({"format":"fakeless-trees","version":9})", "version");
  // kTree with its first `from` replaced by `to`
  auto edited = [](const std::string& from, const std::string& to) {
    std::string t = kTree;
    t.replace(t.find(from), from.size(), to);
    return tiny_model(t);
  };
  refuses(edited("\"left\":[1,", "\"left\":[0,"), "bad child index");  // a child pointing back at its parent
  refuses(edited("\"feature\":[0,", "\"feature\":[7,"), "unknown feature");
  refuses(edited(",0.75]", "]"), "differ in length");
  refuses(edited("\"left\":[1,", "\"left\":[\"1\","), "string");
  refuses(edited("\"right\":[2,", "\"right\":[2.5,"), "non-integer");
  std::string cut = tiny_model(kTree);
  refuses(cut.substr(0, cut.size() / 2), "not JSON");
  CHECK_THROWS_AS(TreeModel::from_file("/nonexistent/model.json"), std::invalid_argument);
  CHECK_THROWS_AS(TreeModel::from_json_text(tiny_model(kTree), "t").with_threshold(0.0), std::invalid_argument);
}

TEST_CASE("the tree scorer explains its decision and names the codec of what it flags", "[trees]") {
  const TreeModel& m = TreeModel::builtin();
  const int rate = 44100;
  const std::size_t n = 8 * rate;
  // Independent channels of pink noise, brick-walled at 16 kHz: what a 128k MP3 leaves.
  const auto l = testsig::brickwall(testsig::pink(n, 0.3, 11), rate, 16000.0);
  const auto r = testsig::brickwall(testsig::pink(n, 0.3, 12), rate, 16000.0);
  const auto v = fakeless::make_verdict(testsig::features_of_stereo(l, r, rate), "walled", m,
                                        std::chrono::steady_clock::now());
  REQUIRE(v.ok());
  REQUIRE(v.decision.p_lossy.has_value());
  CHECK(*v.decision.p_lossy >= 0.0);
  CHECK(*v.decision.p_lossy <= 1.0);
  REQUIRE(!v.decision.drivers.empty());
  CHECK(v.evidence.contains("drivers"));
  CHECK(v.model.rfind(m.name(), 0) == 0);
  CHECK(m.name().rfind(m.base_name() + "@", 0) == 0);
  CHECK(v.decision.reason.find("strongest evidence") != std::string::npos);
  if (v.decision.verdict == "lossy") {
    REQUIRE(v.decision.origin.has_value());
    CHECK(!v.decision.origin->codec.empty());
  }
  // The record keeps drivers and origin through the cache's round trip.
  const auto back = fakeless::report::from_json(fakeless::report::to_json(v));
  CHECK(back.decision.drivers.size() == v.decision.drivers.size());
  CHECK(back.decision.origin.has_value() == v.decision.origin.has_value());
  // Full-band noise is not flagged.
  const auto g = fakeless::make_verdict(testsig::features_of_stereo(testsig::pink(n, 0.3, 13), testsig::pink(n, 0.3, 14), rate),
                                        "full", m, std::chrono::steady_clock::now());
  REQUIRE(g.ok());
  CHECK(g.decision.verdict == "lossless");
  CHECK(!g.decision.origin.has_value());
}
