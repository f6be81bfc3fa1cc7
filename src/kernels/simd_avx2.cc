// AVX2 + FMA kernels (see simd.h): the fp32 attention for CPUs without
// AVX-512, and for WINNOW_CPU=avx2. Includes nothing from the standard
// library on purpose.
#include <immintrin.h>

#include "kernels/simd.h"

namespace {

// 2^x for x ≤ 0, as the AVX-512 exp2_ps (degree-6 minimax polynomial for
// 2^r), with 2^n built in the exponent bits: x is clamped to −126 first so
// that n stays within the normal range (2^−126 ≈ 1e-38 stands for 0).
inline __m256 exp2_ps(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-126.0f));
  const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(1.534573676e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.339992858e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(9.618489072e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.550328642e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(2.402264625e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(6.931471825e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256i tail_mask(std::size_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
}

struct V256 {
  using Reg = __m256;
  static constexpr std::size_t kWidth = 8;
  static constexpr int kRows = 6;
  static constexpr int kQkCols = 2;
  static constexpr int kPvCols = 2;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm256_max_ps(a, b); }
  static Reg exp2(Reg x) { return exp2_ps(x); }
  static float reduce_max(Reg v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static float reduce_add(Reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static Reg load_tail(const float* p, std::size_t n, float fill) {
    const __m256i m = tail_mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  // dst[c][k] = src[k][c] for an 8 x 8 block.
  static void transpose_block(const float* src, std::size_t src_stride, float* dst, std::size_t dst_stride) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      r[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
      _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
  }
  static void store_bf16(std::uint16_t* p, Reg v) {
    // Round to nearest even in the integer domain; bf16 output is only asked
    // for on AVX-512 machines, so this stays simple.
    alignas(32) float values[8];
    _mm256_store_ps(values, v);
    for (int i = 0; i < 8; ++i) {
      std::uint32_t bits;
      __builtin_memcpy(&bits, &values[i], sizeof(bits));
      bits += 0x7FFFu + ((bits >> 16) & 1u);
      p[i] = static_cast<std::uint16_t>(bits >> 16);
    }
  }
};

}  // namespace

#include "kernels/simd_attention.inc"

namespace winnow::kernels::simd::avx2 {

std::size_t attention_scratch_floats(std::size_t len, std::size_t head_dim, std::size_t heads) {
  return attention_scratch<V256>(len, head_dim, heads);
}

void attention_f32(const AttentionArgs& args, const AttentionTask& task, float* scratch) {
  attention_f32_task<V256>(args, task, scratch);
}

}  // namespace winnow::kernels::simd::avx2
