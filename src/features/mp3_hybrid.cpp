#include "fakeless/features/mp3_hybrid.hpp"

#include <Eigen/Core>

#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace fakeless::features {

namespace {

// ISO/IEC 11172-3 Table 3-B.3, the synthesis window D[i] for i = 0..256, times 65536 (the
// standard's values are these integers / 65536, to its 9 decimals). D[512 - i] = D[i],
// negated unless i is a multiple of 64.
constexpr std::array<std::int32_t, 257> kWindowD = {
    0, -1, -1, -1, -1, -1, -1, -2, -2, -2, -2, -3, -3, -4, -4, -5,
    -5, -6, -7, -7, -8, -9, -10, -11, -13, -14, -16, -17, -19, -21, -24, -26,
    -29, -31, -35, -38, -41, -45, -49, -53, -58, -63, -68, -73, -79, -85, -91, -97,
    -104, -111, -117, -125, -132, -139, -147, -154, -161, -169, -176, -183, -190, -196, -202, -208,
    213, 218, 222, 225, 227, 228, 228, 227, 224, 221, 215, 208, 200, 189, 177, 163,
    146, 127, 106, 83, 57, 29, -2, -36, -72, -111, -153, -197, -244, -294, -347, -401,
    -459, -519, -581, -645, -711, -779, -848, -919, -991, -1064, -1137, -1210, -1283, -1356, -1428, -1498,
    -1567, -1634, -1698, -1759, -1817, -1870, -1919, -1962, -2001, -2032, -2057, -2075, -2085, -2087, -2080, -2063,
    2037, 2000, 1952, 1893, 1822, 1739, 1644, 1535, 1414, 1280, 1131, 970, 794, 605, 402, 185,
    -45, -288, -545, -814, -1095, -1388, -1692, -2006, -2330, -2663, -3004, -3351, -3705, -4063, -4425, -4788,
    -5153, -5517, -5879, -6237, -6589, -6935, -7271, -7597, -7910, -8209, -8491, -8755, -8998, -9219, -9416, -9585,
    -9727, -9838, -9916, -9959, -9966, -9935, -9863, -9750, -9592, -9389, -9139, -8840, -8492, -8092, -7640, -7134,
    6574, 5959, 5288, 4561, 3776, 2935, 2037, 1082, 70, -998, -2122, -3300, -4533, -5818, -7154, -8540,
    -9975, -11455, -12980, -14548, -16155, -17799, -19478, -21189, -22929, -24694, -26482, -28289, -30112, -31947, -33791, -35640,
    -37489, -39336, -41176, -43006, -44821, -46617, -48390, -50137, -51853, -53534, -55178, -56778, -58333, -59838, -61289, -62684,
    -64019, -65290, -66494, -67629, -68692, -69679, -70590, -71420, -72169, -72835, -73415, -73908, -74313, -74630, -74856, -74992,
    75038,
};

// Alias-reduction coefficients c_i (ISO/IEC 11172-3 Table 3-B.9).
constexpr std::array<double, 8> kAliasC = {-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037};

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Tables {
  std::array<float, 512> crev{};  // analysis window C = D / 32, reversed: crev[r] = C[511 - r]
  // Matrixing S[k] = sum_{i<64} cos((2k + 1)(i - 16) pi / 64) Y[i] (Y[i] = g[63 - i],
  // g[m] = sum_j crev[m + 64j] x[m + 64j]) folded by the cosine's symmetries to 32 terms:
  // S[k] = sum_{u<32} cos((2k + 1) u pi / 64) Z[u], Z[0] = Y[16], Z[u] = Y[16 + u] + Y[16 - u]
  // (1 <= u <= 16), Z[u] = Y[16 + u] - Y[80 - u] (17 <= u <= 31); Y[48] has weight 0.
  Eigen::Matrix<float, 32, 32, Eigen::RowMajor> matrix;
  RowMat mdct_t;                  // 36 x 18: (windowed) MDCT, transposed, for z (32 x 36) * mdct_t
  std::array<float, 8> cs{}, ca{};

  Tables() : mdct_t(36, 18) {
    const std::vector<double> d = mp3_synthesis_window();
    for (int r = 0; r < 512; ++r) crev[static_cast<std::size_t>(r)] = static_cast<float>(d[static_cast<std::size_t>(511 - r)] / 32.0);
    for (int k = 0; k < 32; ++k)
      for (int u = 0; u < 32; ++u) matrix(k, u) = static_cast<float>(std::cos((2.0 * k + 1.0) * u * std::numbers::pi / 64.0));
    for (int n = 0; n < 36; ++n) {
      const double w = std::sin(std::numbers::pi / 36.0 * (n + 0.5));
      for (int m = 0; m < 18; ++m)
        mdct_t(n, m) = static_cast<float>(w * std::cos(std::numbers::pi / 72.0 * (2.0 * n + 1.0 + 18.0) * (2.0 * m + 1.0)));
    }
    double c[8], a[8];
    mp3_alias_coefficients(c, a);
    for (std::size_t i = 0; i < 8; ++i) {
      cs[i] = static_cast<float>(c[i]);
      ca[i] = static_cast<float>(a[i]);
    }
  }
};

const Tables& tables();

}  // namespace

