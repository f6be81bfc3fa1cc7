// bf16 and int8 Linears against a double-precision reference, with error
// bounds derived from the rounding each precision does; their ActivationRows
// forms against their fp32-input forms; and the fused passes (quantize.h,
// layer_norm.h) against plain scalar code (reference_kernels.h).
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "kernels/activation_rows.h"
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"
#include "kernels/quantize.h"
#include "kernels/reference_kernels.h"
#include "kernels/simd.h"

namespace winnow::kernels {
namespace {

using base::Precision;
using base::parse_precision;
using base::precision_name;

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Shape {
  std::size_t rows, out, in;
};

constexpr Shape kShapes[] = {{1, 1, 1}, {7, 13, 11}, {33, 129, 65}, {100, 17, 384}, {257, 96, 31}};

double gelu(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }

TEST(PrecisionGemmTest, Bf16MatchesReferenceWithinBf16Rounding) {
  if (!base::cpu_features().avx512_bf16) GTEST_SKIP() << "no AVX512_BF16";
  std::mt19937 rng(3);
  for (Shape s : kShapes) {
    auto w = random_vector(s.out * s.in, rng);
    auto b = random_vector(s.out, rng);
    auto x = random_vector(s.rows * s.in, rng);
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf}) {
      auto linear = Linear::create(w, b, s.out, s.in, e, Precision::kBf16);
      ASSERT_TRUE(linear.ok()) << linear.status().to_string();
      EXPECT_EQ(linear->precision(), Precision::kBf16);
      std::vector<float> y(s.rows * s.out);
      ASSERT_TRUE(linear->forward(x.data(), s.rows, y.data()).ok());
      std::vector<Bf16> xb(x.size()), yb(y.size());
      convert_to_bf16(x.data(), x.size(), xb.data());
      ASSERT_TRUE(linear->forward(xb.data(), s.rows, yb.data()).ok());
      for (std::size_t r = 0; r < s.rows; ++r) {
        for (std::size_t o = 0; o < s.out; ++o) {
          double acc = b[o], magnitude = 0;
          for (std::size_t i = 0; i < s.in; ++i) {
            acc += static_cast<double>(x[r * s.in + i]) * w[o * s.in + i];
            magnitude += std::abs(static_cast<double>(x[r * s.in + i]) * w[o * s.in + i]);
          }
          // Both operands rounded to 8 significant bits: ≤ 2 · 2^-9 relative each product.
          const double bound = 2.0 * std::ldexp(1.0, -8) * magnitude + 1e-5;
          const double want = e == Epilogue::kGeluErf ? gelu(acc) : acc;
          const float got = y[r * s.out + o];
          ASSERT_NEAR(got, want, bound * 1.1) << s.rows << "x" << s.in << "->" << s.out;
          // The bf16 output is the fp32 one, rounded.
          ASSERT_NEAR(to_float(yb[r * s.out + o]), got, std::abs(got) * std::ldexp(1.0, -8) + 1e-6);
        }
      }
    }
  }
}

