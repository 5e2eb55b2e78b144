// File -> (verdict, spectrogram PNG) in one decode pass; image file names.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <stdexcept>

#include "fakeless/error.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/render/spectrogram.hpp"

namespace fakeless::render {
namespace {

std::string format_line(const report::Verdict& v) {
  const auto& f = v.format;
  char buf[160];
  const double khz = f.sample_rate / 1000.0;
  const long secs = std::lround(v.duration_s);
  std::snprintf(buf, sizeof buf, "%s  %g kHz  %d bit%s  %d ch  %ld:%02ld", f.container.c_str(), khz, f.bits,
                f.is_float ? " float" : "", f.channels, secs / 60, secs % 60);
  return buf;
}

}  // namespace

SpectrogramResult spectrogram_of(io::AudioSource& source, const std::string& display_path, dsp::FftCache& ffts,
                                 const AnalysisOptions& options, const model::Scorer& model,
                                 const SpectrogramParams& params) {
  const auto t0 = std::chrono::steady_clock::now();
  params.validate();
  const io::AudioFormat& fmt = source.format();
  io::validate_format(fmt);
  const dsp::StftParams stft = options.stft.value_or(dsp::StftParams::for_rate(fmt.sample_rate));
  const Layout layout = layout_for(params.width, params.height);
  SpectrogramAccumulator acc(layout.plot_h, 2 * layout.plot_w, fmt.sample_rate, stft,
                             params.holes ? std::optional(params.holes_params) : std::nullopt);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (options.timeout_s > 0) {
    deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(options.timeout_s));
  }
  const FileFeatures features = extract_features(source, ffts, options_for(options, model), deadline, &acc);
  SpectrogramResult out;
  out.verdict = make_verdict(features, display_path, model, t0);
  Annotations notes;
  notes.title = display_path;
  notes.subtitle = format_line(out.verdict);
  notes.verdict = out.verdict.decision.verdict;
  notes.reason = out.verdict.decision.reason;
  notes.cutoff_hz = features.cutoff.cutoff_hz;
  if (features.cutoff.frames == 0) {
    notes.note = "shorter than one " + std::to_string(stft.fft_size) + "-sample analysis frame: nothing to show";
  } else if (features.cutoff.active_frames == 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "silence: no frame above %.0f dBFS", options.cutoff.activity_threshold_db);
    notes.note = buf;
  }
  out.png = render_png(acc, notes, params);
  return out;
}

SpectrogramResult spectrogram_of_path(const std::string& path, dsp::FftCache& ffts, const AnalysisOptions& options,
                                      const model::Scorer& model, const SpectrogramParams& params) {
  auto source = io::open_file(path);
  return spectrogram_of(*source, path, ffts, options, model, params);
}

std::string image_file_name(const std::string& path) {
  namespace fs = std::filesystem;
  std::string absolute = path;
  std::error_code ec;
  const fs::path abs = fs::absolute(fs::path(path), ec);
  if (!ec) absolute = abs.lexically_normal().string();
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bit
  for (const char c : absolute) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  std::string base = fs::path(path).filename().string();
  std::string safe;
  for (const char c : base) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == '+';
    safe += ok ? c : '_';
    if (safe.size() >= 80) break;
  }
  if (safe.empty() || safe.front() == '.') safe.insert(safe.begin(), '_');
  char hex[20];
  std::snprintf(hex, sizeof hex, "%012llx", static_cast<unsigned long long>(h >> 16));
  return safe + "." + hex + ".png";
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace fakeless::render
