#include "kernels/rms_norm.h"

#include <cmath>
#include <cstdint>

#include "kernels/quantize.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {

void rms_norm_row(const float* x, std::size_t cols, const float* gamma, float eps, float* out) {
  float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
  for (std::size_t c = 0; c < cols; ++c) squares += x[c] * x[c];
  const float inv = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
#pragma omp simd
  for (std::size_t c = 0; c < cols; ++c) out[c] = gamma[c] * (x[c] * inv);
}

void add_residual_rms_norm(const float* y, const RowAffine& affine, float* residual, std::size_t rows,
                           std::size_t cols, const float* gamma, float eps, float* normed, ActivationRows* next) {
  const ActivationRows::Copies copies = next != nullptr ? next->copies_for(normed) : ActivationRows::Copies{};
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    float* sum = residual + i * cols;
    if (y != nullptr) {
      const float* raw = y + i * cols;
      if (affine.row_scale == nullptr && affine.bias == nullptr) {
#pragma omp simd
        for (std::size_t c = 0; c < cols; ++c) sum[c] += raw[c];
      } else {
        for (std::size_t c = 0; c < cols; ++c) sum[c] += internal::affine_value(raw, affine, i, c);
      }
    }
    float* row = normed + i * cols;
    rms_norm_row(sum, cols, gamma, eps, row);
    if (copies.bf16 != nullptr) {
      for (std::size_t c = 0; c < cols; ++c) copies.bf16[i * cols + c] = to_bf16(row[c]);
    }
    if (copies.q != nullptr) quantize_row(row, cols, copies.q + i * cols, copies.scale + i, copies.zero + i);
  }
}

}  // namespace winnow::kernels
