#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>

#include "fakeless/analysis.hpp"
#include "fakeless/error.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/version.hpp"
#include "fakeless/model/cnn_scorer.hpp"
#include "fakeless/model/trees.hpp"

namespace fakeless {

nlohmann::ordered_json number(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  const double r = std::round(value * scale) / scale;
  if (decimals == 0) return static_cast<std::int64_t>(r);
  return r == 0.0 ? 0.0 : r;  // no "-0.0"
}

nlohmann::ordered_json number(const std::optional<double>& value, int decimals) {
  return value ? number(*value, decimals) : nlohmann::ordered_json(nullptr);
}

void QuickParams::validate() const {
  if (segments < 1 || segments > 100) {
    throw std::invalid_argument("quick segments must be in [1, 100], got " + std::to_string(segments));
  }
  if (!(segment_s >= 0.5 && segment_s <= 600.0)) {
    throw std::invalid_argument("quick segment length must be in [0.5, 600] s, got " + std::to_string(segment_s));
  }
}

std::vector<Segment> quick_segments(std::int64_t total_frames, int sample_rate_hz, const QuickParams& params) {
  params.validate();
  const auto len = static_cast<std::int64_t>(std::llround(params.segment_s * sample_rate_hz));
  const std::int64_t n = params.segments;
  if (len <= 0 || total_frames < 2 * n * len) return {};  // short: decoding it all costs little more
  std::vector<Segment> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    // Centred in the i-th of n equal parts; the parts are at least 2 len long, so the
    // segments never overlap and stay inside the file.
    const std::int64_t centre = (2 * i + 1) * total_frames / (2 * n);
    const std::int64_t start = std::clamp<std::int64_t>(centre - len / 2, 0, total_frames - len);
    out.push_back({start, len});
  }
  return out;
}

FeatureGroups FeatureGroups::without(const std::string& comma_separated) {
  FeatureGroups g;
  std::stringstream ss(comma_separated);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (name == "holes") {
      g.holes = false;
    } else if (name == "stereo") {
      g.stereo = false;
    } else if (name == "bits") {
      g.bit_stats = false;
    } else if (name == "grid") {
      g.grid = false;
    } else if (!name.empty()) {
      throw std::invalid_argument("unknown feature group '" + name + "' (holes, stereo, bits, grid)");
    }
  }
  return g;
}

namespace {

// The mid spectrum goes to every analyzer of the mid, in order, then to the tap.
class MidFanOut final : public dsp::FrameConsumer {
 public:
  MidFanOut(features::CutoffAnalyzer& cutoff, features::HolesAnalyzer* holes, features::StereoAnalyzer* stereo,
            features::PatchSampler* patches, features::PatchSampler* segment_patches, dsp::FrameConsumer* tap)
      : cutoff_(cutoff),
        holes_(holes),
        stereo_(stereo),
        patches_(patches),
        segment_patches_(segment_patches),
        tap_(tap) {}
  void consume(const dsp::SpectrumFrame& frame) override {
    cutoff_.consume(frame);
    if (holes_ != nullptr) holes_->consume(frame);
    if (stereo_ != nullptr) stereo_->observe_mid(frame);
    if (patches_ != nullptr) patches_->consume(frame);
    if (segment_patches_ != nullptr) segment_patches_->consume(frame);
    if (tap_ != nullptr) tap_->consume(frame);
  }

 private:
  features::CutoffAnalyzer& cutoff_;
  features::HolesAnalyzer* holes_;
  features::StereoAnalyzer* stereo_;
  features::PatchSampler* patches_;
  features::PatchSampler* segment_patches_;
  dsp::FrameConsumer* tap_;
};

}  // namespace

