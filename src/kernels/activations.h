// Element-wise activations and row softmax (in place, fp32).
//
// The model's GEMMs fuse GELU and tanh into oneDNN's epilogue (see gemm.h);
// these are the stand-alone forms, for unfused paths and as references.
#pragma once

#include <cstddef>

namespace winnow::kernels {

// x[i] = x[i] · Φ(x[i]) = 0.5 · x · (1 + erf(x / √2)), the exact GELU.
void gelu_erf(float* x, std::size_t n);

// x[r, c] = gelu_erf(x[r, c] + bias[c]) over x [rows, cols], bias [cols].
void bias_gelu_erf(float* x, std::size_t rows, std::size_t cols, const float* bias);

// x[i] = tanh(x[i]).
void tanh_inplace(float* x, std::size_t n);

// x = softmax(x) over one row of n > 0 values (max-subtracted, so it never
// overflows). Sequential: callers parallelise over rows.
void softmax(float* x, std::size_t n);

}  // namespace winnow::kernels
