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

// Plans once per size per worker: each worker thread owns one cache.
class FftCache {
 public:
  RealFft& get(int size);

 private:
  std::map<int, std::unique_ptr<RealFft>> ffts_;
};

}  // namespace fakeless::dsp
