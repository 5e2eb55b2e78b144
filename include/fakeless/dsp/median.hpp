#pragma once
// The median of a sample (the mean of the two middle values for an even count; 0 for none),
// as numpy's median gives it: what the features' robust statistics and the CNN's patch
// aggregate use.
#include <algorithm>
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

}  // namespace fakeless::dsp
