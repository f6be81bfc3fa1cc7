// RMS normalisation over the last axis, as Qwen3RMSNorm (transformers 4.51)
// computes it in fp32: out = gamma · (x · 1/√(mean(x²) + eps)), each product
// rounded in that order. No mean is subtracted and there is no bias.
#pragma once

#include <cstddef>

#include "kernels/activation_rows.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

// One row in place or out of place: out[c] = gamma[c] · (x[c] · r),
// r = 1/√(mean(x²) + eps). out may alias x. Sequential (callers parallelise).
void rms_norm_row(const float* x, std::size_t cols, const float* gamma, float eps, float* out);

// The pre-norm residual step of a decoder layer, in one pass per row:
//   residual[r] += affine(y)[r];  normed[r] = RMSNorm(residual[r])
// y null: nothing is added (the norm alone). normed may alias residual (the
// sum is then not kept: the final norm). When `next` is set (next->cols() ==
// cols), normed's rows also become the next Linear's input (fp32 reads
// `normed` in place, bf16 gets its copy, int8 its quantized rows). Parallel
// over rows; each row's result depends on that row only.
void add_residual_rms_norm(const float* y, const RowAffine& affine, float* residual, std::size_t rows,
                           std::size_t cols, const float* gamma, float eps, float* normed,
                           ActivationRows* next = nullptr);

// The same step on rows [begin, end) of a GEMM's output while the GEMM's
// tile is in cache (a TilePass, tile_pass.h): y and affine start at row
// `begin` (y non-null), residual, normed and `copies` (next->copies_for(normed),
// taken once before the GEMM) at row 0. Sequential; row for row the same
// results as add_residual_rms_norm.
void add_residual_rms_norm_tile(const float* y, const RowAffine& affine, float* residual, std::size_t begin,
                                std::size_t end, std::size_t cols, const float* gamma, float eps, float* normed,
                                const ActivationRows::Copies& copies);

}  // namespace winnow::kernels
