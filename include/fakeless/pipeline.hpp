#pragma once
// One file in, one verdict out; the only place a file's errors are caught.
#include <chrono>
#include <string>

#include "fakeless/analysis.hpp"
#include "fakeless/model/scorer.hpp"
#include "fakeless/report/verdict.hpp"

namespace fakeless {

// The name and version of a scorer as recorded in its verdicts and cache entries.
std::string model_name(const model::Scorer& model);
// The same for the default scorer (the built-in trees).
std::string model_name();
// The default scorer: the built-in trees fused with the built-in CNN (the trees alone when
// the binary has no CNN).
const model::Scorer& default_scorer();

// The options with what the scorer needs added: its CNN patches (segment mode when
// options.segment_s > 0), so one decode pass serves the features and the CNN.
AnalysisOptions options_for(const AnalysisOptions& options, const model::Scorer& model);

// Analyses an already-open source (used by tests and the fuzzer).
report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::Scorer& model);

// The same, with the per-file clock (options.timeout_s) started at t0.
report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::Scorer& model,
                               std::chrono::steady_clock::time_point t0);

// The verdict of already extracted features (what analyze_source does after the pass);
// elapsed_ms counts from t0.
report::Verdict make_verdict(const FileFeatures& features, std::string display_path, const model::Scorer& model,
                             std::chrono::steady_clock::time_point t0);

// Opens `path` and analyses it. Never throws for bad input: errors become error records.
report::Verdict analyze_path(const std::string& path, dsp::FftCache& ffts, const AnalysisOptions& options,
                             const model::Scorer& model);

}  // namespace fakeless