FileFeatures extract_features(io::AudioSource& source, dsp::FftCache& ffts, const AnalysisOptions& options,
                              std::optional<std::chrono::steady_clock::time_point> deadline,
                              dsp::FrameConsumer* tap) {
  FileFeatures out;
  out.format = source.format();
  const auto& fmt = out.format;
  io::validate_format(fmt);
  out.stft = options.stft.value_or(dsp::StftParams::for_rate(fmt.sample_rate));

  dsp::Stft stft(out.stft, fmt.sample_rate, ffts);
  features::CutoffAnalyzer cutoff(fmt.sample_rate, out.stft, options.cutoff);
  features::BitDepthAnalyzer bits(fmt.sample_rate, fmt.is_float ? 0 : fmt.bits, options.bit_depth,
                                  options.groups.bit_stats);
  // Holes are measured against the rounding floor of the container, at most 16 bits deep
  // (decoded lossy audio is usually 16-bit, whatever the container); floats as 24-bit.
  const int floor_bits = fmt.is_float ? 24 : std::clamp(fmt.bits, 8, 16);
  const double floor_power = std::pow(10.0, features::quantisation_floor_db(floor_bits, out.stft.fft_size) / 10.0);
  std::optional<features::HolesAnalyzer> holes;
  if (options.groups.holes) holes.emplace(fmt.sample_rate, out.stft, floor_power, options.holes);
  // Mid/side: stereo files only, and only with non-overlapping mid frames (the side
  // frames are aligned on every stride-th mid frame).
  std::optional<features::StereoAnalyzer> stereo;
  std::optional<dsp::Stft> side_stft;
  // Quick mode resets the framers at every segment, which would break that alignment:
  // it leaves the side out.
  if (options.groups.stereo && !options.quick && fmt.channels == 2 && out.stft.hop == out.stft.fft_size) {
    stereo.emplace(fmt.sample_rate, out.stft, options.stereo, options.cutoff);
    side_stft.emplace(stereo->side_stft(), fmt.sample_rate, ffts);
  }
  // Codec grids: the loudest excerpt of the first two channels, kept for finish().
  std::optional<features::GridAnalyzer> grid;
  if (options.groups.grid) grid.emplace(fmt.sample_rate, fmt.channels, options.grid);
  // A seekable PCM source is read again for the grid's excerpt instead of copying every
  // sample on the way (lossy-encoded containers may not seek to the exact sample).
  const bool reread_excerpt = grid && source.seekable() && !options.quick && !fmt.is_lossy_encoding;
  if (reread_excerpt) grid->defer_samples();
  // CNN patches: the strata are sized from the header's length, except in quick mode
  // (only the segments are seen: the sampler sizes its strata as the frames come).
  // In segment mode a second sampler takes the segments' patches; the first keeps the
  // whole-file strata, so the file's CNN score is the same with or without segments.
  std::optional<features::PatchSampler> patches;
  std::optional<features::PatchSampler> segment_patches;
  if (options.patches) {
    const auto total = options.quick ? std::nullopt : fmt.frames;
    features::PatchParams whole = *options.patches;
    whole.segment_s = 0.0;
    patches.emplace(fmt.sample_rate, out.stft, total, whole);
    if (options.patches->segment_s > 0.0) segment_patches.emplace(fmt.sample_rate, out.stft, total, *options.patches);
  }
  // With a scorer's CNN at hand, segment patches are scored in small batches as they close
  // and only their logits kept: memory stays flat however many segments the file has.
  std::vector<features::Patch> pending;
  std::vector<features::Patch> scored;
  auto score_pending = [&]() {
    if (pending.empty()) return;
    const std::vector<float> z = options.patch_logits(pending);
    if (z.size() != pending.size()) throw std::logic_error("the scorer returned no logit for a segment patch");
    for (std::size_t i = 0; i < pending.size(); ++i) {
      pending[i].logit = z[i];
      std::vector<float>().swap(pending[i].values);  // frees it (assigning {} would keep the capacity)
      scored.push_back(std::move(pending[i]));
    }
    pending.clear();
  };
  if (segment_patches && options.patch_logits) {
    const auto batch = static_cast<std::size_t>(options.patches->per_segment);
    segment_patches->set_sink([&pending, &score_pending, batch](features::Patch&& p) {
      pending.push_back(std::move(p));
      if (pending.size() >= batch) score_pending();
    });
  }
  MidFanOut fan(cutoff, holes ? &*holes : nullptr, stereo ? &*stereo : nullptr, patches ? &*patches : nullptr,
                segment_patches ? &*segment_patches : nullptr, tap);

  io::AudioBlock block;
  std::vector<float> mono(options.block_frames);
  std::vector<float> side(stereo ? options.block_frames : 0);
  const auto ch = static_cast<std::size_t>(fmt.channels);
  const float inv_ch = 1.0F / static_cast<float>(ch);
  // Decodes up to `limit` frames (all when negative) into the analyzers; returns how many.
  auto decode = [&](std::int64_t limit) {
    std::int64_t done = 0;
    while (limit < 0 || done < limit) {
      const std::size_t want =
          limit < 0 ? options.block_frames
                    : static_cast<std::size_t>(std::min<std::int64_t>(limit - done,
                                                                      static_cast<std::int64_t>(options.block_frames)));
      const std::size_t n = source.read(block, want);
      if (n == 0) break;
      if (deadline && std::chrono::steady_clock::now() > *deadline) {
        throw Error(ErrorCode::timeout, "analysis stopped at the time budget of " +
                                            std::to_string(options.timeout_s) + " s after " +
                                            std::to_string(out.frames_read) + " frames");
      }
      bits.consume(block);
      if (bits.nonfinite_samples() > 0) {
        throw Error(ErrorCode::invalid_samples,
                    "non-finite (NaN or infinite) samples within the first " +
                        std::to_string(out.frames_read + static_cast<std::int64_t>(n)) + " frames decoded");
      }
      out.frames_read += static_cast<std::int64_t>(n);
      done += static_cast<std::int64_t>(n);
      if (grid) grid->consume(block.samples.data(), n);
      std::span<const float> m;
      if (ch == 1) {
        m = std::span<const float>(block.samples.data(), n);
      } else {
        // Mid (mono) downmix before the FFT: one transform per frame whatever the channels.
        const float* s = block.samples.data();
        if (ch == 2) {
          dsp::mid_side(s, n, mono.data(), stereo ? side.data() : nullptr);
        } else {
          for (std::size_t i = 0; i < n; ++i) {
            float acc = 0.0F;
            for (std::size_t c = 0; c < ch; ++c) acc += s[i * ch + c];
            mono[i] = acc * inv_ch;
          }
        }
        m = std::span<const float>(mono.data(), n);
      }
      stft.push(m, fan);  // the mid first: a side frame pairs with a mid frame already seen
      if (stereo) side_stft->push(std::span<const float>(side.data(), n), *stereo);
    }
    return done;
  };

  std::vector<Segment> segments;
  if (options.quick && source.seekable() && fmt.frames) {
    segments = quick_segments(*fmt.frames, fmt.sample_rate, options.quick_params);
  }
  if (segments.empty()) {
    decode(-1);
  } else {
    for (const auto& seg : segments) {
      source.seek(seg.start);
      stft.reset();
      if (grid) grid->reset(seg.start);
      if (patches) patches->reset();
      if (segment_patches) segment_patches->reset();
      if (decode(seg.frames) < seg.frames) {
        throw Error(ErrorCode::truncated, "stream ends inside the segment at frame " + std::to_string(seg.start) +
                                              " (the header announces " + std::to_string(*fmt.frames) + " frames)");
      }
    }
    out.quick_segments = static_cast<int>(segments.size());
  }

  out.bit_depth = bits.finish();
  std::optional<double> qfloor;
  if (out.bit_depth.effective_bits && !fmt.is_float) {
    qfloor = features::quantisation_floor_db(*out.bit_depth.effective_bits, out.stft.fft_size);
  }
  out.cutoff = cutoff.finish(qfloor);
  const std::optional<double> reference = out.cutoff.cutoff_hz ? out.cutoff.cutoff_hz : out.cutoff.bandwidth_hz;
  if (holes) out.holes = holes->finish(reference);
  if (stereo) out.stereo = stereo->finish(reference, qfloor);
  if (reread_excerpt) {
    if (const auto ex = grid->excerpt()) {
      source.seek(ex->first);
      std::vector<float> excerpt;
      excerpt.reserve(ex->second * ch);
      std::size_t got = 0;
      while (got < ex->second) {
        const std::size_t n = source.read(block, std::min(ex->second - got, options.block_frames));
        if (n == 0) break;
        excerpt.insert(excerpt.end(), block.samples.begin(), block.samples.begin() + static_cast<std::ptrdiff_t>(n * ch));
        got += n;
      }
      if (got < ex->second) {
        throw Error(ErrorCode::decode_failed, "the codec-grid excerpt at frame " + std::to_string(ex->first) +
                                                  " could not be read again (" + std::to_string(got) + " of " +
                                                  std::to_string(ex->second) + " frames)");
      }
      grid->load_excerpt(excerpt.data(), got);
    }
  }
  if (grid) {
    // Coefficients zeroed by a codec come back at the rounding floor of the PCM that
    // stored them: the effective depth (a 16-bit decode padded to 24 rounds at 16).
    const int grid_bits = fmt.is_float ? 24 : std::clamp(out.bit_depth.effective_bits.value_or(fmt.bits), 8, 24);
    out.grid = grid->finish(ffts, grid_bits);
  }
  if (patches) out.patches = patches->finish();
  if (segment_patches) {
    out.segment_patches = segment_patches->finish();
    if (options.patch_logits) {
      score_pending();
      out.segment_patches.patches = std::move(scored);
    }
  }
  return out;
}

