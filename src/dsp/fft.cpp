#include "fakeless/dsp/fft.hpp"

#include <fftw3.h>

#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

namespace fakeless::dsp {
namespace {
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

RealFft::RealFft(int size) : size_(size) {
  if (size < 16 || (size & (size - 1)) != 0) {
    throw std::invalid_argument("FFT size must be a power of two >= 16, got " + std::to_string(size));
  }
  std::lock_guard lock(planner_mutex());
  in_ = static_cast<float*>(fftwf_malloc(sizeof(float) * static_cast<std::size_t>(size)));
  out_ = reinterpret_cast<std::complex<float>*>(
      fftwf_malloc(sizeof(fftwf_complex) * static_cast<std::size_t>(size / 2 + 1)));
  if (in_ == nullptr || out_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::bad_alloc();
  }
  plan_ = fftwf_plan_dft_r2c_1d(size, in_, reinterpret_cast<fftwf_complex*>(out_), FFTW_ESTIMATE);
  if (plan_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::runtime_error("FFTW could not plan a transform of size " + std::to_string(size));
  }
}

RealFft::~RealFft() {
  std::lock_guard lock(planner_mutex());
  fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  fftwf_free(in_);
  fftwf_free(out_);
}

void RealFft::execute() { fftwf_execute(static_cast<fftwf_plan>(plan_)); }

Dct4::Dct4(int size) : size_(size) {
  if (size < 16 || size % 2 != 0 || size > (1 << 22)) {
    throw std::invalid_argument("DCT-IV size must be even, in [16, 2^22], got " + std::to_string(size));
  }
  std::lock_guard lock(planner_mutex());
  in_ = static_cast<float*>(fftwf_malloc(sizeof(float) * static_cast<std::size_t>(size)));
  out_ = static_cast<float*>(fftwf_malloc(sizeof(float) * static_cast<std::size_t>(size)));
  if (in_ == nullptr || out_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::bad_alloc();
  }
  plan_ = fftwf_plan_r2r_1d(size, in_, out_, FFTW_REDFT11, FFTW_ESTIMATE);
  if (plan_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::runtime_error("FFTW could not plan a DCT-IV of size " + std::to_string(size));
  }
}

Dct4::~Dct4() {
  std::lock_guard lock(planner_mutex());
  fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  fftwf_free(in_);
  fftwf_free(out_);
}

void Dct4::execute() { fftwf_execute(static_cast<fftwf_plan>(plan_)); }

Dct4& FftCache::dct4(int size) {
  auto& slot = dcts_[size];
  if (!slot) slot = std::make_unique<Dct4>(size);
  return *slot;
}

ComplexFft::ComplexFft(int size) : size_(size) {
  if (size < 4 || size > (1 << 22)) {
    throw std::invalid_argument("complex FFT size must be in [4, 2^22], got " + std::to_string(size));
  }
  std::lock_guard lock(planner_mutex());
  const auto bytes = sizeof(fftwf_complex) * static_cast<std::size_t>(size);
  in_ = reinterpret_cast<std::complex<float>*>(fftwf_malloc(bytes));
  out_ = reinterpret_cast<std::complex<float>*>(fftwf_malloc(bytes));
  if (in_ == nullptr || out_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::bad_alloc();
  }
  plan_ = fftwf_plan_dft_1d(size, reinterpret_cast<fftwf_complex*>(in_), reinterpret_cast<fftwf_complex*>(out_),
                            FFTW_FORWARD, FFTW_ESTIMATE);
  if (plan_ == nullptr) {
    fftwf_free(in_);
    fftwf_free(out_);
    throw std::runtime_error("FFTW could not plan a complex FFT of size " + std::to_string(size));
  }
}

ComplexFft::~ComplexFft() {
  std::lock_guard lock(planner_mutex());
  fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  fftwf_free(in_);
  fftwf_free(out_);
}

void ComplexFft::execute() { fftwf_execute(static_cast<fftwf_plan>(plan_)); }

ComplexFft& FftCache::complex(int size) {
  auto& slot = cffts_[size];
  if (!slot) slot = std::make_unique<ComplexFft>(size);
  return *slot;
}

RealFft& FftCache::get(int size) {
  auto& slot = ffts_[size];
  if (!slot) slot = std::make_unique<RealFft>(size);
  return *slot;
}

}  // namespace fakeless::dsp
