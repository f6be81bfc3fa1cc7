// Rotary position embeddings (RoPE) in transformers' rotate_half form, as
// ModernBERT and Qwen3 apply them to queries and keys: for a head's vector x
// of head_dim d at position p, with i < d/2 and angle a = p · inv_freq[i],
//   x'[i]       = x[i] · cos a − x[i + d/2] · sin a
//   x'[i + d/2] = x[i + d/2] · cos a + x[i] · sin a
// inv_freq[i] = 1 / theta^(2i / d).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/row_affine.h"

namespace winnow::kernels {

// cos and sin of every (position, frequency) up to a maximum position,
// computed once at load. The angles are rounded as transformers rounds them
// (inv_freq and position · inv_freq in fp32, then cos / sin of that float),
// so that long positions get the reference's own angles.
class RotaryTable {
 public:
  // head_dim even and positive, theta > 0, max_positions > 0.
  static base::Result<RotaryTable> create(std::size_t head_dim, double theta, std::size_t max_positions);

  std::size_t head_dim() const { return head_dim_; }
  std::size_t max_positions() const { return max_positions_; }
  double theta() const { return theta_; }
  // [head_dim / 2] values for `position` (< max_positions()).
  const float* cos(std::size_t position) const { return cos_.data() + position * (head_dim_ / 2); }
  const float* sin(std::size_t position) const { return sin_.data() + position * (head_dim_ / 2); }

 private:
  std::size_t head_dim_ = 0;
  std::size_t max_positions_ = 0;
  double theta_ = 0;
  std::vector<float> cos_, sin_;  // [max_positions, head_dim / 2]
};

// One head's vector x [2 · half] rotated to the position whose cos / sin
// (RotaryTable) are given, in place. Each product is rounded before the sum,
// as transformers' q * cos + rotate_half(q) * sin rounds them.
inline void rotate_head(float* x, std::size_t half, const float* cos, const float* sin) {
#pragma omp simd
  for (std::size_t i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    const float a_cos = a * cos[i], b_sin = b * sin[i], b_cos = b * cos[i], a_sin = a * sin[i];
    x[i] = a_cos - b_sin;
    x[i + half] = b_cos + a_sin;
  }
}

// Rotates the query and key heads of a fused projection's output in place:
// qkv [tokens, 3 · num_heads · head_dim], each row q | k | v (attention.h),
// sequences packed as `offsets` says, positions counted from 0 at each
// sequence's first token. When `affine` is set (an int8 GEMM's raw output,
// or a bias), the whole row (v included) is finished with it first, so the
// rows leave as plain values and attention reads them without an affine.
// Every position must be below table.max_positions() (the caller validated
// the lengths). Parallel over tokens.
void apply_rotary(float* qkv, const RowAffine& affine, std::span<const std::int32_t> offsets, std::size_t num_heads,
                  const RotaryTable& table);

// The same on tokens [begin, end) while the projection's tile is in cache
// (a TilePass, tile_pass.h): qkv and affine start at token `begin`; offsets
// are the whole batch's. Sequential; row for row the same results as
// apply_rotary.
void apply_rotary_tile(float* qkv, const RowAffine& affine, std::size_t begin, std::size_t end,
                       std::span<const std::int32_t> offsets, std::size_t num_heads, const RotaryTable& table);

}  // namespace winnow::kernels