nlohmann::ordered_json features_to_json(const FileFeatures& f) {
  const auto& c = f.cutoff;
  nlohmann::ordered_json j;
  j["sample_rate"] = f.format.sample_rate;
  j["channels"] = f.format.channels;
  j["bits"] = f.format.bits;
  j["is_float"] = f.format.is_float;
  j["duration_s"] = number(f.duration_s(), 3);
  j["fft_size"] = f.stft.fft_size;
  j["hop"] = f.stft.hop;
  j["frames"] = c.frames;
  j["active_frames"] = c.active_frames;
  j["active_fraction"] = c.frames > 0 ? number(static_cast<double>(c.active_frames) / c.frames, 4) : nullptr;
  j["cutoff_hz"] = number(c.cutoff_hz, 0);
  j["cutoff_sharpness_db"] = number(c.cutoff_sharpness_db, 2);
  j["cutoff_stability"] = number(c.cutoff_stability, 4);
  j["edge_presence"] = number(c.edge_presence, 4);
  j["noise_floor_db"] = number(c.noise_floor_db, 2);
  j["level_below_cutoff_db"] = number(c.level_below_cutoff_db, 2);
  j["bandwidth_hz"] = number(c.bandwidth_hz, 0);
  j["upper_wall_hz"] = number(c.upper_wall_hz, 0);
  j["bandwidth_ratio"] = c.bandwidth_hz ? number(*c.bandwidth_hz / (f.format.sample_rate / 2.0), 4) : nullptr;
  j["effective_bits"] = f.bit_depth.effective_bits ? nlohmann::ordered_json(*f.bit_depth.effective_bits) : nullptr;
  j["peak_dbfs"] = f.bit_depth.peak > 0 ? number(20.0 * std::log10(f.bit_depth.peak), 2) : nullptr;

  // cutoff, refined; upsampling
  j["cutoff_track_median_hz"] = number(c.cutoff_track_median_hz, 0);
  j["cutoff_track_iqr_hz"] = number(c.cutoff_track_iqr_hz, 0);
  j["cutoff_transition_hz"] = number(c.cutoff_transition_hz, 0);
  j["cutoff_slope_db_per_khz"] = number(c.cutoff_slope_db_per_khz, 2);
  j["upsample_edge_hz"] = number(c.upsample_edge_hz, 0);
  j["upsample_edge_drop_db"] = number(c.upsample_edge_drop_db, 2);
  j["upsample_edge_ratio"] = c.upsample_edge_hz ? number(*c.upsample_edge_hz / (f.format.sample_rate / 2.0), 4) : nullptr;
  j["original_rate_estimate_hz"] = number(c.original_rate_estimate_hz, 0);

  // spectral holes and band rupture
  const auto& h = f.holes;
  j["hole_reference_hz"] = number(h.reference_hz, 0);
  j["hole_rate_low"] = number(h.hole_rate_low, 6);
  j["hole_rate_high"] = number(h.hole_rate_high, 6);
  j["hole_rate_above"] = number(h.hole_rate_above, 6);
  j["dropout_rate_high"] = number(h.dropout_rate_high, 6);
  j["flicker_high"] = number(h.flicker_high, 6);
  j["flicker_above"] = number(h.flicker_above, 6);
  j["edge_on_fraction"] = number(h.edge_on_fraction, 4);
  j["edge_level_std_db"] = number(h.edge_level_std_db, 2);
  j["edge_std_excess_db"] = number(h.edge_std_excess_db, 2);
  j["transient_frames"] = h.transient_frames;
  j["transient_above_db"] = number(h.transient_above_db, 2);
  j["transient_above_gain_db"] = number(h.transient_above_gain_db, 2);

  // mid/side
  const auto& st = f.stereo;
  j["side_paired_frames"] = st.paired_frames;
  j["side_level_db"] = number(st.side_level_db, 2);
  j["side_hf_drop_db"] = number(st.side_hf_drop_db, 2);
  j["side_cutoff_hz"] = number(st.side_cutoff_hz, 0);
  j["side_cutoff_sharpness_db"] = number(st.side_cutoff_sharpness_db, 2);
  j["side_bandwidth_hz"] = number(st.side_bandwidth_hz, 0);
  j["side_bandwidth_ratio"] = st.side_bandwidth_hz && c.bandwidth_hz && *c.bandwidth_hz > 0
                                  ? number(*st.side_bandwidth_hz / *c.bandwidth_hz, 4)
                                  : nullptr;

  // bit depth, beyond the exact count
  const auto& bd = f.bit_depth;
  auto opt_int = [](const std::optional<int>& v) { return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr); };
  j["grid16_concentration"] = number(bd.grid16_concentration, 4);
  j["grid20_concentration"] = number(bd.grid20_concentration, 4);
  j["grid_bits"] = opt_int(bd.grid_bits);
  j["original_bits_estimate"] = opt_int(bd.original_bits_estimate);
  j["lsb_blocks"] = bd.blocks;
  j["zeroed_block_fraction"] = number(bd.zeroed_block_fraction, 4);
  j["zeroed_bits_mean"] = number(bd.zeroed_bits_mean, 3);
  j["block_bits_p10"] = opt_int(bd.block_bits_p10);

  // codec grids (features/grid.hpp)
  const auto& g = f.grid;
  j["grid_excerpt_s"] = number(g.excerpt_s, 3);
  j["grid_excerpt_rms_dbfs"] = number(g.excerpt_rms_dbfs, 2);
  // 20 ms framing (Opus) in the same excerpt (features/frame_period.hpp)
  j["frame20_z"] = number(g.frame20.z, 3);
  j["frame20_strength"] = number(g.frame20.strength, 4);
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < features::kGridFamilies; ++i) {
    const auto& r = g.families[i];
    const std::string name = "grid_" + std::string(features::to_string(features::kAllGridFamilies[i]));
    j[name + "_evidence"] = number(r.evidence, 4);
    j[name + "_z"] = number(r.z, 3);
    j[name + "_excess"] = number(r.excess, 6);
    j[name + "_offset"] = opt_int(r.offset);
    if (r.z && (!best || *r.z > *g.families[*best].z)) best = i;  // the largest z
  }
  const features::GridFamilyResult none;
  const auto& b = best ? g.families[*best] : none;
  j["grid_best_family"] = best ? nlohmann::ordered_json(*best) : nullptr;
  const auto fired = features::grid_finding(g);
  j["grid_fires"] = best ? nlohmann::ordered_json(fired ? 1 : 0) : nullptr;
  j["grid_fired_family"] = fired ? nlohmann::ordered_json(static_cast<int>(fired->family)) : nullptr;
  j["grid_best_evidence"] = number(b.evidence, 4);
  j["grid_best_z"] = number(b.z, 3);
  j["grid_best_excess"] = number(b.excess, 6);
  for (std::size_t q = 0; q < 4; ++q) {
    j["grid_best_null_q" + std::to_string(q + 1)] = number(b.null_quarter[q], 4);
  }
  for (std::size_t q = 0; q < 4; ++q) {
    j["grid_best_excess_q" + std::to_string(q + 1)] = number(b.excess_quarter[q], 5);
  }
  return j;
}

