#include "kernels/rotary.h"

#include <algorithm>
#include <cmath>

#include "kernels/row_pass.h"

namespace winnow::kernels {

base::Result<RotaryTable> RotaryTable::create(std::size_t head_dim, double theta, std::size_t max_positions) {
  if (head_dim == 0 || head_dim % 2 != 0) {
    return base::invalid_argument("rotary embeddings: head_dim " + std::to_string(head_dim) +
                                  " must be even and positive");
  }
  if (!(theta > 0.0)) return base::invalid_argument("rotary embeddings: theta must be positive");
  if (max_positions == 0) return base::invalid_argument("rotary embeddings: no positions");
  RotaryTable table;
  table.head_dim_ = head_dim;
  table.max_positions_ = max_positions;
  table.theta_ = theta;
  const std::size_t half = head_dim / 2;
  // transformers: inv_freq = 1.0 / (base ** (arange(0, dim, 2).float() / dim)),
  // a float32 tensor; the exponent is a float32 quotient.
  std::vector<float> inv_freq(half);
  for (std::size_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const auto power = static_cast<float>(std::pow(theta, static_cast<double>(exponent)));
    inv_freq[i] = 1.0f / power;
  }
  table.cos_.resize(max_positions * half);
  table.sin_.resize(max_positions * half);
  for (std::size_t p = 0; p < max_positions; ++p) {
    for (std::size_t i = 0; i < half; ++i) {
      // freqs = inv_freq @ position_ids in float32: one rounded product.
      const float angle = inv_freq[i] * static_cast<float>(p);
      table.cos_[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      table.sin_[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
  return table;
}

void apply_rotary(float* qkv, const RowAffine& affine, std::span<const std::int32_t> offsets, std::size_t num_heads,
                  const RotaryTable& table) {
  if (offsets.size() < 2) return;
  const std::size_t d = table.head_dim(), half = d / 2, hidden = num_heads * d, stride = 3 * hidden;
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  const auto tokens = static_cast<std::int64_t>(offsets.back());
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t t = 0; t < tokens; ++t) {
    const auto token = static_cast<std::size_t>(t);
    // The sequence holding token t: the last offset ≤ t.
    const auto next = std::upper_bound(offsets.begin(), offsets.end(), static_cast<std::int32_t>(t));
    const auto position = token - static_cast<std::size_t>(*(next - 1));
    float* row = qkv + token * stride;
    if (finish) {
      for (std::size_t c = 0; c < stride; ++c) row[c] = internal::affine_value(row, affine, token, c);
    }
    const float* cos = table.cos(position);
    const float* sin = table.sin(position);
    for (std::size_t h = 0; h < 2 * num_heads; ++h) rotate_head(row + h * d, half, cos, sin);
  }
}

}  // namespace winnow::kernels
