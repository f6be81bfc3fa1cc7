// The gated feed-forward middle (GLU variants): a GEMM produces both halves
// [rows, 2 · cols] and the next one reads act(first half) · second half.
//   GeGLU (ModernBERT's mlp.Wi): input, gate = Wi(x).chunk(2); gelu(input) · gate
//   SwiGLU (Qwen3's gate_proj; up_proj fused): silu(gate) · up
#pragma once

#include <cstddef>

#include "kernels/activation_rows.h"
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

}  // namespace winnow::kernels
