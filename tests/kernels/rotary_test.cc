// apply_rotary's tile form (the fused QKV projection's TilePass in
// ModernBERT's layers) against its parallel form: bitwise the same rows, the
// affine applied to every column and q and k rotated to each token's position
// within its sequence.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/rotary.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {
namespace {

TEST(RotaryTest, TileFormMatchesTheParallelForm) {
  const std::size_t heads = 2, d = 16, stride = 3 * heads * d;
  const std::vector<std::int32_t> offsets{0, 3, 10, 17};
  const std::size_t tokens = 17;
  auto table = RotaryTable::create(d, 10000.0, 32);
  ASSERT_TRUE(table.ok());
  std::mt19937 rng(67);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> qkv(tokens * stride), comp(stride), bias(stride);
  for (float& x : qkv) x = dist(rng);
  for (float& x : comp) x = 0.3f * dist(rng);
  for (float& x : bias) x = 0.1f * dist(rng);
  std::vector<float> row_scale(tokens), row_zero(tokens);
  for (std::size_t r = 0; r < tokens; ++r) {
    row_scale[r] = 0.04f + 0.01f * static_cast<float>(r);
    row_zero[r] = static_cast<float>(r * 17 % 256);
  }
  for (bool int8_affine : {true, false}) {
    SCOPED_TRACE(int8_affine ? "int8 affine" : "plain");
    const RowAffine affine =
        int8_affine ? RowAffine{row_scale.data(), row_zero.data(), comp.data(), bias.data()} : RowAffine{};
    std::vector<float> want = qkv, got = qkv;
    apply_rotary(want.data(), affine, offsets, heads, *table);
    const std::size_t cuts[] = {0, 2, 5, 16, 17};  // across sequence boundaries
    for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
      const std::size_t begin = cuts[t], end = cuts[t + 1];
      const RowAffine tile = internal::affine_of_row(affine, begin);
      apply_rotary_tile(got.data() + begin * stride, tile, begin, end, offsets, heads, *table);
    }
    EXPECT_EQ(got, want);
    // Position 0 of each sequence is not rotated: its q and k are the affine's values alone.
    for (std::int32_t first : {0, 3, 10}) {
      const auto r = static_cast<std::size_t>(first);
      for (std::size_t c = 0; c < stride; ++c) {
        float v = qkv[r * stride + c];
        if (int8_affine) v = (v - row_zero[r] * comp[c]) * row_scale[r] + bias[c];
        ASSERT_FLOAT_EQ(got[r * stride + c], v) << "token " << r << " col " << c;
      }
    }
  }
}

}  // namespace
}  // namespace winnow::kernels
