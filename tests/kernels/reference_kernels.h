// Plain scalar forms of what the kernels compute fused or vectorised: the
// references the kernels' tests compare against (reference_kernels_test.cc
// checks them against their definitions). Not part of the product: the
// model's GEMMs fuse GELU and tanh into oneDNN's epilogue, the int8 FFN fuses
// GELU into affine_gelu_quantize, attention has its own softmax, and the
// residual step is kernels::add_layer_norm's fused pass.
#pragma once

#include <cstddef>

namespace winnow::kernels::reference {

// x[i] = x[i] · Φ(x[i]) = 0.5 · x · (1 + erf(x / √2)), the exact GELU.
void gelu_erf(float* x, std::size_t n);

// x[r, c] = gelu_erf(x[r, c] + bias[c]) over x [rows, cols], bias [cols].
void bias_gelu_erf(float* x, std::size_t rows, std::size_t cols, const float* bias);

// x[i] = tanh(x[i]).
void tanh_inplace(float* x, std::size_t n);

// x = softmax(x) over one row of n > 0 values (max-subtracted, so it never
// overflows).
void softmax(float* x, std::size_t n);

// The post-LN residual step without fusion: out[r] = kernels::layer_norm(x[r]
// + residual[r]). out may alias x or residual.
void add_layer_norm(const float* x, const float* residual, std::size_t rows, std::size_t cols, const float* gamma,
                    const float* beta, float eps, float* out);

}  // namespace winnow::kernels::reference
