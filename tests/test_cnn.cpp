// The CNN inference against PyTorch: the fixture network of scripts/make-cnn-fixture
// (default architecture, random weights, BatchNorm folded at export) must give PyTorch's
// logits to 1e-4; hand-made networks pin the convolution, pooling and flatten index order
// independently of PyTorch; malformed models are refused with a reason.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fakeless/model/cnn.hpp"
#include "tempdir.hpp"

using fakeless::model::CnnNet;

namespace {

using testsig::read_text;

std::string fixture_path(const char* name) { return std::string(FAKELESS_TEST_DATA_DIR) + "/" + name; }

const std::string& fixture_text() {
  static const std::string text = read_text(fixture_path("cnn-fixture.json"));
  return text;
}

// The input descriptions of scripts/make-cnn-fixture, generated the same way (double
// arithmetic in the same order, then float32).
std::vector<float> generate(const nlohmann::json& d, std::size_t frames, std::size_t bands) {
  std::vector<float> x(frames * bands, 0.0F);
  const std::string kind = d.at("kind");
  if (kind == "constant") {
    std::fill(x.begin(), x.end(), static_cast<float>(d.at("value").get<double>()));
  } else if (kind == "uniform") {
    std::uint64_t state = d.at("seed").get<std::uint64_t>();
    const double lo = d.at("low"), hi = d.at("high");
    for (auto& v : x) {
      state += 0x9E3779B97F4A7C15ULL;  // splitmix64
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      z ^= z >> 31;
      v = static_cast<float>(lo + (hi - lo) * static_cast<double>(z >> 43) / 2097152.0);
    }
  } else if (kind == "ramp") {
    const double start = d.at("start"), dt = d.at("step_t"), df = d.at("step_f");
    for (std::size_t t = 0; t < frames; ++t) {
      for (std::size_t f = 0; f < bands; ++f) {
        x[t * bands + f] = static_cast<float>(start + dt * static_cast<double>(t) + df * static_cast<double>(f));
      }
    }
  } else {
    FAIL("unknown input kind " << kind);
  }
  if (d.contains("zero_from_band")) {
    const auto from = d["zero_from_band"].get<std::size_t>();
    for (std::size_t t = 0; t < frames; ++t) std::fill(x.begin() + t * bands + from, x.begin() + (t + 1) * bands, 0.0F);
  }
  return x;
}

bool close(double got, double want, double tol) { return std::abs(got - want) <= tol * std::max(1.0, std::abs(want)); }

// Hand-made layers.
nlohmann::json conv(int in, int out, int k, int pad, std::vector<float> weight, std::vector<float> bias) {
  return {{"type", "conv2d"}, {"in", in}, {"out", out}, {"kernel", k}, {"pad", pad}, {"weight", weight}, {"bias", bias}};
}
nlohmann::json linear(std::size_t in, std::size_t out, std::vector<float> weight, std::vector<float> bias) {
  return {{"type", "linear"}, {"in", in}, {"out", out}, {"weight", weight}, {"bias", bias}};
}
nlohmann::json simple(const char* type) { return {{"type", type}}; }
nlohmann::json pool(int size) { return {{"type", "maxpool2d"}, {"size", size}}; }

CnnNet net_of(const nlohmann::json& layers) {
  const nlohmann::json j = {{"format", "fakeless-cnn"}, {"version", 1}, {"input", {{"frames", 32}, {"bands", 256}}},
                            {"layers", layers}};
  return CnnNet::parse(j.dump(), "hand-made");
}

// A 32 x 256 patch whose every value tells where it came from: x[t][f] = 1000 t + f.
std::vector<float> position_patch() {
  std::vector<float> x(32 * 256);
  for (std::size_t t = 0; t < 32; ++t) {
    for (std::size_t f = 0; f < 256; ++f) x[t * 256 + f] = static_cast<float>(1000 * t + f);
  }
  return x;
}

// A one-hot row of n picking index i.
std::vector<float> one_hot(std::size_t n, std::size_t i) {
  std::vector<float> w(n, 0.0F);
  w[i] = 1.0F;
  return w;
}

}  // namespace

