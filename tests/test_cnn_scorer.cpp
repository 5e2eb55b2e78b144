// The CNN scorers: aggregation of patch logits, calibration, fusion with the trees,
// segments and the "spliced" flag, the built-in model against PyTorch, verdict round trip.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "fakeless/model/cnn_scorer.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/report/verdict.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;

namespace {

using testsig::read_text;

// The test fixture network (random weights) with the meta train-cnn writes, edited.
std::string fixture_with(const nlohmann::json& meta) {
  auto j = nlohmann::json::parse(read_text(std::string(FAKELESS_TEST_DATA_DIR) + "/cnn-fixture.json"));
  for (auto it = meta.begin(); it != meta.end(); ++it) j[it.key()] = it.value();
  return j.dump();
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double logit(double p) { return std::log(p / (1.0 - p)); }

// 12 s of stereo noise, low-passed at 16 kHz (so the trees have something to say).
auto noise_12s() {
  const int rate = 44100;
  auto l = testsig::brickwall(testsig::pink(static_cast<std::size_t>(rate) * 12, 0.3, 11), rate, 16000.0);
  auto r = testsig::brickwall(testsig::pink(static_cast<std::size_t>(rate) * 12, 0.3, 12), rate, 16000.0);
  return io::memory_source_int(testsig::pcm_format(rate, 2, 16), testsig::quantise(testsig::interleave(l, r), 16));
}

// Its features, with the patches the CNN reads.
FileFeatures features_with_patches(const features::PatchParams& params) {
  auto src = noise_12s();
  dsp::FftCache ffts;
  AnalysisOptions options;
  options.patches = params;
  return extract_features(*src, ffts, options);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

TEST_CASE("the file score is the median of the patch logits, calibrated by the model's Platt terms", "[cnn]") {
  const auto m = model::CnnModel::from_json_text(fixture_with({{"calibration", {{"a", 0.5}, {"b", -0.25}}}}), "fixture");
  const FileFeatures f = features_with_patches(m.patch_params(0.0));
  const auto& set = f.patches;
  REQUIRE(set.patches.size() == 8);  // 258 frames: 8 strata of at least 32
  std::vector<float> flat;
  for (const auto& p : set.patches) flat.insert(flat.end(), p.values.begin(), p.values.end());
  const auto z = m.net().logits(flat, set.patches.size());
  const auto s = m.score(set);
  REQUIRE(s.logit);
  CHECK(s.patches == 8);
  CHECK(*s.logit == Approx(median(std::vector<double>(z.begin(), z.end()))).margin(1e-9));
  CHECK(m.calibrated(*s.logit) == Approx(sigmoid(0.5 * *s.logit - 0.25)).margin(1e-12));
  CHECK(m.score(features::PatchSet{}).logit == std::nullopt);
}

TEST_CASE("segment scores over many patches (scored in chunks) match one batch of all of them", "[cnn]") {
  const auto m = model::CnnModel::from_json_text(fixture_with({}), "fixture");
  const std::size_t size = m.net().frames() * m.net().bands();
  features::PatchSet set;
  set.frames = static_cast<int>(m.net().frames());
  set.bands = static_cast<int>(m.net().bands());
  set.seconds_per_frame = 0.05;
  const int segments = 67;  // 134 patches: chunks of 64, 64 and 6
  std::vector<float> flat;
  std::uint32_t state = 12345;
  for (int k = 0; k < segments; ++k) {
    set.segments.push_back({k * 10.0, (k + 1) * 10.0});
    for (int j = 0; j < 2; ++j) {
      features::Patch p;
      p.first_frame = (k * 2 + j) * 100;
      p.segment = k;
      p.values.resize(size);
      for (auto& v : p.values) {
        state = state * 1664525U + 1013904223U;
        v = static_cast<float>(state >> 8) / static_cast<float>(1U << 24) * 6.0F;
      }
      flat.insert(flat.end(), p.values.begin(), p.values.end());
      set.patches.push_back(std::move(p));
    }
  }
  const auto z = m.net().logits(flat, set.patches.size());
  const auto s = m.score(features::PatchSet{}, set);
  CHECK_FALSE(s.logit);
  REQUIRE(s.segments.size() == static_cast<std::size_t>(segments));
  for (int k = 0; k < segments; ++k) {
    const double med = 0.5 * (static_cast<double>(z[2 * k]) + static_cast<double>(z[2 * k + 1]));
    REQUIRE(s.segments[static_cast<std::size_t>(k)].p_lossy);
    CHECK(*s.segments[static_cast<std::size_t>(k)].p_lossy == Approx(m.calibrated(med)).margin(5e-5));
  }
}

TEST_CASE("fusion: the blend sigmoid(w_tree logit(p_tree) + w_cnn cnn_logit + bias), or the trees where they flag; "
          "other findings from the trees", "[cnn]") {
  const auto& trees = model::TreeModel::builtin();
  const nlohmann::json fusion = {{"tree", trees.name()}, {"w_tree", 0.7}, {"w_cnn", 0.4}, {"bias", 12.0}, {"threshold", 0.9}};
  const auto m = model::CnnModel::from_json_text(fixture_with({{"fusion", fusion}}), "fixture");
  const model::FusedScorer fused(trees, m);
  // flagged at the lower of the fusion's and the trees' thresholds
  CHECK(fused.lossy_threshold() == std::min(0.9, trees.lossy_threshold()));
  CHECK(model::FusedScorer(trees, m, 0.5).lossy_threshold() == 0.5);
  CHECK(fused.name() == trees.name() + "+" + m.name() + "+union");
  const FileFeatures f = features_with_patches(m.patch_params(0.0));
  const model::Decision dt = trees.decide(f);
  const model::Decision df = fused.decide(f);
  const auto s = m.score(f.patches);
  REQUIRE(dt.p_lossy);
  REQUIRE(df.p_lossy);
  REQUIRE(s.logit);
  const double p_fused = sigmoid(0.7 * logit(std::clamp(*dt.p_lossy, 1e-6, 1 - 1e-6)) + 0.4 * *s.logit + 12.0);
  REQUIRE(p_fused > *dt.p_lossy);  // the bias puts the fusion above the trees here
  CHECK(*df.p_lossy == Approx(p_fused).margin(1e-4));
  CHECK((std::find(df.flags.begin(), df.flags.end(), "lossy") != df.flags.end()) ==
        (*df.p_lossy >= fused.lossy_threshold()));
  REQUIRE(df.cnn);
  CHECK(df.cnn->patches == 8);
  const bool has_cnn_driver = std::any_of(df.drivers.begin(), df.drivers.end(),
                                          [](const model::Driver& d) { return d.feature == "cnn_logit"; });
  CHECK(has_cnn_driver);
  CHECK(df.original_rate_hz == dt.original_rate_hz);
  CHECK(df.original_bits == dt.original_bits);

  SECTION("a CNN that says lossless cannot take the file below the trees' own score") {
    nlohmann::json against = fusion;
    against["bias"] = -20.0;
    const auto m4 = model::CnnModel::from_json_text(fixture_with({{"fusion", against}}), "fixture");
    const model::Decision d4 = model::FusedScorer(trees, m4).decide(f);
    REQUIRE(d4.p_lossy);
    CHECK(sigmoid(0.7 * logit(std::clamp(*dt.p_lossy, 1e-6, 1 - 1e-6)) + 0.4 * *s.logit - 20.0) < *dt.p_lossy);
    CHECK(*d4.p_lossy == *dt.p_lossy);
    CHECK(d4.verdict == dt.verdict);
    // the trees' own explanation, unscaled and without the overruled CNN term
    REQUIRE(d4.drivers.size() == dt.drivers.size());
    for (std::size_t i = 0; i < dt.drivers.size(); ++i) {
      CHECK(d4.drivers[i].feature == dt.drivers[i].feature);
      CHECK(d4.drivers[i].effect == dt.drivers[i].effect);
    }
    REQUIRE(d4.cnn);  // the CNN's own score is still reported
    // Trees that do not flag the file on their own (threshold 1): the blend's score stands,
    // at the fusion's threshold (the lower one).
    const auto strict = trees.with_threshold(1.0);
    const model::FusedScorer f4(strict, m4);
    CHECK(f4.lossy_threshold() == 0.9);
    const model::Decision d5 = f4.decide(f);
    REQUIRE(d5.p_lossy);
    const double p_blend = sigmoid(0.7 * logit(std::clamp(*dt.p_lossy, 1e-6, 1 - 1e-6)) + 0.4 * *s.logit - 20.0);
    CHECK(*d5.p_lossy == Approx(p_blend).margin(1e-4));
    CHECK(d5.verdict != "lossy");
  }

  SECTION("the union: the blend flags at its own threshold a file the trees alone do not flag") {
    const auto strict = trees.with_threshold(1.0);
    REQUIRE(strict.decide(f).verdict != "lossy");
    REQUIRE(p_fused >= 0.9);
    const model::Decision du = model::FusedScorer(strict, m).decide(f);
    REQUIRE(du.p_lossy);
    CHECK(*du.p_lossy == Approx(p_fused).margin(1e-4));
    CHECK(du.verdict == "lossy");
  }
  SECTION("a fusion fitted with other trees is refused") {
    nlohmann::json other = fusion;
    other["tree"] = "tree-v0@00000000";
    const auto m2 = model::CnnModel::from_json_text(fixture_with({{"fusion", other}}), "fixture");
    CHECK_THROWS_AS(model::FusedScorer(trees, m2), std::invalid_argument);
  }
  SECTION("a model without fusion cannot be fused, but scores alone") {
    const auto m3 = model::CnnModel::from_json_text(fixture_with({{"threshold", 0.8}}), "fixture");
    CHECK_THROWS_AS(model::FusedScorer(trees, m3), std::invalid_argument);
    const model::CnnScorer alone(trees, m3);
    CHECK(alone.lossy_threshold() == 0.8);
    const auto d = alone.decide(f);
    REQUIRE(d.p_lossy);
    CHECK(*d.p_lossy == Approx(m3.calibrated(*s.logit)).margin(1e-4));
  }
  SECTION("malformed meta is refused with a reason") {
    CHECK_THROWS_WITH(model::CnnModel::from_json_text(fixture_with({{"threshold", 1.5}}), "fixture"),
                      Catch::Contains("threshold"));
    CHECK_THROWS_WITH(model::CnnModel::from_json_text(fixture_with({{"aggregate", "max"}}), "fixture"),
                      Catch::Contains("median"));
    CHECK_THROWS_WITH(
        model::CnnModel::from_json_text(fixture_with({{"calibration", {{"a", "x"}}}}), "fixture"),
        Catch::Contains("'a'"));
  }
}

TEST_CASE("segments: a firing segment stands out from the file's lower quartile, not its median", "[cnn]") {
  // numpy.percentile(v, 25) for the same values
  CHECK(model::segment_reference({}) == 0.0);
  CHECK(model::segment_reference({2.0}) == 2.0);
  CHECK(model::segment_reference({-3.5, 7.0, 7.0}) == Approx(1.75).margin(1e-12));
  CHECK(model::segment_reference({4.0, 1.0, 3.0, 2.0}) == Approx(1.75).margin(1e-12));
  CHECK(model::segment_reference({0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0}) == Approx(2.0).margin(1e-12));
  // A passage over two of a short file's three segments: its median is the passage itself,
  // the lower quartile is not.
  const std::vector<double> two_of_three = {-3.5, 7.0, 7.0};
  CHECK(7.0 - model::segment_reference(two_of_three) >= 2.0);
}

TEST_CASE("segments: each scored on its own patches; a lossy segment in a file that is not lossy is spliced", "[cnn]") {
  const auto& trees = model::TreeModel::builtin();
  auto make = [&](double file_threshold, double segment_threshold) {
    return model::CnnModel::from_json_text(
        fixture_with({{"threshold", file_threshold}, {"segment_threshold", segment_threshold}}), "fixture");
  };
  const auto low = make(1.0, 0.0001);  // nothing is lossy as a whole; any segment fires
  // Two patches a segment (the default is four, ~6 s at least): three segments of 12 s,
  // each with patches.
  auto params = low.patch_params(4.0);
  params.per_segment = 2;
  const FileFeatures f = features_with_patches(params);
  REQUIRE(f.segment_patches.segments.size() == 3);
  const model::CnnScorer s1(trees, low);
  const auto d1 = s1.decide(f);
  // The file's own score comes from its whole-file patches, as without segments: asking
  // for segments does not move the file's verdict.
  const FileFeatures plain = features_with_patches(low.patch_params(0.0));
  CHECK(plain.segment_patches.patches.empty());
  REQUIRE(f.patches.segments.empty());
  REQUIRE(f.patches.patches.size() == plain.patches.patches.size());
  const auto d0 = s1.decide(plain);
  REQUIRE(d1.cnn);
  REQUIRE(d0.cnn);
  CHECK(d1.cnn->logit == d0.cnn->logit);
  CHECK(d1.cnn->patches == d0.cnn->patches);
  CHECK(d0.segments.empty());
  REQUIRE(d1.segments.size() == 3);
  for (const auto& seg : d1.segments) {
    REQUIRE(seg.p_lossy);
    CHECK(seg.end_s > seg.start_s);
  }
  CHECK(d1.verdict == "lossy");
  CHECK(std::find(d1.flags.begin(), d1.flags.end(), "spliced") != d1.flags.end());
  CHECK_THAT(d1.reason, Catch::Contains("lossy passage") && Catch::Contains("-0:"));

  // A segment must also stand out from the rest of its file.
  const auto flat = model::CnnModel::from_json_text(
      fixture_with({{"threshold", 1.0}, {"segment_threshold", 0.0001}, {"segment_contrast", 100.0}}), "fixture");
  const auto d3 = model::CnnScorer(trees, flat).decide(f);
  CHECK(std::find(d3.flags.begin(), d3.flags.end(), "spliced") == d3.flags.end());

  const auto high = make(1.0, 1.0);
  const model::CnnScorer s2(trees, high);
  const auto d2 = s2.decide(f);
  CHECK(d2.segments.size() == 3);
  CHECK(std::find(d2.flags.begin(), d2.flags.end(), "spliced") == d2.flags.end());
  CHECK(d2.verdict != "lossy");
  // No segment fires: the decision is the one without segments, but for the segments.
  auto d2_plain = s2.decide(plain);
  CHECK(d2_plain.segments.empty());
  d2_plain.segments = d2.segments;
  report::Verdict va;
  va.path = "x.flac";
  va.decision = d2;
  report::Verdict vb = va;
  vb.decision = d2_plain;
  CHECK(report::to_json(va).dump() == report::to_json(vb).dump());

  // The verdict keeps segments and the CNN's evidence through the cache's JSON round trip.
  report::Verdict v;
  v.path = "x.flac";
  v.decision = d1;
  v.evidence["cnn"] = {{"p_lossy", d1.cnn->p_lossy}, {"logit", d1.cnn->logit}, {"patches", d1.cnn->patches}};
  const auto back = report::from_json(report::to_json(v));
  REQUIRE(back.decision.segments.size() == 3);
  CHECK(back.decision.segments[1].start_s == Approx(d1.segments[1].start_s).margin(1e-3));
  CHECK(*back.decision.segments[2].p_lossy == Approx(*d1.segments[2].p_lossy).margin(1e-4));
  REQUIRE(back.decision.cnn);
  CHECK(back.decision.cnn->patches == d1.cnn->patches);
}

TEST_CASE("the built-in CNN reproduces PyTorch on its stored patches, and its fusion fits the built-in trees", "[cnn]") {
  const auto* m = model::CnnModel::builtin();
  if (m == nullptr) {
    SUCCEED("this binary has no CNN model built in");
    return;
  }
  const auto checks = nlohmann::json::parse(read_text(std::string(FAKELESS_MODELS_DIR) + "/" + m->base_name() + ".checks.json"));
  const auto& inputs = checks.at("inputs");
  const auto& expect = checks.at("logits");
  REQUIRE(inputs.size() == expect.size());
  REQUIRE(!inputs.empty());
  std::vector<float> flat;
  for (const auto& x : inputs) {
    for (const auto& v : x) flat.push_back(v.get<float>());
  }
  const auto z = m->net().logits(flat, inputs.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double e = expect[i].get<double>();
    CHECK(std::abs(z[i] - e) <= 1e-4 * std::max(1.0, std::abs(e)));
  }
  REQUIRE(m->fusion());
  CHECK(m->fusion()->tree == model::TreeModel::builtin().name());
  CHECK(default_scorer().name() == model::FusedScorer(model::TreeModel::builtin(), *m).name());
}

TEST_CASE("segments scored as their patches close (the scan's path) equal segments scored at the end; only "
          "their logits are kept",
          "[cnn]") {
  const auto& trees = model::TreeModel::builtin();
  const auto cnn = model::CnnModel::from_json_text(fixture_with({{"threshold", 1.0}, {"segment_threshold", 0.0001}}),
                                                   "fixture");
  const model::CnnScorer scorer(trees, cnn);
  auto params = cnn.patch_params(4.0);
  params.per_segment = 3;  // batches of 3 through the sink, the last one short
  const FileFeatures at_end = features_with_patches(params);  // no sink: the values are kept

  auto src = noise_12s();
  dsp::FftCache ffts;
  AnalysisOptions options;
  options.patches = params;
  options.segment_s = 4.0;
  const AnalysisOptions with_sink = options_for(options, scorer);
  REQUIRE(with_sink.patch_logits);
  const FileFeatures streamed = extract_features(*src, ffts, with_sink);

  REQUIRE(streamed.segment_patches.patches.size() == at_end.segment_patches.patches.size());
  REQUIRE(streamed.segment_patches.patches.size() >= 6);
  for (std::size_t i = 0; i < streamed.segment_patches.patches.size(); ++i) {
    const auto& p = streamed.segment_patches.patches[i];
    const auto& q = at_end.segment_patches.patches[i];
    REQUIRE(p.logit);
    CHECK(p.values.capacity() == 0);  // freed, not just emptied
    CHECK_FALSE(q.logit);
    CHECK(p.first_frame == q.first_frame);
    CHECK(p.segment == q.segment);
  }
  const auto s_end = cnn.score(at_end.patches, at_end.segment_patches);
  const auto s_streamed = cnn.score(streamed.patches, streamed.segment_patches);
  REQUIRE(s_end.segments.size() == s_streamed.segments.size());
  for (std::size_t k = 0; k < s_end.segments.size(); ++k) {
    CHECK(s_streamed.segments[k].start_s == s_end.segments[k].start_s);
    CHECK(s_streamed.segments[k].end_s == s_end.segments[k].end_s);
    CHECK(s_streamed.segments[k].p_lossy == s_end.segments[k].p_lossy);  // to the bit
  }
  CHECK(s_streamed.logit == s_end.logit);
  // The logits a scorer without a CNN gives: none (the pipeline then keeps the values).
  CHECK(trees.patch_logits(at_end.segment_patches.patches).empty());
}
