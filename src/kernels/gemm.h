// Dense layers (y = x·Wᵀ + b) through oneDNN matmul.
//
// Weights are prepared once, when the Linear is built; a forward call only
// looks up (or, for a new row count, creates) the oneDNN primitive for its
// shape. fp32 for now; reduced-precision variants will be further Linear
// flavours behind the same interface.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "base/status.h"

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
// Thread-compatible: forward() fills a primitive cache, so callers serialize
// calls on one Linear (a model runs one forward pass at a time). Each call
// parallelises internally with OpenMP over omp_get_max_threads() threads.
class Linear {
 public:
  // Copies the weights into the layout the GEMM reads. `bias` may be empty.
  static base::Result<Linear> create(std::span<const float> weight, std::span<const float> bias,
                                     std::size_t out_features, std::size_t in_features,
                                     Epilogue epilogue = Epilogue::kNone);

  Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;
  ~Linear();

  // y[rows, out_features] = epilogue(x[rows, in_features] · Wᵀ + b). Both
  // matrices are row-major and contiguous; x and y must not overlap. rows == 0
  // is a no-op.
  base::Status forward(const float* x, std::size_t rows, float* y) const;

  std::size_t in_features() const;
  std::size_t out_features() const;
  // Bytes held for the prepared weights and bias.
  std::size_t weight_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::kernels
