// Native FLAC through libFLAC's stream decoder, without libsndfile in between.
//
// libsndfile decodes FLAC with this same library; going direct saves its per-sample copy
// loop (a switch and bounds checks per sample, then our own int-to-float pass), about a
// tenth of the decoding time, which is most of the time a scan spends. The samples are
// the same: left-justified integers (v << (32 - bits)), floats exactly ints * 2^-31. The
// error semantics are libsndfile's too: any error the decoder reports (lost sync, a bad
// frame header, a CRC mismatch) fails the file, reported as truncated when the decoder
// had read the whole input before the frame count the header announces.
#include <FLAC/format.h>
#include <FLAC/stream_decoder.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "byte_input.hpp"
#include "decoders.hpp"
#include "fakeless/dsp/clones.hpp"
#include "fakeless/error.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless::io::detail {
namespace {

// Left-justifies (shift = 32 - bits; as unsigned, so negative samples shift defined) and
// interleaves one FLAC frame's channels.
FAKELESS_CLONES void interleave_stereo(const FLAC__int32* l, const FLAC__int32* r, std::size_t n, unsigned shift,
                                       std::int32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(l[i]) << shift);
    out[2 * i + 1] = static_cast<std::int32_t>(static_cast<std::uint32_t>(r[i]) << shift);
  }
}

void interleave(const FLAC__int32* const* ch, std::size_t channels, std::size_t n, unsigned shift, std::int32_t* out) {
  if (channels == 2) {
    interleave_stereo(ch[0], ch[1], n, shift, out);
    return;
  }
  for (std::size_t c = 0; c < channels; ++c) {
    const FLAC__int32* s = ch[c];
    for (std::size_t i = 0; i < n; ++i) {
      out[i * channels + c] = static_cast<std::int32_t>(static_cast<std::uint32_t>(s[i]) << shift);
    }
  }
}

struct DecoderDeleter {
  void operator()(FLAC__StreamDecoder* d) const noexcept {
    FLAC__stream_decoder_finish(d);
    FLAC__stream_decoder_delete(d);
  }
};

class FlacSource final : public AudioSource {
 public:
  explicit FlacSource(ByteInput input) : input_(std::move(input)), decoder_(FLAC__stream_decoder_new()) {
    if (!decoder_) throw Error(ErrorCode::out_of_memory, "cannot allocate a FLAC decoder");
    const auto init = FLAC__stream_decoder_init_stream(decoder_.get(), &on_read, &on_seek, &on_tell, &on_length,
                                                       &on_eof, &on_write, &on_metadata, &on_error, this);
    if (init != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
      throw Error(ErrorCode::internal_error,
                  std::string("cannot start the FLAC decoder: ") + FLAC__StreamDecoderInitStatusString[init]);
    }
    const bool ok = FLAC__stream_decoder_process_until_end_of_metadata(decoder_.get()) != 0;
    if (!info_) {
      // The signature and nothing a decoder could start from: as libsndfile says of it.
      if (input_.length() <= 8) throw Error(ErrorCode::not_audio, "not a recognised audio file: a FLAC signature only");
      if (input_.at_end()) throw Error(ErrorCode::truncated, "the file ends inside its FLAC stream header");
      throw Error(ErrorCode::malformed, "invalid FLAC stream header" + why());
    }
    if (!ok || error_) {
      if (input_.at_end()) throw Error(ErrorCode::truncated, "the file ends inside its FLAC metadata" + why());
      throw Error(ErrorCode::malformed, "invalid FLAC metadata" + why());
    }
    const int bits = static_cast<int>(info_->bits_per_sample);
    format_.container = "flac";
    format_.encoding = "pcm_s" + std::to_string(bits);
    format_.sample_rate = static_cast<int>(info_->sample_rate);
    format_.channels = static_cast<int>(info_->channels);
    format_.bits = bits;
    if (info_->total_samples > 0 && info_->total_samples < (std::uint64_t{1} << 62)) {
      format_.frames = static_cast<std::int64_t>(info_->total_samples);
    }
    validate_format(format_);
    shift_ = static_cast<unsigned>(32 - bits);
  }

  [[nodiscard]] const AudioFormat& format() const override { return format_; }
  [[nodiscard]] bool seekable() const override { return format_.frames.has_value(); }

