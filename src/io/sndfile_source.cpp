// libsndfile lives here and nowhere else.
#include <sndfile.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "byte_input.hpp"
#include "decoders.hpp"
#include "fakeless/error.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless::io {
namespace {

using detail::ByteInput;
using detail::ints_to_floats;

struct SndfileCloser {
  void operator()(SNDFILE* f) const noexcept { sf_close(f); }
};
using SndfileHandle = std::unique_ptr<SNDFILE, SndfileCloser>;

std::string container_name(int major) {
  switch (major) {
    case SF_FORMAT_WAV: return "wav";
    case SF_FORMAT_WAVEX: return "wav";
    case SF_FORMAT_AIFF: return "aiff";
    case SF_FORMAT_AU: return "au";
    case SF_FORMAT_RAW: return "raw";
    case SF_FORMAT_W64: return "w64";
    case SF_FORMAT_RF64: return "rf64";
    case SF_FORMAT_FLAC: return "flac";
    case SF_FORMAT_CAF: return "caf";
    case SF_FORMAT_OGG: return "ogg";
    case SF_FORMAT_MPEG: return "mpeg";
    case SF_FORMAT_SD2: return "sd2";
    case SF_FORMAT_IRCAM: return "ircam";
    case SF_FORMAT_NIST: return "nist";
    case SF_FORMAT_VOC: return "voc";
    case SF_FORMAT_PAF: return "paf";
    case SF_FORMAT_SVX: return "svx";
    case SF_FORMAT_MAT4: return "mat4";
    case SF_FORMAT_MAT5: return "mat5";
    case SF_FORMAT_PVF: return "pvf";
    case SF_FORMAT_XI: return "xi";
    case SF_FORMAT_HTK: return "htk";
    case SF_FORMAT_SDS: return "sds";
    case SF_FORMAT_AVR: return "avr";
    case SF_FORMAT_WVE: return "wve";
    case SF_FORMAT_MPC2K: return "mpc2k";
    default: return "unknown";
  }
}

struct Encoding {
  const char* name;
  int bits;
  bool is_int;
  bool is_float;
  bool is_lossy;
};

Encoding encoding_of(int subtype) {
  switch (subtype) {
    case SF_FORMAT_PCM_S8: return {"pcm_s8", 8, true, false, false};
    case SF_FORMAT_PCM_U8: return {"pcm_u8", 8, true, false, false};
    case SF_FORMAT_PCM_16: return {"pcm_s16", 16, true, false, false};
    case SF_FORMAT_PCM_24: return {"pcm_s24", 24, true, false, false};
    case SF_FORMAT_PCM_32: return {"pcm_s32", 32, true, false, false};
    case SF_FORMAT_FLOAT: return {"float", 32, false, true, false};
    case SF_FORMAT_DOUBLE: return {"double", 64, false, true, false};
    case SF_FORMAT_ULAW: return {"ulaw", 8, false, false, true};
    case SF_FORMAT_ALAW: return {"alaw", 8, false, false, true};
    case SF_FORMAT_IMA_ADPCM: return {"ima_adpcm", 4, false, false, true};
    case SF_FORMAT_MS_ADPCM: return {"ms_adpcm", 4, false, false, true};
    case SF_FORMAT_GSM610: return {"gsm610", 0, false, false, true};
    case SF_FORMAT_VORBIS: return {"vorbis", 0, false, false, true};
    case SF_FORMAT_OPUS: return {"opus", 0, false, false, true};
    case SF_FORMAT_MPEG_LAYER_I: return {"mp1", 0, false, false, true};
    case SF_FORMAT_MPEG_LAYER_II: return {"mp2", 0, false, false, true};
    case SF_FORMAT_MPEG_LAYER_III: return {"mp3", 0, false, false, true};
    case SF_FORMAT_ALAC_16: return {"alac", 16, true, false, false};
    case SF_FORMAT_ALAC_20: return {"alac", 20, true, false, false};
    case SF_FORMAT_ALAC_24: return {"alac", 24, true, false, false};
    case SF_FORMAT_ALAC_32: return {"alac", 32, true, false, false};
    default: return {"other", 0, false, false, false};
  }
}

// The bytes served to libsndfile through its virtual I/O interface: a file through our own
// descriptor rather than sf_open_fd (libsndfile 1.0.31 to 1.2.0 close the descriptor when
// sf_open_fd fails even with close_desc false, libsndfile issue #949, and closing it again
// would close whatever another thread had opened under that number meanwhile), or a byte
// buffer (the fuzzer and tests: the same decoder path, no file system).
struct Vio {
  static ByteInput& in(void* self) { return *static_cast<ByteInput*>(self); }
  static sf_count_t length(void* self) { return in(self).length(); }
  static sf_count_t seek(sf_count_t offset, int whence, void* self) { return in(self).seek(offset, whence); }
  static sf_count_t read(void* dst, sf_count_t count, void* self) { return in(self).read(dst, count); }
  static sf_count_t write(const void*, sf_count_t, void*) { return 0; }  // read-only
  static sf_count_t tell(void* self) { return in(self).tell(); }
};

// libsndfile reports why an open failed through a process-wide error slot
// (sf_error(nullptr)); opens are serialised so one thread never reads another's error.
std::mutex& open_mutex() {
  static std::mutex m;
  return m;
}

class SndfileSource final : public AudioSource {
 public:
  explicit SndfileSource(ByteInput input) : input_(std::make_unique<ByteInput>(std::move(input))) {
    open_with([&](SF_INFO& info) {
      SF_VIRTUAL_IO vio{&Vio::length, &Vio::seek, &Vio::read, &Vio::write, &Vio::tell};
      return sf_open_virtual(&vio, SFM_READ, &info, input_.get());
    });
  }

