// bfloat16 values: the upper half of an IEEE fp32, stored as 16 bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace winnow::kernels {

// A distinct type, so bf16 buffers cannot be passed where integers are meant.
enum class Bf16 : std::uint16_t {};

// fp32 → bf16, rounded to nearest even (what vcvtneps2bf16 does for finite values).
inline Bf16 to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<Bf16>(bits >> 16);
}

inline float to_float(Bf16 x) {
  const std::uint32_t bits = static_cast<std::uint32_t>(x) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// out[i] = to_bf16(x[i]) for i < n. Parallel, AVX-512 where the CPU has it.
void convert_to_bf16(const float* x, std::size_t n, Bf16* out);

// out[i] = to_bf16(GELU(x[i])) for i < n, the exact (erf) GELU within
// 1.1e-6 · max(1, |GELU|) before rounding; sequential (a GEMM tile's pass).
// AVX512_BF16 where the CPU has it, else std::erf.
void gelu_to_bf16(const float* x, std::size_t n, Bf16* out);

}  // namespace winnow::kernels
