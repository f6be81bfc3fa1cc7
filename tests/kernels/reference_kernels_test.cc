#include "kernels/reference_kernels.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace winnow::kernels::reference {
namespace {

double gelu_reference(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

TEST(ReferenceKernelsTest, GeluMatchesErfDefinition) {
  std::vector<float> x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(static_cast<float>(i) * 0.005f);  // [-10, 10]
  std::vector<float> y = x;
  gelu_erf(y.data(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = gelu_reference(x[i]);
    ASSERT_NEAR(y[i], want, 1e-6 * (1.0 + std::abs(want))) << x[i];
  }
  EXPECT_EQ(y[2000], 0.0f);  // gelu(0) = 0
}

TEST(ReferenceKernelsTest, BiasGeluAddsTheBiasPerColumn) {
  const std::size_t rows = 3, cols = 5;
  std::vector<float> x(rows * cols), bias = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f};
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i) - 0.7f;
  std::vector<float> y = x;
  bias_gelu_erf(y.data(), rows, cols, bias.data());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      ASSERT_NEAR(y[r * cols + c], gelu_reference(static_cast<double>(x[r * cols + c] + bias[c])), 1e-6);
    }
  }
}

TEST(ReferenceKernelsTest, TanhMatchesStd) {
  std::vector<float> x = {-20.0f, -1.5f, -0.1f, 0.0f, 0.3f, 2.0f, 30.0f};
  std::vector<float> y = x;
  tanh_inplace(y.data(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(y[i], std::tanh(x[i]));
}

TEST(ReferenceKernelsTest, SoftmaxIsStableAndNormalised) {
  std::vector<float> x = {1000.0f, 999.0f, -1000.0f, 998.0f};
  softmax(x.data(), x.size());
  double sum = 0;
  for (float v : x) {
    EXPECT_TRUE(std::isfinite(v));
    sum += v;
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  EXPECT_NEAR(x[0], 1 / z, 1e-6);
  EXPECT_NEAR(x[1], e1 / z, 1e-6);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_NEAR(x[3], e2 / z, 1e-6);
  std::vector<float> one = {-3.0f};
  softmax(one.data(), 1);
  EXPECT_EQ(one[0], 1.0f);
}

}  // namespace
}  // namespace winnow::kernels::reference