TEST(PrecisionGemmTest, Int8MatchesReferenceWithinQuantizationError) {
  if (!base::cpu_features().avx512_vnni) GTEST_SKIP() << "no AVX512_VNNI";
  std::mt19937 rng(5);
  for (Shape s : kShapes) {
    auto w = random_vector(s.out * s.in, rng, 0.5f);
    auto b = random_vector(s.out, rng);
    // Skewed activations (mean 0.7) exercise the zero point.
    auto x = random_vector(s.rows * s.in, rng, 1.0f, 0.7f);
    auto linear = Linear::create(w, b, s.out, s.in, Epilogue::kNone, Precision::kInt8);
    ASSERT_TRUE(linear.ok()) << linear.status().to_string();
    std::vector<float> y(s.rows * s.out);
    ASSERT_TRUE(linear->forward(x.data(), s.rows, y.data()).ok());
    // The same through the raw form and the fused affine.
    std::vector<std::uint8_t> q(x.size());
    std::vector<float> scale(s.rows), zero(s.rows), raw(y.size());
    quantize_rows(x.data(), s.rows, s.in, q.data(), scale.data(), zero.data());
    ASSERT_TRUE(linear->forward_raw(q.data(), s.rows, raw.data()).ok());
    affine_rows(raw.data(), linear->affine({q.data(), scale.data(), zero.data()}), s.rows, s.out);
    for (std::size_t r = 0; r < s.rows; ++r) {
      float lo = 0, hi = 0;
      for (std::size_t i = 0; i < s.in; ++i) {
        lo = std::min(lo, x[r * s.in + i]);
        hi = std::max(hi, x[r * s.in + i]);
      }
      const double sx = (hi - lo) / 255.0;
      for (std::size_t o = 0; o < s.out; ++o) {
        double acc = b[o], max_w = 0, sum_w = 0, sum_x = 0;
        for (std::size_t i = 0; i < s.in; ++i) max_w = std::max(max_w, std::abs(static_cast<double>(w[o * s.in + i])));
        const double sw = max_w / 127.0;
        for (std::size_t i = 0; i < s.in; ++i) {
          acc += static_cast<double>(x[r * s.in + i]) * w[o * s.in + i];
          sum_w += std::abs(w[o * s.in + i]);
          sum_x += std::abs(x[r * s.in + i]);
        }
        // |x − x̂| ≤ sx/2, |w − ŵ| ≤ sw/2 per element.
        const double bound = sx / 2 * sum_w + sw / 2 * sum_x + s.in * sx * sw / 4 + 1e-4 * std::abs(acc) + 1e-5;
        ASSERT_NEAR(y[r * s.out + o], acc, bound) << s.rows << "x" << s.in << "->" << s.out;
        ASSERT_NEAR(raw[r * s.out + o], y[r * s.out + o], 1e-5 * (1 + std::abs(acc)));
      }
    }
  }
}

// Whether this CPU runs `p`'s GEMMs.
bool runs(Precision p) {
  const base::CpuFeatures& cpu = base::cpu_features();
  return p == Precision::kFp32 || (p == Precision::kBf16 && cpu.avx512_bf16) ||
         (p == Precision::kInt8 && cpu.avx512_vnni);
}

// The ActivationRows forms (what a model's layers call) compute what the
// fp32-input form computes: bit for bit where both write fp32 (the same GEMM
// on the same converted or quantized input); bf16 output rows within bf16
// rounding; int8 output rows up to the fused GELU's approximation, which can
// move a value across a rounding boundary of their quantization.
TEST(PrecisionGemmTest, ActivationRowsFormsMatchTheFp32InputForm) {
  std::mt19937 rng(17);
  const std::size_t rows = 37, in = 96, out = 80;
  auto w = random_vector(out * in, rng, 0.5f);
  auto b = random_vector(out, rng);
  auto x = random_vector(rows * in, rng, 1.0f, 0.3f);
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (!runs(p)) continue;
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kTanh}) {
      SCOPED_TRACE(std::string(precision_name(p)) + " epilogue " + std::to_string(static_cast<int>(e)));
      auto linear = Linear::create(w, b, out, in, e, p);
      ASSERT_TRUE(linear.ok()) << linear.status().to_string();
      std::vector<float> want(rows * out);
      ASSERT_TRUE(linear->forward(x.data(), rows, want.data()).ok());
      ActivationRows input, output;
      input.reserve(p, rows, in);
      input.assign(x.data(), rows);
      output.reserve(p, rows, out);
      // Into the next Linear's input rows.
      ASSERT_TRUE(linear->forward(input, rows, output).ok());
      switch (p) {
        case Precision::kFp32:
          for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(output.fp32()[i], want[i]) << i;
          break;
        case Precision::kBf16:  // oneDNN's bf16 output: the fp32 one, rounded
          for (std::size_t i = 0; i < want.size(); ++i) {
            ASSERT_NEAR(to_float(output.bf16()[i]), want[i], std::abs(want[i]) * std::ldexp(1.0, -8) + 1e-6) << i;
          }
          break;
        default: {
          std::vector<std::uint8_t> q(want.size());
          std::vector<float> scale(rows), zero(rows);
          quantize_rows(want.data(), rows, out, q.data(), scale.data(), zero.data());
          const QuantizedRows got = output.quantized();
          for (std::size_t r = 0; r < rows; ++r) {
            ASSERT_NEAR(got.scale[r], scale[r], 1e-6f * scale[r]) << r;
            for (std::size_t c = 0; c < out; ++c) {
              const std::size_t i = r * out + c;
              ASSERT_LE(std::abs(int{got.values[i]} - int{q[i]}), e == Epilogue::kGeluErf ? 1 : 0) << i;
            }
          }
        }
      }
      // Into fp32, finished by the returned affine.
      std::vector<float> y(rows * out);
      RowAffine rest;
      const base::Status status = linear->forward(input, rows, y.data(), rest);
      if (p == Precision::kInt8 && e != Epilogue::kNone) {
        EXPECT_EQ(status.code(), base::StatusCode::kFailedPrecondition) << status.to_string();
        continue;
      }
      ASSERT_TRUE(status.ok()) << status.to_string();
      if (p == Precision::kInt8) {
        affine_rows(y.data(), rest, rows, out);
      } else {
        EXPECT_EQ(rest.row_scale, nullptr);
        EXPECT_EQ(rest.bias, nullptr);
      }
      for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(y[i], want[i]) << i;
    }
  }
}

