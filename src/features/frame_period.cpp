#include "fakeless/features/frame_period.hpp"

#include "fakeless/dsp/fft.hpp"
#include "fakeless/dsp/median.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

namespace fakeless::features {

namespace {


// The series folded at b phases: the variance of its median profile (each period less its
// own mean; the median over periods, so that events once every few periods, a beat on a
// sample-exact tempo, do not count) times the number of periods.
double folded(const std::vector<double>& c, std::size_t b) {
  const std::size_t rows = c.size() / b;
  std::vector<double> centred(rows * b);
  for (std::size_t r = 0; r < rows; ++r) {
    const double* row = c.data() + r * b;
    const double mean = std::accumulate(row, row + b, 0.0) / static_cast<double>(b);
    for (std::size_t k = 0; k < b; ++k) centred[k * rows + r] = row[k] - mean;  // column-major
  }
  std::vector<double> prof(b);
  for (std::size_t k = 0; k < b; ++k) {
    prof[k] = dsp::median(std::vector<double>(centred.begin() + static_cast<std::ptrdiff_t>(k * rows),
                                            centred.begin() + static_cast<std::ptrdiff_t>((k + 1) * rows)));
  }
  const double m = std::accumulate(prof.begin(), prof.end(), 0.0) / static_cast<double>(b);
  double v = 0.0;
  for (const double p : prof) v += (p - m) * (p - m);
  return v / static_cast<double>(b) * static_cast<double>(rows);
}

// b / a is p / q in lowest terms with q <= 3.
bool simple_ratio(int b, int a) { return a / std::gcd(a, b) <= 3; }

}  // namespace

FramePeriodFeatures frame_period(const float* x0, const float* x1, std::size_t n, int rate_hz, dsp::FftCache& ffts) {
  FramePeriodFeatures out;
  if (rate_hz < 8000 || rate_hz % 50 != 0) return out;
  const int period = rate_hz / 50;
  int phases = 0;
  for (int d = 12; d < 40; ++d) {
    if (period % d == 0 && (phases == 0 || std::abs(d - 21) < std::abs(phases - 21))) phases = d;
  }
  if (phases == 0) return out;
  const int hop = period / phases;
  const int len = 512 * std::max(1, static_cast<int>(std::lround(rate_hz / 44100.0)));
  const int lag = std::max(1, static_cast<int>(std::lround((256.0 * len / 512.0) / hop)));
  const double bin_hz = static_cast<double>(rate_hz) / len;
  const double hi_hz = std::min(20000.0, 0.95 * rate_hz / 2.0);
  const int lo = static_cast<int>(std::ceil(12000.0 / bin_hz));
  int hi = static_cast<int>(std::ceil(hi_hz / bin_hz));  // bins [lo, hi): f < hi_hz
  hi = std::min(hi, len / 2 + 1);
  const int bins = hi - lo;
  if (bins < 8) return out;
  const auto L = static_cast<std::size_t>(len);
  if (n <= L) return out;
  const std::size_t frames = (n - L) / static_cast<std::size_t>(hop);
  const int longest = 2 * phases - 1;
  if (frames < static_cast<std::size_t>(lag) + 8 * static_cast<std::size_t>(longest)) return out;

  std::vector<float> window(L);
  for (std::size_t i = 0; i < L; ++i) {
    window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / (len - 1)));
  }
  // The mix at 16-bit scale (the floor below is 1e-2 of a squared 16-bit LSB). Log spectra in
  // float (single-precision logarithms: half the cost), sums in double.
  std::vector<float> mix(n);
  for (std::size_t i = 0; i < n; ++i) mix[i] = 32768.0F * (x1 != nullptr ? 0.5F * (x0[i] + x1[i]) : x0[i]);

  auto& fft = ffts.get(len);
  const auto B = static_cast<std::size_t>(bins);
  const auto lg = static_cast<std::size_t>(lag);
  // Ring of the last lag + 1 spectra (less their means) and their sums of squares.
  std::vector<float> ring((lg + 1) * B);
  std::vector<double> ring_ss(lg + 1);
  std::vector<double> series;
  series.reserve(frames - lg);
  for (std::size_t t = 0; t < frames; ++t) {
    const float* src = mix.data() + t * static_cast<std::size_t>(hop);
    float* in = fft.input();
    for (std::size_t i = 0; i < L; ++i) in[i] = src[i] * window[i];
    fft.execute();
    const auto* spec = fft.output() + lo;
    float* cur = ring.data() + (t % (lg + 1)) * B;
    double mean = 0.0;
    for (std::size_t k = 0; k < B; ++k) {
      const float re = spec[k].real(), im = spec[k].imag();
      cur[k] = std::log(re * re + im * im + 1e-2F);
      mean += cur[k];
    }
    const auto m = static_cast<float>(mean / static_cast<double>(B));
    double ss = 0.0;
    for (std::size_t k = 0; k < B; ++k) {
      cur[k] -= m;
      ss += static_cast<double>(cur[k]) * cur[k];
    }
    ring_ss[t % (lg + 1)] = ss;
    if (t >= lg) {
      const std::size_t back = (t - lg) % (lg + 1);
      const float* prev = ring.data() + back * B;
      double dot = 0.0;
      for (std::size_t k = 0; k < B; ++k) dot += static_cast<double>(prev[k]) * cur[k];
      series.push_back(dot / std::sqrt(ring_ss[back] * ss + 1e-12));
    }
  }

  const double s = folded(series, static_cast<std::size_t>(phases));
  std::vector<double> refs;
  for (int b = std::max(8, phases / 2); b < 2 * phases; ++b) {
    if (!simple_ratio(b, phases)) refs.push_back(folded(series, static_cast<std::size_t>(b)));
  }
  const dsp::RobustZ rz = dsp::robust_z(s, refs, 1e-9);
  out.period = period;
  out.z = rz.z;
  if (rz.median > 0.0) out.strength = s / rz.median;
  return out;
}

}  // namespace fakeless::features
