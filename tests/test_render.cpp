#include <catch2/catch.hpp>
#include <cairo.h>
#include <sndfile.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "fakeless/cli/cli.hpp"
#include "fakeless/render/spectrogram.hpp"
#include "signals.hpp"
#include "tempdir.hpp"

using namespace fakeless;
using testsig::TempDir;

namespace {

struct SurfaceFree {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceFree>;

// Decodes a PNG file with cairo; fails the test when it is not one.
Surface decode_png(const std::string& path) {
  Surface s(cairo_image_surface_create_from_png(path.c_str()));
  REQUIRE(cairo_surface_status(s.get()) == CAIRO_STATUS_SUCCESS);
  return s;
}

render::Rgb pixel(cairo_surface_t* s, int x, int y) {
  const unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  std::uint32_t v = 0;
  std::memcpy(&v, data + static_cast<std::ptrdiff_t>(y) * stride + static_cast<std::ptrdiff_t>(x) * 4, 4);
  return {static_cast<std::uint8_t>((v >> 16) & 0xFF), static_cast<std::uint8_t>((v >> 8) & 0xFF),
          static_cast<std::uint8_t>(v & 0xFF)};
}

int count_colour_in_row(cairo_surface_t* s, const render::Layout& l, int y, render::Rgb c) {
  int n = 0;
  for (int x = l.plot_x; x < l.plot_x + l.plot_w; ++x) n += pixel(s, x, y) == c ? 1 : 0;
  return n;
}

// The plot row holding the most pixels of colour c, and that count.
std::pair<int, int> row_with_most(cairo_surface_t* s, const render::Layout& l, render::Rgb c) {
  std::pair<int, int> best{-1, 0};
  for (int y = l.plot_y; y < l.plot_y + l.plot_h; ++y) {
    const int n = count_colour_in_row(s, l, y, c);
    if (n > best.second) best = {y, n};
  }
  return best;
}

double mean_luminance(cairo_surface_t* s, const render::Layout& l, int y0, int y1) {
  double sum = 0;
  int n = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = l.plot_x; x < l.plot_x + l.plot_w; ++x) {
      sum += render::luminance(pixel(s, x, y));
      ++n;
    }
  }
  return sum / n;
}

struct CliResult {
  int status;
  std::string out, err;
};
CliResult run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  fakeless::cli::Environment env;
  const int s = fakeless::cli::run_cli(args, out, err, env);
  return {s, out.str(), err.str()};
}

void write_mono(const std::string& path, const std::vector<float>& x, int rate) {
  testsig::write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, rate, 1, testsig::quantise(x, 16));
}

}  // namespace

TEST_CASE("the colour map: luminance rises monotonically and never meets the mark colours", "[render]") {
  CHECK(render::colormap(0) == render::Rgb{0, 0, 0});
  CHECK(render::luminance(render::colormap(1)) > 0.9);
  // Strictly rising at every 1 % step...
  for (int i = 1; i <= 100; ++i) {
    CHECK(render::luminance(render::colormap(i / 100.0)) > render::luminance(render::colormap((i - 1) / 100.0)));
  }
  double prev = -1;
  for (int i = 0; i <= 2000; ++i) {
    const render::Rgb c = render::colormap(i / 2000.0);
    const double lum = render::luminance(c);
    CHECK(lum >= prev - 5e-4);  // ...and between them only 8-bit rounding wobbles
    prev = std::max(prev, lum);
    // The marks are far from every colour of the map.
    for (const auto mark : {render::kCutoffColour, render::kHoleColour}) {
      const int d = std::abs(c.r - mark.r) + std::abs(c.g - mark.g) + std::abs(c.b - mark.b);
      CHECK(d > 150);
    }
  }
  CHECK(render::luminance(render::colormap(0.5)) > render::luminance(render::colormap(0.25)) + 0.02);
}

TEST_CASE("the accumulator keeps at most max_columns columns and merges pairs", "[render]") {
  dsp::StftParams stft = dsp::StftParams::for_rate(44100);
  render::SpectrogramAccumulator acc(100, 8, 44100, stft);
  std::vector<float> p(1025, 0.0F);
  for (int f = 0; f < 1000; ++f) {
    std::fill(p.begin(), p.end(), static_cast<float>(f));
    dsp::SpectrumFrame frame;
    frame.index = f;
    frame.power = p;
    acc.consume(frame);
    REQUIRE(acc.columns() <= 8);
  }
  CHECK(acc.frames() == 1000);
  const auto k = acc.frames_per_column();
  CHECK(k == 128);  // 1, 2, 4, ... doubled until 8 columns hold 1000 frames
  std::int64_t total = 0;
  for (int c = 0; c < acc.columns(); ++c) {
    total += acc.frames_in_column(c);
    // Column c holds frames [c k, c k + n): their mean is the mean index.
    const auto n = acc.frames_in_column(c);
    const double expected = static_cast<double>(c * k) + (static_cast<double>(n) - 1) / 2;
    CHECK(acc.mean_power(c, 50) == Approx(expected).epsilon(1e-5));
  }
  CHECK(total == 1000);
}

