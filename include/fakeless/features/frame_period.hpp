#pragma once
// Codec framing at 20 ms: Opus (CELT and SILK) codes audio in frames of 20 ms whatever the
// bitrate or packet size (40 and 60 ms packets carry several), and its decoder's output
// changes character at every frame boundary: within a frame each band is one fixed set of
// quantised coefficients, across a boundary it is a new one. Resampling does not move the
// boundaries (20 ms is 882 samples at 44.1 kHz, 960 at 48 kHz), so this survives where the
// MDCT grid does not: opusdec's own resampler, or sox / ffmpeg after a 48 kHz decode.
//
// What is measured, on a mono mix of the samples:
//  - short-time log spectra (Hann window of L = 512 samples at 44.1/48 kHz, scaled with
//    the rate) every `hop` samples, hop = P / B for the period P = rate / 50 and B phases
//    per period (the divisor of P in [12, 40) closest to 21);
//  - the correlation, over the 12-20 kHz bins (to 0.95 x Nyquist), of each log spectrum
//    (less its mean) with the one about L / 2 samples later: high while both lie in
//    stationary coded frames, lower across a frame change;
//  - that series folded at the period: its median profile over the periods (each period
//    less its own mean; the median, so that events once every few periods, such as beats on
//    a sample-exact tempo of 120 bpm = 25 periods, do not count), and the profile's variance
//    times the number of periods;
//  - the same statistic folded at other periods (B' phases for B' in [max(8, B/2), 2B) whose
//    ratio to B is not p/q with q <= 3, so no multiple or simple fraction of 20 ms) as the
//    reference: z = (s - median) / (1.4826 MAD + 1e-9), strength = s / median.
// Genuine audio has no 50 Hz framing, so z stays near 0 (mains buzz with harmonics above
// 12 kHz would be the exception; the models weigh z with the other features).
#include <optional>
#include <cstddef>

namespace fakeless::dsp {
class FftCache;
}

namespace fakeless::features {

struct FramePeriodFeatures {
  std::optional<double> z;         // see above; null when the rate has no whole 20 ms
                                   // period, the band has under 8 bins, or the signal
                                   // holds too few periods (under 8 of the longest reference)
  std::optional<double> strength;  // s / median of the references
  int period = 0;                  // P, samples (0: not measured)
};

// x0 (and x1, or null) of n samples at rate_hz: the channels to mix.
FramePeriodFeatures frame_period(const float* x0, const float* x1, std::size_t n, int rate_hz, dsp::FftCache& ffts);

}  // namespace fakeless::features
