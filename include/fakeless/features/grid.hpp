#pragma once
// Codec-grid evidence ("inverse decoder": Moehrs, Herre and Geiger, AES 2002; Derrien,
// JAES 2019). Transform codecs quantise MDCT coefficients on a fixed frame grid. Analysed
// again with the codec's transform, window and alignment, decoded audio gives back the
// coefficients the encoder quantised to zero as (near) zero: at the PCM rounding floor.
// Genuine audio shows no such alignment. The trace does not depend on a low-pass cutoff.
//
// Families (transform size 2M, hop M, window):
//   aac_sine  2048/1024 sine                 AAC long blocks, sine window shape
//   aac_kbd   2048/1024 KBD alpha = 4        AAC long blocks, KBD window shape
//   vorbis    2048/1024 sin(pi/2 sin^2(.))   Vorbis long blocks (libvorbis at 44.1/48 kHz)
//   wma       4096/2048 sine                 WMA v1/v2 long blocks (2048-sample frames
//                                            above 22.05 kHz; 1024 up to 22.05, 512 up to 16 kHz)
//   ac3       512/256 KBD alpha = 5          AC-3 (32, 44.1, 48 kHz only)
//   mp3       hybrid, 576 lines per granule  MP3's own analysis (features/mp3_hybrid.hpp:
//                                            polyphase filterbank, 18-line MDCT per subband,
//                                            alias butterflies; long blocks), the exact
//                                            inverse of the decoder up to about -84 dB
// A family that does not exist at the file's rate gives null (rates above 96 kHz: all).
//
// Conventions:
//  - MDCT X[k] = sum_{n<2M} w[n] x[n] cos(pi/M (n + 1/2 + M/2)(k + 1/2)), computed as
//    FFTW's REDFT11 (a DCT-IV, unnormalised: x2) of the folded frame, so X = 2 x that sum.
//    With a Princen-Bradley window (w[n]^2 + w[n+M]^2 = 1), white noise of variance s^2
//    gives coefficients of standard deviation s sqrt(2M) (with the x2).
//  - Null coefficient: |X| < null_level_lsb * q * sqrt(2M) (mp3: * Mp3Hybrid::kNoiseGain,
//    its coefficients' standard deviation for white noise of variance 1), q = 2^-(bits-1) the PCM step
//    of the file's (effective) bit depth. Rounding noise has s = q / sqrt(12) and TPDF
//    dither s = q / 2, so a coefficient quantised to zero by the codec tests null with
//    probability ~0.92 (rounding) or ~0.68 (TPDF) at the default 0.5 LSB, while one that
//    carries music rarely does. Mid M = (L+R)/2 and side S = (L-R)/2 coefficients (by
//    linearity, from L and R) are tested against the level / sqrt(2). Stereo files give
//    4 tests per bin (L, R, M, S), mono files 1; more than 2 channels: the first two.
//  - Offset: frames start at samples o + j M of the file (o in [0, M)); the offset is o.
//    An mp3 frame (granule) reads Mp3Hybrid::kSpan = 1632 samples from its start.
//  - Excerpt: the file is cut into stretches of excerpt_s (at most max_excerpt_frames
//    frames); the loudest one (total energy of the first two channels) is kept and
//    analysed at finish(). Memory: 6 x max_excerpt_frames floats (the stretches, and the
//    excerpt split by sample parity while it is analysed), whatever the file length; while
//    the mp3 family runs, also Mp3Hybrid's slot index (at most one int32 per excerpt frame,
//    in pages allocated where slots are read; for L and R, and for the short stage-1 mid)
//    and the subband slots it computed (32 floats each; per channel at most (candidates +
//    priors + references) x confirm_frames x 36).
//  - Search (bounded cost per family): stage 1 counts null tests at every offset over the
//    search_frames consecutive frames of the loudest part of the excerpt; its `candidates`
//    best offsets and `reference_offsets` offsets spread over the hop (away from the
//    candidates) are then counted again over the confirm_frames loudest frames (the
//    stage-1 frame among them when it is one of the loudest; for the AAC families the
//    loudest steady ones: energy / transient score^4, see grid.cpp).
//    With prior_offsets, grid_prior_offsets() (where common decoders put the grid) are
//    confirmed as candidates too: one stage-1 frame on the mid misses weak grids (high
//    bitrates, where few coefficients are zero), and a search over more frames costs a
//    multiple of the search; a prior costs one candidate (16 for Vorbis).
//  - Per family, over the stage-2 offsets (counts are null tests per offset):
//      evidence = (peak + 1) / (median + 1)  peak: best candidate; median: of references
//      z        = (peak - median) / (1.4826 MAD + 1)  MAD: of the references
//      excess   = (peak - median) / tests per offset  (the fraction of tests that turn
//                 null only at the codec's alignment; dilution by always-null bins, e.g.
//                 above a low-pass, cancels out)
//      null_quarter[i], i < 4: null fraction at the best offset in the i-th quarter of
//                 [0, Nyquist); excess_quarter[i]: minus the references' median there.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "fakeless/dsp/fft.hpp"
#include "fakeless/features/frame_period.hpp"