std::vector<double> mp3_synthesis_window() {
  std::vector<double> d(512);
  for (int i = 0; i <= 256; ++i) {
    const double v = kWindowD[static_cast<std::size_t>(i)] / 65536.0;
    d[static_cast<std::size_t>(i)] = v;
    if (i != 0) d[static_cast<std::size_t>(512 - i)] = (i % 64 != 0) ? -v : v;
  }
  return d;
}

void mp3_alias_coefficients(double cs[8], double ca[8]) {
  for (std::size_t i = 0; i < 8; ++i) {
    const double c = kAliasC[i];
    cs[i] = 1.0 / std::sqrt(1.0 + c * c);
    ca[i] = c / std::sqrt(1.0 + c * c);
  }
}

namespace {

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

Mp3Hybrid::Mp3Hybrid(const float* x, std::size_t n) : x_(x), n_(n), index_((n + kPage - 1) / kPage), z_(32 * 36) {}

const float* Mp3Hybrid::slot(std::size_t s) {
  auto& page = index_[s / kPage];
  if (page.empty()) page.assign(kPage, -1);
  auto& idx = page[s % kPage];
  if (idx >= 0) return pool_.data() + 32 * static_cast<std::size_t>(idx);
  const Tables& t = tables();
  std::array<float, 64> g{};
  const float* x = x_ + s;
  for (int j = 0; j < 8; ++j) {
    const float* c = t.crev.data() + 64 * j;
    const float* xs = x + 64 * j;
    for (int m = 0; m < 64; ++m) g[static_cast<std::size_t>(m)] += c[m] * xs[m];
  }
  // The fold (see Tables), with Y[i] = g[63 - i].
  Eigen::Matrix<float, 32, 1> z;
  z[0] = g[47];
  for (int u = 1; u <= 16; ++u) z[u] = g[static_cast<std::size_t>(47 - u)] + g[static_cast<std::size_t>(47 + u)];
  for (int u = 17; u < 32; ++u) z[u] = g[static_cast<std::size_t>(47 - u)] - g[static_cast<std::size_t>(u - 17)];
  idx = static_cast<std::int32_t>(pool_.size() / 32);
  pool_.resize(pool_.size() + 32);
  Eigen::Map<Eigen::Matrix<float, 32, 1>>(pool_.data() + pool_.size() - 32).noalias() = t.matrix.lazyProduct(z);
  return pool_.data() + pool_.size() - 32;
}

void Mp3Hybrid::granule(std::size_t p, float* out) {
  if (p + kSpan > n_) throw std::out_of_range("MP3 granule past the signal");
  const Tables& t = tables();
  // z (32 x 36): subband b's 36 slots, odd subbands' odd slots negated (frequency inversion).
  for (int n = 0; n < 36; ++n) {
    const float* s = slot(p + 32 * static_cast<std::size_t>(n));
    const float sign = (n % 2 != 0) ? -1.0F : 1.0F;
    for (int b = 0; b < 32; ++b) z_[static_cast<std::size_t>(b * 36 + n)] = (b % 2 != 0) ? sign * s[b] : s[b];
  }
  Eigen::Map<RowMat> X(out, 32, 18);
  X.noalias() = Eigen::Map<const RowMat>(z_.data(), 32, 36) * t.mdct_t;
  // Alias reduction (the encoder's direction; the decoder applies the inverse).
  for (int b = 1; b < 32; ++b) {
    for (int i = 0; i < 8; ++i) {
      const float bu = X(b - 1, 17 - i), bd = X(b, i);
      const auto k = static_cast<std::size_t>(i);
      X(b - 1, 17 - i) = bu * t.cs[k] + bd * t.ca[k];
      X(b, i) = bd * t.cs[k] - bu * t.ca[k];
    }
  }
}

}  // namespace fakeless::features
