// Layer normalisation over the last axis, as torch.nn.LayerNorm (biased
// variance, two passes in fp32, as torch computes it on CPU): plain, for the
// embeddings, and fused with the post-LN residual step that sits between a
// transformer layer's GEMMs in every precision.
#pragma once

#include <cstddef>

#include "kernels/activation_rows.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

// For each row r of x [rows, cols]:
//   out[r] = (x[r] - mean(x[r])) / sqrt(var(x[r]) + eps) * gamma + beta
// with the biased variance. gamma, beta: [cols]. out may alias x.
// Parallel over rows (OpenMP); each row's result is independent of `rows`.
void layer_norm(const float* x, std::size_t rows, std::size_t cols, const float* gamma, const float* beta, float eps,
                float* out);

// layer_norm in place on rows [begin, end) of x, sequentially on the caller's
// thread (for a caller that builds rows in its own parallel loop and
// normalises them while they are in cache), each row then also written to
// `copies` (from next->copies_for(x)) as add_layer_norm writes its `next`.
// Row for row the same results as layer_norm followed by next->assign(x).
void layer_norm_rows(float* x, std::size_t begin, std::size_t end, std::size_t cols, const float* gamma,
                     const float* beta, float eps, const ActivationRows::Copies& copies);

// The post-LN residual step, in one pass per row:
//   out[r] = LayerNorm(affine(y)[r] + residual[r])
// (y: a GEMM's output, finished by `affine` as it is read; gamma, beta
// [cols]). out may alias residual. When `next` is set (with next->cols() ==
// cols), the same rows also become the next Linear's input: fp32 reads `out`
// in place, bf16 gets its copy and int8 its quantized rows in the same pass.
// Parallel over rows; each row's result depends on that row only.
void add_layer_norm(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                    std::size_t cols, const float* gamma, const float* beta, float eps, float* out,
                    ActivationRows* next = nullptr);

// The pre-LN residual step (ModernBERT), in one pass per row:
//   residual[r] += affine(y)[r];  normed[r] = LayerNorm(residual[r])
// y null: nothing is added (the norm alone). beta null: a LayerNorm without
// bias. normed may alias residual (the sum is then not kept: the final norm).
// When `next` is set (next->cols() == cols), normed's rows also become the
// next Linear's input, as add_layer_norm makes them (fp32 reads `normed` in
// place). Parallel over rows; each row's result depends on that row only.
void add_residual_layer_norm(const float* y, const RowAffine& affine, float* residual, std::size_t rows,
                             std::size_t cols, const float* gamma, const float* beta, float eps, float* normed,
                             ActivationRows* next = nullptr);

// The two residual steps on the rows of one tile of a GEMM's output,
// sequentially, on the caller's thread (a TilePass, tile_pass.h): y and
// affine start at the tile's first row, which is row `begin` of residual,
// out / normed and copies (from next->copies_for(out or normed), taken once
// before the GEMM). Row for row the same results as the parallel forms.
void add_layer_norm_tile(const float* y, const RowAffine& affine, const float* residual, std::size_t begin,
                         std::size_t end, std::size_t cols, const float* gamma, const float* beta, float eps,
                         float* out, const ActivationRows::Copies& copies);
void add_residual_layer_norm_tile(const float* y, const RowAffine& affine, float* residual, std::size_t begin,
                                  std::size_t end, std::size_t cols, const float* gamma, const float* beta, float eps,
                                  float* normed, const ActivationRows::Copies& copies);

}  // namespace winnow::kernels
