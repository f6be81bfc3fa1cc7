#include "kernels/gated_activation.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "kernels/bf16.h"
#include "kernels/quantize.h"
#include "kernels/row_pass.h"
#include "kernels/simd.h"

namespace winnow::kernels {

namespace {

inline float activate(float x, GateActivation activation) {
  if (activation == GateActivation::kSilu) return x / (1.0f + std::exp(-x));
  // torch's exact GELU: x · 0.5 · (1 + erf(x / √2)).
  return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752440f));
}

}  // namespace

void gated_activation(const float* y, const RowAffine& affine, std::size_t rows, std::size_t cols,
                      GateActivation activation, ActivationRows& out) {
  const ActivationRows::Targets targets = out.targets();
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  const std::size_t width = 2 * cols;
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    const float* raw = y + i * width;
    for (std::size_t c = 0; c < cols; ++c) {
      const float a = finish ? internal::affine_value(raw, affine, i, c) : raw[c];
      const float b = finish ? internal::affine_value(raw, affine, i, cols + c) : raw[cols + c];
      const float value = activate(a, activation) * b;
      if (targets.fp32 != nullptr) targets.fp32[i * cols + c] = value;
      if (targets.bf16 != nullptr) targets.bf16[i * cols + c] = to_bf16(value);
    }
  }
  out.complete(rows);
}

void affine_gated_quantize_tile(const float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols,
                                GateActivation activation, std::uint8_t* q, float* scale, float* zero) {
  // One row's values, reused row after row: it stays in L1.
  thread_local std::vector<float> row_buffer;
  if (row_buffer.size() < cols) row_buffer.resize(cols);
  if (base::cpu_features().avx512) {
    simd::avx512::affine_gated_quantize(raw, affine, rows, cols, activation == GateActivation::kSilu, q, scale, zero,
                                        row_buffer.data());
    return;
  }
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = raw + r * 2 * cols;
    for (std::size_t c = 0; c < cols; ++c) {
      const float a = finish ? internal::affine_value(row, affine, r, c) : row[c];
      const float b = finish ? internal::affine_value(row, affine, r, cols + c) : row[cols + c];
      row_buffer[c] = activate(a, activation) * b;
    }
    quantize_row(row_buffer.data(), cols, q + r * cols, scale + r, zero + r);
  }
}

base::Status gated_forward(const Linear& linear, const ActivationRows& in, std::size_t rows,
                           GateActivation activation, float* y, ActivationRows& out) {
  const std::size_t cols = out.cols();
  if (linear.out_features() != 2 * cols) {
    return base::invalid_argument("gated_forward: a Linear of " + std::to_string(linear.out_features()) +
                                  " outputs for a gated middle of " + std::to_string(cols) + " columns (needs " +
                                  std::to_string(2 * cols) + ")");
  }
  if (linear.precision() == base::Precision::kInt8) {
    if (out.precision() != base::Precision::kInt8 || out.rows() < rows) {
      return base::failed_precondition("gated_forward: an int8 layer needs int8 output rows with room for " +
                                       std::to_string(rows));
    }
    const ActivationRows::Copies copies = out.copies_for(nullptr);
    return linear.forward(in, rows, nullptr, [&](float* tile, const RowAffine& rest, std::size_t begin,
                                                 std::size_t end) {
      const ActivationRows::Copies at = copies.at(begin, cols);
      affine_gated_quantize_tile(tile, rest, end - begin, cols, activation, at.q, at.scale, at.zero);
    });
  }
  RowAffine affine;
  WINNOW_RETURN_IF_ERROR(linear.forward(in, rows, y, affine));
  gated_activation(y, affine, rows, cols, activation, out);
  return {};
}

}  // namespace winnow::kernels
