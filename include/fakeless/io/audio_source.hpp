#pragma once
// The one decoding seam. Everything downstream of io/ sees blocks of frames, never files.
//
// Sample conventions: `samples` are interleaved floats, full scale = [-1, 1). For integer
// PCM sources `ints` holds the very same samples as left-justified 32-bit integers (a
// 16-bit value v is stored as v << 16), which is what bit-depth analysis needs; the float
// values are exactly ints * 2^-31, so every container holding the same PCM yields
// bit-identical floats. For floating-point or lossy-encoded sources `ints` is empty.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fakeless::io {

// Accepted ranges; files outside them are reported as unsupported_format rather than
// analysed with absurd buffer sizes.
inline constexpr int kMinSampleRateHz = 4000;
inline constexpr int kMaxSampleRateHz = 768000;
inline constexpr int kMaxChannels = 64;

struct AudioFormat {
  std::string container;  // "flac", "wav", "aiff", "w64", "rf64", "caf", ...
  std::string encoding;   // "pcm_s16", "pcm_s24", "pcm_u8", "float", "double", "vorbis", ...
  int sample_rate = 0;    // Hz
  int channels = 0;
  int bits = 0;           // bits per sample in the container (32 for float, 64 for double)
  bool is_float = false;  // IEEE float samples
  bool is_lossy_encoding = false;  // the container itself carries a lossy codec (Ogg Vorbis, MP3, ...)
  std::optional<std::int64_t> frames;  // frame count from the header, if the header knows it

  [[nodiscard]] std::optional<double> duration_s() const {
    if (!frames || sample_rate <= 0) return std::nullopt;
    return static_cast<double>(*frames) / sample_rate;
  }
};

struct AudioBlock {
  std::vector<float> samples;        // interleaved, frames * channels
  std::vector<std::int32_t> ints;    // interleaved, left-justified; empty unless integer PCM
  std::size_t frames = 0;
  int channels = 0;
};

class AudioSource {
 public:
  virtual ~AudioSource() = default;
  [[nodiscard]] virtual const AudioFormat& format() const = 0;
  // Reads up to max_frames frames into block (resizing its buffers as needed; a caller
  // that reuses one block allocates once). Returns the frames read; 0 at the end.
  // Throws fakeless::Error on decode errors and truncation.
  virtual std::size_t read(AudioBlock& block, std::size_t max_frames) = 0;

  // Random access, for quick mode. seekable(): seek() works and format().frames is known.
  [[nodiscard]] virtual bool seekable() const { return false; }
  // Moves the read position to `frame` (0 <= frame <= format().frames). Throws
  // fakeless::Error (decode_failed or truncated when the stream cannot get there).
  virtual void seek(std::int64_t frame);
};

// Opens a file: native FLAC (the "fLaC" signature at byte 0) through libFLAC directly, any
// other format libsndfile reads (FLAC behind an ID3v2 tag and Ogg FLAC included) through
// libsndfile. Both give the same samples and the same error codes. Never blocks on FIFOs or
// devices (they are rejected before they are read), never writes, and does not touch the
// access time when it may.
std::unique_ptr<AudioSource> open_file(const std::string& path);

// The bytes of an audio file, decoded by the same decoders as open_file: for the fuzzer
// and for tests that need no file system.
std::unique_ptr<AudioSource> open_bytes(std::vector<unsigned char> bytes);

// An in-memory source for tests and for the fuzzer: integer PCM (left-justified ints)...
std::unique_ptr<AudioSource> memory_source_int(AudioFormat format, std::vector<std::int32_t> interleaved);
// ...or floating-point samples.
std::unique_ptr<AudioSource> memory_source_float(AudioFormat format, std::vector<float> interleaved);

// Validates rate / channels; throws Error(unsupported_format) naming the offending value.
void validate_format(const AudioFormat& format);

}  // namespace fakeless::io
