#include "fakeless/model/cnn.hpp"

#include "fakeless/model/json_sax.hpp"
#include "fakeless/model/model_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <Eigen/Core>

namespace fakeless::model {
namespace {

constexpr const char* kFormat = "fakeless-cnn";
constexpr int kFormatVersion = 1;
// Bounds that keep shape arithmetic far from overflow and the workspace of a hostile model
// file within reason: per patch, no activation, im2col matrix or weight array above 2^22
// floats (the default network: 65536, 147456 and 32768).
constexpr std::size_t kMaxDim = 1U << 16;
constexpr std::size_t kMaxElements = std::size_t{1} << 22;

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

[[noreturn]] void bad(const std::string& source, const std::string& msg) {
  throw std::runtime_error(source + ": " + msg);
}

// Reads a model without building a JSON value of its ~10^5 weights: the SAX events of every
// layer's "weight" and "bias" arrays go straight into float vectors, everything else (shapes,
// meta: small) into an ordinary json value, where those arrays are left empty.
class CnnReader final : public SmallTreeSax {
 public:
  std::vector<std::vector<float>> weights;  // per layer index; empty when absent
  std::vector<std::vector<float>> biases;

  bool null() override { return capture_ ? not_number() : scalar(nullptr); }
  bool boolean(bool v) override { return capture_ ? not_number() : scalar(v); }
  bool number_integer(number_integer_t v) override {
    return capture_ ? push(static_cast<double>(v), nullptr) : scalar(v);
  }
  bool number_unsigned(number_unsigned_t v) override {
    return capture_ ? push(static_cast<double>(v), nullptr) : scalar(v);
  }
  bool number_float(number_float_t v, const string_t& s) override { return capture_ ? push(v, &s) : scalar(v); }
  bool string(string_t& v) override { return capture_ ? not_number() : scalar(v); }
  bool start_object(std::size_t) override { return capture_ ? not_number() : open(nlohmann::json::object()); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    if (capture_) return not_number();
    // root -> "layers" -> one layer object -> "weight" / "bias"
    if ((key_ == "weight" || key_ == "bias") && stack_.size() == 3 && names_[1] == "layers" &&
        stack_[1]->is_array() && stack_[2]->is_object()) {
      layer_ = stack_[1]->size() - 1;
      if (weights.size() <= layer_) {
        weights.resize(layer_ + 1);
        biases.resize(layer_ + 1);
      }
      capture_ = key_ == "weight" ? &weights[layer_] : &biases[layer_];
      capture_->clear();
      what_ = key_;
      return scalar(nlohmann::json::array());  // placeholder: the numbers are in `capture_`
    }
    return open(nlohmann::json::array());
  }
  bool end_array() override {
    if (capture_) {
      capture_ = nullptr;
      return true;
    }
    return close();
  }

 private:
  std::vector<float>* capture_ = nullptr;
  std::size_t layer_ = 0;
  std::string what_;

