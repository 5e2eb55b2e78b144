#include "fakeless/dsp/stft.hpp"
#include "fakeless/dsp/clones.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace fakeless::dsp {

FAKELESS_CLONES void mid_side(const float* stereo, std::size_t frames, float* mid, float* side) {
  for (std::size_t i = 0; i < frames; ++i) {
    mid[i] = (stereo[2 * i] + stereo[2 * i + 1]) * 0.5F;
    if (side != nullptr) side[i] = (stereo[2 * i] - stereo[2 * i + 1]) * 0.5F;
  }
}

StftParams StftParams::for_rate(int sample_rate_hz) {
  const double target = 0.0464 * sample_rate_hz;  // ~46 ms
  const int exponent = static_cast<int>(std::lround(std::log2(std::max(target, 16.0))));
  StftParams p;
  p.fft_size = 1 << std::clamp(exponent, 8, 16);
  p.hop = p.fft_size;  // no overlap: see stft.hpp
  return p;
}

void StftParams::validate() const {
  if (fft_size < 16 || fft_size > (1 << 20) || (fft_size & (fft_size - 1)) != 0) {
    throw std::invalid_argument("fft_size must be a power of two in [16, 2^20], got " + std::to_string(fft_size));
  }
  if (hop < 1 || hop > kMaxHopFrames * fft_size) {
    throw std::invalid_argument("hop must be in [1, " + std::to_string(kMaxHopFrames) + " * fft_size], got " +
                                std::to_string(hop));
  }
}

Stft::Stft(StftParams params, int sample_rate_hz, FftCache& cache)
    : params_(params),
      bin_hz_(static_cast<double>(sample_rate_hz) / params.fft_size),
      fft_((params.validate(), cache.get(params.fft_size))) {
  const auto n = static_cast<std::size_t>(params_.fft_size);
  window_.resize(n);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
    window_[i] = static_cast<float>(w);
    sum += w;
    sum_sq += w * w;
  }
  pending_.assign(n, 0.0F);
  const std::size_t bins = n / 2 + 1;
  batch_.assign(kBatch * bins, 0.0F);
  scale_.resize(bins);
  for (std::size_t k = 0; k < bins; ++k) {
    const double c = (k == 0 || k == bins - 1) ? 1.0 : 4.0;
    scale_[k] = static_cast<float>(c / (sum * sum));
  }
  // Bin 1 also holds DC: the Hann window's main lobe is two bins wide.
  first_content_bin_ = std::max<std::size_t>(2, static_cast<std::size_t>(std::ceil(20.0 / bin_hz_)));
  // Parseval: sum_n (w x)^2 = (1/N) sum_{all k} |X_k|^2; one-sided bins count twice.
  // mean_square = that / sum w^2, and P[k] = 4 |X_k|^2 / (sum w)^2, hence:
  ms_norm_ = (sum * sum) / (2.0 * static_cast<double>(n) * sum_sq);
}

void Stft::push(std::span<const float> mono, FrameConsumer& sink) {
  const auto n = static_cast<std::size_t>(params_.fft_size);
  const auto hop = static_cast<std::size_t>(params_.hop);
  std::size_t pos = 0;
  while (pos < mono.size()) {
    if (skip_ > 0) {  // hop > N: the gap between two frames is never analysed
      const std::size_t gap = std::min(skip_, mono.size() - pos);
      skip_ -= gap;
      pos += gap;
      continue;
    }
    if (filled_ == 0 && hop >= n && mono.size() - pos >= n) {
      // A whole frame in the input: windowed from there, without a copy into pending_.
      transform(mono.data() + pos, sink);
      pos += n;
      skip_ = hop - n;
      continue;
    }
    const std::size_t take = std::min(n - filled_, mono.size() - pos);
    std::copy_n(mono.begin() + static_cast<std::ptrdiff_t>(pos), take,
                pending_.begin() + static_cast<std::ptrdiff_t>(filled_));
    filled_ += take;
    pos += take;
    if (filled_ == n) {
      transform(pending_.data(), sink);
      if (hop < n) {
        std::copy(pending_.begin() + static_cast<std::ptrdiff_t>(hop), pending_.end(), pending_.begin());
        filled_ = n - hop;
      } else {
        filled_ = 0;
        skip_ = hop - n;
      }
    }
  }
  emit(sink);
}

void Stft::transform(const float* samples, FrameConsumer& sink) {
  const auto n = static_cast<std::size_t>(params_.fft_size);
  float* in = fft_.input();
  for (std::size_t i = 0; i < n; ++i) in[i] = samples[i] * window_[i];
  fft_.execute();
  const std::complex<float>* out = fft_.output();
  const std::size_t bins = scale_.size();
  float* power = batch_.data() + batched_ * bins;
  for (std::size_t k = 0; k < bins; ++k) {
    const float re = out[k].real();
    const float im = out[k].imag();
    power[k] = (re * re + im * im) * scale_[k];
  }
  if (++batched_ == kBatch) emit(sink);
}

namespace {
// The content sums of `count` frames' powers, each summed in bin order (the rounding of a
// plain loop), side by side: independent additions, not one chain of latencies.
template <std::size_t kCount>
void content_sums(const float* power, std::size_t bins, std::size_t first, double* out) {
  std::array<double, kCount> acc{};
  for (std::size_t k = first; k < bins; ++k) {
    for (std::size_t f = 0; f < kCount; ++f) acc[f] += power[f * bins + k];
  }
  for (std::size_t f = 0; f < kCount; ++f) out[f] = acc[f];
}
}  // namespace

void Stft::emit(FrameConsumer& sink) {
  static_assert(kBatch == 4);
  if (batched_ == 0) return;
  const std::size_t bins = scale_.size();
  std::array<double, kBatch> content{};
  switch (batched_) {
    case 1: content_sums<1>(batch_.data(), bins, first_content_bin_, content.data()); break;
    case 2: content_sums<2>(batch_.data(), bins, first_content_bin_, content.data()); break;
    case 3: content_sums<3>(batch_.data(), bins, first_content_bin_, content.data()); break;
    default: content_sums<4>(batch_.data(), bins, first_content_bin_, content.data()); break;
  }
  const std::size_t count = batched_;
  batched_ = 0;
  for (std::size_t f = 0; f < count; ++f) {
    SpectrumFrame frame;
    frame.index = frames_++;
    frame.power = std::span<const float>(batch_.data() + f * bins, bins);
    frame.mean_square = content[f] * ms_norm_;
    sink.consume(frame);
  }
}

}  // namespace fakeless::dsp