// "+gridN": the verdict's evidence carries the codec-grid finding (features/grid.hpp); a
// cache filled before it must not answer for it. Bump it when the grid rule or search
// changes (2: the prior alignment is confirmed too; 3: MP3's own hybrid filterbank; 4: its
// matrixing folded to 32 terms, whose float rounding moves null counts near the threshold;
// 5: the AAC families confirm on the loudest steady frames).
std::string model_name(const model::Scorer& model) {
  return model.name() + "+grid5 (fakeless " + kVersion + ")";
}

const model::Scorer& default_scorer() {
  // The fusion of the built-in trees and CNN; the trees alone in a binary without a CNN.
  static const std::unique_ptr<model::Scorer> fused = []() -> std::unique_ptr<model::Scorer> {
    const auto* cnn = model::CnnModel::builtin();
    if (cnn == nullptr || !cnn->fusion()) return nullptr;
    return std::make_unique<model::FusedScorer>(model::TreeModel::builtin(), *cnn);
  }();
  if (fused) return *fused;
  return model::TreeModel::builtin();
}

AnalysisOptions options_for(const AnalysisOptions& options, const model::Scorer& model) {
  AnalysisOptions o = options;
  if (!o.patches) o.patches = model.patch_params(options.segment_s);
  if (o.patches && o.patches->segment_s > 0.0 && !o.patch_logits) {
    o.patch_logits = [&model](std::span<const features::Patch> p) { return model.patch_logits(p); };
  }
  return o;
}

