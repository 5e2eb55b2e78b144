#include "fakeless/io/audio_source.hpp"

#include "fakeless/error.hpp"

namespace fakeless::io {

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
