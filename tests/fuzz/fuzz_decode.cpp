// libFuzzer target for the decoders alone: bytes -> open_bytes (libFLAC for native FLAC,
// libsndfile for the rest) -> every block read, then seeks where the source can. Hundreds
// of times faster per input than fuzz_pipeline, so it reaches deeper into the decoders.
// Bad input must end as fakeless::Error; any other exception, crash, leak or undefined
// behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fakeless/error.hpp"
#include "fakeless/io/audio_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The last byte picks the block size, so short and long reads both meet frame edges.
  const std::size_t block = size > 0 ? 1 + static_cast<std::size_t>(data[size - 1]) * 37 : 4096;
  try {
    auto source = fakeless::io::open_bytes(std::vector<unsigned char>(data, data + size));
    fakeless::io::AudioBlock b;
    std::size_t total = 0;
    while (const std::size_t n = source->read(b, block)) {
      total += n;
      if (total > (std::size_t{1} << 24)) break;  // a header may promise hours: enough
    }
    if (source->seekable() && source->format().frames && *source->format().frames > 0) {
      const std::int64_t frames = *source->format().frames;
      for (const std::int64_t at : {frames / 2, frames - 1, std::int64_t{0}, frames}) {
        source->seek(at);
        (void)source->read(b, block);
      }
    }
  } catch (const fakeless::Error&) {
    // the expected outcome for most inputs
  }
  return 0;
}
