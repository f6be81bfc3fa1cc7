#include "kernels/gated_activation.h"

#include <cmath>
#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {

namespace {

inline float activate(float x, GateActivation activation) {
  if (activation == GateActivation::kSilu) return x / (1.0f + std::exp(-x));
  // torch's exact GELU: x · 0.5 · (1 + erf(x / √2)).
  return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752440f));
}

}  // namespace

void gated_activation(const float* y, const RowAffine& affine, std::size_t rows, std::size_t cols,
                      GateActivation activation, ActivationRows& out) {
  const ActivationRows::Targets targets = out.targets();
  const bool finish = affine.row_scale != nullptr || affine.bias != nullptr;
  const std::size_t width = 2 * cols;
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static, internal::kRowChunk)
  for (std::int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<std::size_t>(r);
    const float* raw = y + i * width;
    for (std::size_t c = 0; c < cols; ++c) {
      const float a = finish ? internal::affine_value(raw, affine, i, c) : raw[c];
      const float b = finish ? internal::affine_value(raw, affine, i, cols + c) : raw[cols + c];
      const float value = activate(a, activation) * b;
      if (targets.fp32 != nullptr) targets.fp32[i * cols + c] = value;
      if (targets.bf16 != nullptr) targets.bf16[i * cols + c] = to_bf16(value);
    }
  }
  out.complete(rows);
}

}  // namespace winnow::kernels