  [[nodiscard]] const AudioFormat& format() const override { return format_; }
  [[nodiscard]] bool seekable() const override { return seekable_; }

  void seek(std::int64_t frame) override {
    if (!seekable_) throw Error(ErrorCode::internal_error, "this file cannot seek");
    const sf_count_t got = sf_seek(handle_.get(), static_cast<sf_count_t>(frame), SEEK_SET);
    if (got != static_cast<sf_count_t>(frame)) {
      // FLAC seeks by decoding: a cut stream fails here.
      throw Error(ErrorCode::truncated, "cannot seek to frame " + std::to_string(frame) + " of the " +
                                            std::to_string(*format_.frames) + " the header announces" +
                                            (sf_error(handle_.get()) != 0 ? std::string(": ") + sf_strerror(handle_.get())
                                                                          : std::string()));
    }
    position_ = got;
  }

  std::size_t read(AudioBlock& block, std::size_t max_frames) override {
    const auto ch = static_cast<std::size_t>(format_.channels);
    block.channels = format_.channels;
    block.samples.resize(max_frames * ch);
    sf_count_t got = 0;
    if (read_ints_) {
      block.ints.resize(max_frames * ch);
      got = sf_readf_int(handle_.get(), block.ints.data(), static_cast<sf_count_t>(max_frames));
      ints_to_floats(block.ints.data(), static_cast<std::size_t>(got > 0 ? got : 0) * ch, block.samples.data());
    } else {
      block.ints.clear();
      got = sf_readf_float(handle_.get(), block.samples.data(), static_cast<sf_count_t>(max_frames));
    }
    const int err = sf_error(handle_.get());
    if (err != SF_ERR_NO_ERROR) {
      // A decoder that fails having read the whole file ran out of data: a cut file.
      detail::throw_decode_error(consumed_all_input(), position_, format_.frames, sf_strerror(handle_.get()));
    }
    if (got < 0) got = 0;
    block.frames = static_cast<std::size_t>(got);
    position_ += got;
    if (got == 0) detail::check_end(position_, format_.frames);
    return block.frames;
  }

