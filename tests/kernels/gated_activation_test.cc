// The gated feed-forward middle (gated_activation.h): the int8 tile form
// (affine, SiLU or GELU, product and per-row requantization on a tile of the
// GEMM's raw output) against a double-precision scalar reference, within the
// quantization's half step; gated_forward against the GEMM followed by
// gated_activation (bitwise for fp32 and bf16, within rounding for int8).
// Under WINNOW_CPU=avx2 (ctest's avx2.kernels.*) the portable form runs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "kernels/activation_rows.h"
#include "kernels/gated_activation.h"
#include "kernels/gemm.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {
namespace {

using base::Precision;

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double reference_activation(double x, GateActivation activation) {
  if (activation == GateActivation::kSilu) return x / (1.0 + std::exp(-x));
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

// act(a) · b per row of raw [rows, 2 · cols], finished by `affine` as
// row_affine.h defines it, in double.
std::vector<double> reference_values(const std::vector<float>& raw, const RowAffine& f, std::size_t rows,
                                     std::size_t cols, GateActivation activation) {
  auto finish = [&](std::size_t r, std::size_t c) {
    double v = raw[r * 2 * cols + c];
    if (f.row_scale != nullptr) {
      v = (v - static_cast<double>(f.row_zero[r]) * f.column_comp[c]) * static_cast<double>(f.row_scale[r]);
    }
    if (f.bias != nullptr) v += f.bias[c];
    return v;
  };
  std::vector<double> out(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      out[r * cols + c] = reference_activation(finish(r, c), activation) * finish(r, cols + c);
    }
  }
  return out;
}

// Every quantized row holds the reference within its half step (plus the
// activation's fp32 rounding), with quantize.h's scale and zero point.
void expect_quantized_within_rounding(const std::vector<double>& want, std::size_t rows, std::size_t cols,
                                      const std::uint8_t* q, const float* scale, const float* zero) {
  for (std::size_t r = 0; r < rows; ++r) {
    double lo = 0.0, hi = 0.0, largest = 0.0;
    for (std::size_t c = 0; c < cols; ++c) {
      lo = std::min(lo, want[r * cols + c]);
      hi = std::max(hi, want[r * cols + c]);
      largest = std::max(largest, std::abs(want[r * cols + c]));
    }
    const double want_scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
    ASSERT_NEAR(scale[r], want_scale, 1e-5 * want_scale) << "row " << r;
    ASSERT_EQ(zero[r], std::nearbyint(zero[r])) << "row " << r;
    ASSERT_GE(zero[r], 0.0f);
    ASSERT_LE(zero[r], 255.0f);
    const double slack = 1e-5 * largest + 1e-7;  // the activation's fp32 rounding
    for (std::size_t c = 0; c < cols; ++c) {
      const double got = static_cast<double>(scale[r]) * (static_cast<double>(q[r * cols + c]) - zero[r]);
      ASSERT_NEAR(got, want[r * cols + c], 0.5 * scale[r] + slack) << "row " << r << " col " << c;
    }
  }
}

TEST(GatedActivationTest, Int8TileFormIsTheScalarReferenceWithinRounding) {
  std::mt19937 rng(53);
  for (const std::size_t cols : {200u, 37u, 16u}) {
    const std::size_t rows = 23;
    auto raw = random_vector(rows * 2 * cols, rng, 3.0f);
    auto bias = random_vector(2 * cols, rng, 0.5f);
    auto comp = random_vector(2 * cols, rng, 0.3f);
    std::vector<float> row_scale(rows), row_zero(rows);
    for (std::size_t r = 0; r < rows; ++r) {
      row_scale[r] = 0.05f + 0.02f * static_cast<float>(r);
      row_zero[r] = static_cast<float>(r * 11 % 256);
    }
    const RowAffine int8_affine{row_scale.data(), row_zero.data(), comp.data(), bias.data()};
    for (const RowAffine& affine : {int8_affine, RowAffine{}, RowAffine{.bias = bias.data()}}) {
      for (GateActivation activation : {GateActivation::kSilu, GateActivation::kGeluErf}) {
        SCOPED_TRACE("cols " + std::to_string(cols) + (affine.row_scale != nullptr ? " int8 affine" : "") +
                     (affine.bias != nullptr ? " bias" : "") +
                     (activation == GateActivation::kSilu ? " silu" : " gelu"));
        const std::vector<double> want = reference_values(raw, affine, rows, cols, activation);
        std::vector<std::uint8_t> q(rows * cols);
        std::vector<float> scale(rows), zero(rows);
        // Uneven tiles, each handed its own first row's affine and outputs.
        const std::size_t cuts[] = {0, 1, 8, 16, 23};
        for (std::size_t t = 0; t + 1 < std::size(cuts); ++t) {
          const std::size_t begin = cuts[t], end = cuts[t + 1];
          const RowAffine tile = internal::affine_of_row(affine, begin);
          affine_gated_quantize_tile(raw.data() + begin * 2 * cols, tile, end - begin, cols, activation,
                                     q.data() + begin * cols, scale.data() + begin, zero.data() + begin);
        }
        expect_quantized_within_rounding(want, rows, cols, q.data(), scale.data(), zero.data());
      }
    }
  }
}

TEST(GatedActivationTest, LargeGatesSaturateWithoutOverflow) {
  // SiLU(−100) ≈ −3.7e-42 and SiLU(100) = 100; GELU alike: no inf or NaN
  // from e^x at the ends of its range.
  const std::size_t cols = 32;
  std::vector<float> raw(2 * cols);
  for (std::size_t c = 0; c < cols; ++c) {
    raw[c] = (c % 2 == 0 ? 1.0f : -1.0f) * (static_cast<float>(c) * 4.0f);
    raw[cols + c] = 1.0f;
  }
  for (GateActivation activation : {GateActivation::kSilu, GateActivation::kGeluErf}) {
    std::vector<std::uint8_t> q(cols);
    float scale = 0, zero = 0;
    affine_gated_quantize_tile(raw.data(), {}, 1, cols, activation, q.data(), &scale, &zero);
    expect_quantized_within_rounding(reference_values(raw, {}, 1, cols, activation), 1, cols, q.data(), &scale,
                                     &zero);
  }
}

bool runs(Precision p) {
  const base::CpuFeatures& cpu = base::cpu_features();
  return p == Precision::kFp32 || (p == Precision::kBf16 && cpu.avx512_bf16) ||
         (p == Precision::kInt8 && cpu.avx512_vnni);
}

TEST(GatedActivationTest, GatedForwardIsTheGemmThenTheActivation) {
  std::mt19937 rng(59);
  // 70 rows of 2 · 1536 outputs: int8 tiles of 32 rows and a remainder.
  const std::size_t rows = 70, cols = 1536, in = 48;
  auto w = random_vector(2 * cols * in, rng, 0.3f);
  auto b = random_vector(2 * cols, rng, 0.2f);
  auto x = random_vector(rows * in, rng, 1.0f, 0.2f);
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (!runs(p)) continue;
    for (GateActivation activation : {GateActivation::kSilu, GateActivation::kGeluErf}) {
      SCOPED_TRACE(std::string(base::precision_name(p)) + (activation == GateActivation::kSilu ? " silu" : " gelu"));
      auto linear = Linear::create(w, b, 2 * cols, in, Epilogue::kNone, p);
      ASSERT_TRUE(linear.ok()) << linear.status().to_string();
      ActivationRows input;
      input.reserve(p, rows, in);
      input.assign(x.data(), rows);
      // The GEMM's output, finished: what the activation reads.
      std::vector<float> raw(rows * 2 * cols);
      RowAffine rest;
      ASSERT_TRUE(linear->forward(input, rows, raw.data(), rest).ok());
      ActivationRows want, got;
      want.reserve(p, rows, cols);
      got.reserve(p, rows, cols);
      gated_activation(raw.data(), rest, rows, cols, activation, want);
      std::vector<float> y(rows * 2 * cols);
      const base::Status status = gated_forward(*linear, input, rows, activation, y.data(), got);
      ASSERT_TRUE(status.ok()) << status.to_string();
      switch (p) {
        case Precision::kFp32:
          for (std::size_t i = 0; i < rows * cols; ++i) ASSERT_EQ(got.fp32()[i], want.fp32()[i]) << i;
          break;
        case Precision::kBf16:
          for (std::size_t i = 0; i < rows * cols; ++i) ASSERT_EQ(got.bf16()[i], want.bf16()[i]) << i;
          break;
        default: {
          const QuantizedRows q = got.quantized();
          expect_quantized_within_rounding(reference_values(raw, rest, rows, cols, activation), rows, cols, q.values,
                                           q.scale, q.zero);
        }
      }
    }
  }
}

TEST(GatedActivationTest, GatedForwardRefusesALinearOfTheWrongWidth) {
  std::vector<float> w(10 * 4, 0.1f);
  auto linear = Linear::create(w, {}, 10, 4, Epilogue::kNone, Precision::kFp32);
  ASSERT_TRUE(linear.ok());
  ActivationRows input, out;
  std::vector<float> x(3 * 4, 1.0f), y(3 * 10);
  input.reserve(Precision::kFp32, 3, 4);
  input.assign(x.data(), 3);
  out.reserve(Precision::kFp32, 3, 4);  // needs 2 · 4 = 8 outputs, not 10
  const base::Status status = gated_forward(*linear, input, 3, GateActivation::kSilu, y.data(), out);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("10 outputs"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace winnow::kernels
