#pragma once
// The median of a sample (the mean of the two middle values for an even count; 0 for none),
// as numpy's median gives it: what the features' robust statistics and the CNN's patch
// aggregate use.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace fakeless::dsp {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const auto mid = static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[static_cast<std::size_t>(mid)];
  if (v.size() % 2 != 0) return upper;
  return 0.5 * (*std::max_element(v.begin(), v.begin() + mid) + upper);
}

// How far x stands out of a reference sample, robustly: z = (x - median) / (1.4826 MAD +
// floor), MAD the median of the absolute deviations from the median (1.4826 MAD estimates the
// standard deviation of normal data); `floor` keeps the scale off zero when most references
// are equal (1 for counts, a tiny value for a continuous statistic).
struct RobustZ {
  double median = 0.0;
  double z = 0.0;
};

inline RobustZ robust_z(double x, const std::vector<double>& ref, double floor) {
  RobustZ r;
  r.median = median(ref);
  std::vector<double> dev(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) dev[i] = std::fabs(ref[i] - r.median);
  r.z = (x - r.median) / (1.4826 * median(std::move(dev)) + floor);
  return r;
}

}  // namespace fakeless::dsp
