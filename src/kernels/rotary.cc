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

namespace {

// Row `token` of apply_rotary at `position`; its affine row is `a`.
void rotary_row(float* row, const RowAffine& affine, bool finish, std::size_t a, std::size_t position,
                std::size_t num_heads, const RotaryTable& table) {
  const std::size_t d = table.head_dim(), half = d / 2, stride = 3 * num_heads * d;
  if (finish) {
    for (std::size_t c = 0; c < stride; ++c) row[c] = internal::affine_value(row, affine, a, c);
  }
  const float* cos = table.cos(position);
  const float* sin = table.sin(position);
  for (std::size_t h = 0; h < 2 * num_heads; ++h) rotate_head(row + h * d, half, cos, sin);
}

// The position of token t: t less the last offset ≤ t.
std::size_t position_of(std::span<const std::int32_t> offsets, std::size_t t) {
  const auto next = std::upper_bound(offsets.begin(), offsets.end(), static_cast<std::int32_t>(t));
  return t - static_cast<std::size_t>(*(next - 1));
}

}  // namespace

void apply_rotary(float* qkv, const RowAffine& affine, std::span<const std::int32_t> offsets, std::size_t num_heads,
                  const RotaryTable& table) {
  if (offsets.size() < 2) return;
  const std::size_t stride = 3 * num_heads * table.head_dim();
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  const auto tokens = static_cast<std::int64_t>(offsets.back());
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t t = 0; t < tokens; ++t) {
    const auto token = static_cast<std::size_t>(t);
    rotary_row(qkv + token * stride, affine, finish, token, position_of(offsets, token), num_heads, table);
  }
}

void apply_rotary_tile(float* qkv, const RowAffine& affine, std::size_t begin, std::size_t end,
                       std::span<const std::int32_t> offsets, std::size_t num_heads, const RotaryTable& table) {
  const std::size_t stride = 3 * num_heads * table.head_dim();
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  for (std::size_t t = begin; t < end; ++t) {
    rotary_row(qkv + (t - begin) * stride, affine, finish, t - begin, position_of(offsets, t), num_heads, table);
  }
}

}  // namespace winnow::kernels
