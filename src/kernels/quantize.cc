#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/cpu_features.h"
#include "kernels/row_pass.h"
#include "kernels/simd.h"

namespace winnow::kernels {

namespace {

bool use_avx512() { return base::cpu_features().avx512; }

// The portable form (CPUs without AVX-512; the same arithmetic, one lane).
void quantize_row_portable(const float* x, std::size_t cols, std::uint8_t* q, float* scale, float* zero) {
  float lo = 0.0f, hi = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) {
    lo = std::min(lo, x[c]);
    hi = std::max(hi, x[c]);
  }
  const float range = hi - lo;
  const float s = range > 0.0f ? range / 255.0f : 1.0f;
  const float inv = range > 0.0f ? 255.0f / range : 1.0f;
  const float z = std::clamp(std::nearbyint(-lo * inv), 0.0f, 255.0f);
  *scale = s;
  *zero = z;
  for (std::size_t c = 0; c < cols; ++c) {
    q[c] = static_cast<std::uint8_t>(std::clamp(std::nearbyint(std::fma(x[c], inv, z)), 0.0f, 255.0f));
  }
}

}  // namespace

void quantize_row(const float* x, std::size_t cols, std::uint8_t* q, float* scale, float* zero) {
  if (use_avx512()) {
    simd::avx512::quantize_rows(x, 1, cols, q, scale, zero);
  } else {
    quantize_row_portable(x, cols, q, scale, zero);
  }
}

void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    if (avx512) {
      simd::avx512::quantize_rows(x + i * cols, 1, cols, q + i * cols, scale + i, zero + i);
    } else {
      quantize_row_portable(x + i * cols, cols, q + i * cols, scale + i, zero + i);
    }
  }
}

namespace {

// Row i of affine_gelu_quantize (its arrays start at row 0 of the affine).
void affine_gelu_quantize_row(float* raw, const RowAffine& affine, std::size_t i, std::size_t cols, std::uint8_t* q,
                              float* scale, float* zero, bool avx512) {
  float* row = raw + i * cols;
  if (avx512) {
    thread_local std::vector<float> row_buffer;
    if (row_buffer.size() < cols) row_buffer.resize(cols);
    simd::avx512::affine_gelu_quantize(row, internal::affine_of_row(affine, i), 1, cols, q + i * cols, scale + i,
                                       zero + i, row_buffer.data());
  } else {
    for (std::size_t c = 0; c < cols; ++c) {
      const float v = internal::affine_value(row, affine, i, c);
      row[c] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    }
    quantize_row_portable(row, cols, q + i * cols, scale + i, zero + i);
  }
}

}  // namespace

void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    affine_gelu_quantize_row(raw, affine, static_cast<std::size_t>(r), cols, q, scale, zero, avx512);
  }
}

void affine_gelu_quantize_tile(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols,
                               std::uint8_t* q, float* scale, float* zero) {
  const bool avx512 = use_avx512();
  for (std::size_t r = 0; r < rows; ++r) affine_gelu_quantize_row(raw, affine, r, cols, q, scale, zero, avx512);
}

void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    float* row = raw + i * cols;
    if (avx512) {
      simd::avx512::affine_rows(row, internal::affine_of_row(affine, i), 1, cols);
    } else {
      for (std::size_t c = 0; c < cols; ++c) row[c] = internal::affine_value(row, affine, i, c);
    }
  }
}

}  // namespace winnow::kernels