TEST_CASE("the CNN reproduces PyTorch's logits on the fixture network", "[cnn]") {
  const CnnNet net = CnnNet::parse(fixture_text(), "cnn-fixture.json");
  REQUIRE(net.frames() == 32);
  REQUIRE(net.bands() == 256);
  CHECK(net.parameter_count() == 47969);  // (8*9+8) + (16*72+16) + (32*144+32) + (32*288+32) + (32*1024+32) + 33
  const auto checks = nlohmann::json::parse(read_text(fixture_path("cnn-fixture.checks.json")));
  REQUIRE(checks.size() >= 6);
  std::vector<float> all;
  std::vector<double> want;
  for (const auto& c : checks) {
    const auto x = generate(c["input"], net.frames(), net.bands());
    double sum = 0.0;
    for (const float v : x) sum += v;
    INFO("input " << c["input"].dump());
    REQUIRE(sum == Approx(c["sum"].get<double>()).epsilon(1e-12));  // the same patch as PyTorch's
    const auto y = net.logits(x, 1);
    REQUIRE(y.size() == 1);
    const double expect = c["logit"];
    INFO("C++ " << y[0] << ", PyTorch " << expect);
    CHECK(close(y[0], expect, 1e-4));
    all.insert(all.end(), x.begin(), x.end());
    want.push_back(y[0]);
  }

  SECTION("batches give the results of one patch at a time") {
    // three rounds of every input: batches of CnnNet::kBatch and a partial one
    std::vector<float> many;
    for (int r = 0; r < 3; ++r) many.insert(many.end(), all.begin(), all.end());
    const std::size_t n = 3 * want.size();
    REQUIRE(n > CnnNet::kBatch);
    const auto y = net.logits(many, n);
    REQUIRE(y.size() == n);
    for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == want[i % want.size()]);  // to the bit
    CnnNet::Workspace ws;
    const auto y2 = net.logits(many, n, ws);
    CHECK(y2 == y);
    CHECK(ws.bytes() > 0);
    CHECK(net.logits(std::span<const float>(), 0).empty());
    CHECK_THROWS_AS(net.logits(std::span<const float>(many.data(), many.size() - 1), n), std::invalid_argument);
  }

  SECTION("threads scoring at once get the same numbers") {
    std::vector<std::vector<float>> got(4);
    std::vector<std::thread> threads;
    for (auto& g : got) {
      threads.emplace_back([&net, &all, &g, n = want.size()] {
        for (int r = 0; r < 3; ++r) g = net.logits(all, n);
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& g : got) {
      REQUIRE(g.size() == want.size());
      for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == want[i]);
    }
  }
}

TEST_CASE("the CNN keeps the model's other keys as raw JSON", "[cnn]") {
  auto j = nlohmann::json::parse(fixture_text());
  j["fusion"] = {{"weights", {0.25, 0.75}}, {"kind", "logistic"}};
  j["input"]["hop"] = 512;
  const CnnNet net = CnnNet::parse(j.dump());
  const auto& m = net.meta();
  CHECK(m["name"] == "cnn-fixture");
  CHECK(m["threshold"] == 0.5);
  CHECK(m["calibration"]["kind"] == "platt");
  CHECK(m["fusion"]["weights"][1] == 0.75);
  CHECK(m["input"]["frames"] == 32);
  CHECK(m["input"]["hop"] == 512);
  CHECK(!m.contains("layers"));
  CHECK(!m.contains("format"));
  CHECK(!m.contains("version"));
  CHECK(net.digest().size() == 8);
  CHECK(net.digest() != CnnNet::parse(fixture_text()).digest());
}

