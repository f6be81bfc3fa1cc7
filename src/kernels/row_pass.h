// What the row-parallel passes (quantize.cc, layer_norm.cc) share; internal to
// kernels/. Each parallelises over rows with OpenMP and hands the SIMD
// kernels one row at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/row_affine.h"

namespace winnow::kernels::internal {

// Rows per OpenMP chunk: enough work per chunk to amortise the scheduling.
inline constexpr std::int64_t kRowChunk = 8;

// The affine of row r alone: the SIMD kernels index row parameters from the
// first row they are given.
inline RowAffine affine_of_row(const RowAffine& affine, std::size_t r) {
  RowAffine a = affine;
  if (a.row_scale != nullptr) {
    a.row_scale += r;
    a.row_zero += r;
  }
  return a;
}

// affine(y)[r][c] for the portable paths (y is row r's raw values).
inline float affine_value(const float* y, const RowAffine& f, std::size_t r, std::size_t c) {
  float v = y[c];
  if (f.row_scale != nullptr) v = (v - f.row_zero[r] * f.column_comp[c]) * f.row_scale[r];
  if (f.bias != nullptr) v += f.bias[c];
  return v;
}

}  // namespace winnow::kernels::internal
