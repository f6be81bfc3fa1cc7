#include "kernels/bf16.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "base/cpu_features.h"
#include "kernels/simd.h"

namespace winnow::kernels {

void convert_to_bf16(const float* x, std::size_t n, Bf16* out) {
  constexpr std::size_t kChunk = 16384;
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
  const bool avx512 = base::cpu_features().avx512;
#pragma omp parallel for schedule(static)
  for (std::int64_t k = 0; k < chunks; ++k) {
    const std::size_t begin = static_cast<std::size_t>(k) * kChunk;
    const std::size_t count = std::min(kChunk, n - begin);
    if (avx512) {
      simd::avx512::to_bf16(x + begin, count, reinterpret_cast<std::uint16_t*>(out) + begin);
    } else {
      for (std::size_t i = 0; i < count; ++i) out[begin + i] = to_bf16(x[begin + i]);
    }
  }
}

void gelu_to_bf16(const float* x, std::size_t n, Bf16* out) {
  if (base::cpu_features().avx512_bf16) {
    simd::avx512::gelu_to_bf16(x, n, reinterpret_cast<std::uint16_t*>(out));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f)));
}

}  // namespace winnow::kernels
