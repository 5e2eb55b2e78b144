#pragma once
// One file in, one verdict out; the only place a file's errors are caught.
#include <chrono>
#include <string>

#include "fakeless/analysis.hpp"
#include "fakeless/model/rule_model.hpp"
#include "fakeless/report/verdict.hpp"

namespace fakeless {

// The name and version of the scorer recorded in every verdict.
std::string model_name();

// Analyses an already-open source (used by tests and the fuzzer).
report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::RuleModel& model);

// The same, with the per-file clock (options.timeout_s) started at t0.
report::Verdict analyze_source(io::AudioSource& source, std::string display_path, dsp::FftCache& ffts,
                               const AnalysisOptions& options, const model::RuleModel& model,
                               std::chrono::steady_clock::time_point t0);

// The verdict of already extracted features (what analyze_source does after the pass);
// elapsed_ms counts from t0.
report::Verdict make_verdict(const FileFeatures& features, std::string display_path, const model::RuleModel& model,
                             std::chrono::steady_clock::time_point t0);

// Opens `path` and analyses it. Never throws for bad input: errors become error records.
report::Verdict analyze_path(const std::string& path, dsp::FftCache& ffts, const AnalysisOptions& options,
                             const model::RuleModel& model);

}  // namespace fakeless