TEST_CASE("the accumulator puts a bin's power on the row of its frequency", "[render]") {
  dsp::StftParams stft = dsp::StftParams::for_rate(44100);  // 2048, bin 21.5 Hz
  const int rows = 441;                                     // 50 Hz per row
  render::SpectrogramAccumulator acc(rows, 4, 44100, stft);
  std::vector<float> p(1025, 0.0F);
  const std::size_t k = 465;  // 10013 Hz -> row 200
  p[k] = 1.0F;
  dsp::SpectrumFrame frame;
  frame.power = p;
  acc.consume(frame);
  for (int r = 0; r < rows; ++r) {
    if (r == 200) {
      CHECK(acc.mean_power(0, r) > 0);
    } else {
      CHECK(acc.mean_power(0, r) == 0);
    }
  }
}

TEST_CASE("spectrogram PNG: requested size, cutoff line on the 16 kHz row, dark above it", "[render]") {
  TempDir dir;
  const auto x = testsig::brickwall(testsig::pink(44100 * 5, 0.3, 11), 44100, 16000);
  write_mono(dir / "lp16k.flac", x, 44100);
  const auto r = run({"spectrogram", dir / "lp16k.flac", "-o", dir / "s.png", "--width", "1200", "--height", "600"});
  INFO(r.err);
  REQUIRE(r.status == 1);  // flagged
  CHECK_THAT(r.out, Catch::Contains("\"verdict\":\"lossy\""));
  Surface png = decode_png(dir / "s.png");
  CHECK(cairo_image_surface_get_width(png.get()) == 1200);
  CHECK(cairo_image_surface_get_height(png.get()) == 600);

  const render::Layout l = render::layout_for(1200, 600);
  const auto [y, n] = row_with_most(png.get(), l, render::kCutoffColour);
  CHECK(n > l.plot_w * 9 / 10);  // a line across the plot
  const double expected = render::row_of_hz(l, 16000, 22050);
  CHECK(std::abs(y - expected) <= 2);
  // The content under the line is bright, the empty band above it dark.
  const double above = mean_luminance(png.get(), l, l.plot_y + 2, static_cast<int>(expected) - 20);
  const double below = mean_luminance(png.get(), l, static_cast<int>(expected) + 20, l.plot_y + l.plot_h - 2);
  CHECK(below > above + 0.1);
}

TEST_CASE("spectrogram of a full-band file has no cutoff line", "[render]") {
  TempDir dir;
  write_mono(dir / "pink.flac", testsig::pink(44100 * 3, 0.3, 12), 44100);
  const auto r = run({"spectrogram", dir / "pink.flac", "-o", dir / "s.png", "--width", "800", "--height", "400"});
  REQUIRE(r.status == 0);
  Surface png = decode_png(dir / "s.png");
  const render::Layout l = render::layout_for(800, 400);
  CHECK(row_with_most(png.get(), l, render::kCutoffColour).second < l.plot_w / 10);
}

