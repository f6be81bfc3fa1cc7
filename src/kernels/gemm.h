// Dense layers (y = x·Wᵀ + b) through oneDNN matmul, in fp32, bf16 or int8.
//
// Weights are prepared once, when the Linear is built: converted to the
// precision's type and reordered into the blocked layout oneDNN's brgemm
// kernels read (independent of the row count); the caller's fp32 copy can be
// dropped afterwards. A forward call only looks up (or, for a new row count,
// creates) the oneDNN primitive for its shape.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "kernels/activation_rows.h"
#include "kernels/bf16.h"
#include "kernels/precision.h"
#include "kernels/quantize.h"
#include "kernels/row_affine.h"
#include "kernels/tile_pass.h"

namespace winnow::kernels {

// What is applied to each output element after the bias, fused into the GEMM.
enum class Epilogue {
  kNone,
  kGeluErf,  // x · Φ(x), the exact (erf) GELU, as torch.nn.functional.gelu
  kTanh,
};

// A torch.nn.Linear: weight [out_features, in_features] (row-major, as stored
// in checkpoints), optional bias [out_features].
//
//   kFp32: fp32 weights; fp32 in and out; bias and epilogue fused.
//   kBf16: bf16 weights (rounded to nearest even); bf16 in, fp32 or bf16 out,
//          fp32 accumulation; bias and epilogue fused.
//   kInt8: s8 weights, symmetric, one scale per output channel
//          (s_w[n] = max_k |w[n][k]| / 127); u8 inputs quantized per row
//          (quantize.h); s32 accumulation; the GEMM returns s_w[n] · Σ q·w
//          and the rows' affine (row_affine.h: dequantization and bias) and
//          the epilogue are applied by whatever pass comes next.
//
// A model's layers call the ActivationRows forms, which take the input in the
// Linear's own representation and leave the output as the pass after it
// reads it, so the same code runs every precision (activation_rows.h).
//
// Thread-compatible: forward() fills a primitive cache and reuses buffers, so
// callers serialize calls on one Linear (a model runs one forward pass at a
// time). Each call parallelises internally with OpenMP over
// omp_get_max_threads() threads. A row's result does not depend on the other
// rows of the call.
class Linear {
 public:
  // Prepares the weights in `precision` (kAuto is refused; kBf16 / kInt8 need
  // the CPU support check_precision_supported() reports). `bias` may be empty.
  static base::Result<Linear> create(std::span<const float> weight, std::span<const float> bias,
                                     std::size_t out_features, std::size_t in_features,
                                     Epilogue epilogue = Epilogue::kNone, base::Precision precision = base::Precision::kFp32);

  Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;
  ~Linear();

  // The layer on rows held in its precision (x.precision() == precision(),
  // x.cols() == in_features(), else an error): y [rows, out_features] = x ·
  // Wᵀ, finished by `rest`. fp32 and bf16 fuse bias and epilogue into the
  // GEMM, and `rest` is empty; int8 returns the raw GEMM output and `rest` =
  // the RowAffine of x's rows (dequantization and bias), for the pass that
  // reads y to apply (add_layer_norm, attention). An int8 Linear with an
  // epilogue is refused here: the form below applies it.
  base::Status forward(const ActivationRows& x, std::size_t rows, float* y, RowAffine& rest) const;

  // The layer on rows held in its precision, finished by `pass` (tile_pass.h)
  // rather than by a later pass over the whole output: y = x · Wᵀ as above,
  // then pass(y rows, rest, begin, end) for every row. int8, and bf16 with
  // no epilogue and weights that fit in L2, compute the GEMM in tiles of
  // rows (kTileBytes of output), each thread its own tiles one after
  // another, and run the pass on a tile as soon as its GEMM wrote it, so the
  // fp32 output never leaves the core's cache; otherwise the whole GEMM runs
  // (bias and epilogue fused), then the pass over chunks of rows in parallel. y [rows,
  // out_features] receives the output; null: buffers of the calling thread
  // shared by all Linears (a tile per thread where tiled), for a pass that
  // consumes the output. A tile's rows are computed exactly as the untiled
  // GEMM computes them (int8 accumulates in s32; bf16's brgemm blocks rows
  // alike: tile_pass_test checks both bitwise).
  base::Status forward(const ActivationRows& x, std::size_t rows, float* y, const TilePass& pass) const;

  // y = epilogue(x · Wᵀ + b) as the next Linear's input rows (y.precision()
  // == precision(), y.cols() == out_features()). fp32 and bf16: the GEMM with
  // bias and epilogue fused (bf16 written as bf16 by the GEMM); int8: the
  // GEMM in tiles as above, each tile dequantized, passed through the
  // epilogue and quantized per row while in cache (GELU in one pass, the
  // other epilogues in three).
  base::Status forward(const ActivationRows& x, std::size_t rows, ActivationRows& y) const;

  // y[rows, out_features] = epilogue(x[rows, in_features] · Wᵀ + b), any
  // precision (bf16 and int8 convert or quantize x first, into a buffer of
  // this Linear). Both matrices are row-major and contiguous; x and y must
  // not overlap. rows == 0 is a no-op.
  base::Status forward(const float* x, std::size_t rows, float* y) const;

  // kBf16 only: x [rows, in_features] in bf16; y in fp32 or bf16.
  base::Status forward(const Bf16* x, std::size_t rows, float* y) const;
  base::Status forward(const Bf16* x, std::size_t rows, Bf16* y) const;

  // kInt8 only: raw[rows, out_features] = s_w[n] · Σ_k x.values[m][k] · w_q[n][k].
  // The layer's output is affine(raw) with affine() below, then the epilogue.
  base::Status forward_raw(const std::uint8_t* x, std::size_t rows, float* raw) const;
  // kInt8: the RowAffine that finishes forward_raw for inputs `x`.
  RowAffine affine(const QuantizedRows& x) const;

  std::size_t in_features() const;
  std::size_t out_features() const;
  base::Precision precision() const;
  Epilogue epilogue() const;
  // The bias [out_features], or nullptr.
  const float* bias() const;
  // Bytes held for the prepared weights (in the precision's type and blocked
  // layout, which may pad), bias and int8 column constants.
  std::size_t weight_bytes() const;
  // The oneDNN implementation used for `rows` rows, e.g. "brg:avx512_core_vnni".
  base::Result<std::string> implementation(std::size_t rows) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::kernels
