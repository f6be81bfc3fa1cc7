// The per-row affine that finishes an int8 GEMM's output, defined once for
// the kernels' public headers and for the SIMD files alike: this header
// includes nothing and declares no function, so simd_avx512.cc and
// simd_avx2.cc may include it (through simd.h) without pulling in code
// compiled for the baseline instruction set (see simd.h).
//
// Linear's int8 GEMM (gemm.h) multiplies u8 activations, quantized per row
// (quantize.h: x ≈ scale[m] · (q − zero[m])), by s8 weights with one scale
// s_w[n] per output channel, and returns raw[m][n] = s_w[n] · Σ_k q[m][k] ·
// w_q[n][k]. The layer's output is then
//   value[m][n] = scale[m] · (raw[m][n] − zero[m] · comp[n]) + bias[n],
//   comp[n] = s_w[n] · Σ_k w_q[n][k],
// which the passes that read a GEMM's output (LayerNorm, GELU + quantize,
// attention) apply as they read it.
#pragma once

namespace winnow::kernels {

// value[r][c] = row_scale[r] · (raw[r][c] − row_zero[r] · column_comp[c]) + bias[c];
// without row_scale (fp32 / bf16 GEMM outputs, whose bias is already fused):
// raw[r][c] + bias[c], or raw itself when bias is null too. row_scale,
// row_zero and column_comp are set together or not at all; row indices
// count from the first row the struct is handed with.
struct RowAffine {
  const float* row_scale = nullptr;    // [rows]
  const float* row_zero = nullptr;     // [rows], integer-valued
  const float* column_comp = nullptr;  // [cols]
  const float* bias = nullptr;         // [cols]
};

}  // namespace winnow::kernels