  [[nodiscard]] std::string where() const {
    return "layer " + std::to_string(layer_) + ": '" + what_ + "'";
  }
  bool not_number() { return fail(where() + " holds something that is not a number"); }
  bool push(double v, const string_t* text) {
    const auto f = static_cast<float>(v);
    if (!std::isfinite(v) || !std::isfinite(f)) {
      return fail(where() + " holds a number that is not finite in float32" + (text ? " (" + *text + ")" : ""));
    }
    capture_->push_back(f);
    return true;
  }
};

// A positive integer field (or >= 0 with allow_zero), at most kMaxDim. `what`: the message
// prefix ("<source>: layer 3 (conv2d)").
std::size_t dim_field(const nlohmann::json& j, const char* key, const std::string& what, bool allow_zero = false) {
  if (!j.contains(key)) throw std::runtime_error(what + ": missing '" + key + "'");
  const auto& v = j[key];
  if (!v.is_number_integer()) throw std::runtime_error(what + ": '" + key + "' is not an integer");
  const auto i = v.get<std::int64_t>();
  if (i < (allow_zero ? 0 : 1) || static_cast<std::uint64_t>(i) > kMaxDim) {
    throw std::runtime_error(what + ": '" + key + "' is " + std::to_string(i) + ", outside [" +
                             (allow_zero ? "0" : "1") + ", " + std::to_string(kMaxDim) + "]");
  }
  return static_cast<std::size_t>(i);
}

std::string shape_text(std::size_t c, std::size_t h, std::size_t w, bool flat) {
  if (flat) return "a flat vector of " + std::to_string(c);
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) + " (channels x frames x bands)";
}

// The im2col matrix of a k x k convolution (stride 1, zero padding `pad`) of n patches of
// h x w positions with c channels, channels fastest (patch, y, x, c): column (patch, oy, ox),
// contiguous, holds rows (ky, kx, c) = input (patch, oy + ky - pad, ox + kx - pad, c), 0
// outside. For one (column, ky) the valid kx are adjacent positions of the input row, so
// they are one contiguous run of floats.
void im2col(const float* in, std::size_t c, std::size_t n, std::size_t h, std::size_t w, std::size_t k,
            std::size_t pad, float* col) {
  const std::size_t oh = h + 2 * pad - k + 1;
  const std::size_t ow = w + 2 * pad - k + 1;
  const std::size_t kc = k * c;  // one (ky) row of the kernel, all channels
  float* dst = col;
  for (std::size_t p = 0; p < n; ++p) {
    const float* plane = in + p * h * w * c;
    for (std::size_t oy = 0; oy < oh; ++oy) {
      for (std::size_t ox = 0; ox < ow; ++ox) {
        // kernel columns kx whose input column ox + kx - pad lies inside [0, w)
        const std::size_t kx_lo = ox < pad ? pad - ox : 0;
        const std::size_t kx_hi = std::min(k, w + pad - ox);  // w + pad - ox >= k - pad >= 1
        for (std::size_t ky = 0; ky < k; ++ky, dst += kc) {
          const std::size_t y = oy + ky;  // + pad offset: the input row is y - pad
          if (y < pad || y - pad >= h || kx_lo >= kx_hi) {
            std::fill(dst, dst + kc, 0.0F);
            continue;
          }
          const float* src = plane + ((y - pad) * w + (ox + kx_lo - pad)) * c;
          std::fill(dst, dst + kx_lo * c, 0.0F);
          std::copy(src, src + (kx_hi - kx_lo) * c, dst + kx_lo * c);
          std::fill(dst + kx_hi * c, dst + kc, 0.0F);
        }
      }
    }
  }
}

}  // namespace

struct CnnNet::Workspace::Buffers {
  std::vector<float> act[2];  // activations, ping-pong
  std::vector<float> col;     // im2col
};

CnnNet::Workspace::Workspace() : b_(std::make_unique<Buffers>()) {}
CnnNet::Workspace::~Workspace() = default;
CnnNet::Workspace::Workspace(Workspace&&) noexcept = default;
CnnNet::Workspace& CnnNet::Workspace::operator=(Workspace&&) noexcept = default;
std::size_t CnnNet::Workspace::bytes() const {
  if (!b_) return 0;
  return (b_->act[0].capacity() + b_->act[1].capacity() + b_->col.capacity()) * sizeof(float);
}

