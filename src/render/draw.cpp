// Drawing the spectrogram image with cairo, and the one-pass file -> image pipeline.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "cairo_handles.hpp"
#include "fakeless/error.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/render/spectrogram.hpp"

// fontconfig (reached through cairo's text API) keeps its pattern caches until the process
// ends and never frees them; LeakSanitizer would report them in every sanitizer run. Only
// that library's allocations are exempted, and only in sanitizer builds.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
#endif

namespace fakeless::render {
namespace {

constexpr Rgb kBackground{20, 20, 24};
constexpr Rgb kText{222, 222, 228};
constexpr Rgb kDim{150, 150, 160};
constexpr const char* kFont = "DejaVu Sans";

void set_colour(cairo_t* cr, Rgb c, double alpha = 1.0) {
  cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, alpha);
}

Rgb verdict_colour(const std::string& verdict) {
  if (verdict == "lossless") return {110, 220, 120};
  if (verdict == "lossy") return {255, 96, 96};
  if (verdict == "upsampled") return {255, 170, 60};
  if (verdict == "padded") return {240, 220, 90};
  return kDim;
}

void font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
  cairo_text_extents_t e{};
  cairo_text_extents(cr, s.c_str(), &e);
  return e.x_advance;
}

// Cuts whole UTF-8 characters off the front ("…tail") until the text fits.
std::string fit_left(cairo_t* cr, std::string s, double max_w) {
  if (max_w <= 0) return {};
  if (text_width(cr, s) <= max_w) return s;
  const std::string ellipsis = "\xE2\x80\xA6";
  std::size_t start = 0;
  while (start < s.size()) {
    ++start;
    while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) ++start;
    std::string t = ellipsis + s.substr(start);
    if (text_width(cr, t) <= max_w) return t;
  }
  return ellipsis;
}

// Cuts characters off the end ("head…").
std::string fit_right(cairo_t* cr, std::string s, double max_w) {
  if (max_w <= 0) return {};
  if (text_width(cr, s) <= max_w) return s;
  const std::string ellipsis = "\xE2\x80\xA6";
  std::size_t end = s.size();
  while (end > 0) {
    --end;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    std::string t = s.substr(0, end) + ellipsis;
    if (text_width(cr, t) <= max_w) return t;
  }
  return ellipsis;
}

void show(cairo_t* cr, double x, double y, const std::string& s) {
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s.c_str());
}

// A step from {1, 2, 5} x 10^k (or the given candidates) giving at least min_px per step.
double nice_step(double units_per_px, double min_px, const std::vector<double>& candidates) {
  const double need = units_per_px * min_px;
  for (double c : candidates) {
    if (c >= need) return c;
  }
  double step = candidates.back();
  while (step < need) step *= 2;
  return step;
}

std::string format_khz(double khz, double step) {
  char buf[32];
  if (step < 0.1) {
    std::snprintf(buf, sizeof buf, "%.2f", khz);
  } else if (step < 1.0) {
    std::snprintf(buf, sizeof buf, "%.1f", khz);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", khz);
  }
  return buf;
}