  void seek(std::int64_t frame) override {
    if (!seekable()) throw Error(ErrorCode::internal_error, "this file cannot seek");
    pending_frames_ = 0;
    pending_pos_ = 0;
    target_ = nullptr;  // the frame the seek lands in goes to pending_, from the target sample on
    room_ = 0;
    if (frame >= *format_.frames) {
      // Nothing to decode there: the next read() returns 0. libFLAC refuses a seek to the end.
      if (frame > *format_.frames) throw Error(ErrorCode::internal_error, "seek past the end");
      at_end_ = true;
      position_ = frame;
      return;
    }
    at_end_ = false;
    if (FLAC__stream_decoder_seek_absolute(decoder_.get(), static_cast<FLAC__uint64>(frame)) == 0 || error_) {
      throw Error(ErrorCode::truncated, "cannot seek to frame " + std::to_string(frame) + " of the " +
                                            std::to_string(*format_.frames) + " the header announces" + why());
    }
    position_ = frame;
  }

  std::size_t read(AudioBlock& block, std::size_t max_frames) override {
    const auto ch = static_cast<std::size_t>(format_.channels);
    block.channels = format_.channels;
    block.samples.resize(max_frames * ch);
    block.ints.resize(max_frames * ch);
    std::size_t filled = take_pending(block.ints.data(), max_frames);
    while (filled < max_frames && !at_end_) {
      if (FLAC__stream_decoder_get_state(decoder_.get()) == FLAC__STREAM_DECODER_END_OF_STREAM) {
        at_end_ = true;
        break;
      }
      // The next frame goes straight into the block when it fits, else to pending_.
      target_ = block.ints.data() + filled * ch;
      room_ = max_frames - filled;
      written_ = 0;
      const bool ok = FLAC__stream_decoder_process_single(decoder_.get()) != 0;
      target_ = nullptr;
      filled += written_;
      if (error_) fail(position_ + static_cast<std::int64_t>(filled));
      if (!ok) {
        // A stream that ends inside a frame stops here without an error of its own.
        if (FLAC__stream_decoder_get_state(decoder_.get()) != FLAC__STREAM_DECODER_END_OF_STREAM) {
          fail(position_ + static_cast<std::int64_t>(filled));
        }
        at_end_ = true;
      }
      filled += take_pending(block.ints.data() + filled * ch, max_frames - filled);
    }
    ints_to_floats(block.ints.data(), filled * ch, block.samples.data());
    block.frames = filled;
    position_ += static_cast<std::int64_t>(filled);
    if (filled == 0) check_end(position_, format_.frames);
    return filled;
  }

 private:
  [[noreturn]] void fail(std::int64_t at) const { throw_decode_error(input_.at_end(), at, format_.frames, reason()); }

  // The decoder's first error, or its state when it reported none.
  [[nodiscard]] std::string reason() const {
    return error_ ? *error_ : std::string(FLAC__StreamDecoderStateString[FLAC__stream_decoder_get_state(decoder_.get())]);
  }
  [[nodiscard]] std::string why() const { return ": " + reason(); }

  std::size_t take_pending(std::int32_t* out, std::size_t max_frames) {
    const std::size_t n = std::min(pending_frames_ - pending_pos_, max_frames);
    if (n == 0) return 0;
    const auto ch = static_cast<std::size_t>(format_.channels);
    std::copy_n(pending_.data() + pending_pos_ * ch, n * ch, out);
    pending_pos_ += n;
    return n;
  }

  static FlacSource& self(void* p) { return *static_cast<FlacSource*>(p); }

  static FLAC__StreamDecoderReadStatus on_read(const FLAC__StreamDecoder*, FLAC__byte buffer[], std::size_t* bytes,
                                               void* p) {
    if (*bytes == 0) return FLAC__STREAM_DECODER_READ_STATUS_ABORT;
    const std::int64_t got = self(p).input_.read(buffer, static_cast<std::int64_t>(*bytes));
    *bytes = static_cast<std::size_t>(std::max<std::int64_t>(got, 0));
    return got > 0 ? FLAC__STREAM_DECODER_READ_STATUS_CONTINUE : FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
  }
  static FLAC__StreamDecoderSeekStatus on_seek(const FLAC__StreamDecoder*, FLAC__uint64 offset, void* p) {
    if (offset > static_cast<FLAC__uint64>(INT64_MAX)) return FLAC__STREAM_DECODER_SEEK_STATUS_ERROR;
    return self(p).input_.seek(static_cast<std::int64_t>(offset), SEEK_SET) < 0 ? FLAC__STREAM_DECODER_SEEK_STATUS_ERROR
                                                                                : FLAC__STREAM_DECODER_SEEK_STATUS_OK;
  }
  static FLAC__StreamDecoderTellStatus on_tell(const FLAC__StreamDecoder*, FLAC__uint64* offset, void* p) {
    const std::int64_t at = self(p).input_.tell();
    if (at < 0) return FLAC__STREAM_DECODER_TELL_STATUS_ERROR;
    *offset = static_cast<FLAC__uint64>(at);
    return FLAC__STREAM_DECODER_TELL_STATUS_OK;
  }
  static FLAC__StreamDecoderLengthStatus on_length(const FLAC__StreamDecoder*, FLAC__uint64* length, void* p) {
    const std::int64_t n = self(p).input_.length();
    if (n < 0) return FLAC__STREAM_DECODER_LENGTH_STATUS_ERROR;
    *length = static_cast<FLAC__uint64>(n);
    return FLAC__STREAM_DECODER_LENGTH_STATUS_OK;
  }
  static FLAC__bool on_eof(const FLAC__StreamDecoder*, void* p) { return self(p).input_.at_end() ? 1 : 0; }