TEST_CASE("hand-made networks pin the convolution, pooling and flatten order", "[cnn]") {
  const auto x = position_patch();  // x[t][f] = 1000 t + f

  SECTION("one convolution, pooling, one-hot readout") {
    // conv 1 -> 2, 3x3, pad 1, cross-correlation as torch: out[c][t][f] = sum w[c][0][i][j] x[t+i-1][f+j-1]
    //   channel 0: only w[0][0][0][2] = 1  -> x[t-1][f+1]
    //   channel 1: only w[1][0][2][0] = 1  -> x[t+1][f-1] + 0.5 (bias)
    // relu, maxpool 2 -> 2 x 16 x 128, flatten (channel, time, band) -> 4096, then a linear
    // layer reading one element (+ 0.25).
    std::vector<float> w(2 * 9, 0.0F);
    w[0 * 9 + 0 * 3 + 2] = 1.0F;
    w[1 * 9 + 2 * 3 + 0] = 1.0F;
    auto logit = [&](std::size_t c, std::size_t t, std::size_t f) {
      const CnnNet net = net_of({conv(1, 2, 3, 1, w, {0.0F, 0.5F}), simple("relu"), pool(2), simple("flatten"),
                                 linear(4096, 1, one_hot(4096, c * 16 * 128 + t * 128 + f), {0.25F})});
      return net.logits(x, 1)[0];
    };
    // channel 0, pooled (5, 7): max over t in {10, 11}, f in {14, 15} of x[t-1][f+1] = x[10][16]
    CHECK(logit(0, 5, 7) == Approx(10016.25));
    // pooled (0, 0): t = 0 reads the zero padding; t = 1: x[0][1], x[0][2] -> 2
    CHECK(logit(0, 0, 0) == Approx(2.25));
    // pooled (3, 127): f = 255 reads padding (0); f = 254 at t = 7: x[6][255]
    CHECK(logit(0, 3, 127) == Approx(6255.25));
    // channel 1, pooled (0, 127): t = 1, f = 255: x[2][254] + 0.5
    CHECK(logit(1, 0, 127) == Approx(2254.75));
    // pooled (15, 0): t = 31 reads padding (0.5 from the bias); t = 30, f = 1: x[31][0] + 0.5
    CHECK(logit(1, 15, 0) == Approx(31000.75));
    // pooled (15, 64): t = 30, f = 129: x[31][128] + 0.5
    CHECK(logit(1, 15, 64) == Approx(31128.75));
  }

  SECTION("two convolutions (OIHW with several input channels), linear layers row-major") {
    // conv 1 -> 2, 1x1: channel 0 = x, channel 1 = 40000 - x
    // conv 2 -> 2, 3x3, pad 1, weight[o][i][ky][kx]:
    //   o = 0: only w[0][1][1][2] = 1   -> ch1[t][f+1]
    //   o = 1: only w[1][0][0][1] = 2   -> 2 ch0[t-1][f] - 100 (bias)
    // flatten -> 2 x 32 x 256 = 16384; linear 16384 -> 3, relu, linear 3 -> 1.
    std::vector<float> w2(2 * 2 * 9, 0.0F);
    w2[((0 * 2 + 1) * 3 + 1) * 3 + 2] = 1.0F;
    w2[((1 * 2 + 0) * 3 + 0) * 3 + 1] = 2.0F;
    auto at = [](std::size_t c, std::size_t t, std::size_t f) { return c * 32 * 256 + t * 256 + f; };
    auto logit = [&](std::size_t a, std::size_t b) {
      std::vector<float> rows = one_hot(16384, a);  // row 0: element a, + 1
      const auto r1 = one_hot(16384, b);            // row 1: element b, + 2
      const auto r2 = one_hot(16384, b);            // row 2: element b, - 10000 (relu -> 0)
      rows.insert(rows.end(), r1.begin(), r1.end());
      rows.insert(rows.end(), r2.begin(), r2.end());
      const CnnNet net = net_of({conv(1, 2, 1, 0, {1.0F, -1.0F}, {0.0F, 40000.0F}),
                                 conv(2, 2, 3, 1, w2, {0.0F, -100.0F}), simple("flatten"),
                                 linear(16384, 3, rows, {1.0F, 2.0F, -10000.0F}), simple("relu"),
                                 linear(3, 1, {1.0F, -0.5F, 1000.0F}, {0.0F})});
      return net.logits(x, 1)[0];
    };
    // ch0 of conv 2 at (3, 10) = 40000 - x[3][11] = 36989, +1 -> 36990; ch1 at (4, 20) =
    // 2 x[3][20] - 100 = 5940, +2 -> 5942; 36990 - 0.5 * 5942 = 34019
    CHECK(logit(at(0, 3, 10), at(1, 4, 20)) == Approx(34019.0));
    // ch0 at (3, 255) reads the padding: 0, +1 -> 1; ch1 at (0, 5) reads the padding: -100, +2
    // -> -98, clipped by the relu -> 0
    CHECK(logit(at(0, 3, 255), at(1, 0, 5)) == Approx(1.0));
  }

  SECTION("pooling with a remainder, and layers on the input itself") {
    // relu on the input (a copy: the caller's patches are read-only), maxpool 3 -> 10 x 85
    // (the last 2 frames and the last band dropped), flatten -> 850
    auto logit = [&](std::size_t t, std::size_t f) {
      const CnnNet net =
          net_of({simple("relu"), pool(3), simple("flatten"), linear(850, 1, one_hot(850, t * 85 + f), {0.0F})});
      return net.logits(x, 1)[0];
    };
    CHECK(logit(9, 84) == Approx(29254.0));  // frames 27..29, bands 252..254
    CHECK(logit(0, 0) == Approx(2002.0));
    auto y = x;
    y[0] = -5.0F;  // the relu clips it, and the caller's patch is untouched
    const CnnNet net = net_of({simple("relu"), pool(3), simple("flatten"), linear(850, 1, one_hot(850, 0), {0.0F})});
    CHECK(net.logits(y, 1)[0] == Approx(2002.0));
    CHECK(y[0] == -5.0F);
  }
}

