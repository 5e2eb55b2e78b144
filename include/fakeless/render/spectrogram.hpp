#pragma once
// Spectrogram images: the evidence behind a verdict, as people know it from Spek.
//
//  - The frames are the analysis's own (dsp/stft.hpp): Hann, ~46 ms, hop N, bin power
//    normalised so a full-scale sine reads 0 dB. One decode pass feeds both the analyzers
//    and a SpectrogramAccumulator (the "tap" of extract_features).
//  - Axes: time (x) over the analysed frames, linear frequency (y) from 0 at the bottom
//    to Nyquist at the top. A pixel row covers nyquist / plot_height Hz; its power is the
//    mean bin power of the bins whose centres fall in it (the nearest bin when rows are
//    finer than bins), averaged over the frames of its column.
//  - Bounded memory whatever the length: the accumulator keeps at most max_columns
//    columns of sums; when full it merges neighbouring pairs and from then on puts twice
//    as many frames in each column. The image resamples those columns to the plot width.
//  - Colour: dB -> a perceptual map whose luminance rises monotonically from black
//    through indigo, purple, red, orange and yellow to white (own control points). The
//    scale's top is the loudest pixel rounded up to 10 dB (at most 0 dB), its bottom
//    range_db lower; the colour bar shows it.
//  - Marks in colours outside the map: the detected cutoff as a solid cyan line, holes
//    (features/holes_mask.hpp, only below the cutoff) in green.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fakeless/analysis.hpp"
#include "fakeless/dsp/stft.hpp"
#include "fakeless/features/holes_mask.hpp"
#include "fakeless/model/scorer.hpp"
#include "fakeless/report/verdict.hpp"

namespace fakeless::render {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// The colour map, t in [0, 1] (clamped).
Rgb colormap(double t);
// Relative luminance (Rec. 709 on linearised sRGB), 0..1.
double luminance(Rgb c);

inline constexpr Rgb kCutoffColour{0, 210, 255};  // cyan: never produced by colormap
inline constexpr Rgb kHoleColour{40, 255, 90};    // green: never produced by colormap

struct SpectrogramParams {
  int width = 1280;        // [320, 16384]  the whole image, px
  int height = 720;        // [200, 16384]  the whole image, px
  double range_db = 120;   // [20, 250]  dynamic range of the colour scale
  bool holes = false;      // highlight holes below the cutoff
  double hole_fraction = 0.5;  // [0.05, 1]  a pixel is marked when this share of its cells are holes
  features::HoleMaskParams holes_params;

  void validate() const;  // throws std::invalid_argument naming the value
};

// Where things are drawn, from the image size alone.
struct Layout {
  int width = 0, height = 0;
  int plot_x = 0, plot_y = 0, plot_w = 0, plot_h = 0;  // plot area, pixels [x, x+w) x [y, y+h)
  int bar_x = 0, bar_w = 0;                             // colour bar, same rows as the plot
};
Layout layout_for(int width, int height);

// The plot row (from the top of the image) of frequency hz, for a plot of this layout.
double row_of_hz(const Layout& layout, double hz, double nyquist_hz);

class SpectrogramAccumulator final : public dsp::FrameConsumer {
 public:
  // rows: plot height; max_columns: columns kept before pairs are merged (even, >= 2).
  // holes: when set, the hole mask of every frame is accumulated too.
  SpectrogramAccumulator(int rows, int max_columns, int sample_rate_hz, const dsp::StftParams& stft,
                         std::optional<features::HoleMaskParams> holes = std::nullopt);

  void consume(const dsp::SpectrumFrame& frame) override;

  [[nodiscard]] int rows() const { return rows_; }
  [[nodiscard]] int columns() const;  // columns holding at least one frame
  [[nodiscard]] std::int64_t frames() const { return frames_; }
  [[nodiscard]] std::int64_t frames_per_column() const { return per_column_; }
  [[nodiscard]] std::int64_t frames_in_column(int column) const;
  // Mean power of a cell (row 0: the lowest frequencies), and the share of its bins and
  // frames that were holes.
  [[nodiscard]] double mean_power(int column, int row) const;
  [[nodiscard]] double hole_share(int column, int row) const;
  [[nodiscard]] bool has_holes() const { return masker_.has_value(); }
  [[nodiscard]] double nyquist_hz() const { return nyquist_hz_; }
  [[nodiscard]] double seconds_per_frame() const { return seconds_per_frame_; }

 private:
  void merge_pairs();

  int rows_;
  int max_columns_;
  double nyquist_hz_;
  double seconds_per_frame_;
  std::vector<std::uint32_t> row_lo_, row_hi_;  // bin range [lo, hi) of each row
  std::optional<features::HoleMasker> masker_;
  std::vector<float> power_;  // max_columns x rows sums
  std::vector<float> holes_;  // max_columns x rows sums (when masker_)
  int column_ = 0;            // column being filled
  std::int64_t in_column_ = 0;
  std::int64_t per_column_ = 1;
  std::int64_t frames_ = 0;
};

// What the header and the marks show.
struct Annotations {
  std::string title;                // the file's path (any bytes; shown as valid UTF-8)
  std::string subtitle;             // format line
  std::string verdict;              // lossless | lossy | ... (empty: none)
  std::string reason;
  std::optional<double> cutoff_hz;  // drawn as a line when set
  std::optional<std::string> note;  // written across the plot (silence, too short)
};

// Draws the image; returns the PNG bytes. Throws std::runtime_error when cairo fails.
std::string render_png(const SpectrogramAccumulator& acc, const Annotations& notes, const SpectrogramParams& params);

struct SpectrogramResult {
  report::Verdict verdict;  // what `scan` would have written for the file
  std::string png;
};

// One decode pass: analyses the file (the same features and RuleModel decision as a
// scan) and draws its spectrogram. Throws fakeless::Error for bad input.
SpectrogramResult spectrogram_of(io::AudioSource& source, const std::string& display_path, dsp::FftCache& ffts,
                                 const AnalysisOptions& options, const model::Scorer& model,
                                 const SpectrogramParams& params);
SpectrogramResult spectrogram_of_path(const std::string& path, dsp::FftCache& ffts, const AnalysisOptions& options,
                                      const model::Scorer& model, const SpectrogramParams& params);

// A file name for the image of `path` inside an output directory: its base name (unsafe
// characters replaced) and 12 hex digits of a stable hash of the absolute path, so
// different files never collide and the same file always gets the same name.
std::string image_file_name(const std::string& path);

// Writes bytes to a file; throws std::runtime_error naming the path on failure.
void write_file(const std::string& path, std::string_view bytes);

}  // namespace fakeless::render
