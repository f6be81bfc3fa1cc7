// A dense layer's input rows, held the way a Linear of each precision reads
// them (gemm.h), so that a model writes its layers once for every precision:
//
//   fp32  the fp32 rows, read in place from wherever they were written (no copy);
//   bf16  a bf16 copy (round to nearest even);
//   int8  u8 rows quantized per row, with each row's scale and zero point
//         (quantize.h); the Linear's forward() returns the RowAffine that
//         finishes its GEMM on them (row_affine.h).
//
// Whatever produces a GEMM's input writes it as ActivationRows, fused into
// the producing pass where a kernel does that: add_layer_norm (layer_norm.h)
// writes the bf16 copy or the quantized rows as it normalises; a Linear
// writes its output, epilogue applied, straight into the next Linear's input
// (Linear::forward); attention writes through targets(). Anything
// else hands fp32 rows to assign().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/huge_pages.h"
#include "base/precision.h"
#include "kernels/bf16.h"
#include "kernels/quantize.h"

namespace winnow::kernels {

// Buffers grow on demand and are kept, so a steady stream of batches
// allocates nothing. Thread-compatible. The rows' contents are undefined
// until written; each write below covers rows [0, rows).
class ActivationRows {
 public:
  // Sets the precision (kFp32, kBf16 or kInt8) and makes room for rows x cols.
  void reserve(base::Precision precision, std::size_t rows, std::size_t cols);

  base::Precision precision() const { return precision_; }
  std::size_t rows() const { return rows_; }  // the room made by reserve()
  std::size_t cols() const { return cols_; }

  // --- Writing.

  // x [rows, cols()] in this form: fp32 reads x in place from now on (x must
  // stay as it is while the rows are read), bf16 converts, int8 quantizes.
  // Parallel over rows.
  void assign(const float* x, std::size_t rows);

  // Row `rows[i]` of `from` (same precision and cols) as row i here, for
  // i < rows.size(): a GEMM's input for a few chosen rows (the first token of
  // each sequence), exactly as `from` holds them. reserve() first.
  void gather(const ActivationRows& from, std::span<const std::int32_t> rows);

  // For a pass that writes fp32 or bf16 values itself (attention): exactly
  // one of fp32 and bf16 is set. Write the rows there, then call
  // complete(rows). int8 also sets q, scale and zero, for a pass that
  // quantizes its rows itself while they are in cache (quantize_row).
  struct Targets {
    float* fp32 = nullptr;
    Bf16* bf16 = nullptr;
    std::uint8_t* q = nullptr;
    float* scale = nullptr;
    float* zero = nullptr;
  };
  Targets targets();
  // Makes rows written through targets() readable: int8 quantizes them
  // unless `quantized` says the pass wrote q, scale and zero itself; fp32
  // reads them in place; bf16 has nothing left to do.
  void complete(std::size_t rows, bool quantized = false);

  // For a pass that writes fp32 rows to `fp32` and, in the same pass, the
  // form this precision reads: the pointers to write it through (bf16: bf16;
  // int8: q, scale, zero). fp32 needs none: the rows are read from `fp32` in
  // place from now on (for the other precisions `fp32` is not kept).
  struct Copies {
    Bf16* bf16 = nullptr;
    std::uint8_t* q = nullptr;
    float* scale = nullptr;
    float* zero = nullptr;
    // The same pointers from row `row` on (rows of `cols`), for a pass
    // handed one tile of the rows (tile_pass.h).
    Copies at(std::size_t row, std::size_t cols) const {
      return {bf16 == nullptr ? nullptr : bf16 + row * cols, q == nullptr ? nullptr : q + row * cols,
              scale == nullptr ? nullptr : scale + row, zero == nullptr ? nullptr : zero + row};
    }
  };
  Copies copies_for(const float* fp32);

  // --- Reading, by a Linear of the same precision.

  const float* fp32() const { return fp32_; }      // kFp32
  const Bf16* bf16() const { return bf16_.data(); }  // kBf16
  QuantizedRows quantized() const { return {q_.data(), scale_.data(), zero_.data()}; }  // kInt8

 private:
  base::Precision precision_ = base::Precision::kFp32;
  std::size_t rows_ = 0;  // room reserved
  std::size_t cols_ = 0;
  const float* fp32_ = nullptr;
  // fp32: rows written through targets(); int8: values before quantization
  // (the attention context, before its quantization). Grown when first
  // asked for: fp32 rows that are only read in place never need it.
  base::HugeVector<float> staging_;
  base::HugeVector<Bf16> bf16_;
  base::HugeVector<std::uint8_t> q_;
  std::vector<float> scale_, zero_;
};

}  // namespace winnow::kernels
