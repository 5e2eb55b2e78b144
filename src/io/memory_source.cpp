#include <algorithm>

#include "fakeless/error.hpp"
#include "fakeless/io/audio_source.hpp"

namespace fakeless::io {
namespace {

class MemorySource final : public AudioSource {
 public:
  MemorySource(AudioFormat format, std::vector<std::int32_t> ints, std::vector<float> floats)
      : format_(std::move(format)), ints_(std::move(ints)), floats_(std::move(floats)) {
    validate_format(format_);
    const std::size_t n = ints_.empty() ? floats_.size() : ints_.size();
    total_frames_ = n / static_cast<std::size_t>(format_.channels);
    if (!format_.frames) format_.frames = static_cast<std::int64_t>(total_frames_);
  }

  [[nodiscard]] const AudioFormat& format() const override { return format_; }

  [[nodiscard]] bool seekable() const override { return true; }
  void seek(std::int64_t frame) override {
    if (frame < 0 || static_cast<std::size_t>(frame) > total_frames_) {
      throw Error(ErrorCode::truncated, "cannot seek to frame " + std::to_string(frame) + " of " +
                                            std::to_string(total_frames_));
    }
    pos_ = static_cast<std::size_t>(frame);
  }

  std::size_t read(AudioBlock& block, std::size_t max_frames) override {
    const auto ch = static_cast<std::size_t>(format_.channels);
    const std::size_t frames = std::min(max_frames, total_frames_ - pos_);
    block.channels = format_.channels;
    block.frames = frames;
    block.samples.resize(max_frames * ch);
    if (!ints_.empty()) {
      block.ints.resize(max_frames * ch);
      constexpr float kScale = 1.0F / 2147483648.0F;
      for (std::size_t i = 0; i < frames * ch; ++i) {
        block.ints[i] = ints_[pos_ * ch + i];
        block.samples[i] = static_cast<float>(block.ints[i]) * kScale;
      }
    } else {
      block.ints.clear();
      std::copy_n(floats_.begin() + static_cast<std::ptrdiff_t>(pos_ * ch), frames * ch, block.samples.begin());
    }
    pos_ += frames;
    if (frames == 0 && static_cast<std::int64_t>(pos_) < *format_.frames) {
      throw Error(ErrorCode::truncated, "stream ends after " + std::to_string(pos_) + " of " +
                                            std::to_string(*format_.frames) + " frames the header announces");
    }
    return frames;
  }

 private:
  AudioFormat format_;
  std::vector<std::int32_t> ints_;
  std::vector<float> floats_;
  std::size_t total_frames_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<AudioSource> memory_source_int(AudioFormat format, std::vector<std::int32_t> interleaved) {
  return std::make_unique<MemorySource>(std::move(format), std::move(interleaved), std::vector<float>{});
}

std::unique_ptr<AudioSource> memory_source_float(AudioFormat format, std::vector<float> interleaved) {
  return std::make_unique<MemorySource>(std::move(format), std::vector<std::int32_t>{}, std::move(interleaved));
}

}  // namespace fakeless::io