TEST(PrecisionGemmTest, ActivationRowsOfAnotherPrecisionOrShapeAreRefused) {
  std::vector<float> w(8 * 4, 0.25f);
  auto linear = Linear::create(w, {}, 8, 4);
  ASSERT_TRUE(linear.ok());
  std::vector<float> y(3 * 8);
  RowAffine rest;
  ActivationRows other;
  other.reserve(Precision::kBf16, 3, 4);
  const base::Status precision = linear->forward(other, 3, y.data(), rest);
  EXPECT_EQ(precision.code(), base::StatusCode::kFailedPrecondition);
  EXPECT_NE(precision.message().find("bf16 input rows for a fp32 layer"), std::string::npos) << precision.message();
  ActivationRows narrow;
  narrow.reserve(Precision::kFp32, 3, 5);
  EXPECT_EQ(linear->forward(narrow, 3, y.data(), rest).code(), base::StatusCode::kInvalidArgument);
  ActivationRows few;
  few.reserve(Precision::kFp32, 2, 4);
  EXPECT_EQ(linear->forward(few, 3, y.data(), rest).code(), base::StatusCode::kInvalidArgument);
  ActivationRows unwritten;  // fp32 rows are read in place: there is nothing to read yet
  unwritten.reserve(Precision::kFp32, 3, 4);
  EXPECT_EQ(linear->forward(unwritten, 3, y.data(), rest).code(), base::StatusCode::kFailedPrecondition);
  unwritten.assign(w.data(), 3);
  EXPECT_TRUE(linear->forward(unwritten, 3, y.data(), rest).ok());
}

TEST(PrecisionGemmTest, ReducedPrecisionWeightsTakeLessMemory) {
  if (!base::cpu_features().avx512_vnni || !base::cpu_features().avx512_bf16) GTEST_SKIP();
  std::vector<float> w(1024 * 1024, 0.1f);
  auto f32 = Linear::create(w, {}, 1024, 1024);
  auto b16 = Linear::create(w, {}, 1024, 1024, Epilogue::kNone, Precision::kBf16);
  auto i8 = Linear::create(w, {}, 1024, 1024, Epilogue::kNone, Precision::kInt8);
  ASSERT_TRUE(f32.ok() && b16.ok() && i8.ok());
  EXPECT_NEAR(static_cast<double>(b16->weight_bytes()) / f32->weight_bytes(), 0.5, 0.01);
  EXPECT_NEAR(static_cast<double>(i8->weight_bytes()) / f32->weight_bytes(), 0.25, 0.01);
}

TEST(QuantizeTest, RowsRoundTripWithinHalfAStep) {
  std::mt19937 rng(9);
  const std::size_t rows = 37, cols = 301;
  auto x = random_vector(rows * cols, rng, 2.0f, 0.5f);
  std::fill(x.begin(), x.begin() + cols, 0.0f);                   // an all-zero row
  std::fill(x.begin() + cols, x.begin() + 2 * cols, 3.0f);        // a constant positive row
  std::vector<std::uint8_t> q(x.size());
  std::vector<float> scale(rows), zero(rows);
  quantize_rows(x.data(), rows, cols, q.data(), scale.data(), zero.data());
  for (std::size_t r = 0; r < rows; ++r) {
    EXPECT_EQ(zero[r], std::round(zero[r]));
    EXPECT_GE(zero[r], 0.0f);
    EXPECT_LE(zero[r], 255.0f);
    for (std::size_t c = 0; c < cols; ++c) {
      const float back = scale[r] * (static_cast<float>(q[r * cols + c]) - zero[r]);
      ASSERT_NEAR(back, x[r * cols + c], scale[r] * 0.5001f + 1e-7f) << r << "," << c;
    }
  }
  EXPECT_EQ(q[5], static_cast<std::uint8_t>(zero[0]));  // zeros are exact
}