namespace fakeless::features {

enum class GridFamily { aac_sine, aac_kbd, vorbis, wma, ac3, mp3 };
inline constexpr std::size_t kGridFamilies = 6;
inline constexpr std::array<GridFamily, kGridFamilies> kAllGridFamilies = {
    GridFamily::aac_sine, GridFamily::aac_kbd, GridFamily::vorbis, GridFamily::wma, GridFamily::ac3, GridFamily::mp3};
std::string_view to_string(GridFamily family);
// The codec a family stands for, as the verdict names it: aac, vorbis, wma, ac3, mp3.
std::string_view codec_of(GridFamily family);
// Where the grid lies in a file decoded from the start, as file offsets in [0, hop):
//  - AAC: 0 (ffmpeg's encoder primes 1024 samples: trimmed or not, the grid stays at 0;
//    short blocks stay inside the long frame), and 960 (Apple's encoders prime 2112,
//    which a gapless decoder trims: -2112 mod 1024);
//  - WMA, AC-3: 0;
//  - Vorbis: every multiple of hop / 16 (a switch between 2048- and 256-sample blocks moves
//    the long-block grid by 576 or 128 samples, multiples of 64 at hop 1024);
//  - MP3 (576-sample granules, counted from the first polyphase window's start): 48 where
//    the decoder trims the encoder and decoder delay (lame --decode, ffmpeg with or
//    without a LAME tag, as Debian 12's ffmpeg decodes lame's files), 1 for sox (libmad,
//    no trimming: 529 samples later).
std::vector<int> grid_prior_offsets(GridFamily family, int hop);

struct GridParams {
  double excerpt_s = 3.0;                 // [0.5, 60] s
  std::int64_t max_excerpt_frames = 1 << 18;  // [4096, 2^22]
  int search_frames = 1;                  // [1, 64] stage-1 frames per offset
  int candidates = 6;                     // [1, 64] offsets confirmed
  int reference_offsets = 24;             // [4, 256]
  int confirm_frames = 8;                 // [1, 1024] stage-2 frames per offset
  int search_on_mid = 1;                  // 0 or 1: stage 1 on the mid only (stereo)
  int prior_offsets = 1;                  // 0 or 1: also confirm grid_prior_offsets()
  double null_level_lsb = 0.5;            // (0, 64] see above

  void validate() const;  // throws std::invalid_argument naming the value
};

struct GridFamilyResult {
  bool applies = false;          // the family exists at this rate and the excerpt was long enough
  std::optional<int> offset;     // [0, hop)
  std::optional<double> evidence;
  std::optional<double> z;
  std::optional<double> excess;
  std::array<std::optional<double>, 4> null_quarter{};
  std::array<std::optional<double>, 4> excess_quarter{};
};

struct GridFeatures {
  std::array<GridFamilyResult, kGridFamilies> families{};
  std::optional<double> excerpt_s;          // length of the excerpt analysed
  std::optional<double> excerpt_rms_dbfs;   // its level
  FramePeriodFeatures frame20;              // 20 ms codec framing in the excerpt (frame_period.hpp)
  [[nodiscard]] const GridFamilyResult& of(GridFamily f) const { return families[static_cast<std::size_t>(f)]; }
};

// The grid detector on its own: a family fires when z > min_z and excess > its
// min_excess. Defaults: chosen on the corpus's train and val splits (scripts/grid-recall)
// as the least values at which no lossless clip of those splits (genuine, band-limited,
// upsampled, padded: 774 clips) fires; see docs/features.md for the test-split figures.
struct GridRule {
  double min_z = 6.5;
  // Per family, in kAllGridFamilies order: aac_sine, aac_kbd, vorbis, wma, ac3, mp3 (the
  // largest excess of a lossless train/val clip with z > min_z, rounded up).
  std::array<double, kGridFamilies> min_excess = {0.0417, 0.1643, 0.0303, 0.0075, 0.0005, 0.0139};
};

struct GridFinding {
  GridFamily family;
  int offset = 0;
  double excess = 0.0;  // the verdict's "strength"
  double z = 0.0;
};

// The firing family with the largest z; nullopt when none fires.
std::optional<GridFinding> grid_finding(const GridFeatures& grid, const GridRule& rule = {});

// The family's transform, for tests and tools: hop M (0 when it does not apply at the rate)
// and window (2M values).
int grid_hop(GridFamily family, int sample_rate_hz);
std::vector<float> grid_window(GridFamily family, int hop);

// MDCT of 2M samples x (window w, 2M values) into out (M values), scaled as above: the
// reference implementation, through FFTW's DCT-IV.
void grid_mdct(const float* x, const float* w, int hop, dsp::Dct4& dct, float* out);

// A signal split by sample parity: lane(i)[k] is sample i + 2k. The MDCT's fold reads every
// second sample of a frame, forwards and backwards; from the split lanes those reads are
// contiguous (vector loads) instead of strided gathers.
class ParitySplit {
 public:
  void assign(const float* x, std::size_t n);
  [[nodiscard]] std::size_t size() const { return n_; }
  [[nodiscard]] const float* lane(std::size_t i) const {
    return ((i & 1U) != 0 ? odd_.data() : even_.data()) + (i >> 1U);
  }