std::string format_mmss(double seconds, double step) {
  char buf[48];
  if (step < 1.0) {
    const long tenths = std::lround(seconds * 10.0);
    std::snprintf(buf, sizeof buf, "%ld:%02ld.%ld", tenths / 600, (tenths / 10) % 60, tenths % 10);
  } else {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

cairo_status_t append_png(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

std::string render_png(const SpectrogramAccumulator& acc, const Annotations& notes, const SpectrogramParams& params) {
  params.validate();
  const Layout L = layout_for(params.width, params.height);
  if (acc.rows() != L.plot_h) {
    throw std::invalid_argument("accumulator rows (" + std::to_string(acc.rows()) + ") differ from the plot height (" +
                                std::to_string(L.plot_h) + ")");
  }
  const double s = std::clamp(std::min(params.width / 1200.0, params.height / 600.0), 0.8, 3.0);
  SurfacePtr surface = make_image_surface(params.width, params.height);
  const int W = L.plot_w;
  const int H = L.plot_h;

  // 1. Resample the columns to the plot width, weighting each column by the frames it
  //    shares with a pixel column.
  const double frames = static_cast<double>(acc.frames());
  std::vector<double> power(static_cast<std::size_t>(W) * static_cast<std::size_t>(H), 0.0);
  std::vector<double> holes(acc.has_holes() ? power.size() : 0, 0.0);
  std::vector<double> weight(static_cast<std::size_t>(W), 0.0);
  if (frames > 0) {
    const double per_px = frames / W;
    const auto per_col = static_cast<double>(acc.frames_per_column());
    for (int c = 0; c < acc.columns(); ++c) {
      const double a = c * per_col;
      const double b = a + static_cast<double>(acc.frames_in_column(c));
      const int x0 = std::max(0, static_cast<int>(std::floor(a / per_px)));
      const int x1 = std::min(W, static_cast<int>(std::ceil(b / per_px)));
      for (int x = x0; x < x1; ++x) {
        const double overlap = std::min(b, (x + 1) * per_px) - std::max(a, x * per_px);
        if (overlap <= 0) continue;
        weight[static_cast<std::size_t>(x)] += overlap;
        for (int r = 0; r < H; ++r) {
          const auto i = static_cast<std::size_t>(x) * static_cast<std::size_t>(H) + static_cast<std::size_t>(r);
          power[i] += overlap * acc.mean_power(c, r);
          if (!holes.empty()) holes[i] += overlap * acc.hole_share(c, r);
        }
      }
    }
  }
  double max_db = dsp::kFloorDb;
  for (int x = 0; x < W; ++x) {
    const double w = weight[static_cast<std::size_t>(x)];
    if (w <= 0) continue;
    for (int r = 0; r < H; ++r) {
      const auto i = static_cast<std::size_t>(x) * static_cast<std::size_t>(H) + static_cast<std::size_t>(r);
      power[i] = dsp::power_db(power[i] / w);
      if (!holes.empty()) holes[i] /= w;
      max_db = std::max(max_db, power[i]);
    }
  }
  const double top_db = max_db > dsp::kFloorDb ? std::min(0.0, std::ceil(max_db / 10.0) * 10.0) : 0.0;
  const double bottom_db = top_db - params.range_db;
  const double nyquist = acc.nyquist_hz();

  // 2. Pixels of the plot and the colour bar, written straight into the surface.
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  auto put = [&](int x, int y, Rgb c) {
    auto* px = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride) + x;
    *px = (std::uint32_t{c.r} << 16) | (std::uint32_t{c.g} << 8) | c.b;
  };
  for (int y = 0; y < params.height; ++y) {
    for (int x = 0; x < params.width; ++x) put(x, y, kBackground);
  }
  const double cutoff_row_hz = notes.cutoff_hz.value_or(nyquist + 1.0);
  for (int x = 0; x < W; ++x) {
    const bool filled = weight[static_cast<std::size_t>(x)] > 0;
    for (int r = 0; r < H; ++r) {
      const int y = L.plot_y + H - 1 - r;
      if (!filled) {
        put(L.plot_x + x, y, Rgb{0, 0, 0});
        continue;
      }
      const auto i = static_cast<std::size_t>(x) * static_cast<std::size_t>(H) + static_cast<std::size_t>(r);
      const double row_hz = (r + 0.5) / H * nyquist;
      if (params.holes && !holes.empty() && holes[i] >= params.hole_fraction && row_hz < cutoff_row_hz) {
        put(L.plot_x + x, y, kHoleColour);
      } else {
        put(L.plot_x + x, y, colormap((power[i] - bottom_db) / params.range_db));
      }
    }
  }
  for (int r = 0; r < H; ++r) {
    const Rgb c = colormap((r + 0.5) / H);
    for (int x = 0; x < L.bar_w; ++x) put(L.bar_x + x, L.plot_y + H - 1 - r, c);
  }
  cairo_surface_mark_dirty(surface.get());

  // 3. Axes, labels, marks.
  ContextPtr ctx = make_context(surface.get());
  cairo_t* cr = ctx.get();
  cairo_set_line_width(cr, 1.0);
  set_colour(cr, kDim);
  cairo_rectangle(cr, L.plot_x - 0.5, L.plot_y - 0.5, W + 1, H + 1);
  cairo_rectangle(cr, L.bar_x - 0.5, L.plot_y - 0.5, L.bar_w + 1, H + 1);
  cairo_stroke(cr);

  const double fs_label = 11.5 * s;
  font(cr, fs_label);
  // Frequency axis (kHz).
  const double nyq_khz = nyquist / 1000.0;
  const double fstep = nice_step(nyq_khz / H, 26 * s, {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100});
  for (int i = 0;; ++i) {
    const double khz = i * fstep;
    if (khz > nyq_khz + 1e-9) break;
    const double y = L.plot_y + H - khz / nyq_khz * H;
    set_colour(cr, kDim);
    cairo_move_to(cr, L.plot_x - 5 * s, std::round(y) + 0.5);
    cairo_line_to(cr, L.plot_x - 1, std::round(y) + 0.5);
    cairo_stroke(cr);
    const std::string label = format_khz(khz, fstep);
    set_colour(cr, kText);
    show(cr, L.plot_x - 8 * s - text_width(cr, label), y + 4 * s, label);
  }
  cairo_save(cr);
  set_colour(cr, kText);
  cairo_move_to(cr, 14 * s, L.plot_y + H / 2.0 + text_width(cr, "frequency (kHz)") / 2);
  cairo_rotate(cr, -std::numbers::pi / 2);
  cairo_show_text(cr, "frequency (kHz)");
  cairo_restore(cr);

  // Time axis (m:ss) over the analysed frames.
  const double span_s = frames * acc.seconds_per_frame();
  if (span_s > 0) {
    const double tstep = nice_step(span_s / W, 80 * s,
                                   {0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600});
    for (int i = 0;; ++i) {
      const double t = i * tstep;
      if (t > span_s + 1e-9) break;
      const double x = L.plot_x + t / span_s * W;
      set_colour(cr, kDim);
      cairo_move_to(cr, std::round(x) + 0.5, L.plot_y + H + 1);
      cairo_line_to(cr, std::round(x) + 0.5, L.plot_y + H + 5 * s);
      cairo_stroke(cr);
      const std::string label = format_mmss(t, tstep);
      const double w = text_width(cr, label);
      set_colour(cr, kText);
      show(cr, std::clamp(x - w / 2, 2.0, params.width - w - 2), L.plot_y + H + 18 * s, label);
    }
  }
  {
    const std::string title = "time (m:ss)";
    set_colour(cr, kText);
    show(cr, L.plot_x + W / 2.0 - text_width(cr, title) / 2, L.plot_y + H + 35 * s, title);
  }

  // Colour bar (dB).
  const double dbstep = params.range_db > 100 ? 20 : 10;
  for (double db = top_db; db >= bottom_db - 1e-9; db -= dbstep) {
    const double y = L.plot_y + (top_db - db) / params.range_db * H;
    set_colour(cr, kDim);
    cairo_move_to(cr, L.bar_x + L.bar_w + 1, std::round(y) + 0.5);
    cairo_line_to(cr, L.bar_x + L.bar_w + 5 * s, std::round(y) + 0.5);
    cairo_stroke(cr);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", db);
    set_colour(cr, kText);
    show(cr, L.bar_x + L.bar_w + 7 * s, y + 4 * s, buf);
  }
  set_colour(cr, kText);
  show(cr, L.bar_x, L.plot_y - 6 * s, "dB");

  // The detected cutoff: a solid line on its pixel row (no antialiasing: one exact colour),
  // labelled inside the plot.
  if (notes.cutoff_hz && *notes.cutoff_hz > 0 && *notes.cutoff_hz < nyquist) {
    const double y = row_of_hz(L, *notes.cutoff_hz, nyquist);
    cairo_save(cr);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    set_colour(cr, kCutoffColour);
    cairo_rectangle(cr, L.plot_x, y, W, 1);
    cairo_fill(cr);
    cairo_restore(cr);
    char buf[64];
    std::snprintf(buf, sizeof buf, "cutoff %.1f kHz", *notes.cutoff_hz / 1000.0);
    font(cr, fs_label, true);
    const double w = text_width(cr, buf);
    const double tx = L.plot_x + W - w - 8 * s;
    const double ty = y > L.plot_y + 20 * s ? y - 5 * s : y + 15 * s;
    set_colour(cr, Rgb{0, 0, 0}, 0.6);
    cairo_rectangle(cr, tx - 4 * s, ty - 12 * s, w + 8 * s, 16 * s);
    cairo_fill(cr);
    set_colour(cr, kCutoffColour);
    show(cr, tx, ty, buf);
  }
  if (params.holes) {
    font(cr, fs_label);
    const std::string key = "holes";
    const double w = text_width(cr, key);
    const double x = L.plot_x + 8 * s;
    const double y = L.plot_y + 16 * s;
    set_colour(cr, Rgb{0, 0, 0}, 0.6);
    cairo_rectangle(cr, x - 4 * s, y - 12 * s, w + 24 * s, 16 * s);
    cairo_fill(cr);
    set_colour(cr, kHoleColour);
    cairo_rectangle(cr, x, y - 9 * s, 10 * s, 10 * s);
    cairo_fill(cr);
    show(cr, x + 15 * s, y, key);
  }
  if (notes.note) {
    font(cr, 15 * s, true);
    const std::string note = fit_right(cr, report::display_text(*notes.note), W - 20 * s);
    set_colour(cr, kText);
    show(cr, L.plot_x + W / 2.0 - text_width(cr, note) / 2, L.plot_y + H / 2.0, note);
  }

  // Header: the file, its format, the verdict and why.
  const double pad = 10 * s;
  font(cr, 11.5 * s);
  const std::string sub = notes.subtitle;
  const double sub_w = text_width(cr, sub);
  set_colour(cr, kDim);
  show(cr, params.width - pad - sub_w, 20 * s, sub);
  font(cr, 14 * s, true);
  set_colour(cr, kText);
  show(cr, pad, 20 * s, fit_left(cr, report::display_text(notes.title), params.width - 3 * pad - sub_w));
  double x = pad;
  if (!notes.verdict.empty()) {
    font(cr, 13 * s, true);
    set_colour(cr, verdict_colour(notes.verdict));
    show(cr, x, 40 * s, notes.verdict);
    x += text_width(cr, notes.verdict) + 10 * s;
  }
  font(cr, 12 * s);
  set_colour(cr, kText);
  show(cr, x, 40 * s, fit_right(cr, report::display_text(notes.reason), params.width - x - pad));

  check(cairo_status(cr), "drawing failed");
  ctx.reset();
  cairo_surface_flush(surface.get());
  std::string png;
  check(cairo_surface_write_to_png_stream(surface.get(), append_png, &png), "cannot encode the PNG");
  return png;
}

}  // namespace fakeless::render
