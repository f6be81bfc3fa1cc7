#include "kernels/activations.h"

#include <cmath>
#include <cstdint>

namespace winnow::kernels {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;

inline float gelu(float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); }

}  // namespace

void gelu_erf(float* x, std::size_t n) {
  const auto count = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) x[i] = gelu(x[i]);
}

void bias_gelu_erf(float* x, std::size_t rows, std::size_t cols, const float* bias) {
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < n; ++r) {
    float* row = x + r * cols;
    for (std::size_t c = 0; c < cols; ++c) row[c] = gelu(row[c] + bias[c]);
  }
}

void tanh_inplace(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void softmax(float* x, std::size_t n) {
  float max = x[0];
  for (std::size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace winnow::kernels
