#pragma once
// MPEG-1/2 Layer III analysis filterbank (ISO/IEC 11172-3, 2.4.3.4 and C.1.3): the
// polyphase filterbank (32 subbands, 512-tap window, one slot of 32 subband samples per 32
// input samples), then per subband an 18-line MDCT over 36 slots (long blocks, sine
// window, odd subbands frequency-inverted) and the alias-reduction butterflies. It is the
// exact inverse of what every MP3 decoder synthesises, up to the polyphase filterbank's
// reconstruction error (about -84 dB), so decoded MP3 analysed at the encoder's alignment
// gives back the coefficients the encoder quantised to zero as near zero.
//
// A granule at sample p reads x[p, p + kSpan): slot t (t < 36) is the polyphase window over
// x[p + 32 t, p + 32 t + 512). Its 576 coefficients come out subband-major (subband b, line
// m at 18 b + m: rising frequency). Scale: C = D / 32 (D the synthesis window) and the
// MDCT unnormalised (X[m] = sum_n w[n] z[n] cos(pi/72 (2n + 1 + 18)(2m + 1))), so white
// noise of variance s^2 gives coefficients of standard deviation about s * kNoiseGain.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fakeless::features {

// The synthesis window D[0..511] of ISO/IEC 11172-3 (Table 3-B.3), for tests and tools:
// the analysis window is D / 32.
std::vector<double> mp3_synthesis_window();
// The alias-reduction butterflies' (cs, ca) for i < 8 (Table 3-B.9).
void mp3_alias_coefficients(double cs[8], double ca[8]);

class Mp3Hybrid {
 public:
  static constexpr int kSpan = 35 * 32 + 512;  // 1632 samples per granule
  static constexpr int kLines = 576;
  static constexpr double kNoiseGain = 0.5303300858899106;  // 3 / sqrt(32): 9 (MDCT) x 1/32 (polyphase), rms

  // x must outlive the object; n samples. Subband slots are computed once and kept (a
  // granule shares 35 of its 36 slots with the granule 32 samples on).
  Mp3Hybrid(const float* x, std::size_t n);

  // The 576 coefficients of the granule at sample p (p + kSpan <= n), into out.
  void granule(std::size_t p, float* out);

 private:
  // The 32 subband samples of the window x[s, s + 512), computed on first use. The pointer
  // is into pool_: valid until the next call (a new slot may move the pool).
  const float* slot(std::size_t s);
  const float* x_;
  std::size_t n_;
  // Per window start: position in pool_ / 32, or -1; in pages of kPage starts, allocated
  // when first touched (a search touches a few stretches of the excerpt, not all of it).
  static constexpr std::size_t kPage = 4096;
  std::vector<std::vector<std::int32_t>> index_;
  std::vector<float> pool_;
  std::vector<float> z_;             // 32 x 36 gathered slots
};

}  // namespace fakeless::features
