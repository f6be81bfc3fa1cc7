#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/cpu_features.h"
#include "kernels/simd.h"

namespace winnow::kernels {

namespace {

bool use_avx512() { return base::cpu_features().avx512; }

// The affine of row i alone: the SIMD kernels index row parameters from the
// first row they are given, and run here one row at a time.
simd::RowAffine row_of(const RowAffine& affine, std::size_t i) {
  simd::RowAffine a{affine.row_scale, affine.row_zero, affine.column_comp, affine.bias};
  if (a.row_scale != nullptr) {
    a.row_scale += i;
    a.row_zero += i;
  }
  return a;
}

// Rows per OpenMP chunk: enough work per chunk to amortise the scheduling.
constexpr std::int64_t kRowChunk = 8;

// --- Portable forms (CPUs without AVX-512; the same arithmetic, one lane).

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

inline float affine_value(const float* y, const RowAffine& f, std::size_t r, std::size_t c) {
  float v = y[c];
  if (f.row_scale != nullptr) v = (v - f.row_zero[r] * f.column_comp[c]) * f.row_scale[r];
  if (f.bias != nullptr) v += f.bias[c];
  return v;
}

void add_layer_norm_row_portable(const float* y, const RowAffine& f, const float* residual, std::size_t r,
                                 std::size_t cols, const float* gamma, const float* beta, float eps,
                                 const LayerNormOutputs& o) {
  float* row = o.out + r * cols;
  float sum = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) {
    row[c] = affine_value(y + r * cols, f, r, c) + residual[r * cols + c];
    sum += row[c];
  }
  const float mean = sum / static_cast<float>(cols);
  float squares = 0.0f;
  for (std::size_t c = 0; c < cols; ++c) squares += (row[c] - mean) * (row[c] - mean);
  const float inv_std = 1.0f / std::sqrt(squares / static_cast<float>(cols) + eps);
  for (std::size_t c = 0; c < cols; ++c) row[c] = (row[c] - mean) * inv_std * gamma[c] + beta[c];
  if (o.out_bf16 != nullptr) {
    for (std::size_t c = 0; c < cols; ++c) o.out_bf16[r * cols + c] = to_bf16(row[c]);
  }
  if (o.q != nullptr) quantize_row_portable(row, cols, o.q + r * cols, o.q_scale + r, o.q_zero + r);
}

}  // namespace

bool fused_passes_vectorized() { return use_avx512(); }

void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    if (avx512) {
      simd::avx512::quantize_rows(x + i * cols, 1, cols, q + i * cols, scale + i, zero + i);
    } else {
      quantize_row_portable(x + i * cols, cols, q + i * cols, scale + i, zero + i);
    }
  }
}

void add_layer_norm_fused(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                          std::size_t cols, const float* gamma, const float* beta, float eps,
                          const LayerNormOutputs& outputs) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    if (avx512) {
      simd::avx512::add_layer_norm(
          y + i * cols, row_of(affine, i), residual + i * cols, 1, cols, gamma, beta, eps, outputs.out + i * cols,
          outputs.out_bf16 == nullptr ? nullptr : reinterpret_cast<std::uint16_t*>(outputs.out_bf16) + i * cols,
          outputs.q == nullptr ? nullptr : outputs.q + i * cols,
          outputs.q_scale == nullptr ? nullptr : outputs.q_scale + i,
          outputs.q_zero == nullptr ? nullptr : outputs.q_zero + i);
    } else {
      add_layer_norm_row_portable(y, affine, residual, i, cols, gamma, beta, eps, outputs);
    }
  }
}

void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    float* row = raw + i * cols;
    if (avx512) {
      thread_local std::vector<float> row_buffer;
      if (row_buffer.size() < cols) row_buffer.resize(cols);
      simd::avx512::affine_gelu_quantize(row, row_of(affine, i), 1, cols, q + i * cols, scale + i, zero + i,
                                         row_buffer.data());
    } else {
      for (std::size_t c = 0; c < cols; ++c) {
        const float v = affine_value(row, affine, i, c);
        row[c] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
      }
      quantize_row_portable(row, cols, q + i * cols, scale + i, zero + i);
    }
  }
}

void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols) {
  const auto n = static_cast<std::int64_t>(rows);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static, kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    float* row = raw + i * cols;
    if (avx512) {
      simd::avx512::affine_rows(row, row_of(affine, i), 1, cols);
    } else {
      for (std::size_t c = 0; c < cols; ++c) row[c] = affine_value(row, affine, i, c);
    }
  }
}

void convert_to_bf16(const float* x, std::size_t n, Bf16* out) {
  constexpr std::size_t kChunk = 16384;
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
  const bool avx512 = use_avx512();
#pragma omp parallel for schedule(static)
  for (std::int64_t k = 0; k < chunks; ++k) {
    const std::size_t begin = static_cast<std::size_t>(k) * kChunk;
    const std::size_t count = std::min(kChunk, n - begin);
    if (avx512) {
      simd::avx512::to_bf16(x + begin, count, reinterpret_cast<std::uint16_t*>(out) + begin);
    } else {
      for (std::size_t i = 0; i < count; ++i) out[begin + i] = to_bf16(x[begin + i]);
    }
  }
}

}  // namespace winnow::kernels