CnnNet CnnNet::parse(std::string_view text, const std::string& source) {
  CnnReader reader;
  bool ok = false;
  try {
    ok = sax_parse(text, reader);
  } catch (const nlohmann::json::exception& e) {
    bad(source, std::string("not JSON: ") + e.what());
  }
  if (!ok) bad(source, reader.error.empty() ? std::string("not JSON") : reader.error);
  const nlohmann::json& j = reader.root;
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat) bad(source, "not a fakeless-cnn model");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<std::int64_t>() != kFormatVersion) {
    bad(source, "unsupported format version " + (j.contains("version") ? j["version"].dump() : std::string("(none)")) +
                    " (this build reads " + std::to_string(kFormatVersion) + ")");
  }

  CnnNet net;
  if (!j.contains("input") || !j["input"].is_object()) bad(source, "missing object 'input'");
  net.frames_ = dim_field(j["input"], "frames", source + ": input");
  net.bands_ = dim_field(j["input"], "bands", source + ": input");
  if (net.frames_ * net.bands_ > kMaxElements) bad(source, "input: a patch of frames x bands is too large");

  if (!j.contains("layers") || !j["layers"].is_array()) bad(source, "missing array 'layers'");
  const auto& layers = j["layers"];
  if (layers.empty()) bad(source, "no layers");

  // the shape flowing through the network
  std::size_t c = 1, h = net.frames_, w = net.bands_;
  bool flat = false;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& lj = layers[i];
    std::string what = "layer " + std::to_string(i);
    if (!lj.is_object()) bad(source, what + ": not an object");
    if (!lj.contains("type") || !lj["type"].is_string()) bad(source, what + ": missing 'type'");
    const std::string type = lj["type"].get<std::string>();
    Layer L;
    std::vector<const char*> keys{"type"};
    if (type == "conv2d") {
      L.type = LayerType::conv2d;
      keys.insert(keys.end(), {"in", "out", "kernel", "pad", "weight", "bias"});
    } else if (type == "relu") {
      L.type = LayerType::relu;
    } else if (type == "maxpool2d") {
      L.type = LayerType::maxpool2d;
      keys.emplace_back("size");
    } else if (type == "flatten") {
      L.type = LayerType::flatten;
    } else if (type == "linear") {
      L.type = LayerType::linear;
      keys.insert(keys.end(), {"in", "out", "weight", "bias"});
    } else {
      bad(source, what + ": unknown layer type '" + type + "'");
    }
    what += " (" + type + ")";
    for (const auto& item : lj.items()) {
      const std::string& k = item.key();  // a named variable: clang 14 cannot capture a structured binding
      if (std::none_of(keys.begin(), keys.end(), [&](const char* a) { return k == a; })) {
        bad(source, what + ": unknown key '" + k + "'");
      }
    }
    L.in_c = c;
    L.in_h = h;
    L.in_w = w;
    L.flat_in = flat;
    auto take = [&](std::vector<std::vector<float>>& from, const char* key, std::size_t expect,
                    const std::string& formula) {
      if (!lj.contains(key)) bad(source, what + ": missing '" + key + "'");
      if (!lj[key].is_array()) bad(source, what + ": '" + key + "' is not an array");
      std::vector<float> v = i < from.size() ? std::move(from[i]) : std::vector<float>{};
      if (v.size() != expect) {
        bad(source, what + ": '" + key + "' holds " + std::to_string(v.size()) + " numbers, " + formula + " = " +
                        std::to_string(expect));
      }
      return v;
    };
    const std::string at = source + ": " + what;
    switch (L.type) {
      case LayerType::conv2d: {
        if (flat) bad(source, what + ": its input is " + shape_text(c, h, w, flat) + ", not channels x frames x bands");
        const std::size_t in = dim_field(lj, "in", at);
        const std::size_t out = dim_field(lj, "out", at);
        L.kernel = dim_field(lj, "kernel", at);
        L.pad = dim_field(lj, "pad", at, true);
        if (in != c) {
          bad(source, what + ": 'in' is " + std::to_string(in) + ", but its input is " + shape_text(c, h, w, flat));
        }
        if (L.pad >= L.kernel) bad(source, what + ": 'pad' must be smaller than 'kernel'");
        if (L.kernel > h + 2 * L.pad || L.kernel > w + 2 * L.pad) {
          bad(source, what + ": a " + std::to_string(L.kernel) + "x" + std::to_string(L.kernel) +
                          " kernel does not fit its padded input " + shape_text(c, h, w, flat));
        }
        const std::size_t taps = in * L.kernel * L.kernel;  // < 2^48
        const std::size_t oh = h + 2 * L.pad - L.kernel + 1, ow = w + 2 * L.pad - L.kernel + 1;
        if (taps > kMaxElements || out * taps > kMaxElements || taps * oh * ow > kMaxElements) {
          bad(source, what + ": too large (more than " + std::to_string(kMaxElements) + " weights or im2col entries)");
        }
        {
          // OIHW as in the file -> rows o, columns (ky, kx, i): the im2col order of
          // channels-fastest activations
          const auto oihw = take(reader.weights, "weight", out * in * L.kernel * L.kernel, "out*in*kernel*kernel");
          const std::size_t k = L.kernel;
          L.weight.resize(oihw.size());
          for (std::size_t o = 0; o < out; ++o) {
            for (std::size_t ci = 0; ci < in; ++ci) {
              for (std::size_t ky = 0; ky < k; ++ky) {
                for (std::size_t kx = 0; kx < k; ++kx) {
                  L.weight[((o * k + ky) * k + kx) * in + ci] = oihw[((o * in + ci) * k + ky) * k + kx];
                }
              }
            }
          }
        }
        L.bias = take(reader.biases, "bias", out, "out");
        c = out;
        h = oh;
        w = ow;
        break;
      }
      case LayerType::relu:
        break;
      case LayerType::maxpool2d:
        if (flat) bad(source, what + ": its input is " + shape_text(c, h, w, flat) + ", not channels x frames x bands");
        L.size = dim_field(lj, "size", at);
        if (L.size > h || L.size > w) {
          bad(source, what + ": a " + std::to_string(L.size) + "x" + std::to_string(L.size) +
                          " window does not fit its input " + shape_text(c, h, w, flat));
        }
        h /= L.size;
        w /= L.size;
        break;
      case LayerType::flatten:
        c = c * h * w;
        h = w = 1;
        flat = true;
        break;
      case LayerType::linear: {
        if (!flat) {
          bad(source, what + ": its input is " + shape_text(c, h, w, flat) + "; a flatten layer must come first");
        }
        const std::size_t in = dim_field(lj, "in", at);
        const std::size_t out = dim_field(lj, "out", at);
        if (in != c) {
          bad(source, what + ": 'in' is " + std::to_string(in) + ", but its input is " + shape_text(c, h, w, flat));
        }
        if (out * in > kMaxElements) bad(source, what + ": too large (more than " + std::to_string(kMaxElements) + " weights)");
        L.weight = take(reader.weights, "weight", out * in, "out*in");
        L.bias = take(reader.biases, "bias", out, "out");
        c = out;
        break;
      }
    }
    if (c * h * w > kMaxElements) bad(source, what + ": its output is too large");
    L.out_c = c;
    L.out_h = h;
    L.out_w = w;
    L.flat_out = flat;
    net.layers_.push_back(std::move(L));
  }
  if (c * h * w != 1) {
    bad(source, "the network's output is " + shape_text(c, h, w, flat) + "; it must be one number (the logit)");
  }

  net.meta_ = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k != "format" && k != "version" && k != "layers") net.meta_[k] = v;
  }
  net.digest_ = model_digest(text);
  return net;
}