std::string model_name() { return model_name(default_scorer()); }

namespace {

nlohmann::ordered_json evidence_of(const FileFeatures& f) {
  const auto& c = f.cutoff;
  nlohmann::ordered_json e;
  e["cutoff_hz"] = number(c.cutoff_hz, 0);
  e["cutoff_sharpness_db"] = number(c.cutoff_sharpness_db, 1);
  e["cutoff_stability"] = number(c.cutoff_stability, 3);
  e["bandwidth_hz"] = number(c.bandwidth_hz, 0);
  e["effective_bits"] = f.bit_depth.effective_bits ? nlohmann::ordered_json(*f.bit_depth.effective_bits) : nullptr;
  // The codec grid, when the grid detector fires on its own (features::GridRule).
  if (const auto g = features::grid_finding(f.grid)) {
    nlohmann::ordered_json o;
    o["codec"] = std::string(features::codec_of(g->family));
    o["family"] = std::string(features::to_string(g->family));
    o["offset"] = g->offset;
    o["strength"] = number(g->excess, 4);
    e["grid"] = std::move(o);
  } else {
    e["grid"] = nullptr;
  }
  return e;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::Scorer& model) {
  const auto t0 = std::chrono::steady_clock::now();
  return analyze_source(source, std::move(display_path), ffts, options, model, t0);
}

report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::Scorer& model,
                               std::chrono::steady_clock::time_point t0) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (options.timeout_s > 0) {
    deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(options.timeout_s));
  }
  const FileFeatures f = extract_features(source, ffts, options_for(options, model), deadline);
  return make_verdict(f, std::move(display_path), model, t0);
}