TEST(FusedLayerNormTest, MatchesThePlainOneAndWritesTheNextInput) {
  std::mt19937 rng(11);
  const std::size_t rows = 19, cols = 200;
  auto y = random_vector(rows * cols, rng);
  auto residual = random_vector(rows * cols, rng);
  auto gamma = random_vector(cols, rng, 0.2f, 1.0f);
  auto beta = random_vector(cols, rng, 0.1f);
  auto bias = random_vector(cols, rng, 0.3f);
  auto comp = random_vector(cols, rng, 0.3f);
  std::vector<float> row_scale(rows), row_zero(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    row_scale[r] = 0.5f + 0.1f * static_cast<float>(r);
    row_zero[r] = static_cast<float>(r * 7 % 200);
  }
  // Reference: affine by hand, then the unfused residual step.
  std::vector<float> value(rows * cols), want(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      value[r * cols + c] = row_scale[r] * (y[r * cols + c] - row_zero[r] * comp[c]) + bias[c];
    }
  }
  reference::add_layer_norm(value.data(), residual.data(), rows, cols, gamma.data(), beta.data(), 1e-5f, want.data());
  const RowAffine affine{row_scale.data(), row_zero.data(), comp.data(), bias.data()};
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    SCOPED_TRACE(precision_name(p));
    ActivationRows next;
    next.reserve(p, rows, cols);
    std::vector<float> out = residual;  // in place over the residual, as the encoder runs it
    add_layer_norm(y.data(), affine, out.data(), rows, cols, gamma.data(), beta.data(), 1e-5f, out.data(), &next);
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5f * (1 + std::abs(want[i]))) << i;
    // The next Linear's input is `out` in its precision's form, bit for bit.
    switch (p) {
      case Precision::kFp32:
        EXPECT_EQ(next.fp32(), out.data());
        break;
      case Precision::kBf16:
        for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(next.bf16()[i], to_bf16(out[i])) << i;
        break;
      default: {
        std::vector<std::uint8_t> q_want(rows * cols);
        std::vector<float> s_want(rows), z_want(rows);
        quantize_rows(out.data(), rows, cols, q_want.data(), s_want.data(), z_want.data());
        const QuantizedRows q = next.quantized();
        EXPECT_EQ(std::vector<std::uint8_t>(q.values, q.values + rows * cols), q_want);
        EXPECT_EQ(std::vector<float>(q.scale, q.scale + rows), s_want);
        EXPECT_EQ(std::vector<float>(q.zero, q.zero + rows), z_want);
      }
    }
  }
  // Without `next`, only out is written.
  std::vector<float> out = residual;
  add_layer_norm(y.data(), affine, out.data(), rows, cols, gamma.data(), beta.data(), 1e-5f, out.data());
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5f * (1 + std::abs(want[i]))) << i;
}

