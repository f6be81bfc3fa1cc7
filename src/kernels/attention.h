// Multi-head self-attention over variable-length sequences packed back to
// back, without padding (so no FLOPs are spent on pad tokens and nothing needs
// masking).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace winnow::kernels {

// For each sequence s (tokens offsets[s] .. offsets[s+1]) and head h:
//   out_h = softmax(Q_h · K_hᵀ / √head_dim) · V_h
//
// qkv: [tokens, 3 · num_heads · head_dim]; each token's row is q | k | v, each
//      of those [num_heads, head_dim] (the layout of a fused QKV projection).
// offsets: num_sequences + 1 entries, offsets[0] == 0, non-decreasing,
//      offsets.back() == tokens. Empty sequences are skipped.
// out: [tokens, num_heads · head_dim]; must not overlap qkv.
// scratch: per-thread score rows; grown as needed, reuse it across calls.
//
// Parallel over (sequence, head) with OpenMP. Each (sequence, head) is
// computed by one thread in a fixed order, so a sequence's output is bitwise
// the same whatever else is in the batch and however many threads run.
void attention(const float* qkv, std::span<const std::int32_t> offsets, std::size_t num_heads,
               std::size_t head_dim, float* out, std::vector<float>& scratch);

}  // namespace winnow::kernels
