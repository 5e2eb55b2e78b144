#pragma once
// The decoders behind open_file() and open_bytes() (private to io/).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "byte_input.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless::io::detail {

// Any format libsndfile reads.
std::unique_ptr<AudioSource> open_sndfile(ByteInput input);
// Native FLAC streams (the "fLaC" signature at byte 0), through libFLAC directly.
std::unique_ptr<AudioSource> open_flac(ByteInput input);
// Whether the bytes start a native FLAC stream.
bool is_native_flac(ByteInput& input);

// Left-justified integers to floats: exactly v * 2^-31 (the samples' float convention).
void ints_to_floats(const std::int32_t* in, std::size_t n, float* out);

}  // namespace fakeless::io::detail
