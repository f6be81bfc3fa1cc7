// The decoder's row passes against plain loops: RMSNorm with a residual, and
// the grouped-query q/k/v preparation (per-head RMSNorm, rotation, repeated
// key and value heads, rows placed where attention reads them).
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/grouped_qkv.h"
#include "kernels/rms_norm.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {
namespace {

std::vector<float> random(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<float> rms(const float* x, std::size_t n, const float* gamma, float eps) {
  double squares = 0;
  for (std::size_t i = 0; i < n; ++i) squares += static_cast<double>(x[i]) * x[i];
  const double inv = 1.0 / std::sqrt(squares / static_cast<double>(n) + eps);
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(gamma[i] * (x[i] * inv));
  return out;
}

TEST(RmsNormTest, ResidualStepMatchesPlainLoops) {
  const std::size_t rows = 5, cols = 48;
  std::vector<float> y = random(rows * cols, 1), residual = random(rows * cols, 2), gamma = random(cols, 3);
  std::vector<float> expected_sum(rows * cols), normed(rows * cols);
  for (std::size_t i = 0; i < rows * cols; ++i) expected_sum[i] = residual[i] + y[i];
  add_residual_rms_norm(y.data(), {}, residual.data(), rows, cols, gamma.data(), 1e-6f, normed.data());
  for (std::size_t r = 0; r < rows; ++r) {
    const std::vector<float> expected = rms(expected_sum.data() + r * cols, cols, gamma.data(), 1e-6f);
    for (std::size_t c = 0; c < cols; ++c) {
      EXPECT_FLOAT_EQ(residual[r * cols + c], expected_sum[r * cols + c]);
      EXPECT_NEAR(normed[r * cols + c], expected[c], 1e-5f * (1 + std::abs(expected[c])));
    }
  }
}

TEST(GroupedQkvTest, NormsRotatesAndRepeatsHeadsIntoTheirRows) {
  const std::size_t hq = 4, hkv = 2, d = 8, rows = 3;
  auto table = RotaryTable::create(d, 1e6, 64);
  ASSERT_TRUE(table.ok());
  const std::vector<float> raw = random(rows * (hq + 2 * hkv) * d, 4);
  const std::vector<float> q_gamma = random(d, 5), k_gamma = random(d, 6);
  const std::vector<std::int32_t> positions{0, 7, 30};
  const std::vector<std::int32_t> out_rows{4, 1, 2};  // scattered, as behind a cached prefix
  GroupedQkvShape shape{hq, hkv, d, q_gamma.data(), k_gamma.data(), 1e-6f, &*table};
  std::vector<float> out(5 * 3 * hq * d, -1.0f);
  grouped_qkv(raw.data(), {}, rows, positions, out_rows, shape, out.data());
  auto rotated = [&](std::vector<float> x, std::size_t position) {
    const float* cos = table->cos(position);
    const float* sin = table->sin(position);
    std::vector<float> y(d);
    for (std::size_t i = 0; i < d / 2; ++i) {
      y[i] = x[i] * cos[i] - x[i + d / 2] * sin[i];
      y[i + d / 2] = x[i + d / 2] * cos[i] + x[i] * sin[i];
    }
    return y;
  };
  const std::size_t in_width = (hq + 2 * hkv) * d, hidden = hq * d;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* in = raw.data() + r * in_width;
    const float* row = out.data() + static_cast<std::size_t>(out_rows[r]) * 3 * hidden;
    for (std::size_t h = 0; h < hq; ++h) {
      const std::size_t kv = h / (hq / hkv);
      const auto q = rotated(rms(in + h * d, d, q_gamma.data(), 1e-6f), positions[r]);
      const auto k = rotated(rms(in + hidden + kv * d, d, k_gamma.data(), 1e-6f), positions[r]);
      for (std::size_t c = 0; c < d; ++c) {
        EXPECT_NEAR(row[h * d + c], q[c], 1e-5f) << r << " q head " << h;
        EXPECT_NEAR(row[hidden + h * d + c], k[c], 1e-5f) << r << " k head " << h;
        EXPECT_EQ(row[2 * hidden + h * d + c], in[hidden + hkv * d + kv * d + c]) << r << " v head " << h;
      }
    }
  }
  // Rows no token maps to are left alone (a cached prefix's go there).
  EXPECT_EQ(out[0], -1.0f);
  EXPECT_EQ(out[3 * 3 * hidden], -1.0f);
}

// The tile form (the qkv GEMM's TilePass) over uneven tiles, with an int8
// affine, against the parallel form: bitwise the same rows.
TEST(GroupedQkvTest, TileFormMatchesTheParallelForm) {
  const std::size_t hq = 4, hkv = 2, d = 16, rows = 11;
  const std::size_t in_width = (hq + 2 * hkv) * d, out_width = 3 * hq * d;
  auto table = RotaryTable::create(d, 1e6, 64);
  ASSERT_TRUE(table.ok());
  const std::vector<float> raw = random(rows * in_width, 7);
  const std::vector<float> q_gamma = random(d, 8), k_gamma = random(d, 9), comp = random(in_width, 10);
  std::vector<float> row_scale(rows), row_zero(rows);
  std::vector<std::int32_t> positions(rows), out_rows(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    row_scale[r] = 0.03f + 0.01f * static_cast<float>(r);
    row_zero[r] = static_cast<float>(r * 13 % 256);
    positions[r] = static_cast<std::int32_t>(r * 5 % 60);
    out_rows[r] = static_cast<std::int32_t>(rows + 2 - r);  // reversed, with gaps
  }
  const GroupedQkvShape shape{hq, hkv, d, q_gamma.data(), k_gamma.data(), 1e-6f, &*table};
  for (bool int8_affine : {true, false}) {
    SCOPED_TRACE(int8_affine ? "int8 affine" : "plain");
    const RowAffine affine =
        int8_affine ? RowAffine{row_scale.data(), row_zero.data(), comp.data(), nullptr} : RowAffine{};
    std::vector<float> want((rows + 3) * out_width, -1.0f), got = want;
    grouped_qkv(raw.data(), affine, rows, positions, out_rows, shape, want.data());
    const std::size_t cuts[] = {0, 1, 6, 11};
    for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
      const std::size_t begin = cuts[t], end = cuts[t + 1];
      const RowAffine tile = internal::affine_of_row(affine, begin);
      grouped_qkv_tile(raw.data() + begin * in_width, tile, begin, end, positions, out_rows, shape, got.data());
    }
    EXPECT_EQ(got, want);
  }
}

}  // namespace
}  // namespace winnow::kernels
