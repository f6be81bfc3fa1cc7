// Multi-head self-attention over variable-length sequences packed back to
// back, without padding (so no FLOPs are spent on pad tokens and nothing needs
// masking).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"

namespace winnow::kernels {

// For each sequence s (tokens offsets[s] .. offsets[s+1]) and head h:
//   out_h = softmax(Q_h · K_hᵀ / √head_dim) · V_h
//
// Per sequence, the heads run as batched oneDNN matmuls (scores, then
// context) around a oneDNN softmax, parallel over heads and query rows
// (OpenMP, omp_get_max_threads()). Long sequences are processed in blocks of
// query rows so the score buffer stays bounded (~32 MiB). Primitives are
// cached per (rows, sequence length).
//
// A sequence's output depends only on its own tokens and the thread count:
// bitwise the same alone or inside any batch.
//
// Thread-compatible: callers serialize forward() calls on one Attention.
class Attention {
 public:
  static base::Result<Attention> create(std::size_t num_heads, std::size_t head_dim);

  Attention();
  Attention(Attention&&) noexcept;
  Attention& operator=(Attention&&) noexcept;
  ~Attention();

  // qkv: [tokens, 3 · num_heads · head_dim]; each token's row is q | k | v,
  //      each of those [num_heads, head_dim] (a fused QKV projection's output).
  // offsets: num_sequences + 1 entries, offsets[0] == 0, non-decreasing,
  //      offsets.back() == tokens. Empty sequences are skipped.
  // out: [tokens, num_heads · head_dim]; must not overlap qkv.
  // scratch: score buffer; grown as needed, reuse it across calls.
  base::Status forward(const float* qkv, std::span<const std::int32_t> offsets, float* out,
                       std::vector<float>& scratch) const;

  std::size_t num_heads() const;
  std::size_t head_dim() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::kernels
