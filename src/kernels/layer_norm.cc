#include "kernels/layer_norm.h"

#include <cmath>
#include <cstdint>

namespace winnow::kernels {

namespace {

// Normalises one row in place. Two passes (mean, then the centred sum of
// squares) in float, as torch does on CPU; stable for the magnitudes
// activations have.
inline void normalize_row(float* row, std::size_t cols, const float* gamma, const float* beta, float eps) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t c = 0; c < cols; ++c) sum += row[c];
  const float mean = sum / static_cast<float>(cols);
  float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
  for (std::size_t c = 0; c < cols; ++c) {
    const float d = row[c] - mean;
    squares += d * d;
  }
  const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
#pragma omp simd
  for (std::size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv_std * gamma[c] + beta[c];
}

}  // namespace

void layer_norm(const float* x, std::size_t rows, std::size_t cols, const float* gamma, const float* beta, float eps,
                float* out) {
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < n; ++r) {
    const float* in = x + r * cols;
    float* row = out + r * cols;
    if (row != in) {
      for (std::size_t c = 0; c < cols; ++c) row[c] = in[c];
    }
    normalize_row(row, cols, gamma, beta, eps);
  }
}

void add_layer_norm(const float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps, float* out) {
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < n; ++r) {
    const float* a = x + r * cols;
    const float* b = residual + r * cols;
    float* row = out + r * cols;
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) row[c] = a[c] + b[c];
    normalize_row(row, cols, gamma, beta, eps);
  }
}

}  // namespace winnow::kernels
