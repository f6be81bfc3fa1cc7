// Dynamic int8 quantization of activations, and the fused row-wise passes
// that sit between the model's GEMMs (dequantize, bias, GELU, residual,
// LayerNorm, requantize or convert to bf16) in every precision.
//
// Activations are quantized per row, asymmetric u8: row r gets
//   scale[r] = (max(x[r], 0) − min(x[r], 0)) / 255,  zero[r] ∈ [0, 255] (an integer),
//   q = clamp(round(x / scale[r]) + zero[r], 0, 255),  x ≈ scale[r] · (q − zero[r]).
// A row's quantization depends on that row only, so a sequence's result does
// not depend on what it is batched with. Weights are symmetric s8 with one
// scale per output channel (gemm.h). With raw = s_w[n] · Σ_k q[m][k] · w_q[n][k]
// (what Linear::forward_raw returns), the layer's output is
//   y[m][n] = scale[m] · (raw[m][n] − zero[m] · comp[n]) + bias[n],
//   comp[n] = s_w[n] · Σ_k w_q[n][k],
// which is the RowAffine applied by the passes below.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/bf16.h"

namespace winnow::kernels {

// Per-row quantized activations [rows, cols].
struct QuantizedRows {
  const std::uint8_t* values = nullptr;  // [rows, cols]
  const float* scale = nullptr;          // [rows]
  const float* zero = nullptr;           // [rows], integer-valued
};

// value[r][c] = row_scale[r] · (raw[r][c] − row_zero[r] · column_comp[c]) + bias[c];
// without row_scale (fp32 / bf16 GEMM outputs): raw[r][c] + bias[c]; any
// pointer but row_scale/row_zero/column_comp (which go together) may be null.
struct RowAffine {
  const float* row_scale = nullptr;    // [rows]
  const float* row_zero = nullptr;     // [rows]
  const float* column_comp = nullptr;  // [cols]
  const float* bias = nullptr;         // [cols]
};

// True when the fused passes below run a hand-written AVX-512 kernel; without
// it only the fp32 forms (no affine, no bf16 or quantized outputs) are
// available, computed by the portable code.
bool fused_passes_vectorized();

// Quantizes x [rows, cols] per row into q [rows, cols], scale [rows], zero
// [rows]. Parallel over rows. Needs fused_passes_vectorized().
void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero);

// Where the post-LN residual step writes besides `out` (all optional).
struct LayerNormOutputs {
  float* out = nullptr;        // [rows, cols] fp32; may alias the residual
  Bf16* out_bf16 = nullptr;    // [rows, cols], the next bf16 GEMM's input
  std::uint8_t* q = nullptr;   // [rows, cols], the next int8 GEMM's input,
  float* q_scale = nullptr;    //   quantized per row as above
  float* q_zero = nullptr;
};

// out[r] = LayerNorm(affine(y)[r] + residual[r]) (gamma, beta [cols]; biased
// variance, two passes in fp32, as torch.nn.LayerNorm on CPU). Parallel over
// rows; each row's result depends on that row only.
void add_layer_norm_fused(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                          std::size_t cols, const float* gamma, const float* beta, float eps,
                          const LayerNormOutputs& outputs);

// The int8 FFN's middle step: gelu_erf(affine(raw)) quantized per row into q
// / scale / zero. raw is scratch afterwards (the portable path overwrites it
// with the GELU values; the AVX-512 one leaves it).
void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero);

// raw := affine(raw), in place. Parallel over rows.
void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols);

// out[i] = bf16(x[i]) (round to nearest even). Parallel.
void convert_to_bf16(const float* x, std::size_t n, Bf16* out);

}  // namespace winnow::kernels
