#pragma once
// The patch CNN: a small convolutional network over spectrogram patches (time frames x
// frequency bands), in the JSON format scripts/fakeless_cnn.py writes ("fakeless-cnn" v1,
// batch normalisation already folded into the convolutions).
//
// Format (top level):
//   "format": "fakeless-cnn", "version": 1,
//   "input": {"frames": F, "bands": B, ...},         a patch: F x B floats, time-major
//   "layers": [ ... ],                                 in order, one object each:
//     {"type":"conv2d","in":I,"out":O,"kernel":K,"pad":P,"weight":[O*I*K*K, OIHW],"bias":[O]}
//                                                      stride 1, zero padding, cross-correlation
//                                                      (as torch.nn.Conv2d)
//     {"type":"relu"}
//     {"type":"maxpool2d","size":S}                    S x S windows, stride S, remainder dropped
//                                                      (as torch.nn.MaxPool2d(S))
//     {"type":"flatten"}                               channel, time, band order (as torch)
//     {"type":"linear","in":I,"out":O,"weight":[O*I, row-major],"bias":[O]}
//   any other key (calibration, threshold, ...): kept verbatim in meta().
// The network's input is one channel of F x B; its output must be one number: the logit.
//
// Inference is float32 throughout. Convolutions are im2col + one GEMM (Eigen) per layer over
// a batch of patches, activations one contiguous buffer per layer, channels fastest
// (patch, time, band, channel). A patch's logit does not depend on the batch it is computed
// in, to the bit (src/model/cnn.cpp says why).
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace fakeless::model {

class CnnNet {
 public:
  enum class LayerType { conv2d, relu, maxpool2d, flatten, linear };

  // Scratch memory of one inference: reused between calls, so a worker that scores file
  // after file allocates once. Not shared between threads.
  class Workspace {
   public:
    Workspace();
    ~Workspace();
    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    [[nodiscard]] std::size_t bytes() const;  // held now

   private:
    friend class CnnNet;
    struct Buffers;
    std::unique_ptr<Buffers> b_;
  };

  // Parses and validates a model; `source` names it in error messages. Throws
  // std::runtime_error ("<source>: <reason>") for anything malformed: not JSON, another
  // format or version, an unknown layer type, a weight or bias count that does not match
  // the layer's shape, consecutive layers whose shapes do not fit, numbers that are not
  // finite in float32, an input shape the layers cannot take, an output that is not one
  // number.
  static CnnNet parse(std::string_view json_text, const std::string& source = "cnn model");
  static CnnNet from_file(const std::string& path);

  // One logit per patch. `patches` holds `count` patches of frames() * bands() floats each,
  // time-major (patch p, frame t, band f at p*frames*bands + t*bands + f). Const and
  // thread-safe: the first overload uses a workspace of the calling thread (kept for the
  // thread's lifetime, a few MB), the second the caller's. Throws std::invalid_argument when
  // patches.size() != count * frames() * bands(). Patches must be finite (not checked: NaN
  // gives an unspecified logit, never a crash).
  [[nodiscard]] std::vector<float> logits(std::span<const float> patches, std::size_t count) const;
  [[nodiscard]] std::vector<float> logits(std::span<const float> patches, std::size_t count, Workspace& ws) const;

  [[nodiscard]] std::size_t frames() const { return frames_; }
  [[nodiscard]] std::size_t bands() const { return bands_; }
  // The top-level keys other than format, version and layers (so "input" is there, with
  // any keys it has besides frames and bands), as raw JSON.
  [[nodiscard]] const nlohmann::json& meta() const { return meta_; }
  [[nodiscard]] std::size_t parameter_count() const;
  [[nodiscard]] std::size_t layer_count() const { return layers_.size(); }
  // 8 hex digits of the model text's FNV-1a hash (as TreeModel::name() carries), to tell
  // retrained models apart.
  [[nodiscard]] const std::string& digest() const { return digest_; }

  // Patches per GEMM batch. One 32x256 patch already gives GEMMs of 128 to 8192 columns
  // (batches of 2 to 12 patches run equally fast); the workspace grows with the batch: 3.7 MB
  // for 4 patches of the default network.
  static constexpr std::size_t kBatch = 4;

 private:
  struct Layer {
    LayerType type = LayerType::relu;
    // shape of the layer's input and output: channels x height x width, or a flat vector
    // (height = width = 1, flat = true)
    std::size_t in_c = 0, in_h = 0, in_w = 0;
    std::size_t out_c = 0, out_h = 0, out_w = 0;
    bool flat_in = false, flat_out = false;
    std::size_t kernel = 0, pad = 0, size = 0;
    std::vector<float> weight;  // conv2d: out x (k*k*in) row-major, columns (ky, kx, in); linear: out x in
    std::vector<float> bias;
  };

  void run_batch(const float* input, std::size_t n, float* out, Workspace& ws) const;

  std::size_t frames_ = 0;
  std::size_t bands_ = 0;
  std::vector<Layer> layers_;
  nlohmann::json meta_;
  std::string digest_;
};

}  // namespace fakeless::model
