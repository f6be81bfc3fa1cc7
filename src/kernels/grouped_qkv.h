// The attention input of a grouped-query decoder layer (Qwen3): q and k
// heads RMS-normalised per head, rotated to their positions, and the key and
// value heads repeated for the query heads that share them, so that
// attention (attention.h) reads plain q | k | v rows with one k and v per
// query head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/rotary.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

struct GroupedQkvShape {
  std::size_t num_heads = 0;     // query heads, Hq
  std::size_t num_kv_heads = 0;  // key / value heads, Hkv (divides Hq)
  std::size_t head_dim = 0;      // d, even
  const float* q_gamma = nullptr;  // [d]: the q_norm weights, shared by every query head
  const float* k_gamma = nullptr;  // [d]: k_norm's
  float eps = 1e-6f;
  const RotaryTable* rotary = nullptr;  // head_dim d, positions beyond every row's
};

// raw [rows, (Hq + 2·Hkv)·d]: a fused projection's output, rows q | k | v,
// finished by `affine` as it is read (an int8 GEMM's raw output; empty
// otherwise). Row r goes to row out_rows[r] of out [*, 3·Hq·d] at position
// positions[r]:
//   q head h  = rotate(RMSNorm(q_h) · q_gamma)
//   k head h  = rotate(RMSNorm(k_{h / (Hq/Hkv)}) · k_gamma)   (transformers' repeat_kv)
//   v head h  = v_{h / (Hq/Hkv)}
// positions and out_rows hold `rows` entries. Parallel over rows.
void grouped_qkv(const float* raw, const RowAffine& affine, std::size_t rows, std::span<const std::int32_t> positions,
                 std::span<const std::int32_t> out_rows, const GroupedQkvShape& shape, float* out);

// The same on rows [begin, end) of the projection's output while the GEMM's
// tile is in cache (a TilePass, tile_pass.h): raw and affine start at row
// `begin`; positions, out_rows and out are the whole call's. Sequential;
// row for row the same results as grouped_qkv.
void grouped_qkv_tile(const float* raw, const RowAffine& affine, std::size_t begin, std::size_t end,
                      std::span<const std::int32_t> positions, std::span<const std::int32_t> out_rows,
                      const GroupedQkvShape& shape, float* out);

}  // namespace winnow::kernels
