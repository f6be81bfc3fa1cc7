// Linear::forward with a TilePass (tile_pass.h) and the passes that run on
// tiles: every output row reaches the pass exactly once, with the values the
// whole GEMM gives; the tile forms of the residual steps and of GELU +
// requantization give, row for row, what their parallel forms give. Under
// WINNOW_CPU=avx2 (ctest's avx2.kernels.*) the fp32 and portable paths run.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "kernels/activation_rows.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"
#include "kernels/quantize.h"
#include "kernels/rms_norm.h"
#include "kernels/row_pass.h"
#include "kernels/tile_pass.h"

namespace winnow::kernels {
namespace {

using base::Precision;

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

bool runs(Precision p) {
  const base::CpuFeatures& cpu = base::cpu_features();
  return p == Precision::kFp32 || (p == Precision::kBf16 && cpu.avx512_bf16) ||
         (p == Precision::kInt8 && cpu.avx512_vnni);
}

// affine(y)[r][c], written out here as row_affine.h defines it.
float finish(const float* y, const RowAffine& f, std::size_t r, std::size_t c, std::size_t cols) {
  float v = y[r * cols + c];
  if (f.row_scale != nullptr) v = (v - f.row_zero[r] * f.column_comp[c]) * f.row_scale[r];
  if (f.bias != nullptr) v += f.bias[c];
  return v;
}

// The next layer's input a tile form wrote equals the parallel form's: fp32
// reads the rows it was given (`fp32_rows`), bf16 and int8 bitwise.
void expect_same_next_input(const ActivationRows& got, const ActivationRows& want, const float* fp32_rows,
                            Precision p, std::size_t rows, std::size_t cols) {
  switch (p) {
    case Precision::kFp32:
      EXPECT_EQ(got.fp32(), fp32_rows);
      break;
    case Precision::kBf16:
      for (std::size_t i = 0; i < rows * cols; ++i) ASSERT_EQ(got.bf16()[i], want.bf16()[i]) << i;
      break;
    default: {
      const QuantizedRows q_got = got.quantized(), q_want = want.quantized();
      EXPECT_EQ(std::vector<std::uint8_t>(q_got.values, q_got.values + rows * cols),
                std::vector<std::uint8_t>(q_want.values, q_want.values + rows * cols));
      EXPECT_EQ(std::vector<float>(q_got.scale, q_got.scale + rows), std::vector<float>(q_want.scale, q_want.scale + rows));
      EXPECT_EQ(std::vector<float>(q_got.zero, q_got.zero + rows), std::vector<float>(q_want.zero, q_want.zero + rows));
    }
  }
}

struct Shape {
  std::size_t rows, out, in;
};

// Shapes whose int8 and bf16 tiles (256 KiB of output: 32 rows of 1536, 160
// of 384, 256 of 80; at least 32 rows: 32 of 3072) leave a remainder, one
// smaller than a tile, and one whose bf16 weights (2.1 MiB) are too big to
// tile (the whole GEMM, then the pass).
constexpr Shape kShapes[] = {{300, 1536, 96}, {1000, 384, 40}, {300, 80, 64},
                             {70, 3072, 16},  {5, 384, 33},    {40, 1100, 1000}};

TEST(TilePassTest, EveryRowOnceWithTheWholeGemmsValues) {
  std::mt19937 rng(41);
  for (const Shape& shape : kShapes) {
    auto w = random_vector(shape.out * shape.in, rng, 0.3f);
    auto b = random_vector(shape.out, rng);
    auto x = random_vector(shape.rows * shape.in, rng, 1.0f, 0.2f);
    for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
      if (!runs(p)) continue;
      SCOPED_TRACE(std::string(base::precision_name(p)) + " rows " + std::to_string(shape.rows) + " out " +
                   std::to_string(shape.out));
      auto linear = Linear::create(w, b, shape.out, shape.in, Epilogue::kNone, p);
      ASSERT_TRUE(linear.ok()) << linear.status().to_string();
      ActivationRows input;
      input.reserve(p, shape.rows, shape.in);
      input.assign(x.data(), shape.rows);
      // The whole GEMM, finished by its affine.
      std::vector<float> whole(shape.rows * shape.out);
      RowAffine rest;
      ASSERT_TRUE(linear->forward(input, shape.rows, whole.data(), rest).ok());
      std::vector<float> want(whole.size());
      for (std::size_t r = 0; r < shape.rows; ++r) {
        for (std::size_t c = 0; c < shape.out; ++c) want[r * shape.out + c] = finish(whole.data(), rest, r, c, shape.out);
      }
      for (bool own_buffer : {true, false}) {
        std::vector<float> got(want.size(), -1.0f), y(own_buffer ? 0 : want.size());
        std::vector<int> seen(shape.rows, 0);  // rows are disjoint between calls: no race
        const base::Status status = linear->forward(
            input, shape.rows, own_buffer ? nullptr : y.data(),
            [&](float* tile, const RowAffine& tile_rest, std::size_t begin, std::size_t end) {
              for (std::size_t r = begin; r < end; ++r) {
                ++seen[r];
                for (std::size_t c = 0; c < shape.out; ++c) {
                  got[r * shape.out + c] = finish(tile, tile_rest, r - begin, c, shape.out);
                }
              }
            });
        ASSERT_TRUE(status.ok()) << status.to_string();
        for (std::size_t r = 0; r < shape.rows; ++r) ASSERT_EQ(seen[r], 1) << r;
        for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
        if (!own_buffer) {
          for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(y[i], whole[i]) << i;
        }
      }
    }
  }
}

TEST(TilePassTest, Int8IntoActivationRowsIsTheParallelPassOnTheWholeOutput) {
  if (!runs(Precision::kInt8)) GTEST_SKIP() << "no AVX512_VNNI";
  std::mt19937 rng(43);
  const Shape shape{300, 1536, 96};  // 9 tiles of 32 rows and one of 12
  auto w = random_vector(shape.out * shape.in, rng, 0.3f);
  auto b = random_vector(shape.out, rng);
  auto x = random_vector(shape.rows * shape.in, rng, 1.0f, 0.2f);
  auto plain = Linear::create(w, b, shape.out, shape.in, Epilogue::kNone, Precision::kInt8);
  ASSERT_TRUE(plain.ok());
  ActivationRows input;
  input.reserve(Precision::kInt8, shape.rows, shape.in);
  input.assign(x.data(), shape.rows);
  std::vector<float> raw(shape.rows * shape.out);
  RowAffine rest;
  ASSERT_TRUE(plain->forward(input, shape.rows, raw.data(), rest).ok());
  for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kTanh}) {
    SCOPED_TRACE(static_cast<int>(e));
    auto linear = Linear::create(w, b, shape.out, shape.in, e, Precision::kInt8);
    ASSERT_TRUE(linear.ok());
    ActivationRows output;
    output.reserve(Precision::kInt8, shape.rows, shape.out);
    ASSERT_TRUE(linear->forward(input, shape.rows, output).ok());
    std::vector<float> values = raw;
    std::vector<std::uint8_t> q(values.size());
    std::vector<float> scale(shape.rows), zero(shape.rows);
    if (e == Epilogue::kGeluErf) {
      affine_gelu_quantize(values.data(), rest, shape.rows, shape.out, q.data(), scale.data(), zero.data());
    } else {
      affine_rows(values.data(), rest, shape.rows, shape.out);
      if (e == Epilogue::kTanh) {
        for (float& v : values) v = std::tanh(v);
      }
      quantize_rows(values.data(), shape.rows, shape.out, q.data(), scale.data(), zero.data());
    }
    const QuantizedRows got = output.quantized();
    EXPECT_EQ(std::vector<std::uint8_t>(got.values, got.values + q.size()), q);
    EXPECT_EQ(std::vector<float>(got.scale, got.scale + shape.rows), scale);
    EXPECT_EQ(std::vector<float>(got.zero, got.zero + shape.rows), zero);
  }
}