TEST_CASE("malformed CNN models are refused with a reason", "[cnn]") {
  const auto fixture = nlohmann::json::parse(fixture_text());
  auto refuses = [](const std::string& text, const std::string& needle) {
    try {
      (void)CnnNet::parse(text, "m.json");
      FAIL("accepted a model that should be refused for: " << needle);
    } catch (const std::runtime_error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).rfind("m.json: ", 0) == 0);
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  auto edited = [&](auto&& edit) {
    nlohmann::json j = fixture;
    edit(j);
    return j.dump();
  };
  // layers of the fixture: 0 conv, 1 relu, 2 maxpool, 3 conv, ... 9 conv, 10 relu, 11 maxpool,
  // 12 flatten, 13 linear, 14 relu, 15 linear
  REQUIRE(fixture["layers"].size() == 16);
  REQUIRE(fixture["layers"][12]["type"] == "flatten");

  refuses("{", "not JSON");
  refuses(fixture_text().substr(0, fixture_text().size() / 2), "not JSON");
  refuses("[1, 2]", "not a fakeless-cnn model");
  refuses(edited([](auto& j) { j["format"] = "fakeless-trees"; }), "not a fakeless-cnn model");
  refuses(edited([](auto& j) { j["version"] = 2; }), "unsupported format version 2");
  refuses(edited([](auto& j) { j.erase("input"); }), "missing object 'input'");
  refuses(edited([](auto& j) { j["input"]["frames"] = 0; }), "'frames' is 0");
  refuses(edited([](auto& j) { j["input"]["bands"] = "256"; }), "'bands' is not an integer");
  // 31 frames halve to 15, 7, 3, 1: the first linear layer gets 512 values, not 1024
  refuses(edited([](auto& j) { j["input"]["frames"] = 31; }), "layer 13 (linear): 'in' is 1024, but its input is a flat vector of 512");
  refuses(edited([](auto& j) { j.erase("layers"); }), "missing array 'layers'");
  refuses(edited([](auto& j) { j["layers"] = nlohmann::json::array(); }), "no layers");
  refuses(edited([](auto& j) { j["layers"][0]["weight"].erase(0); }),
          "layer 0 (conv2d): 'weight' holds 71 numbers, out*in*kernel*kernel = 72");
  refuses(edited([](auto& j) { j["layers"][13]["bias"].push_back(0.5); }), "layer 13 (linear): 'bias' holds 33 numbers");
  refuses(edited([](auto& j) { j["layers"][3]["in"] = 4; }), "layer 3 (conv2d): 'in' is 4, but its input is 8x16x128");
  refuses(edited([](auto& j) { j["layers"][0]["kernel"] = 2.5; }), "'kernel' is not an integer");
  refuses(edited([](auto& j) { j["layers"][1]["type"] = "softmax"; }), "layer 1: unknown layer type 'softmax'");
  refuses(edited([](auto& j) { j["layers"][0]["stride"] = 2; }), "layer 0 (conv2d): unknown key 'stride'");
  refuses(edited([](auto& j) { j["layers"][1]["weight"] = {1.0}; }), "layer 1 (relu): unknown key 'weight'");
  refuses(edited([](auto& j) { j["layers"][0]["weight"][5] = 1e39; }), "layer 0: 'weight' holds a number that is not finite");
  refuses(edited([](auto& j) { j["layers"][0]["bias"][1] = "0.5"; }), "layer 0: 'bias' holds something that is not a number");
  refuses(edited([](auto& j) { j["layers"][0].erase("bias"); }), "layer 0 (conv2d): missing 'bias'");
  refuses(edited([](auto& j) { j["layers"].erase(12); }), "layer 12 (linear): its input is 32x2x16");
  refuses(edited([](auto& j) { j["layers"][11]["size"] = 8; }), "layer 11 (maxpool2d): a 8x8 window does not fit its input 32x4x32");
  refuses(edited([](auto& j) {  // the last layer gives 2 numbers
            auto& last = j["layers"][15];
            last["out"] = 2;
            for (int i = 0; i < 32; ++i) last["weight"].push_back(0.0);
            last["bias"].push_back(0.0);
          }),
          "the network's output is a flat vector of 2; it must be one number");
  refuses(edited([](auto& j) { j["layers"].erase(15); }), "the network's output is a flat vector of 32");
  // NaN is not JSON; it must not slip in as one either
  std::string text = fixture.dump();
  const auto at = text.find("\"weight\":[") + 10;
  refuses(text.substr(0, at) + "NaN," + text.substr(at), "not JSON");
  CHECK_THROWS_AS(CnnNet::from_file("/nonexistent/cnn.json"), std::runtime_error);
}

