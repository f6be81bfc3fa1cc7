// Multi-head self-attention over variable-length sequences packed back to
// back, without padding (so no FLOPs are spent on pad tokens and no pad needs
// masking). Sliding-window (ModernBERT's local layers) and causal attention
// are options of the same kernels: keys outside a query's range get weight 0
// and are skipped, so they cost (almost) nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/bf16.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

// Which code computes attention.
enum class AttentionKernel {
  // The hand-written fused kernel for the CPU (AVX-512, else AVX2) when
  // head_dim is a multiple of its vector width, else oneDNN.
  kAuto,
  // Batched oneDNN matmuls + softmax per sequence (the reference, and the
  // fallback for CPUs without AVX2).
  kOneDnn,
};

// One attention call. For each sequence s (tokens offsets[s] .. offsets[s+1])
// and head h: out_h = softmax(Q_h · K_hᵀ / √head_dim) · V_h.
struct AttentionRequest {
  // [tokens, 3 · num_heads · head_dim]; each token's row is q | k | v, each of
  // those [num_heads, head_dim] (a fused QKV projection's output).
  const float* qkv = nullptr;
  // num_sequences + 1 entries, offsets[0] == 0, non-decreasing, back() == tokens.
  std::span<const std::int32_t> offsets;
  // Applied to qkv as it is read (rows are token indices, columns 0 .. 3 ·
  // hidden): the raw output of an int8 GEMM is finished here (row_affine.h).
  // Empty for fp32 / bf16 GEMM outputs; a bias alone needs a hand-written
  // kernel, the row terms the AVX-512 one.
  RowAffine affine;
  // Q·Kᵀ and P·V as bf16 dot products with fp32 accumulation (softmax stays
  // fp32). Needs AVX512_BF16. Rounding q and k is the larger error: a score
  // of 30 moves by ~0.1, and the softmax with it.
  bool bf16 = false;
  // Only the first token of each sequence attends (a classification head
  // reads nothing else): out has one row per sequence instead of per token.
  bool first_token_only = false;
  // With first_token_only, optionally: the queries [sequences, hidden] of the
  // first tokens from a projection of those rows alone (their own affine, rows
  // counted by sequence), which saves projecting every token's q. qkv then
  // holds K | V only ([tokens, 2 · hidden]; `affine`'s columns counted from
  // K's first).
  const float* first_query = nullptr;
  RowAffine first_query_affine;
  // Query i of a sequence (counted from its first token) sees only keys j
  // with |i − j| ≤ window (0: every key): ModernBERT's local attention, whose
  // local_attention w gives window w / 2. When causal, only j ≤ i as well.
  // Masked keys get zero weight, as transformers' additive finfo.min mask
  // gives them, and each block of queries computes only the keys its queries
  // see between them (rounded out to whole vectors on the hand-written
  // kernels): a window costs O(len · window), causal about half of full.
  std::size_t window = 0;
  bool causal = false;
  // [rows, hidden] outputs; at least one. Must not overlap qkv.
  float* out = nullptr;
  Bf16* out_bf16 = nullptr;
  // With `out`: each output row also quantized per row (quantize.h) into
  // out_q [rows, hidden], out_scale and out_zero [rows], by the thread that
  // finishes the row's sequence, while its rows are in cache: the int8
  // context, ready for the output projection. All three or none.
  std::uint8_t* out_q = nullptr;
  float* out_scale = nullptr;
  float* out_zero = nullptr;
  // The oneDNN path's score buffer, reused across calls (a temporary if null).
  std::vector<float>* scratch = nullptr;
};

// Thread-compatible: callers serialize forward() calls on one Attention.
// Parallel inside (OpenMP, omp_get_max_threads()) over (sequence, head).
// A sequence's output depends only on its own tokens (and, on the oneDNN
// path, the thread count): bitwise the same alone or inside any batch.
class Attention {
 public:
  static base::Result<Attention> create(std::size_t num_heads, std::size_t head_dim,
                                        AttentionKernel kernel = AttentionKernel::kAuto);

  Attention();
  Attention(Attention&&) noexcept;
  Attention& operator=(Attention&&) noexcept;
  ~Attention();

  base::Status forward(const AttentionRequest& request) const;

  // The fp32 form: qkv as above, out [tokens, num_heads · head_dim] (must not
  // overlap qkv). `scratch` is the oneDNN path's score buffer, reused across calls.
  base::Status forward(const float* qkv, std::span<const std::int32_t> offsets, float* out,
                       std::vector<float>& scratch) const;

  std::size_t num_heads() const;
  std::size_t head_dim() const;
  // "avx512", "avx2" or "onednn": what forward() runs for fp32 requests.
  std::string kernel_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::kernels