// The tile forms over uneven tiles against the parallel forms, with an int8
// affine and every kind of `next`.
TEST(TilePassTest, TileFormsOfThePassesMatchTheParallelForms) {
  std::mt19937 rng(47);
  const std::size_t rows = 29, cols = 200;
  auto y = random_vector(rows * cols, rng);
  auto residual = random_vector(rows * cols, rng);
  auto gamma = random_vector(cols, rng, 0.2f, 1.0f);
  auto beta = random_vector(cols, rng, 0.1f);
  auto bias = random_vector(cols, rng, 0.3f);
  auto comp = random_vector(cols, rng, 0.3f);
  std::vector<float> row_scale(rows), row_zero(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    row_scale[r] = 0.05f + 0.01f * static_cast<float>(r);
    row_zero[r] = static_cast<float>(r * 7 % 200);
  }
  const RowAffine affine{row_scale.data(), row_zero.data(), comp.data(), bias.data()};
  const std::size_t cuts[] = {0, 1, 9, 16, 29};
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(base::precision_name(p));
    for (bool pre_norm : {false, true}) {
      for (bool with_beta : {true, false}) {
        if (!pre_norm && !with_beta) continue;  // post-LN always has a bias
        SCOPED_TRACE(std::string(pre_norm ? "pre-LN" : "post-LN") + (with_beta ? "" : " without beta"));
        const float* b = with_beta ? beta.data() : nullptr;
        ActivationRows next_want, next_got;
        next_want.reserve(p, rows, cols);
        next_got.reserve(p, rows, cols);
        std::vector<float> state_want = residual, state_got = residual;
        std::vector<float> normed_want(rows * cols), normed_got(rows * cols);
        if (pre_norm) {
          add_residual_layer_norm(y.data(), affine, state_want.data(), rows, cols, gamma.data(), b, 1e-5f,
                                  normed_want.data(), &next_want);
        } else {
          add_layer_norm(y.data(), affine, state_want.data(), rows, cols, gamma.data(), b, 1e-5f, state_want.data(),
                         &next_want);
        }
        float* written = pre_norm ? normed_got.data() : state_got.data();
        const ActivationRows::Copies copies = next_got.copies_for(written);
        for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
          const std::size_t begin = cuts[t], end = cuts[t + 1];
          const RowAffine tile_affine{row_scale.data() + begin, row_zero.data() + begin, comp.data(), bias.data()};
          if (pre_norm) {
            add_residual_layer_norm_tile(y.data() + begin * cols, tile_affine, state_got.data(), begin, end, cols,
                                         gamma.data(), b, 1e-5f, written, copies);
          } else {
            add_layer_norm_tile(y.data() + begin * cols, tile_affine, state_got.data(), begin, end, cols,
                                gamma.data(), b, 1e-5f, written, copies);
          }
        }
        EXPECT_EQ(state_got, state_want);
        EXPECT_EQ(normed_got, normed_want);
        expect_same_next_input(next_got, next_want, written, p, rows, cols);
      }
    }
  }
  // GELU + requantization.
  std::vector<float> raw_want = y, raw_got = y;
  std::vector<std::uint8_t> q_want(rows * cols), q_got(rows * cols);
  std::vector<float> s_want(rows), s_got(rows), z_want(rows), z_got(rows);
  affine_gelu_quantize(raw_want.data(), affine, rows, cols, q_want.data(), s_want.data(), z_want.data());
  for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
    const std::size_t begin = cuts[t], end = cuts[t + 1];
    affine_gelu_quantize_tile(raw_got.data() + begin * cols,
                              {row_scale.data() + begin, row_zero.data() + begin, comp.data(), bias.data()},
                              end - begin, cols, q_got.data() + begin * cols, s_got.data() + begin,
                              z_got.data() + begin);
  }
  EXPECT_EQ(q_got, q_want);
  EXPECT_EQ(s_got, s_want);
  EXPECT_EQ(z_got, z_want);
}