 private:
  // Chunked containers (WAV, AIFF, W64, RF64) state the length of their audio data. When
  // the file holds less, libsndfile quietly reads what is there and notes in its log
  // "data : <claimed> (should be <actual>)": a half-copied file. Claims of 2 GiB and more
  // in a 32-bit field are the placeholders streaming writers leave, not a truncation.
  void check_data_chunk_length() {
    std::string log(8192, '\0');
    sf_command(handle_.get(), SFC_GET_LOG_INFO, log.data(), static_cast<int>(log.size()));
    std::size_t pos = 0;
    while (pos < log.size() && log[pos] != '\0') {
      const std::size_t end = std::min(log.find('\n', pos), log.find('\0', pos));
      std::string line = log.substr(pos, end - pos);
      line.erase(0, line.find_first_not_of(" \t"));
      pos = end == std::string::npos ? log.size() : end + 1;
      if (line.rfind("data ", 0) != 0 && line.rfind("SSND ", 0) != 0) continue;
      unsigned long long claimed = 0;
      unsigned long long actual = 0;
      const char* colon = std::strchr(line.c_str(), ':');
      if (colon == nullptr || std::sscanf(colon + 1, " %llu (should be %llu)", &claimed, &actual) != 2) continue;
      const bool placeholder = claimed >= 0x7FFF0000ULL && claimed <= 0xFFFFFFFFULL;
      if (claimed > actual && !placeholder) {
        throw Error(ErrorCode::truncated, "the header announces " + std::to_string(claimed) +
                                              " bytes of audio data, the file holds " + std::to_string(actual));
      }
    }
  }

  // Whether the decoder has read up to the end of the bytes (file or memory).
  [[nodiscard]] bool consumed_all_input() const { return input_->at_end(); }

  template <typename Open>
  void open_with(Open&& open) {
    SF_INFO info{};
    {
      std::lock_guard lock(open_mutex());
      SNDFILE* raw = open(info);
      if (raw == nullptr) {
        const int err = sf_error(nullptr);
        const std::string msg = sf_error_number(err);
        if (err == SF_ERR_UNRECOGNISED_FORMAT) {
          throw Error(ErrorCode::not_audio, "not a recognised audio file: " + msg);
        }
        throw Error(ErrorCode::malformed, "invalid audio header: " + msg);
      }
      handle_.reset(raw);
    }

    const Encoding enc = encoding_of(info.format & SF_FORMAT_SUBMASK);
    format_.container = container_name(info.format & SF_FORMAT_TYPEMASK);
    format_.encoding = enc.name;
    format_.sample_rate = info.samplerate;
    format_.channels = info.channels;
    format_.bits = enc.bits;
    format_.is_float = enc.is_float;
    format_.is_lossy_encoding = enc.is_lossy;
    if (info.frames >= 0 && info.frames < SF_COUNT_MAX / 2) format_.frames = info.frames;
    read_ints_ = enc.is_int;
    seekable_ = info.seekable != 0 && format_.frames.has_value();
    validate_format(format_);

    check_data_chunk_length();

    // Floats outside [-1, 1] are passed through unchanged, not clipped.
    sf_command(handle_.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
    sf_command(handle_.get(), SFC_SET_CLIPPING, nullptr, SF_FALSE);
  }

  std::unique_ptr<ByteInput> input_;  // declared before handle_: outlives it (a stable address)
  SndfileHandle handle_;
  AudioFormat format_;
  bool read_ints_ = false;
  bool seekable_ = false;
  sf_count_t position_ = 0;  // the next frame read() returns
};

}  // namespace

namespace detail {
std::unique_ptr<AudioSource> open_sndfile(ByteInput input) { return std::make_unique<SndfileSource>(std::move(input)); }
}  // namespace detail

}  // namespace fakeless::io
