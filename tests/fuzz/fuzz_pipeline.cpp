// libFuzzer target: bytes -> libsndfile (virtual I/O, the same decoder path as files) ->
// the whole analysis and the default (tree) scorer -> the JSON record. Bad input must end as fakeless::Error; any other
// exception, crash, leak or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fakeless/error.hpp"
#include "fakeless/pipeline.hpp"
#include "fakeless/report/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fakeless::model::Scorer& model = fakeless::default_scorer();
  static fakeless::dsp::FftCache ffts;
  fakeless::AnalysisOptions options;
  options.block_frames = 1024;
  try {
    auto source = fakeless::io::open_bytes(std::vector<unsigned char>(data, data + size));
    const auto verdict = fakeless::analyze_source(*source, "fuzz", ffts, options, model);
    (void)fakeless::report::dump_line(fakeless::report::to_json(verdict));
  } catch (const fakeless::Error&) {
    // the expected outcome for most inputs
  }
  return 0;
}
