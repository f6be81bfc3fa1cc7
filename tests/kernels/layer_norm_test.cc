#include "kernels/layer_norm.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/precision.h"
#include "kernels/activation_rows.h"

namespace winnow::kernels {
namespace {

std::vector<double> reference(const std::vector<float>& x, std::size_t rows, std::size_t cols,
                              const std::vector<float>& gamma, const std::vector<float>& beta, double eps) {
  std::vector<double> out(x.size());
  for (std::size_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::size_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= cols;
    for (std::size_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    var /= cols;
    for (std::size_t c = 0; c < cols; ++c) {
      out[r * cols + c] = (x[r * cols + c] - mean) / std::sqrt(var + eps) * gamma[c] + beta[c];
    }
  }
  return out;
}

class LayerNormTest : public ::testing::Test {
 protected:
  std::vector<float> random(std::size_t n, float mean, float scale) {
    std::normal_distribution<float> dist(mean, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng_);
    return v;
  }
  std::mt19937 rng_{3};
};

TEST_F(LayerNormTest, MatchesDoubleReference) {
  for (std::size_t cols : {1u, 7u, 64u, 384u, 1027u}) {
    const std::size_t rows = 13;
    auto x = random(rows * cols, 3.0f, 5.0f);  // offset mean: checks the centring
    auto gamma = random(cols, 1.0f, 0.1f);
    auto beta = random(cols, 0.0f, 0.1f);
    for (float eps : {1e-12f, 1e-5f}) {
      std::vector<float> out(x.size());
      layer_norm(x.data(), rows, cols, gamma.data(), beta.data(), eps, out.data());
      auto want = reference(x, rows, cols, gamma, beta, eps);
      for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << cols << " " << i;
      // In place gives the same.
      std::vector<float> in_place = x;
      layer_norm(in_place.data(), rows, cols, gamma.data(), beta.data(), eps, in_place.data());
      EXPECT_EQ(in_place, out);
    }
  }
}

TEST_F(LayerNormTest, ResidualStepEqualsLayerNormOfTheSum) {
  const std::size_t rows = 9, cols = 96;
  auto x = random(rows * cols, 0.0f, 1.0f);
  auto residual = random(rows * cols, 0.5f, 2.0f);
  auto gamma = random(cols, 1.0f, 0.1f);
  auto beta = random(cols, 0.0f, 0.1f);
  std::vector<float> sum(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) sum[i] = x[i] + residual[i];
  std::vector<float> want(x.size());
  layer_norm(sum.data(), rows, cols, gamma.data(), beta.data(), 1e-5f, want.data());
  std::vector<float> out = residual;  // aliasing the residual, as the encoder does
  add_layer_norm(x.data(), {}, out.data(), rows, cols, gamma.data(), beta.data(), 1e-5f, out.data());
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-6f * (1 + std::abs(want[i]))) << i;
}

TEST_F(LayerNormTest, ConstantRowGivesBeta) {
  const std::size_t cols = 16;
  std::vector<float> x(cols, 4.25f), gamma(cols, 2.0f), beta(cols), out(cols);
  for (std::size_t c = 0; c < cols; ++c) beta[c] = static_cast<float>(c);
  layer_norm(x.data(), 1, cols, gamma.data(), beta.data(), 1e-12f, out.data());
  for (std::size_t c = 0; c < cols; ++c) EXPECT_FLOAT_EQ(out[c], beta[c]);
}

// The embeddings' form: rows normalised a range at a time on the caller's
// thread, each then handed to the next Linear's input, must give exactly
// layer_norm's rows and ActivationRows::assign's copies of them.
TEST_F(LayerNormTest, RowsInRangesEqualLayerNormThenAssign) {
  const std::size_t rows = 11, cols = 384;
  const auto x = random(rows * cols, 1.0f, 3.0f);
  const auto gamma = random(cols, 1.0f, 0.1f);
  const auto beta = random(cols, 0.0f, 0.1f);
  std::vector<float> want(x.size());
  layer_norm(x.data(), rows, cols, gamma.data(), beta.data(), 1e-12f, want.data());
  for (base::Precision precision : {base::Precision::kFp32, base::Precision::kBf16, base::Precision::kInt8}) {
    SCOPED_TRACE(base::precision_name(precision));
    ActivationRows assigned;
    assigned.reserve(precision, rows, cols);
    assigned.assign(want.data(), rows);
    std::vector<float> got = x;
    ActivationRows next;
    next.reserve(precision, rows, cols);
    const ActivationRows::Copies copies = next.copies_for(got.data());
    for (std::size_t begin : {0u, 4u, 5u}) {  // ranges [0, 4), [4, 5), [5, 11), as sequences come
      const std::size_t end = begin == 0 ? 4 : (begin == 4 ? 5 : rows);
      layer_norm_rows(got.data(), begin, end, cols, gamma.data(), beta.data(), 1e-12f, copies);
    }
    ASSERT_EQ(got, want);
    switch (precision) {
      case base::Precision::kFp32:
        EXPECT_EQ(next.fp32(), got.data());
        break;
      case base::Precision::kBf16:
        for (std::size_t i = 0; i < rows * cols; ++i) ASSERT_EQ(next.bf16()[i], assigned.bf16()[i]) << i;
        break;
      default:
        for (std::size_t i = 0; i < rows * cols; ++i) {
          ASSERT_EQ(next.quantized().values[i], assigned.quantized().values[i]) << i;
        }
        for (std::size_t r = 0; r < rows; ++r) {
          EXPECT_EQ(next.quantized().scale[r], assigned.quantized().scale[r]) << r;
          EXPECT_EQ(next.quantized().zero[r], assigned.quantized().zero[r]) << r;
        }
    }
  }
}

}  // namespace
}  // namespace winnow::kernels
