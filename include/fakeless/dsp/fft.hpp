#pragma once
// One FFT class hides FFTW. Conventions:
//  - real-to-complex, single precision, unnormalised forward transform (FFTW's r2c):
//    X[k] = sum_n x[n] e^{-2 pi i k n / N}, k = 0..N/2.
//  - Plans are made with FFTW_ESTIMATE: planning is cheap and, unlike FFTW_MEASURE, the
//    chosen algorithm (and so every rounding) is the same on every run, which keeps the
//    output bit-reproducible.
//  - FFTW's planner is not thread-safe: plans are created and destroyed under one
//    process-wide mutex; fftwf_execute on a plan a thread owns is safe.
#include <complex>
#include <map>
#include <memory>

namespace fakeless::dsp {

class RealFft {
 public:
  explicit RealFft(int size);
  ~RealFft();
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] float* input() { return in_; }                        // size() floats
  [[nodiscard]] const std::complex<float>* output() const { return out_; }  // size()/2 + 1 bins
  void execute();

 private:
  int size_;
  float* in_ = nullptr;
  std::complex<float>* out_ = nullptr;
  void* plan_ = nullptr;  // fftwf_plan; kept opaque so fftw3.h stays out of our headers
};

// DCT-IV, single precision, FFTW's REDFT11 convention (unnormalised):
//   Y[k] = 2 sum_{n=0}^{M-1} u[n] cos(pi/M (n + 1/2)(k + 1/2)), k = 0..M-1.
// The MDCT of a windowed frame of 2M samples is the DCT-IV of the frame folded to M
// (see features/grid.hpp). Any even size >= 16 (576 for MP3 granules is not a power of 2).
class Dct4 {
 public:
  explicit Dct4(int size);
  ~Dct4();
  Dct4(const Dct4&) = delete;
  Dct4& operator=(const Dct4&) = delete;

  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] float* input() { return in_; }         // size() floats
  [[nodiscard]] const float* output() const { return out_; }  // size() floats
  void execute();

 private:
  int size_;
  float* in_ = nullptr;
  float* out_ = nullptr;
  void* plan_ = nullptr;
};

// Complex-to-complex forward transform, unnormalised: X[k] = sum_n x[n] e^{-2 pi i k n / N},
// out of place (FFTW's in-place plans copy through a buffer: 1.3 to 3 times slower at the
// grid's sizes). Any size >= 4 (FFTW handles non-powers of two).
class ComplexFft {
 public:
  explicit ComplexFft(int size);
  ~ComplexFft();
  ComplexFft(const ComplexFft&) = delete;
  ComplexFft& operator=(const ComplexFft&) = delete;

  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] std::complex<float>* input() { return in_; }         // size() values
  [[nodiscard]] const std::complex<float>* output() const { return out_; }  // size() values
  void execute();

 private:
  int size_;
  std::complex<float>* in_ = nullptr;
  std::complex<float>* out_ = nullptr;
  void* plan_ = nullptr;
};

// Plans once per size per worker: each worker thread owns one cache.
class FftCache {
 public:
  RealFft& get(int size);
  Dct4& dct4(int size);
  ComplexFft& complex(int size);

 private:
  std::map<int, std::unique_ptr<RealFft>> ffts_;
  std::map<int, std::unique_ptr<Dct4>> dcts_;
  std::map<int, std::unique_ptr<ComplexFft>> cffts_;
};

}  // namespace fakeless::dsp
