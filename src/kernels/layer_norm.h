// Layer normalisation over the last axis, as torch.nn.LayerNorm.
#pragma once

#include <cstddef>

namespace winnow::kernels {

// For each row r of x [rows, cols]:
//   out[r] = (x[r] - mean(x[r])) / sqrt(var(x[r]) + eps) * gamma + beta
// with the biased variance. gamma, beta: [cols]. out may alias x.
// Parallel over rows (OpenMP); each row's result is independent of `rows`.
void layer_norm(const float* x, std::size_t rows, std::size_t cols, const float* gamma, const float* beta, float eps,
                float* out);

// The post-LN residual step: out[r] = layer_norm(x[r] + residual[r]).
// out may alias x or residual.
void add_layer_norm(const float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps, float* out);

}  // namespace winnow::kernels