report::Verdict make_verdict(const FileFeatures& f, std::string display_path, const model::Scorer& model,
                             std::chrono::steady_clock::time_point t0) {
  report::Verdict v;
  v.path = std::move(display_path);
  v.format = f.format;
  v.duration_s = f.duration_s();
  v.decision = model.decide(f);
  v.evidence = evidence_of(f);
  if (!v.decision.drivers.empty()) {
    auto drivers = nlohmann::ordered_json::array();
    for (const auto& dr : v.decision.drivers) {
      nlohmann::ordered_json o;
      o["feature"] = dr.feature;
      o["value"] = dr.value ? number(*dr.value, 6) : nlohmann::ordered_json(nullptr);
      o["effect"] = number(dr.effect, 3);
      drivers.push_back(std::move(o));
    }
    v.evidence["drivers"] = std::move(drivers);
  }
  if (const auto& c = v.decision.cnn) {
    v.evidence["cnn"] = {{"p_lossy", number(c->p_lossy, 4)}, {"logit", number(c->logit, 3)}, {"patches", c->patches}};
  }
  v.model = model_name(model);
  v.quick_segments = f.quick_segments;
  v.analysed_s = f.analysed_s();
  v.elapsed_ms = ms_since(t0);
  return v;
}

report::Verdict analyze_path(const std::string& path, dsp::FftCache& ffts, const AnalysisOptions& options,
                             const model::Scorer& model) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    auto source = io::open_file(path);
    return analyze_source(*source, path, ffts, options, model, t0);
  } catch (const Error& e) {
    return report::error_verdict(path, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return report::error_verdict(path, ErrorCode::out_of_memory, "out of memory while analysing");
  } catch (const std::exception& e) {
    return report::error_verdict(path, ErrorCode::internal_error, std::string("internal error: ") + e.what());
  }
}

}  // namespace fakeless