CnnNet CnnNet::from_file(const std::string& path) {
  const auto text = read_model_file(path);
  if (!text) throw std::runtime_error("cannot read model file " + path);
  return parse(*text, path);
}

std::size_t CnnNet::parameter_count() const {
  std::size_t n = 0;
  for (const auto& L : layers_) n += L.weight.size() + L.bias.size();
  return n;
}

std::vector<float> CnnNet::logits(std::span<const float> patches, std::size_t count) const {
  thread_local Workspace ws;
  return logits(patches, count, ws);
}

std::vector<float> CnnNet::logits(std::span<const float> patches, std::size_t count, Workspace& ws) const {
  const std::size_t per = frames_ * bands_;
  if (count != 0 && (patches.size() / count != per || patches.size() % count != 0)) {
    throw std::invalid_argument("cnn: " + std::to_string(patches.size()) + " floats are not " + std::to_string(count) +
                                " patches of " + std::to_string(frames_) + "x" + std::to_string(bands_));
  }
  if (count == 0 && !patches.empty()) throw std::invalid_argument("cnn: floats given for 0 patches");
  if (!ws.b_) ws.b_ = std::make_unique<Workspace::Buffers>();
  std::vector<float> out(count);
  for (std::size_t first = 0; first < count; first += kBatch) {
    const std::size_t n = std::min(kBatch, count - first);
    run_batch(patches.data() + first * per, n, out.data() + first, ws);
  }
  return out;
}