TEST_CASE("the holes option marks a notch cut into the noise for one second, and only there", "[render]") {
  // White noise, band-limited to 16 kHz; from 2 s to 3 s the 8.2-8.8 kHz band is removed
  // (the band-pass is delayed by the filters' 511 samples: the noise is delayed to match).
  const int rate = 44100;
  const auto w = testsig::brickwall(testsig::white(rate * 5, 0.2, 13), rate, 16000);
  const auto hi = testsig::brickwall(w, rate, 8800);
  const auto lo = testsig::brickwall(w, rate, 8200);
  const std::size_t delay = 511;
  std::vector<float> x(w.size(), 0.0F);
  for (std::size_t i = delay; i < w.size(); ++i) x[i] = w[i - delay];
  for (auto i = static_cast<std::size_t>(2 * rate); i < static_cast<std::size_t>(3 * rate); ++i) x[i] -= hi[i] - lo[i];
  TempDir dir;
  write_mono(dir / "notch.flac", x, rate);
  REQUIRE(run({"spectrogram", dir / "notch.flac", "-o", dir / "h.png", "--width", "1000", "--height", "500",
               "--holes"}).status == 1);
  REQUIRE(run({"spectrogram", dir / "notch.flac", "-o", dir / "n.png", "--width", "1000", "--height", "500"})
              .status == 1);
  Surface with = decode_png(dir / "h.png");
  Surface without = decode_png(dir / "n.png");
  const render::Layout l = render::layout_for(1000, 500);
  const int y = static_cast<int>(render::row_of_hz(l, 8500, rate / 2.0));
  // Time 2.5 s of the analysed span (5 s minus the partial last frame).
  const double span = std::floor(rate * 5.0 / 2048) * 2048 / rate;
  const int x_in = l.plot_x + static_cast<int>(2.5 / span * l.plot_w);
  const int x_out = l.plot_x + static_cast<int>(1.0 / span * l.plot_w);
  CHECK(pixel(with.get(), x_in, y) == render::kHoleColour);
  CHECK_FALSE(pixel(with.get(), x_out, y) == render::kHoleColour);
  CHECK_FALSE(pixel(without.get(), x_in, y) == render::kHoleColour);
  // Hole pixels: inside the notch's time and band, hardly anywhere else.
  int inside = 0, outside = 0;
  const int x0 = l.plot_x + static_cast<int>(2.0 / span * l.plot_w);
  const int x1 = l.plot_x + static_cast<int>(3.0 / span * l.plot_w);
  const double y_top = render::row_of_hz(l, 8800, rate / 2.0);
  const double y_bot = render::row_of_hz(l, 8200, rate / 2.0);
  for (int yy = l.plot_y; yy < l.plot_y + l.plot_h; ++yy) {
    for (int xx = l.plot_x; xx < l.plot_x + l.plot_w; ++xx) {
      if (!(pixel(with.get(), xx, yy) == render::kHoleColour)) continue;
      // One frame (~8 px here) of slack in time, 200 Hz (~4 rows) in frequency.
      const bool in = xx >= x0 - 10 && xx <= x1 + 10 && yy >= y_top - 4 && yy <= y_bot + 4;
      (in ? inside : outside) += 1;
    }
  }
  CHECK(inside > (x1 - x0) * 4);
  CHECK(outside < inside / 10);  // the odd single-frame notch of the noise itself
}

TEST_CASE("spectrograms of a single sample, silence, 4 kHz and 768 kHz files are valid images", "[render]") {
  struct Case {
    const char* name;
    int rate;
    std::vector<float> x;
  };
  const std::vector<Case> cases = {
      {"one.flac", 44100, {0.5F}},
      {"silence.flac", 44100, std::vector<float>(44100 * 2, 0.0F)},
      {"r4k.flac", 4000, testsig::pink(4000 * 3, 0.3, 14)},
      {"r768k.wav", 768000, testsig::brickwall(testsig::pink(768000 / 2, 0.3, 15), 768000, 20000, 255)},
  };
  TempDir dir;
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string path = dir / c.name;
    const bool wav = std::string(c.name).ends_with(".wav");
    testsig::write_audio(path, (wav ? SF_FORMAT_WAV : SF_FORMAT_FLAC) | SF_FORMAT_PCM_16, c.rate, 1,
                         testsig::quantise(c.x, 16));
    const auto r = run({"spectrogram", path, "-o", dir / "out.png", "--width", "640", "--height", "360"});
    INFO(r.err);
    CHECK((r.status == 0 || r.status == 1));
    Surface png = decode_png(dir / "out.png");
    CHECK(cairo_image_surface_get_width(png.get()) == 640);
    CHECK(cairo_image_surface_get_height(png.get()) == 360);
    std::filesystem::remove(dir / "out.png");
  }
}

TEST_CASE("spectrogram usage errors and bad files", "[render][cli]") {
  TempDir dir;
  write_mono(dir / "a.flac", testsig::pink(44100, 0.3, 16), 44100);
  const auto small = run({"spectrogram", dir / "a.flac", "-o", dir / "x.png", "--width", "100"});
  CHECK(small.status == 2);
  CHECK_THAT(small.err, Catch::Contains("width"));
  CHECK_FALSE(std::filesystem::exists(dir / "x.png"));
  testsig::write_text(dir / "text.flac", "not audio");
  const auto bad = run({"spectrogram", dir / "text.flac", "-o", dir / "x.png"});
  CHECK(bad.status == 4);
  CHECK_THAT(bad.out, Catch::Contains("\"status\":\"error\""));
  CHECK_FALSE(std::filesystem::exists(dir / "x.png"));
  const auto unwritable = run({"spectrogram", dir / "a.flac", "-o", dir / "no/such/dir/x.png"});
  CHECK(unwritable.status == 2);
}

TEST_CASE("image file names: stable, distinct for distinct paths, safe", "[render]") {
  const auto a = render::image_file_name("/music/A/01.flac");
  CHECK(a == render::image_file_name("/music/A/01.flac"));
  CHECK(a == render::image_file_name("/music/A/./01.flac"));
  CHECK(a != render::image_file_name("/music/B/01.flac"));
  CHECK_THAT(a, Catch::StartsWith("01.flac."));
  CHECK_THAT(a, Catch::EndsWith(".png"));
  const auto odd = render::image_file_name("/x/..\n<&>\xff.flac");
  CHECK(odd.find_first_of("/\n<&>\xff") == std::string::npos);
  CHECK(odd.front() != '.');
}
