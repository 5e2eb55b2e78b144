#pragma once
// Test signals, made in the test: noise, filters, quantisation, in-memory sources.
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <numbers>
#include <random>
#include <vector>

#include "fakeless/analysis.hpp"
#include "fakeless/io/audio_source.hpp"
#include "fakeless/model/rule_model.hpp"
#include "fakeless/pipeline.hpp"

namespace testsig {

inline std::vector<float> white(std::size_t n, double amplitude = 0.3, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(amplitude * g(rng));
  return x;
}

// Paul Kellet's economy pink filter over white noise (-3 dB/octave within ~0.5 dB).
inline std::vector<float> pink(std::size_t n, double amplitude = 0.3, unsigned seed = 2) {
  auto w = white(n, 1.0, seed);
  double b0 = 0, b1 = 0, b2 = 0;
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    b0 = 0.99765 * b0 + w[i] * 0.0990460;
    b1 = 0.96300 * b1 + w[i] * 0.2965164;
    b2 = 0.57000 * b2 + w[i] * 1.0526913;
    x[i] = static_cast<float>(amplitude * 0.25 * (b0 + b1 + b2 + w[i] * 0.1848));
  }
  return x;
}

// Steep linear-phase low-pass: windowed sinc (Blackman), `taps` odd. At 44.1 kHz 1023
// taps give a transition band of ~250 Hz and > 70 dB stop-band: a codec-like wall.
inline std::vector<float> brickwall(const std::vector<float>& x, double rate, double cutoff_hz, int taps = 1023) {
  std::vector<double> h(static_cast<std::size_t>(taps));
  const double fc = cutoff_hz / rate;
  const int m = taps / 2;
  double sum = 0;
  for (int i = 0; i < taps; ++i) {
    const int k = i - m;
    const double sinc = k == 0 ? 2 * fc : std::sin(2 * std::numbers::pi * fc * k) / (std::numbers::pi * k);
    const double w = 0.42 - 0.5 * std::cos(2 * std::numbers::pi * i / (taps - 1)) +
                     0.08 * std::cos(4 * std::numbers::pi * i / (taps - 1));
    h[static_cast<std::size_t>(i)] = sinc * w;
    sum += sinc * w;
  }
  for (auto& v : h) v /= sum;
  std::vector<float> y(x.size(), 0.0F);
  for (std::size_t n = 0; n < x.size(); ++n) {
    double acc = 0;
    const std::size_t lo = n >= static_cast<std::size_t>(taps - 1) ? n - static_cast<std::size_t>(taps - 1) : 0;
    for (std::size_t j = lo; j <= n; ++j) acc += h[n - j] * x[j];
    y[n] = static_cast<float>(acc);
  }
  return y;
}

// A gentle analog-style roll-off: `order` cascaded one-pole low-passes (6 dB/octave each).
inline std::vector<float> gentle(std::vector<float> x, double rate, double corner_hz, int order = 1) {
  const double a = std::exp(-2 * std::numbers::pi * corner_hz / rate);
  for (int o = 0; o < order; ++o) {
    double s = 0;
    for (auto& v : x) {
      s = (1 - a) * v + a * s;
      v = static_cast<float>(s);
    }
  }
  return x;
}

inline std::vector<float> scale(std::vector<float> x, double gain) {
  for (auto& v : x) v = static_cast<float>(v * gain);
  return x;
}

// Rounds to `bits`-deep integers, left-justified in 32 bits (what libsndfile delivers).
inline std::vector<std::int32_t> quantise(const std::vector<float>& x, int bits) {
  const double full = std::ldexp(1.0, bits - 1);
  std::vector<std::int32_t> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double q = std::clamp(std::round(static_cast<double>(x[i]) * full), -full, full - 1);
    out[i] = static_cast<std::int32_t>(q) * (1 << (32 - bits));
  }
  return out;
}

inline fakeless::io::AudioFormat pcm_format(int rate, int channels, int bits) {
  fakeless::io::AudioFormat f;
  f.container = "memory";
  f.encoding = "pcm_s" + std::to_string(bits);
  f.sample_rate = rate;
  f.channels = channels;
  f.bits = bits;
  return f;
}

