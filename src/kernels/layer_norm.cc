#include "kernels/layer_norm.h"

#include <cmath>
#include <cstdint>

#include "base/cpu_features.h"
#include "kernels/quantize.h"
#include "kernels/row_pass.h"
#include "kernels/simd.h"

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

// The fused residual step for row r, portable (CPUs without AVX-512; the
// same arithmetic, one lane).
void add_layer_norm_row_portable(const float* y, const RowAffine& f, const float* residual, std::size_t r,
                                 std::size_t cols, const float* gamma, const float* beta, float eps, float* out,
                                 const ActivationRows::Copies& copies) {
  float* row = out + r * cols;
  float sum = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) {
    row[c] = internal::affine_value(y + r * cols, f, r, c) + residual[r * cols + c];
    sum += row[c];
  }
  const float mean = sum / static_cast<float>(cols);
  float squares = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) squares += (row[c] - mean) * (row[c] - mean);
  const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
  for (std::size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv_std * gamma[c] + beta[c];
  if (copies.bf16 != nullptr) {
    for (std::size_t c = 0; c < cols; ++c) copies.bf16[r * cols + c] = to_bf16(row[c]);
  }
  if (copies.q != nullptr) quantize_row(row, cols, copies.q + r * cols, copies.scale + r, copies.zero + r);
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

void layer_norm_rows(float* x, std::size_t begin, std::size_t end, std::size_t cols, const float* gamma,
                     const float* beta, float eps, const ActivationRows::Copies& copies) {
  const bool avx512 = base::cpu_features().avx512;
  for (std::size_t i = begin; i < end; ++i) {
    float* row = x + i * cols;
    normalize_row(row, cols, gamma, beta, eps);
    const ActivationRows::Copies at = copies.at(i, cols);
    // convert_to_bf16's and quantize_rows's arithmetic, without their parallel loops.
    if (at.bf16 != nullptr) {
      if (avx512) {
        simd::avx512::to_bf16(row, cols, reinterpret_cast<std::uint16_t*>(at.bf16));
      } else {
        for (std::size_t c = 0; c < cols; ++c) at.bf16[c] = to_bf16(row[c]);
      }
    }
    if (at.q != nullptr) quantize_row(row, cols, at.q, at.scale, at.zero);
  }
}

namespace {

// Row i of add_layer_norm: y_row / out_row and the copies at row i, affine's
// row 0 is row i.
void add_layer_norm_one(const float* y_row, const RowAffine& affine, const float* residual_row, std::size_t cols,
                        const float* gamma, const float* beta, float eps, float* out_row,
                        const ActivationRows::Copies& at, bool avx512) {
  if (avx512) {
    simd::avx512::add_layer_norm(y_row, affine, residual_row, 1, cols, gamma, beta, eps, out_row,
                                 reinterpret_cast<std::uint16_t*>(at.bf16), at.q, at.scale, at.zero);
  } else {
    add_layer_norm_row_portable(y_row, affine, residual_row, 0, cols, gamma, beta, eps, out_row, at);
  }
}

// Row i of add_residual_layer_norm, likewise.
void add_residual_layer_norm_one(const float* raw, const RowAffine& affine, float* sum, std::size_t cols,
                                 const float* gamma, const float* beta, float eps, float* row,
                                 const ActivationRows::Copies& at) {
  if (raw != nullptr) {
    if (affine.row_scale == nullptr && affine.bias == nullptr) {
#pragma omp simd
      for (std::size_t c = 0; c < cols; ++c) sum[c] += raw[c];
    } else {
      for (std::size_t c = 0; c < cols; ++c) sum[c] += internal::affine_value(raw, affine, 0, c);
    }
  }
  float mean_sum = 0.0f;
#pragma omp simd reduction(+ : mean_sum)
  for (std::size_t c = 0; c < cols; ++c) mean_sum += sum[c];
  const float mean = mean_sum / static_cast<float>(cols);
  float squares = 0.0f;
#pragma omp simd reduction(+ : squares)
  for (std::size_t c = 0; c < cols; ++c) {
    const float d = sum[c] - mean;
    squares += d * d;
  }
  const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
  if (beta != nullptr) {
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) row[c] = (sum[c] - mean) * inv_std * gamma[c] + beta[c];
  } else {
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) row[c] = (sum[c] - mean) * inv_std * gamma[c];
  }
  if (at.bf16 != nullptr) {
    for (std::size_t c = 0; c < cols; ++c) at.bf16[c] = to_bf16(row[c]);
  }
  if (at.q != nullptr) quantize_row(row, cols, at.q, at.scale, at.zero);
}

}  // namespace

void add_layer_norm(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                    std::size_t cols, const float* gamma, const float* beta, float eps, float* out,
                    ActivationRows* next) {
  const ActivationRows::Copies copies = next != nullptr ? next->copies_for(out) : ActivationRows::Copies{};
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = base::cpu_features().avx512;
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    add_layer_norm_one(y + i * cols, internal::affine_of_row(affine, i), residual + i * cols, cols, gamma, beta, eps,
                       out + i * cols, copies.at(i, cols), avx512);
  }
}

void add_residual_layer_norm(const float* y, const RowAffine& affine, float* residual, std::size_t rows,
                             std::size_t cols, const float* gamma, const float* beta, float eps, float* normed,
                             ActivationRows* next) {
  const ActivationRows::Copies copies = next != nullptr ? next->copies_for(normed) : ActivationRows::Copies{};
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    add_residual_layer_norm_one(y == nullptr ? nullptr : y + i * cols, internal::affine_of_row(affine, i),
                                residual + i * cols, cols, gamma, beta, eps, normed + i * cols, copies.at(i, cols));
  }
}

void add_layer_norm_tile(const float* y, const RowAffine& affine, const float* residual, std::size_t begin,
                         std::size_t end, std::size_t cols, const float* gamma, const float* beta, float eps,
                         float* out, const ActivationRows::Copies& copies) {
  const bool avx512 = base::cpu_features().avx512;
  for (std::size_t i = begin; i < end; ++i) {
    const std::size_t t = i - begin;
    add_layer_norm_one(y + t * cols, internal::affine_of_row(affine, t), residual + i * cols, cols, gamma, beta, eps,
                       out + i * cols, copies.at(i, cols), avx512);
  }
}

void add_residual_layer_norm_tile(const float* y, const RowAffine& affine, float* residual, std::size_t begin,
                                  std::size_t end, std::size_t cols, const float* gamma, const float* beta, float eps,
                                  float* normed, const ActivationRows::Copies& copies) {
  for (std::size_t i = begin; i < end; ++i) {
    const std::size_t t = i - begin;
    add_residual_layer_norm_one(y == nullptr ? nullptr : y + t * cols, internal::affine_of_row(affine, t),
                                residual + i * cols, cols, gamma, beta, eps, normed + i * cols, copies.at(i, cols));
  }
}

}  // namespace winnow::kernels
