#include "kernels/gemm.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace winnow::kernels {
namespace {

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// y = x · Wᵀ + b in double, W [out, in].
std::vector<double> naive_linear(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                 std::size_t rows, std::size_t out, std::size_t in) {
  std::vector<double> y(rows * out);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (std::size_t i = 0; i < in; ++i) acc += static_cast<double>(x[r * in + i]) * w[o * in + i];
      y[r * out + o] = acc;
    }
  }
  return y;
}

struct Shape {
  std::size_t rows, out, in;
};

TEST(GemmTest, LinearMatchesNaiveTripleLoopOnOddShapes) {
  std::mt19937 rng(7);
  for (Shape s : {Shape{1, 1, 1}, Shape{1, 5, 3}, Shape{7, 13, 11}, Shape{33, 129, 65}, Shape{100, 17, 384},
                  Shape{257, 96, 31}}) {
    for (bool with_bias : {true, false}) {
      auto w = random_vector(s.out * s.in, rng);
      auto b = with_bias ? random_vector(s.out, rng) : std::vector<float>{};
      auto x = random_vector(s.rows * s.in, rng);
      auto linear = Linear::create(w, b, s.out, s.in);
      ASSERT_TRUE(linear.ok()) << linear.status().to_string();
      EXPECT_EQ(linear->in_features(), s.in);
      EXPECT_EQ(linear->out_features(), s.out);
      std::vector<float> y(s.rows * s.out, -1.0f);
      ASSERT_TRUE(linear->forward(x.data(), s.rows, y.data()).ok());
      auto expected = naive_linear(x, w, b, s.rows, s.out, s.in);
      for (std::size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], expected[i], 1e-4 * std::sqrt(static_cast<double>(s.in)) + 1e-5)
            << s.rows << "x" << s.in << " -> " << s.out << " at " << i;
      }
      // Same Linear, another row count: a second cached primitive.
      std::vector<float> y1(s.out);
      ASSERT_TRUE(linear->forward(x.data(), 1, y1.data()).ok());
      for (std::size_t o = 0; o < s.out; ++o) ASSERT_NEAR(y1[o], expected[o], 1e-4 * std::sqrt(double(s.in)) + 1e-5);
    }
  }
}

TEST(GemmTest, FusedGeluAndTanhEpiloguesMatchStdReferences) {
  std::mt19937 rng(11);
  const std::size_t rows = 19, out = 37, in = 23;
  auto w = random_vector(out * in, rng, 0.5f);
  auto b = random_vector(out, rng);
  auto x = random_vector(rows * in, rng);
  auto expected = naive_linear(x, w, b, rows, out, in);
  for (Epilogue epilogue : {Epilogue::kGeluErf, Epilogue::kTanh}) {
    auto linear = Linear::create(w, b, out, in, epilogue);
    ASSERT_TRUE(linear.ok());
    std::vector<float> y(rows * out);
    ASSERT_TRUE(linear->forward(x.data(), rows, y.data()).ok());
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double v = expected[i];
      const double want = epilogue == Epilogue::kTanh ? std::tanh(v) : 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
      ASSERT_NEAR(y[i], want, 1e-5 * (1.0 + std::abs(want))) << i;
    }
  }
}

TEST(GemmTest, ZeroRowsIsANoOp) {
  auto linear = Linear::create(std::vector<float>(6, 1.0f), {}, 2, 3);
  ASSERT_TRUE(linear.ok());
  EXPECT_TRUE(linear->forward(static_cast<const float*>(nullptr), 0, static_cast<float*>(nullptr)).ok());
}

TEST(GemmTest, CreateRejectsMismatchedSizes) {
  EXPECT_FALSE(Linear::create(std::vector<float>(5), {}, 2, 3).ok());
  EXPECT_FALSE(Linear::create(std::vector<float>(6), std::vector<float>(3), 2, 3).ok());
  EXPECT_FALSE(Linear::create({}, {}, 0, 3).ok());
  Linear empty;
  float x = 0, y = 0;
  EXPECT_FALSE(empty.forward(&x, 1, &y).ok());
}

TEST(GemmTest, WeightBytesCountsWeightsAndBias) {
  // The blocked layout oneDNN reads may pad the weights; never less than the values held.
  auto linear = Linear::create(std::vector<float>(12, 0.5f), std::vector<float>(4, 0.0f), 4, 3);
  ASSERT_TRUE(linear.ok());
  EXPECT_GE(linear->weight_bytes(), 16 * sizeof(float));
  EXPECT_LE(linear->weight_bytes(), 16 * sizeof(float) + 64 * 64 * sizeof(float));
}

}  // namespace
}  // namespace winnow::kernels