  static void on_metadata(const FLAC__StreamDecoder*, const FLAC__StreamMetadata* m, void* p) {
    if (m->type == FLAC__METADATA_TYPE_STREAMINFO) self(p).info_ = m->data.stream_info;
  }
  static void on_error(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus status, void* p) {
    auto& s = self(p);
    if (!s.error_) s.error_ = describe(status);
  }
  static std::string describe(FLAC__StreamDecoderErrorStatus status) {
    switch (status) {
      case FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC: return "the FLAC decoder lost sync, damaged or missing data";
      case FLAC__STREAM_DECODER_ERROR_STATUS_BAD_HEADER: return "a damaged FLAC frame header";
      case FLAC__STREAM_DECODER_ERROR_STATUS_FRAME_CRC_MISMATCH: return "a FLAC frame fails its CRC check, damaged data";
      case FLAC__STREAM_DECODER_ERROR_STATUS_UNPARSEABLE_STREAM: return "a FLAC stream this decoder cannot parse";
      default: return std::string("FLAC decoder error ") + FLAC__StreamDecoderErrorStatusString[status];
    }
  }

  static FLAC__StreamDecoderWriteStatus on_write(const FLAC__StreamDecoder*, const FLAC__Frame* frame,
                                                 const FLAC__int32* const buffer[], void* p) {
    auto& s = self(p);
    const auto& h = frame->header;
    if (!s.info_ || static_cast<int>(h.channels) != s.format_.channels ||
        static_cast<int>(h.bits_per_sample) != s.format_.bits) {
      if (!s.error_) {
        s.error_ = "a frame of " + std::to_string(h.channels) + " channels at " + std::to_string(h.bits_per_sample) +
                   " bits in a stream of " + std::to_string(s.format_.channels) + " at " +
                   std::to_string(s.format_.bits);
      }
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    const auto ch = static_cast<std::size_t>(h.channels);
    const std::size_t n = h.blocksize;
    if (s.target_ != nullptr && n <= s.room_) {
      interleave(buffer, ch, n, s.shift_, s.target_);
      s.written_ = n;
    } else {
      s.pending_.resize(n * ch);
      interleave(buffer, ch, n, s.shift_, s.pending_.data());
      s.pending_frames_ = n;
      s.pending_pos_ = 0;
    }
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
  }

  ByteInput input_;  // declared before decoder_: outlives it
  std::unique_ptr<FLAC__StreamDecoder, DecoderDeleter> decoder_;
  std::optional<FLAC__StreamMetadata_StreamInfo> info_;
  std::optional<std::string> error_;  // the decoder's first error
  AudioFormat format_;
  unsigned shift_ = 0;
  bool at_end_ = false;
  std::int64_t position_ = 0;  // the next frame read() returns
  // Where the write callback puts the frame being decoded (in read()), and how much.
  std::int32_t* target_ = nullptr;
  std::size_t room_ = 0;
  std::size_t written_ = 0;
  // A decoded frame (or its tail) that did not fit the caller's block.
  std::vector<std::int32_t> pending_;
  std::size_t pending_frames_ = 0;
  std::size_t pending_pos_ = 0;
};

}  // namespace

bool is_native_flac(ByteInput& input) { return input.peek(4) == "fLaC"; }

std::unique_ptr<AudioSource> open_flac(ByteInput input) { return std::make_unique<FlacSource>(std::move(input)); }

}  // namespace fakeless::io::detail
