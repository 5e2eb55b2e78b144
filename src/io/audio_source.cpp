#include "fakeless/io/audio_source.hpp"

#include <utility>

#include "byte_input.hpp"
#include "decoders.hpp"
#include "fakeless/dsp/clones.hpp"
#include "fakeless/error.hpp"

namespace fakeless::io {

namespace detail {
FAKELESS_CLONES void ints_to_floats(const std::int32_t* in, std::size_t n, float* out) {
  constexpr float kScale = 1.0F / 2147483648.0F;
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * kScale;
}

void throw_decode_error(bool all_input_read, std::int64_t at, const std::optional<std::int64_t>& frames,
                        const std::string& why) {
  if (all_input_read && frames && at < *frames) {
    throw Error(ErrorCode::truncated, "stream ends after " + std::to_string(at) + " of " + std::to_string(*frames) +
                                          " frames the header announces (" + why + ")");
  }
  throw Error(ErrorCode::decode_failed, "decoder error at frame " + std::to_string(at) + ": " + why);
}

void check_end(std::int64_t position, const std::optional<std::int64_t>& frames) {
  if (frames && position < *frames) {
    throw Error(ErrorCode::truncated, "stream ends after " + std::to_string(position) + " of " +
                                          std::to_string(*frames) + " frames the header announces");
  }
}
}  // namespace detail

namespace {
// Native FLAC goes to libFLAC directly (the same decoder libsndfile would call, without
// libsndfile's per-sample copy loop in between: ~10 % less decoding time); everything
// else, FLAC behind an ID3v2 tag and Ogg FLAC included, to libsndfile.
std::unique_ptr<AudioSource> open_input(detail::ByteInput input) {
  if (detail::is_native_flac(input)) return detail::open_flac(std::move(input));
  return detail::open_sndfile(std::move(input));
}
}  // namespace

std::unique_ptr<AudioSource> open_file(const std::string& path) { return open_input(detail::ByteInput::open(path)); }

std::unique_ptr<AudioSource> open_bytes(std::vector<unsigned char> bytes) {
  return open_input(detail::ByteInput::memory(std::move(bytes)));
}

void AudioSource::seek(std::int64_t /*frame*/) {
  throw Error(ErrorCode::internal_error, "this audio source cannot seek");
}

void validate_format(const AudioFormat& format) {
  if (format.channels < 1 || format.channels > kMaxChannels) {
    throw Error(ErrorCode::unsupported_format,
                "unsupported channel count " + std::to_string(format.channels) + " (supported: 1 to " +
                    std::to_string(kMaxChannels) + ")");
  }
  if (format.sample_rate < kMinSampleRateHz || format.sample_rate > kMaxSampleRateHz) {
    throw Error(ErrorCode::unsupported_format,
                "unsupported sample rate " + std::to_string(format.sample_rate) + " Hz (supported: " +
                    std::to_string(kMinSampleRateHz) + " to " + std::to_string(kMaxSampleRateHz) + " Hz)");
  }
}

}  // namespace fakeless::io
