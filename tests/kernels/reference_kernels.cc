#include "kernels/reference_kernels.h"

#include <cmath>

#include "kernels/layer_norm.h"

namespace winnow::kernels::reference {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;

float gelu(float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); }

}  // namespace

void gelu_erf(float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = gelu(x[i]);
}

void bias_gelu_erf(float* x, std::size_t rows, std::size_t cols, const float* bias) {
  for (std::size_t r = 0; r < rows; ++r) {
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
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

void add_layer_norm(const float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps, float* out) {
  for (std::size_t i = 0; i < rows * cols; ++i) out[i] = x[i] + residual[i];
  layer_norm(out, rows, cols, gamma, beta, eps, out);
}

}  // namespace winnow::kernels::reference
