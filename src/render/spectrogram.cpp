#include "fakeless/render/spectrogram.hpp"
#include "fakeless/params.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "cairo_handles.hpp"

namespace fakeless::render {
namespace {

void require(bool ok, const char* name, double value) { require_param(ok, "spectrogram", name, value); }

// Control points of the colour map (t, sRGB). Chosen here so that luminance rises
// monotonically (black, indigo, purple, crimson, orange, yellow, white) and no point has
// green above red: cyan and green marks can never be mistaken for data.
struct Stop {
  double t;
  double r, g, b;
};
constexpr std::array<Stop, 8> kStops{{
    {0.00, 0, 0, 0},
    {0.13, 22, 8, 64},
    {0.30, 84, 14, 128},
    {0.47, 168, 26, 112},
    {0.63, 226, 70, 48},
    {0.78, 248, 146, 24},
    {0.91, 254, 218, 84},
    {1.00, 255, 255, 236},
}};

double srgb_to_linear(double c) {
  c /= 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

}  // namespace

Rgb colormap(double t) {
  if (!(t > 0)) t = 0;  // also NaN
  if (t > 1) t = 1;
  std::size_t i = 1;
  while (i + 1 < kStops.size() && t > kStops[i].t) ++i;
  const Stop& a = kStops[i - 1];
  const Stop& b = kStops[i];
  const double u = (t - a.t) / (b.t - a.t);
  auto mix = [u](double x, double y) { return static_cast<std::uint8_t>(std::lround(x + (y - x) * u)); };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

double luminance(Rgb c) {
  return 0.2126 * srgb_to_linear(c.r) + 0.7152 * srgb_to_linear(c.g) + 0.0722 * srgb_to_linear(c.b);
}

void SpectrogramParams::validate() const {
  require(width >= 320 && width <= 8192, "width", width);
  require(height >= 200 && height <= 4320, "height", height);
  require(range_db >= 20 && range_db <= 250, "range_db", range_db);
  require(hole_fraction >= 0.05 && hole_fraction <= 1, "hole_fraction", hole_fraction);
  holes_params.validate();
}

namespace {
double text_scale(int width, int height) {
  return std::clamp(std::min(width / 1200.0, height / 600.0), 0.8, 3.0);
}
}  // namespace

Layout layout_for(int width, int height) {
  const double s = text_scale(width, height);
  Layout l;
  l.width = width;
  l.height = height;
  const int header = static_cast<int>(std::lround(50 * s));
  const int left = static_cast<int>(std::lround(62 * s));
  const int bottom = static_cast<int>(std::lround(42 * s));
  const int gap = static_cast<int>(std::lround(14 * s));
  l.bar_w = static_cast<int>(std::lround(16 * s));
  const int bar_labels = static_cast<int>(std::lround(58 * s));
  l.plot_x = left;
  l.plot_y = header;
  l.plot_w = std::max(16, width - left - gap - l.bar_w - bar_labels);
  l.plot_h = std::max(16, height - header - bottom);
  l.bar_x = l.plot_x + l.plot_w + gap;
  return l;
}

double row_of_hz(const Layout& layout, double hz, double nyquist_hz) {
  const double from_bottom = std::floor(hz / nyquist_hz * layout.plot_h);
  const double r = std::clamp(from_bottom, 0.0, static_cast<double>(layout.plot_h - 1));
  return layout.plot_y + layout.plot_h - 1 - r;
}

// ---------------------------------------------------------------------------------------
// Accumulator

SpectrogramAccumulator::SpectrogramAccumulator(int rows, int max_columns, int sample_rate_hz,
                                               const dsp::StftParams& stft,
                                               std::optional<features::HoleMaskParams> holes)
    : rows_(rows), max_columns_(max_columns) {
  stft.validate();
  if (rows < 1) throw std::invalid_argument("spectrogram rows must be >= 1, got " + std::to_string(rows));
  if (max_columns < 2 || max_columns % 2 != 0) {
    throw std::invalid_argument("spectrogram max_columns must be even and >= 2, got " + std::to_string(max_columns));
  }
  if (sample_rate_hz <= 0) throw std::invalid_argument("sample rate must be > 0");
  const auto bins = static_cast<std::size_t>(stft.fft_size / 2 + 1);
  const double bin_hz = static_cast<double>(sample_rate_hz) / stft.fft_size;
  nyquist_hz_ = sample_rate_hz / 2.0;
  seconds_per_frame_ = static_cast<double>(stft.hop) / sample_rate_hz;
  row_lo_.resize(static_cast<std::size_t>(rows));
  row_hi_.resize(static_cast<std::size_t>(rows));
  const double last = static_cast<double>(bins - 1);
  for (int r = 0; r < rows; ++r) {
    // Bins whose centres k * bin_hz lie in [f0, f1); the last row also takes Nyquist.
    const double k0 = static_cast<double>(r) / rows * last;
    const double k1 = static_cast<double>(r + 1) / rows * last;
    auto lo = static_cast<std::size_t>(std::ceil(k0 - 1e-9));
    auto hi = r == rows - 1 ? bins : static_cast<std::size_t>(std::ceil(k1 - 1e-9));
    hi = std::min(hi, bins);
    if (hi <= lo) {  // rows finer than bins: the nearest bin
      lo = std::min(bins - 1, static_cast<std::size_t>(std::lround((k0 + k1) / 2)));
      hi = lo + 1;
    }
    row_lo_[static_cast<std::size_t>(r)] = static_cast<std::uint32_t>(lo);
    row_hi_[static_cast<std::size_t>(r)] = static_cast<std::uint32_t>(hi);
  }
  const auto cells = static_cast<std::size_t>(max_columns) * static_cast<std::size_t>(rows);
  power_.assign(cells, 0.0F);
  if (holes) {
    masker_.emplace(bins, bin_hz, *holes);
    holes_.assign(cells, 0.0F);
  }
}

void SpectrogramAccumulator::consume(const dsp::SpectrumFrame& frame) {
  if (in_column_ == per_column_) {
    ++column_;
    in_column_ = 0;
    if (column_ == max_columns_) merge_pairs();
  }
  const std::span<const float> p = frame.power;
  const std::size_t rows = row_lo_.size();
  float* dst = power_.data() + static_cast<std::size_t>(column_) * rows;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t lo = row_lo_[r];
    const std::size_t hi = std::min<std::size_t>(row_hi_[r], p.size());
    if (hi <= lo) continue;
    double sum = 0.0;
    for (std::size_t k = lo; k < hi; ++k) sum += p[k];
    dst[r] += static_cast<float>(sum / static_cast<double>(hi - lo));
  }
  if (masker_) {
    const auto mask = masker_->mask(frame);
    float* h = holes_.data() + static_cast<std::size_t>(column_) * rows;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t lo = row_lo_[r];
      const std::size_t hi = std::min<std::size_t>(row_hi_[r], mask.size());
      if (hi <= lo) continue;
      unsigned n = 0;
      for (std::size_t k = lo; k < hi; ++k) n += mask[k];
      h[r] += static_cast<float>(n) / static_cast<float>(hi - lo);
    }
  }
  ++in_column_;
  ++frames_;
}

void SpectrogramAccumulator::merge_pairs() {
  const auto rows = static_cast<std::size_t>(rows_);
  const auto half = static_cast<std::size_t>(max_columns_ / 2);
  auto merge = [&](std::vector<float>& v) {
    if (v.empty()) return;
    for (std::size_t c = 0; c < half; ++c) {
      const float* a = v.data() + 2 * c * rows;
      const float* b = a + rows;
      float* d = v.data() + c * rows;
      for (std::size_t r = 0; r < rows; ++r) d[r] = a[r] + b[r];
    }
    std::fill(v.begin() + static_cast<std::ptrdiff_t>(half * rows), v.end(), 0.0F);
  };
  merge(power_);
  merge(holes_);
  column_ = max_columns_ / 2;
  per_column_ *= 2;
}

int SpectrogramAccumulator::columns() const { return frames_ == 0 ? 0 : column_ + 1; }

std::int64_t SpectrogramAccumulator::frames_in_column(int column) const {
  if (column < 0 || column > column_ || frames_ == 0) return 0;
  return column < column_ ? per_column_ : in_column_;
}

double SpectrogramAccumulator::mean_power(int column, int row) const {
  const auto n = frames_in_column(column);
  if (n == 0) return 0.0;
  return power_[static_cast<std::size_t>(column) * static_cast<std::size_t>(rows_) + static_cast<std::size_t>(row)] /
         static_cast<double>(n);
}

double SpectrogramAccumulator::hole_share(int column, int row) const {
  const auto n = frames_in_column(column);
  if (n == 0 || holes_.empty()) return 0.0;
  return holes_[static_cast<std::size_t>(column) * static_cast<std::size_t>(rows_) + static_cast<std::size_t>(row)] /
         static_cast<double>(n);
}

}  // namespace fakeless::render