// Hidden (not among the tests ctest runs); prints timings: build/tests/fakeless_tests "[.bench]"
TEST_CASE("CNN parse and inference time", "[.bench]") {
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const std::string& text = fixture_text();
  std::vector<double> parse_ms;
  for (int r = 0; r < 20; ++r) {
    const auto t0 = clock::now();
    const CnnNet n = CnnNet::parse(text);
    parse_ms.push_back(ms(clock::now() - t0));
    REQUIRE(n.frames() == 32);
  }
  const CnnNet net = CnnNet::parse(text);
  const std::size_t count = 12;
  std::vector<float> x(count * net.frames() * net.bands());
  std::uint32_t s = 1;
  for (auto& v : x) {
    s = s * 1664525U + 1013904223U;
    v = static_cast<float>(s >> 8) * (6.0F / 16777216.0F);
  }
  std::vector<double> infer_ms;
  const auto t_first = clock::now();
  (void)net.logits(x, count);
  const double first = ms(clock::now() - t_first);
  for (int r = 0; r < 30; ++r) {
    const auto t0 = clock::now();
    const auto y = net.logits(x, count);
    infer_ms.push_back(ms(clock::now() - t0));
    REQUIRE(y.size() == count);
  }
  std::sort(parse_ms.begin(), parse_ms.end());
  std::sort(infer_ms.begin(), infer_ms.end());
  std::printf("cnn: parse %.0f KB, %zu parameters: median %.2f ms (min %.2f)\n", static_cast<double>(text.size()) / 1024.0,
              net.parameter_count(), parse_ms[parse_ms.size() / 2], parse_ms.front());
  std::printf("cnn: %zu patches of %zux%zu: median %.2f ms (min %.2f; first call, allocating: %.2f)\n", count,
              net.frames(), net.bands(), infer_ms[infer_ms.size() / 2], infer_ms.front(), first);
}