// The decoder's residual + RMSNorm on uneven tiles against its parallel
// form, bitwise, with and without an int8 affine, for every kind of `next`
// and for the final norm over the state itself.
TEST(TilePassTest, RmsNormTileFormMatchesTheParallelForm) {
  std::mt19937 rng(61);
  const std::size_t rows = 29, cols = 200;
  auto y = random_vector(rows * cols, rng);
  auto residual = random_vector(rows * cols, rng);
  auto gamma = random_vector(cols, rng, 0.2f, 1.0f);
  auto comp = random_vector(cols, rng, 0.3f);
  std::vector<float> row_scale(rows), row_zero(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    row_scale[r] = 0.05f + 0.01f * static_cast<float>(r);
    row_zero[r] = static_cast<float>(r * 7 % 200);
  }
  const std::size_t cuts[] = {0, 1, 9, 16, 29};
  for (bool int8_affine : {true, false}) {
    const RowAffine affine = int8_affine ? RowAffine{row_scale.data(), row_zero.data(), comp.data(), nullptr}
                                         : RowAffine{};
    for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
      for (bool final_norm : {false, true}) {
        SCOPED_TRACE(std::string(base::precision_name(p)) + (int8_affine ? " int8 affine" : "") +
                     (final_norm ? " final norm" : ""));
        ActivationRows next_want, next_got;
        next_want.reserve(p, rows, cols);
        next_got.reserve(p, rows, cols);
        std::vector<float> state_want = residual, state_got = residual;
        std::vector<float> normed_want(rows * cols), normed_got(rows * cols);
        float* written_want = final_norm ? state_want.data() : normed_want.data();
        float* written_got = final_norm ? state_got.data() : normed_got.data();
        add_residual_rms_norm(y.data(), affine, state_want.data(), rows, cols, gamma.data(), 1e-6f, written_want,
                              final_norm ? nullptr : &next_want);
        const ActivationRows::Copies copies =
            final_norm ? ActivationRows::Copies{} : next_got.copies_for(written_got);
        for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
          const std::size_t begin = cuts[t], end = cuts[t + 1];
          const RowAffine tile = internal::affine_of_row(affine, begin);
          add_residual_rms_norm_tile(y.data() + begin * cols, tile, state_got.data(), begin, end, cols, gamma.data(),
                                     1e-6f, written_got, copies);
        }
        EXPECT_EQ(state_got, state_want);
        EXPECT_EQ(normed_got, normed_want);
        if (final_norm) continue;
        expect_same_next_input(next_got, next_want, written_got, p, rows, cols);
      }
    }
  }
}

}  // namespace
}  // namespace winnow::kernels
