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

namespace {

// One row of add_residual_rms_norm: raw is the row's GEMM output (or null),
// finished by affine's row `a`; sum, out and the copies are the row's own.
void add_residual_rms_norm_row(const float* raw, const RowAffine& affine, std::size_t a, float* sum,
                               std::size_t cols, const float* gamma, float eps, float* out,
                               const ActivationRows::Copies& copies) {
  if (raw != nullptr) {
    if (affine.row_scale == nullptr && affine.bias == nullptr) {
#pragma omp simd
      for (std::size_t c = 0; c < cols; ++c) sum[c] += raw[c];
    } else {
      for (std::size_t c = 0; c < cols; ++c) sum[c] += internal::affine_value(raw, affine, a, c);
    }
  }
  rms_norm_row(sum, cols, gamma, eps, out);
  if (copies.bf16 != nullptr) {
    for (std::size_t c = 0; c < cols; ++c) copies.bf16[c] = to_bf16(out[c]);
  }
  if (copies.q != nullptr) quantize_row(out, cols, copies.q, copies.scale, copies.zero);
}

}  // namespace

void add_residual_rms_norm(const float* y, const RowAffine& affine, float* residual, std::size_t rows,
                           std::size_t cols, const float* gamma, float eps, float* normed, ActivationRows* next) {
  const ActivationRows::Copies copies = next != nullptr ? next->copies_for(normed) : ActivationRows::Copies{};
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    add_residual_rms_norm_row(y != nullptr ? y + i * cols : nullptr, affine, i, residual + i * cols, cols, gamma, eps,
                              normed + i * cols, copies.at(i, cols));
  }
}

void add_residual_rms_norm_tile(const float* y, const RowAffine& affine, float* residual, std::size_t begin,
                                std::size_t end, std::size_t cols, const float* gamma, float eps, float* normed,
                                const ActivationRows::Copies& copies) {
  for (std::size_t i = begin; i < end; ++i) {
    add_residual_rms_norm_row(y + (i - begin) * cols, affine, i - begin, residual + i * cols, cols, gamma, eps,
                              normed + i * cols, copies.at(i, cols));
  }
}

}  // namespace winnow::kernels