TEST(QuantizeTest, AffineGeluQuantizeMatchesScalarGelu) {
  std::mt19937 rng(13);
  const std::size_t rows = 9, cols = 515;
  auto raw = random_vector(rows * cols, rng, 2.0f);
  auto bias = random_vector(cols, rng, 0.5f);
  auto comp = random_vector(cols, rng, 0.1f);
  std::vector<float> row_scale(rows, 0.75f), row_zero(rows, 3.0f);
  std::vector<float> want(raw.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      want[r * cols + c] = static_cast<float>(
          gelu(row_scale[r] * (raw[r * cols + c] - row_zero[r] * comp[c]) + bias[c]));
    }
  }
  std::vector<std::uint8_t> q(raw.size());
  std::vector<float> scale(rows), zero(rows);
  affine_gelu_quantize(raw.data(), {row_scale.data(), row_zero.data(), comp.data(), bias.data()}, rows, cols, q.data(),
                       scale.data(), zero.data());
  // The exact GELU values quantized: the same bytes, but for values within
  // the approximation's 1e-6 of a rounding boundary (one step off at most).
  std::vector<std::uint8_t> q_want(raw.size());
  std::vector<float> scale_want(rows), zero_want(rows);
  quantize_rows(want.data(), rows, cols, q_want.data(), scale_want.data(), zero_want.data());
  std::size_t off_by_one = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::size_t r = i / cols;
    ASSERT_NEAR(scale[r] * (static_cast<float>(q[i]) - zero[r]), want[i], scale[r] * 0.5001f + 1e-6f) << i;
    ASSERT_LE(std::abs(int{q[i]} - int{q_want[i]}), 1) << i;
    off_by_one += q[i] != q_want[i];
  }
  EXPECT_LE(off_by_one, raw.size() / 1000);
  for (std::size_t r = 0; r < rows; ++r) EXPECT_NEAR(scale[r], scale_want[r], 1e-6f * scale_want[r]);
}

// The AVX-512 GELU's own values (affine_gelu_quantize's row buffer), with
// no quantization to hide their error: within 1.1e-6 · max(1, |GELU|) of
// the double-precision GELU everywhere, exactly 0 far below zero and exactly
// x far above it.
TEST(QuantizeTest, Avx512GeluIsWithinItsBoundOfTheExactGelu) {
  if (!base::cpu_features().avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::vector<float> x;
  for (double v = -40.0; v <= 40.0; v += 1.0 / 4096) x.push_back(static_cast<float>(v));
  for (float v : {-1e30f, -1e6f, -5.75f, 5.75f, 1e6f, 1e30f}) x.push_back(v);
  std::vector<float> gelu_values(x.size());
  std::vector<std::uint8_t> q(x.size());
  float scale = 0, zero = 0;
  // One row of all the values: the buffer receives every GELU before the row is quantized.
  simd::avx512::affine_gelu_quantize(x.data(), {}, 1, x.size(), q.data(), &scale, &zero, gelu_values.data());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = gelu(x[i]);
    ASSERT_LE(std::abs(gelu_values[i] - want), 1.1e-6 * std::max(1.0, std::abs(want))) << x[i];
    if (x[i] <= -5.75f) {
      ASSERT_EQ(gelu_values[i], 0.0f) << x[i];
    }
    if (x[i] >= 5.75f) {
      ASSERT_EQ(gelu_values[i], x[i]) << x[i];
    }
  }
}

// The bf16 FFN's GELU (each GEMM tile's pass): the exact GELU rounded to
// bf16, but where the exact value lies within the fp32 GELU's error (2e-6 ·
// max(1, |GELU|)) of the midpoint between two bf16 values, which may round
// the other way. Under WINNOW_CPU=avx2 (ctest's avx2.kernels.*) the
// std::erf path runs.
TEST(QuantizeTest, GeluToBf16IsTheExactGeluRounded) {
  // A step that keeps clear of bf16's own grid.
  std::vector<float> x;
  for (double v = -12.0; v <= 12.0; v += 1.0 / 1021.3) x.push_back(static_cast<float>(v));
  for (std::size_t tail = 0; tail < 17; ++tail) {
    SCOPED_TRACE("values: " + std::to_string(x.size() - tail));
    const std::size_t n = x.size() - tail;
    std::vector<Bf16> got(n, static_cast<Bf16>(0x7FC0));  // NaN where nothing is written
    gelu_to_bf16(x.data(), n, got.data());
    for (std::size_t i = 0; i < n; ++i) {
      const double exact = gelu(x[i]);
      const double value = to_float(got[i]);
      const double rounded = to_float(to_bf16(static_cast<float>(exact)));
      if (value == rounded) continue;
      // The other neighbour of the exact value, across a midpoint it nearly touches.
      ASSERT_LE(std::abs(value - exact), 2 * std::abs(rounded - exact) + 4e-6 * std::max(1.0, std::abs(exact)))
          << x[i];
      ASSERT_LE(std::abs(exact - 0.5 * (value + rounded)), 2e-6 * std::max(1.0, std::abs(exact))) << x[i];
    }
  }
}

}  // namespace
}  // namespace winnow::kernels
