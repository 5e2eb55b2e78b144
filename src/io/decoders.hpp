#pragma once
// The decoders behind open_file() and open_bytes() (private to io/).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "byte_input.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless::io::detail {

// Any format libsndfile reads.
std::unique_ptr<AudioSource> open_sndfile(ByteInput input);
// Native FLAC streams (the "fLaC" signature at byte 0), through libFLAC directly.
std::unique_ptr<AudioSource> open_flac(ByteInput input);
// Whether the bytes start a native FLAC stream.
bool is_native_flac(ByteInput& input);

// How both decoders report a failure at frame `at`: with all input read and fewer frames
// than the header announces, the file is cut (truncated); otherwise decode_failed. `why`:
// the decoder's own words.
[[noreturn]] void throw_decode_error(bool all_input_read, std::int64_t at, const std::optional<std::int64_t>& frames,
                                     const std::string& why);
// A read that returned nothing at `position`: truncated when the header announces more.
void check_end(std::int64_t position, const std::optional<std::int64_t>& frames);

// Left-justified integers to floats: exactly v * 2^-31 (the samples' float convention).
void ints_to_floats(const std::int32_t* in, std::size_t n, float* out);

}  // namespace fakeless::io::detail
