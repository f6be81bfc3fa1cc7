#include "kernels/grouped_qkv.h"

#include <cstring>

#include "kernels/rms_norm.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {

namespace {

// dst[c] = affine(raw)[r][column + c] for c < d.
inline void finish(const float* raw, const RowAffine& affine, bool apply, std::size_t r, std::size_t column,
                   std::size_t d, float* dst) {
  if (!apply) {
    std::memcpy(dst, raw + column, d * sizeof(float));
    return;
  }
  for (std::size_t c = 0; c < d; ++c) dst[c] = internal::affine_value(raw, affine, r, column + c);
}

}  // namespace

namespace {

// One row: `in` is its raw values, finished by affine's row `a`; `row` its
// output row.
void grouped_qkv_row(const float* in, const RowAffine& affine, bool apply, std::size_t a, std::size_t position,
                     const GroupedQkvShape& shape, float* row) {
  const std::size_t d = shape.head_dim, half = d / 2, hq = shape.num_heads, hkv = shape.num_kv_heads;
  const std::size_t group = hq / hkv, hidden = hq * d;
  const float* cos = shape.rotary->cos(position);
  const float* sin = shape.rotary->sin(position);
  for (std::size_t h = 0; h < hq; ++h) {
    float* q = row + h * d;
    finish(in, affine, apply, a, h * d, d, q);
    rms_norm_row(q, d, shape.q_gamma, shape.eps, q);
    rotate_head(q, half, cos, sin);
  }
  for (std::size_t j = 0; j < hkv; ++j) {
    float* k = row + hidden + j * group * d;
    finish(in, affine, apply, a, hidden + j * d, d, k);
    rms_norm_row(k, d, shape.k_gamma, shape.eps, k);
    rotate_head(k, half, cos, sin);
    float* v = row + 2 * hidden + j * group * d;
    finish(in, affine, apply, a, hidden + hkv * d + j * d, d, v);
    for (std::size_t g = 1; g < group; ++g) {
      std::memcpy(k + g * d, k, d * sizeof(float));
      std::memcpy(v + g * d, v, d * sizeof(float));
    }
  }
}

}  // namespace

void grouped_qkv(const float* raw, const RowAffine& affine, std::size_t rows, std::span<const std::int32_t> positions,
                 std::span<const std::int32_t> out_rows, const GroupedQkvShape& shape, float* out) {
  const std::size_t d = shape.head_dim, hq = shape.num_heads, hkv = shape.num_kv_heads;
  const std::size_t in_width = (hq + 2 * hkv) * d, out_width = 3 * hq * d;
  const bool apply = affine.row_scale != nullptr || affine.bias != nullptr;
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t t = 0; t < n; ++t) {
    const auto r = static_cast<std::size_t>(t);
    grouped_qkv_row(raw + r * in_width, affine, apply, r, static_cast<std::size_t>(positions[r]), shape,
                    out + static_cast<std::size_t>(out_rows[r]) * out_width);
  }
}

void grouped_qkv_tile(const float* raw, const RowAffine& affine, std::size_t begin, std::size_t end,
                      std::span<const std::int32_t> positions, std::span<const std::int32_t> out_rows,
                      const GroupedQkvShape& shape, float* out) {
  const std::size_t d = shape.head_dim, hq = shape.num_heads, hkv = shape.num_kv_heads;
  const std::size_t in_width = (hq + 2 * hkv) * d, out_width = 3 * hq * d;
  const bool apply = affine.row_scale != nullptr || affine.bias != nullptr;
  for (std::size_t r = begin; r < end; ++r) {
    grouped_qkv_row(raw + (r - begin) * in_width, affine, apply, r - begin, static_cast<std::size_t>(positions[r]),
                    shape, out + static_cast<std::size_t>(out_rows[r]) * out_width);
  }
}

}  // namespace winnow::kernels
