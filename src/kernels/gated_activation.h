// The gated feed-forward middle (GLU variants): a GEMM produces both halves
// [rows, 2 · cols] and the next one reads act(first half) · second half.
//   GeGLU (ModernBERT's mlp.Wi): input, gate = Wi(x).chunk(2); gelu(input) · gate
//   SwiGLU (Qwen3's gate_proj; up_proj fused): silu(gate) · up
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"
#include "kernels/activation_rows.h"
#include "kernels/gemm.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

enum class GateActivation {
  kGeluErf,  // x · Φ(x), the exact (erf) GELU
  kSilu,     // x · σ(x)
};

// out rows [0, rows) = act(a) · b with a = y[r][0 .. cols), b = y[r][cols ..
// 2·cols), y finished by `affine` as it is read (an int8 GEMM's raw output,
// columns 0 .. 2·cols). out.cols() == cols; out is written through its
// targets() and completed (fp32 keeps the values, bf16 rounds them, int8
// quantizes them per row). Parallel over rows.
void gated_activation(const float* y, const RowAffine& affine, std::size_t rows, std::size_t cols,
                      GateActivation activation, ActivationRows& out);

// The int8 form on one tile of the GEMM's raw output, while the tile is in
// cache (a TilePass, tile_pass.h): raw [rows, 2 · cols] finished by `affine`
// (its row 0 is the tile's first row), act(a) · b quantized per row into q
// [rows, cols], scale and zero [rows] (starting at the tile's first row too).
// Sequential, on the caller's thread. With AVX-512 the activation is
// computed by polynomial (SiLU's e^x within ~1 ulp of expf, GELU's erf within
// 1.5e-7, as the BERT layers' int8 GELU), so a value may differ from
// gated_activation's by a few ulp, far below the quantization step; without
// it, the arithmetic of gated_activation then quantize_row.
void affine_gated_quantize_tile(const float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols,
                                GateActivation activation, std::uint8_t* q, float* scale, float* zero);

// The whole gated middle, [a | b] = linear(in) ([rows, 2 · cols], cols ==
// out.cols()), out = act(a) · b in out's form: int8 runs the GEMM in tiles
// and finishes each with affine_gated_quantize_tile while it is in cache (y
// unused); fp32 and bf16 write the GEMM's output to y ([rows, 2 · cols]),
// then run gated_activation over it.
base::Status gated_forward(const Linear& linear, const ActivationRows& in, std::size_t rows,
                           GateActivation activation, float* y, ActivationRows& out);

}  // namespace winnow::kernels
