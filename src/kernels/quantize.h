// Dynamic int8 quantization of activations, and the passes that finish an
// int8 GEMM's raw output (row_affine.h): dequantize, or dequantize, GELU and
// quantize again for the next GEMM.
//
// Activations are quantized per row, asymmetric u8: row r gets
//   scale[r] = (max(x[r], 0) − min(x[r], 0)) / 255,  zero[r] ∈ [0, 255] (an integer),
//   q = clamp(round(x / scale[r]) + zero[r], 0, 255),  x ≈ scale[r] · (q − zero[r]).
// A row's quantization depends on that row only, so a sequence's result does
// not depend on what it is batched with.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/row_affine.h"

namespace winnow::kernels {

// Per-row quantized activations [rows, cols].
struct QuantizedRows {
  const std::uint8_t* values = nullptr;  // [rows, cols]
  const float* scale = nullptr;          // [rows]
  const float* zero = nullptr;           // [rows], integer-valued
};

// Quantizes x [rows, cols] per row into q [rows, cols], scale [rows], zero
// [rows]. Parallel over rows (AVX-512 where the CPU has it, else portable
// code with the same results).
void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero);

// The same for one row, sequentially: for passes that parallelise over rows
// themselves.
void quantize_row(const float* x, std::size_t cols, std::uint8_t* q, float* scale, float* zero);

// The same on the rows of one tile, sequentially, on the caller's thread (a
// TilePass, tile_pass.h): raw, affine, q, scale and zero all start at the
// tile's first row. Row for row the same results as the parallel form.
void affine_gelu_quantize_tile(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols,
                               std::uint8_t* q, float* scale, float* zero);

// raw := affine(raw) over raw [rows, cols], in place. Parallel over rows.
void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols);

// The int8 FFN's middle step: gelu_erf(affine(raw)) quantized per row into q
// / scale / zero. raw is scratch afterwards (the portable path overwrites it
// with the GELU values; the AVX-512 one leaves it). Parallel over rows.
void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero);

}  // namespace winnow::kernels