// Activations of n patches are channels-fastest, (patch, y, x, channel): a C x (n*H*W)
// column-major matrix, one column per position. A convolution is then one GEMM,
// Y (C_out x n*H*W) = W (C_out x k*k*C_in) * im2col, whose row count is the layer's and not
// the batch's: Eigen's kernel sums each output over k in an order fixed by the layer's shape
// alone, so a patch gets the same bits in any batch (while the positions per patch are a
// multiple of 4, as here). After flatten, each patch's column holds torch's (channel, y, x)
// order, and linear layers are one matrix-vector product per patch (same reason).
void CnnNet::run_batch(const float* input, std::size_t n, float* out, Workspace& ws) const {
  auto& B = *ws.b_;
  const float* cur = input;
  int slot = -1;  // which act[] holds `cur`; -1: the caller's input (read-only)
  auto next = [&](std::size_t size) -> float* {
    const int s = slot == 0 ? 1 : 0;
    if (B.act[s].size() < size) B.act[s].resize(size);
    return B.act[s].data();
  };
  auto advance = [&](float* p) {
    slot = slot == 0 ? 1 : 0;
    cur = p;
  };
  auto idx = [](std::size_t v) { return static_cast<Eigen::Index>(v); };

  for (const Layer& L : layers_) {
    const std::size_t in_size = L.in_c * L.in_h * L.in_w * n;
    switch (L.type) {
      case LayerType::conv2d: {
        const std::size_t K = L.in_c * L.kernel * L.kernel;
        const std::size_t N = n * L.out_h * L.out_w;
        const float* colp = cur;  // a 1x1 convolution without padding needs no im2col
        if (L.kernel != 1 || L.pad != 0) {
          if (B.col.size() < K * N) B.col.resize(K * N);
          im2col(cur, L.in_c, n, L.in_h, L.in_w, L.kernel, L.pad, B.col.data());
          colp = B.col.data();
        }
        float* dst = next(L.out_c * N);
        const Eigen::Map<const RowMatrix> W(L.weight.data(), idx(L.out_c), idx(K));
        const Eigen::Map<const ColMatrix> X(colp, idx(K), idx(N));
        Eigen::Map<ColMatrix> Y(dst, idx(L.out_c), idx(N));
        Y.noalias() = W * X;
        Y.colwise() += Eigen::Map<const Eigen::VectorXf>(L.bias.data(), idx(L.out_c));
        advance(dst);
        break;
      }
      case LayerType::relu: {
        float* dst = slot < 0 ? next(in_size) : B.act[slot].data();  // in place in our own buffer
        Eigen::Map<Eigen::ArrayXf>(dst, idx(in_size)) = Eigen::Map<const Eigen::ArrayXf>(cur, idx(in_size)).max(0.0F);
        if (slot < 0) advance(dst);
        break;
      }
      case LayerType::maxpool2d: {
        const std::size_t s = L.size, c = L.in_c, iw = L.in_w, oh = L.out_h, ow = L.out_w;
        float* dst = next(c * n * oh * ow);
        float* o = dst;
        for (std::size_t p = 0; p < n; ++p) {
          const float* plane = cur + p * L.in_h * iw * c;
          for (std::size_t oy = 0; oy < oh; ++oy) {
            for (std::size_t ox = 0; ox < ow; ++ox, o += c) {
              const float* first = plane + (oy * s * iw + ox * s) * c;
              std::copy(first, first + c, o);
              for (std::size_t dy = 0; dy < s; ++dy) {
                for (std::size_t dx = dy == 0 ? 1 : 0; dx < s; ++dx) {
                  const float* v = first + (dy * iw + dx) * c;
                  for (std::size_t ch = 0; ch < c; ++ch) o[ch] = std::max(o[ch], v[ch]);
                }
              }
            }
          }
        }
        advance(dst);
        break;
      }
      case LayerType::flatten: {
        if (L.flat_in) break;
        // per patch: (position, channel) -> (channel, position), torch's order
        const std::size_t hw = L.in_h * L.in_w, c = L.in_c;
        float* dst = next(in_size);
        for (std::size_t p = 0; p < n; ++p) {
          Eigen::Map<ColMatrix>(dst + p * c * hw, idx(hw), idx(c)) =
              Eigen::Map<const ColMatrix>(cur + p * c * hw, idx(c), idx(hw)).transpose();
        }
        advance(dst);
        break;
      }
      case LayerType::linear: {
        float* dst = next(L.out_c * n);
        const Eigen::Map<const RowMatrix> W(L.weight.data(), idx(L.out_c), idx(L.in_c));
        const Eigen::Map<const Eigen::VectorXf> bias(L.bias.data(), idx(L.out_c));
        for (std::size_t p = 0; p < n; ++p) {
          Eigen::Map<Eigen::VectorXf> y(dst + p * L.out_c, idx(L.out_c));
          y.noalias() = W * Eigen::Map<const Eigen::VectorXf>(cur + p * L.in_c, idx(L.in_c));
          y += bias;
        }
        advance(dst);
        break;
      }
    }
  }
  std::copy(cur, cur + n, out);  // the last shape holds one number per patch
}

}  // namespace fakeless::model