 private:
  std::vector<float> even_, odd_;
  std::size_t n_ = 0;
};

// The same MDCT through an M/2-point complex FFT (pre- and post-twiddle), about twice as
// fast; what the analyzer uses. Plans come from the worker's FftCache.
class GridMdct {
 public:
  GridMdct(GridFamily family, int hop, dsp::FftCache& ffts);
  // The MDCT of the 2M samples from sample p of s, in pair order: a[m] = X[2m],
  // b[m] = -X[M-1-2m], m < M/2 (the order the FFT's output comes in; the null tests only
  // look at |X|). Every loop reads and writes contiguously. Throws std::out_of_range when
  // the frame runs past the end of s.
  void forward_pairs(const ParitySplit& s, std::size_t p, float* a, float* b);
  [[nodiscard]] int hop() const { return hop_; }
  [[nodiscard]] const std::vector<float>& window() const { return window_; }

 private:
  int hop_;
  std::vector<float> window_;
  dsp::ComplexFft& fft_;
  // The window with the fold's signs, per pair m and fold term (see grid.cpp), and the
  // twiddles as separate real and imaginary parts.
  std::array<std::vector<float>, 4> fold_w_;
  std::vector<float> pre_re_, pre_im_, post_re_, post_im_;
};

class GridAnalyzer {
 public:
  GridAnalyzer(int sample_rate_hz, int channels, GridParams params = {});

  // Interleaved frames (channels as constructed), in file order.
  void consume(const float* interleaved, std::size_t frames);
  // The next frame consumed is frame `next_frame` of the file (quick mode's seeks).
  void reset(std::int64_t next_frame);

  // For a source that can seek: keep no samples while streaming (only the stretches'
  // energies, the same numbers as otherwise), and read the loudest stretch again at the
  // end: excerpt() says which frames (file frame, count), load_excerpt() takes them
  // (interleaved, channels as constructed). Saves writing every sample into a stretch
  // buffer. Call before the first consume().
  void defer_samples();
  [[nodiscard]] std::optional<std::pair<std::int64_t, std::size_t>> excerpt();
  void load_excerpt(const float* interleaved, std::size_t frames);

  // floor_bits: the PCM depth that rounded the samples (effective bits; 24 for floats).
  [[nodiscard]] GridFeatures finish(dsp::FftCache& ffts, int floor_bits);

 private:
  void close_stretch();
  // sub_energy: the AAC families' sub-block energies, filled by the first that needs them.
  GridFamilyResult analyse(GridFamily family, dsp::FftCache& ffts, double q, const std::array<ParitySplit, 2>& split,
                           std::vector<double>& sub_energy) const;

  int rate_;
  int channels_;
  int used_;  // channels kept: 1 or 2
  GridParams params_;
  std::size_t stretch_;  // frames per stretch
  std::array<std::vector<float>, 2> cur_, best_;
  std::size_t cur_len_ = 0, best_len_ = 0;
  double cur_energy_ = 0.0, best_energy_ = -1.0;
  std::int64_t cur_start_ = 0, best_start_ = 0;  // file frame of each stretch's first sample
  std::int64_t next_frame_ = 0;
  bool deferred_ = false;  // defer_samples(): cur_ holds nothing
};

}  // namespace fakeless::features