// Builds a signal in the STFT domain: `frames` consecutive segments of n samples, segment t
// being sum_k amp(t, k) cos(2 pi k i / n + phi) over bins k in [1, n/2) with random phases.
// With the analysis's non-overlapping periodic-Hann frames (hop = n, aligned on sample 0)
// each bin-centred cosine leaks into bins k-1..k+1 only, so a bin range set to zero is
// zero in the analysed spectrum too, except for one bin at each of its edges.
inline std::vector<float> synth_frames(int n, int frames, const std::function<double(int, int)>& amp,
                                       unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 2 * std::numbers::pi);
  std::vector<double> c(static_cast<std::size_t>(n)), s(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    c[static_cast<std::size_t>(i)] = std::cos(2 * std::numbers::pi * i / n);
    s[static_cast<std::size_t>(i)] = std::sin(2 * std::numbers::pi * i / n);
  }
  std::vector<float> x(static_cast<std::size_t>(n) * static_cast<std::size_t>(frames), 0.0F);
  std::vector<double> seg(static_cast<std::size_t>(n));
  for (int t = 0; t < frames; ++t) {
    std::fill(seg.begin(), seg.end(), 0.0);
    for (int k = 1; k < n / 2; ++k) {
      const double phi = u(rng);
      const double a = amp(t, k);
      if (a == 0.0) continue;
      const double ca = a * std::cos(phi);
      const double sa = a * std::sin(phi);
      for (int i = 0; i < n; ++i) {
        const auto m = static_cast<std::size_t>((static_cast<long>(k) * i) % n);
        seg[static_cast<std::size_t>(i)] += ca * c[m] - sa * s[m];
      }
    }
    for (int i = 0; i < n; ++i) x[static_cast<std::size_t>(t * n + i)] = static_cast<float>(seg[static_cast<std::size_t>(i)]);
  }
  return x;
}

// Band-limited resampling from `from` to `to` Hz by a polyphase windowed sinc: 2 * half
// taps per output sample (at the input rate), 4-term Blackman-Harris window (side lobes
// below -92 dB), low-pass at pass_fraction of the lower Nyquist. What sox or ffmpeg do,
// in a few lines.
inline std::vector<float> resample(const std::vector<float>& x, int from, int to, int half = 64,
                                   double pass_fraction = 0.92) {
  const int g = std::gcd(from, to);
  const int up = to / g;     // output step = down / up input samples
  const int down = from / g;
  const double fc = pass_fraction * 0.5 * std::min(from, to) / from;  // cycles per input sample
  std::vector<double> table(static_cast<std::size_t>(up) * static_cast<std::size_t>(2 * half));
  for (int ph = 0; ph < up; ++ph) {
    const double frac = static_cast<double>(ph) / up;  // output lies frac input samples after base
    double sum = 0;
    for (int j = 0; j < 2 * half; ++j) {
      const double d = (j - half + 1) - frac;  // input index offset from the output position
      const double sinc = d == 0 ? 2 * fc : std::sin(2 * std::numbers::pi * fc * d) / (std::numbers::pi * d);
      const double pos = (d + half) / (2.0 * half);  // 0..1 across the window
      const double w = pos <= 0 || pos >= 1 ? 0.0
                                            : 0.35875 - 0.48829 * std::cos(2 * std::numbers::pi * pos) +
                                                  0.14128 * std::cos(4 * std::numbers::pi * pos) -
                                                  0.01168 * std::cos(6 * std::numbers::pi * pos);
      table[static_cast<std::size_t>(ph * 2 * half + j)] = sinc * w;
      sum += sinc * w;
    }
    for (int j = 0; j < 2 * half; ++j) table[static_cast<std::size_t>(ph * 2 * half + j)] /= sum;
  }
  const auto outs = static_cast<std::size_t>(static_cast<double>(x.size()) * up / down);
  std::vector<float> y(outs);
  for (std::size_t m = 0; m < outs; ++m) {
    const auto pos = static_cast<long>(m) * down;
    const long base = pos / up;
    const int ph = static_cast<int>(pos % up);
    double acc = 0;
    for (int j = 0; j < 2 * half; ++j) {
      const long k = base + j - half + 1;
      if (k >= 0 && k < static_cast<long>(x.size())) acc += table[static_cast<std::size_t>(ph * 2 * half + j)] * x[static_cast<std::size_t>(k)];
    }
    y[m] = static_cast<float>(acc);
  }
  return y;
}

// Interleaves two channels.
inline std::vector<float> interleave(const std::vector<float>& l, const std::vector<float>& r) {
  std::vector<float> x(2 * std::min(l.size(), r.size()));
  for (std::size_t i = 0; i < x.size() / 2; ++i) {
    x[2 * i] = l[i];
    x[2 * i + 1] = r[i];
  }
  return x;
}

inline fakeless::FileFeatures features_of_stereo(const std::vector<float>& l, const std::vector<float>& r, int rate,
                                                 int bits = 16) {
  auto src = fakeless::io::memory_source_int(pcm_format(rate, 2, bits), quantise(interleave(l, r), bits));
  fakeless::dsp::FftCache ffts;
  return fakeless::extract_features(*src, ffts, {});
}

inline fakeless::FileFeatures features_of(const std::vector<float>& mono, int rate, int bits = 16) {
  auto src = fakeless::io::memory_source_int(pcm_format(rate, 1, bits), quantise(mono, bits));
  fakeless::dsp::FftCache ffts;
  return fakeless::extract_features(*src, ffts, {});
}

inline fakeless::report::Verdict verdict_of(const std::vector<float>& mono, int rate, int bits = 16) {
  auto src = fakeless::io::memory_source_int(pcm_format(rate, 1, bits), quantise(mono, bits));
  fakeless::dsp::FftCache ffts;
  return fakeless::analyze_source(*src, "memory", ffts, {}, fakeless::model::RuleModel{});
}

}  // namespace testsig
