// AVX-512 kernels (see simd.h). Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq -mavx512bf16 -mfma (no VNNI: the int8 GEMMs are oneDNN's); the
// bf16 ones run only where the CPU has AVX512_BF16. Includes nothing from the
// standard library on purpose.
#include <immintrin.h>

// GCC 12's AVX-512 headers make their "undefined" vectors by initialising a
// variable from itself (_mm512_undefined_ps and friends), which
// -Wuninitialized reports wherever a masked intrinsic is inlined.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "kernels/simd.h"

namespace {

// ---------------------------------------------------------------- vectors

// c[0] + c[1]·x + … + c[N−1]·x^(N−1), by Horner's rule.
template <int N>
inline __m512 polynomial(__m512 x, const float (&c)[N]) {
  __m512 p = _mm512_set1_ps(c[N - 1]);
#pragma GCC unroll 8
  for (int i = N - 2; i >= 0; --i) p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(c[i]));
  return p;
}

// Cephes' expf polynomial for (e^r − 1 − r) / r² (lowest degree first).
constexpr float kExpCephes[] = {5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f,
                                8.3334519073e-3f, 1.3981999507e-3f, 1.9875691500e-4f};

inline __m512 exp_ps(__m512 x) {
  // exp(x) = 2^n · e^r, n = round(x / ln 2), |r| ≤ ln 2 / 2; Cephes' expf
  // polynomial for e^r (about 1 ulp). Inputs are clamped to the normal range.
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.37626f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  const __m512 z = _mm512_mul_ps(r, r);
  __m512 p = _mm512_fmadd_ps(polynomial(r, kExpCephes), z, r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// 2^x for finite x ≤ 0 (the softmax's exponents): 2^n · 2^r, n = round(x),
// |r| ≤ 1/2, 2^r by the polynomial with coefficients c (lowest degree first).
// About half of exp_ps's operations: no clamp (scalef takes any n, and gives
// 0 far below −149) and no two-part split of x · log2 e into n and r.
template <int N>
inline __m512 exp2_ps(__m512 x, const float (&c)[N]) {
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_scalef_ps(polynomial(_mm512_sub_ps(x, n), c), n);
}

// Minimax fits of 2^r on |r| ≤ 1/2: degree 6 for fp32 (relative error 2e-9
// before fp32 rounding: about 1 ulp, as Cephes' expf), degree 4 where the
// result is rounded to bf16 (2.6e-6, far below bf16's 2^-9).
constexpr float kExp2Fp32[] = {1.0f,            6.931471825e-1f, 2.402264625e-1f, 5.550328642e-2f,
                               9.618489072e-3f, 1.339992858e-3f, 1.534573676e-4f};
constexpr float kExp2Bf16[] = {9.999992847e-1f, 6.931218505e-1f, 2.402474582e-1f, 5.591772124e-2f,
                               9.569983929e-3f};

// GELU(x) = x/2 · (1 + erf(x/√2)) = x/2 + x/2 · xc · R(xc²), where xc is x
// clamped to ±5.75 (beyond it erf(x/√2) rounds to ±1 in fp32) and R a
// rational minimax fit of erf(x/√2) / x of degree 5 over 5 in x² (relative
// error 3e-8 before fp32 rounding; GELU within 1.1e-6 · max(1, |GELU|)).
// No exp: about 19 operations where erf through exp took 33.
constexpr float kGeluNumerator[] = {7.978845239e-01f, 6.941884756e-02f, 9.444986470e-03f,
                                    3.527248336e-04f, 1.258529392e-05f, 4.280497024e-08f};
constexpr float kGeluDenominator[] = {1.0f,             2.536698282e-01f, 2.911705524e-02f,
                                      1.928144600e-03f, 7.546164125e-05f, 1.153578182e-06f};

inline __m512 gelu_erf_ps(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-5.75f)), _mm512_set1_ps(5.75f));
  const __m512 v = _mm512_mul_ps(xc, xc);
  const __m512 p = polynomial(v, kGeluNumerator);
  const __m512 q = polynomial(v, kGeluDenominator);
  // p / q: a 14-bit reciprocal and one Newton step (~1e-8 relative), far
  // cheaper than a division. q ≥ 1.
  __m512 inv = _mm512_rcp14_ps(q);
  inv = _mm512_mul_ps(inv, _mm512_fnmadd_ps(q, inv, _mm512_set1_ps(2.0f)));
  const __m512 half = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
  return _mm512_fmadd_ps(half, _mm512_mul_ps(xc, _mm512_mul_ps(p, inv)), half);
}

inline __mmask16 tail_mask(std::size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// bf16 bits of 16 floats, rounded to nearest even, with AVX-512F integer
// operations only (the same results as vcvtneps2bf16 for finite values), so
// that the kernels shared with CPUs lacking AVX512_BF16 never execute a bf16
// instruction.
inline __m512i bf16_rounded(__m512 v) {  // the bf16 value in the upper 16 bits of each lane
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(bits, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF)));
}

inline __m256i bf16_bits(__m512 v) { return _mm512_cvtepi32_epi16(_mm512_srli_epi32(bf16_rounded(v), 16)); }

// bf16_bits in AVX512_BF16's instruction (the same values), for the kernels
// that run only where the CPU has it.
inline __m256i bf16_bits_native(__m512 v) { return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v)); }

// Lanes holding the pair (bf16(lo), bf16(hi)), lo in the lower half, as
// vdpbf16ps reads them (AVX512_BF16 only).
inline __m512i bf16_pairs(__m512 lo, __m512 hi) {
  // vcvtne2ps2bf16 puts lo's sixteen values below hi's; vpermw interleaves them.
  alignas(64) static const unsigned short interleave[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                                            21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                                            11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  return _mm512_permutexvar_epi16(_mm512_load_si512(interleave),
                                  reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo)));
}

struct V512 {
  using Reg = __m512;
  static constexpr std::size_t kWidth = 16;
  static constexpr int kRows = 6;
  static constexpr int kQkCols = 4;
  static constexpr int kPvCols = 4;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg max(Reg a, Reg b) { return _mm512_max_ps(a, b); }
  static Reg exp2(Reg x) { return exp2_ps(x, kExp2Fp32); }
  static float reduce_max(Reg v) { return _mm512_reduce_max_ps(v); }
  static float reduce_add(Reg v) { return _mm512_reduce_add_ps(v); }
  static Reg load_tail(const float* p, std::size_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
  }
  static void store_bf16(std::uint16_t* p, Reg v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), bf16_bits(v)); }
  // dst[c][k] = src[k][c] for a 16 x 16 block: unpack pairs, then 4 x 4
  // blocks within 128-bit lanes, then the lanes themselves.
  static void transpose_block(const float* src, std::size_t src_stride, float* dst, std::size_t dst_stride) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * src_stride);
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
      r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; ++i) {
      _mm512_storeu_ps(dst + i * dst_stride, _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88));
      _mm512_storeu_ps(dst + (i + 8) * dst_stride, _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD));
      _mm512_storeu_ps(dst + (i + 4) * dst_stride, _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88));
      _mm512_storeu_ps(dst + (i + 12) * dst_stride, _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD));
    }
  }
};

}  // namespace

#include "kernels/simd_attention.inc"

namespace {

// ------------------------------------------------------------ bf16 attention
//
// The same blocking as the fp32 kernel, with vdpbf16ps: each 32-bit lane
// holds a pair of bf16 along the reduction axis. K is packed as
// [head_dim/2][Lp] pairs (k[j][c], k[j][c+1]), V as [⌈L/2⌉][head_dim] pairs
// (v[j][c], v[j+1][c]); Q and P rows are plain bf16 rows, read two at a time.

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

template <int R, int J>
inline void qk_block_bf16(const std::uint32_t* q, std::size_t d2, const std::uint32_t* kp, std::size_t lp, float* s) {
  __m512 acc[R][J];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  for (std::size_t c = 0; c < d2; ++c) {
    const std::uint32_t* krow = kp + c * lp;
    __m512i k[J];
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) k[j] = _mm512_loadu_si512(krow + j * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512i qv = _mm512_set1_epi32(static_cast<int>(q[r * d2 + c]));
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], as_bh(qv), as_bh(k[j]));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) _mm512_storeu_ps(s + r * lp + j * 16, acc[r][j]);
  }
}

// Scores of R rows against keys 0 .. n of kp (n a multiple of 16; rows of kp
// and s are lp apart).
template <int R>
inline void qk_rows_bf16(const std::uint32_t* q, std::size_t d2, const std::uint32_t* kp, std::size_t lp,
                         std::size_t n, float* s) {
  std::size_t j0 = 0;
  for (; j0 + 64 <= n; j0 += 64) qk_block_bf16<R, 4>(q, d2, kp + j0, lp, s + j0);
  switch ((n - j0) / 16) {
    case 0: break;
    case 1: qk_block_bf16<R, 1>(q, d2, kp + j0, lp, s + j0); break;
    case 2: qk_block_bf16<R, 2>(q, d2, kp + j0, lp, s + j0); break;
    default: qk_block_bf16<R, 3>(q, d2, kp + j0, lp, s + j0); break;
  }
}

template <int R, int G>
inline void pv_block_bf16(const std::uint16_t* p, std::size_t lp, const std::uint32_t* vp, std::size_t d,
                          std::size_t pairs, const float* inv_sum, float* const* out, std::uint16_t* const* out_bf16) {
  __m512 acc[R][G];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) acc[r][g] = _mm512_setzero_ps();
  }
  for (std::size_t jp = 0; jp < pairs; ++jp) {
    __m512i v[G];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) v[g] = _mm512_loadu_si512(vp + jp * d + g * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      std::uint32_t pair;
      __builtin_memcpy(&pair, p + r * lp + 2 * jp, sizeof(pair));
      const __m512i pv = _mm512_set1_epi32(static_cast<int>(pair));
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) acc[r][g] = _mm512_dpbf16_ps(acc[r][g], as_bh(pv), as_bh(v[g]));
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m512 scale = _mm512_set1_ps(inv_sum[r]);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const __m512 o = _mm512_mul_ps(acc[r][g], scale);
      if (out[r] != nullptr) _mm512_storeu_ps(out[r] + g * 16, o);
      if (out_bf16[r] != nullptr) V512::store_bf16(out_bf16[r] + g * 16, o);
    }
  }
}

template <int R>
inline void pv_rows_bf16(const std::uint16_t* p, std::size_t lp, const std::uint32_t* vp, std::size_t d,
                         std::size_t pairs, const float* inv_sum, float* const* out, std::uint16_t* const* out_bf16) {
  float* o[R];
  std::uint16_t* ob[R];
  for (std::size_t c0 = 0; c0 < d; c0 += 64) {
    for (int r = 0; r < R; ++r) {
      o[r] = out[r] == nullptr ? nullptr : out[r] + c0;
      ob[r] = out_bf16[r] == nullptr ? nullptr : out_bf16[r] + c0;
    }
    switch ((d - c0 < 64 ? d - c0 : 64) / 16) {
      case 1: pv_block_bf16<R, 1>(p, lp, vp + c0, d, pairs, inv_sum, o, ob); break;
      case 2: pv_block_bf16<R, 2>(p, lp, vp + c0, d, pairs, inv_sum, o, ob); break;
      case 3: pv_block_bf16<R, 3>(p, lp, vp + c0, d, pairs, inv_sum, o, ob); break;
      default: pv_block_bf16<R, 4>(p, lp, vp + c0, d, pairs, inv_sum, o, ob); break;
    }
  }
}

constexpr int kBf16Rows = 6;

// The bf16 kernel's softmax: p[j] = bf16(exp(s[j] − max)) for j < len, 0 up
// to len rounded up to 16; returns 1 / Σ exp (over the fp32 values). One
// pass for the max, one for exp (as softmax_row: 2^(x · log2 e)), sum and
// conversion (vcvtneps2bf16: this kernel runs only with AVX512_BF16).
inline float softmax_row_bf16(const float* s, std::size_t len, std::uint16_t* p) {
  const std::size_t full = len / 16 * 16;
  __m512 mx = _mm512_set1_ps(kMaskedScore);
  for (std::size_t j = 0; j < full; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + j));
  if (full < len) {
    mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(kMaskedScore), tail_mask(len - full), s + full));
  }
  const __m512 log2e = _mm512_set1_ps(kLog2e);
  const __m512 shift = _mm512_set1_ps(-_mm512_reduce_max_ps(mx) * kLog2e);
  __m512 sum = _mm512_setzero_ps();
  for (std::size_t j = 0; j < full; j += 16) {
    const __m512 e = exp2_ps(_mm512_fmadd_ps(_mm512_loadu_ps(s + j), log2e, shift), kExp2Bf16);
    sum = _mm512_add_ps(sum, e);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + j), bf16_bits_native(e));
  }
  if (full < len) {
    const __mmask16 k = tail_mask(len - full);
    const __m512 x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, s + full), log2e, shift);
    const __m512 e = _mm512_maskz_mov_ps(k, exp2_ps(x, kExp2Bf16));
    sum = _mm512_add_ps(sum, e);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + full), bf16_bits_native(e));
  }
  return 1.0f / _mm512_reduce_add_ps(sum);
}

std::size_t attention_bf16_scratch(std::size_t len, std::size_t d, std::size_t heads) {
  const std::size_t lp = round_up(len, 16);
  const std::size_t per_head = d * lp + len * d / 2;  // K pairs, V pairs, Q pairs
  // + scores, P (bf16), and the K and V rows waiting to be paired.
  return heads * per_head + kBf16Rows * lp + kBf16Rows * lp / 2 + 2 * heads * 16 * d + 16;
}

// Heads [t.head, t.head + t.heads) of one sequence, as the fp32 kernel packs
// them (one streaming pass over the rows), in bf16: per head K as pairs
// [d/2][Lp] (lane j of row c holds k[j][2c], k[j][2c+1]), V as pairs
// [Lp/2][d] (lane c of row p holds v[2p][c], v[2p+1][c]), Q rows (pre-scaled)
// as bf16 [queries][d].
void attention_bf16_task(const AttentionArgs& a, const AttentionTask& t, float* scratch) {
  const std::size_t d = a.head_dim, d2 = d / 2, hidden = a.num_heads * d, len = t.len, heads = t.heads;
  const std::size_t lp = round_up(len, 16);
  const std::size_t per_head = d * lp + len * d2;
  auto kp = [&](std::size_t g) { return reinterpret_cast<std::uint32_t*>(scratch + g * per_head); };  // [d/2][lp]
  auto vp = [&](std::size_t g) { return kp(g) + d2 * lp; };                                        // [lp/2][d]
  auto qb = [&](std::size_t g) { return vp(g) + d2 * lp; };                                        // [len][d/2]
  float* s = scratch + heads * per_head;                                      // [rows][lp]
  auto* pb = reinterpret_cast<std::uint16_t*>(s + kBf16Rows * lp);           // [rows][lp]
  float* kblock = s + kBf16Rows * lp + kBf16Rows * lp / 2;                   // [heads][16][d]
  float* vblock = kblock + heads * 16 * d;                                   // [heads][16][d]
  const std::size_t stride = 3 * hidden, width = heads * d;
  const std::size_t q_col = t.head * d, k_col = hidden + t.head * d, v_col = 2 * hidden + t.head * d;
  const bool vector_pairs = d2 % 16 == 0;

  for (std::size_t j0 = 0; j0 < lp; j0 += 16) {
    for (std::size_t k = 0; k < 16; ++k) {
      const std::size_t j = j0 + k;
      if (j >= len) {
        for (std::size_t g = 0; g < heads; ++g) {
          for (std::size_t c = 0; c < d; c += 16) {
            _mm512_storeu_ps(kblock + (g * 16 + k) * d + c, _mm512_setzero_ps());
            _mm512_storeu_ps(vblock + (g * 16 + k) * d + c, _mm512_setzero_ps());
          }
        }
        continue;
      }
      if (j + kPrefetchRows < len) {
        const float* ahead = a.qkv + (t.start + j + kPrefetchRows) * stride;
        prefetch_slice(ahead + k_col, width);
        prefetch_slice(ahead + v_col, width);
        if (j + kPrefetchRows < t.queries) prefetch_slice(ahead + q_col, width);
      }
      for (std::size_t g = 0; g < heads; ++g) {
        float* krow = kblock + (g * 16 + k) * d;
        load_qkv_row<V512>(a, t.start + j, k_col + g * d, d, 1.0f, krow);
        // As bf16 pairs, in place: 32-bit lane c holds (k[2c], k[2c+1]).
        for (std::size_t c = 0; c < d; c += 16) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(reinterpret_cast<std::uint16_t*>(krow) + c),
                              bf16_bits_native(V512::load(krow + c)));
        }
        load_qkv_row<V512>(a, t.start + j, v_col + g * d, d, 1.0f, vblock + (g * 16 + k) * d);
        if (j < t.queries) {
          // Q through the V row's neighbour slot is not free; go through s's first row.
          load_qkv_row<V512>(a, t.start + j, q_col + g * d, d, a.scale, s);
          auto* q = reinterpret_cast<std::uint16_t*>(qb(g) + j * d2);
          for (std::size_t c = 0; c < d; c += 16) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c), bf16_bits_native(V512::load(s + c)));
          }
        }
      }
    }
    for (std::size_t g = 0; g < heads; ++g) {
      // Kᵀ: pair rows are d/2 lanes wide, still d floats apart.
      const float* kb = kblock + g * 16 * d;
      if (vector_pairs) {
        for (std::size_t c0 = 0; c0 < d2; c0 += 16) {
          V512::transpose_block(kb + c0, d, reinterpret_cast<float*>(kp(g)) + c0 * lp + j0, lp);
        }
      } else {
        const auto* lanes = reinterpret_cast<const std::uint32_t*>(kb);
        for (std::size_t k = 0; k < 16; ++k) {
          for (std::size_t c = 0; c < d2; ++c) kp(g)[c * lp + j0 + k] = lanes[k * d + c];
        }
      }
      // V: eight pair rows from the sixteen rows.
      const float* vb = vblock + g * 16 * d;
      for (std::size_t p = 0; p < 8; ++p) {
        for (std::size_t c = 0; c < d; c += 16) {
          _mm512_storeu_si512(vp(g) + (j0 / 2 + p) * d + c,
                              bf16_pairs(_mm512_loadu_ps(vb + 2 * p * d + c),
                                                _mm512_loadu_ps(vb + (2 * p + 1) * d + c)));
        }
      }
    }
  }

  float inv_sum[kBf16Rows];
  float* out[kBf16Rows];
  std::uint16_t* out_bf16[kBf16Rows];
  for (std::size_t g = 0; g < heads; ++g) {
    const std::size_t head = t.head + g;
    for (std::size_t i0 = 0; i0 < t.queries; i0 += kBf16Rows) {
      const std::size_t rows = t.queries - i0 < static_cast<std::size_t>(kBf16Rows) ? t.queries - i0 : kBf16Rows;
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t o = (t.out_row + i0 + r) * hidden + head * d;
        out[r] = a.out == nullptr ? nullptr : a.out + o;
        out_bf16[r] = a.out_bf16 == nullptr ? nullptr : a.out_bf16 + o;
      }
      const std::uint32_t* q = qb(g) + i0 * d2;
      // As the fp32 kernel: only the keys [lo, hi) the block sees (lo even,
      // so V's pair rows start at lo / 2; a last odd key pairs with p = 0).
      const KeyRange keys = block_keys(a, i0, i0 + rows, len, 16);
      const std::size_t lo = keys.lo, seen = (keys.hi < len ? keys.hi : len) - lo;
      switch (rows) {
#define WINNOW_ATTENTION_ROWS(R)                                                                   \
  case R:                                                                                          \
    qk_rows_bf16<R>(q, d2, kp(g) + lo, lp, keys.hi - lo, s + lo);                                  \
    for (int r = 0; r < R; ++r) {                                                                  \
      mask_scores(a, i0 + r, len, lo, lo + seen, s + r * lp);                                      \
      inv_sum[r] = softmax_row_bf16(s + r * lp + lo, seen, pb + r * lp + lo);                      \
    }                                                                                              \
    pv_rows_bf16<R>(pb + lo, lp, vp(g) + lo / 2 * d, d, (seen + 1) / 2, inv_sum, out, out_bf16);   \
    break;
        WINNOW_ATTENTION_ROWS(1)
        WINNOW_ATTENTION_ROWS(2)
        WINNOW_ATTENTION_ROWS(3)
        WINNOW_ATTENTION_ROWS(4)
        WINNOW_ATTENTION_ROWS(5)
        WINNOW_ATTENTION_ROWS(6)
#undef WINNOW_ATTENTION_ROWS
        default: break;
      }
    }
  }
}

// ------------------------------------------------------- row-wise kernels

// Quantizes one row whose minimum and maximum are known (quantize.h).
inline void quantize_row(const float* x, std::size_t cols, float lo, float hi, std::uint8_t* q, float* scale,
                         float* zero) {
  lo = lo < 0.0f ? lo : 0.0f;
  hi = hi > 0.0f ? hi : 0.0f;
  const float range = hi - lo;
  const float s = range > 0.0f ? range / 255.0f : 1.0f;
  const float inv = range > 0.0f ? 255.0f / range : 1.0f;
  // The zero point: the integer nearest to -lo / s, inside [0, 255].
  float z = __builtin_nearbyintf(-lo * inv);
  z = z < 0.0f ? 0.0f : (z > 255.0f ? 255.0f : z);
  *scale = s;
  *zero = z;
  const __m512 vinv = _mm512_set1_ps(inv), vz = _mm512_set1_ps(z);
  const __m512i lo_i = _mm512_setzero_si512(), hi_i = _mm512_set1_epi32(255);
  std::size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    __m512i v = _mm512_cvtps_epi32(_mm512_fmadd_ps(_mm512_loadu_ps(x + c), vinv, vz));
    v = _mm512_min_epi32(_mm512_max_epi32(v, lo_i), hi_i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + c), _mm512_cvtepi32_epi8(v));
  }
  if (c < cols) {
    const __mmask16 m = tail_mask(cols - c);
    __m512i v = _mm512_cvtps_epi32(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + c), vinv, vz));
    v = _mm512_min_epi32(_mm512_max_epi32(v, lo_i), hi_i);
    _mm512_mask_cvtepi32_storeu_epi8(q + c, m, v);
  }
}

// v = affine(y[r][c .. c+16)), masked to the first `n` lanes.
inline __m512 affine_load(const float* y, const RowAffine& f, float rs, float rz, std::size_t c, __mmask16 m) {
  __m512 v = _mm512_maskz_loadu_ps(m, y + c);
  if (f.row_scale != nullptr) {
    v = _mm512_mul_ps(_mm512_fnmadd_ps(_mm512_set1_ps(rz), _mm512_maskz_loadu_ps(m, f.column_comp + c), v),
                      _mm512_set1_ps(rs));
  }
  if (f.bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, f.bias + c));
  return v;
}

}  // namespace

namespace winnow::kernels::simd::avx512 {

std::size_t attention_scratch_floats(std::size_t len, std::size_t head_dim, std::size_t heads) {
  const std::size_t f32 = attention_scratch<V512>(len, head_dim, heads);
  const std::size_t bf16 = attention_bf16_scratch(len, head_dim, heads);
  return f32 > bf16 ? f32 : bf16;
}

void attention_f32(const AttentionArgs& args, const AttentionTask& task, float* scratch) {
  attention_f32_task<V512>(args, task, scratch);
}

void attention_bf16(const AttentionArgs& args, const AttentionTask& task, float* scratch) {
  // A single query costs less than packing: the fp32 path (attention_first_token).
  if (task.queries == 1 && (task.len > 1 || args.first_query != nullptr)) {
    attention_first_token<V512>(args, task, scratch);
    return;
  }
  attention_bf16_task(args, task, scratch);
}

void add_layer_norm(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                    std::size_t cols, const float* gamma, const float* beta, float eps, float* out,
                    std::uint16_t* out_bf16, std::uint8_t* q, float* q_scale, float* q_zero) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* res = residual + r * cols;
    float* o = out + r * cols;
    const float rs = affine.row_scale != nullptr ? affine.row_scale[r] : 1.0f;
    const float rz = affine.row_zero != nullptr ? affine.row_zero[r] : 0.0f;
    // Pass 1: v = affine(y) + residual, and its sum.
    __m512 sum = _mm512_setzero_ps();
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 v = _mm512_add_ps(affine_load(yr, affine, rs, rz, c, m), _mm512_maskz_loadu_ps(m, res + c));
      _mm512_mask_storeu_ps(o + c, m, v);
      sum = _mm512_add_ps(sum, v);
    }
    const float mean = _mm512_reduce_add_ps(sum) / static_cast<float>(cols);
    // Pass 2: the centred sum of squares (two passes, as torch does on CPU).
    const __m512 vmean = _mm512_set1_ps(mean);
    __m512 squares = _mm512_setzero_ps();
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 dlt = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, o + c), vmean);
      squares = _mm512_fmadd_ps(dlt, dlt, squares);
    }
    const float var = _mm512_reduce_add_ps(squares) / static_cast<float>(cols);
    const __m512 inv_std = _mm512_set1_ps(1.0f / __builtin_sqrtf(var + eps));
    // Pass 3: normalise, scale, shift; track the range for quantization.
    __m512 lo = _mm512_set1_ps(0.0f), hi = _mm512_set1_ps(0.0f);
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, o + c), vmean);
      const __m512 n = _mm512_fmadd_ps(_mm512_mul_ps(v, inv_std), _mm512_maskz_loadu_ps(m, gamma + c),
                                       _mm512_maskz_loadu_ps(m, beta + c));
      _mm512_mask_storeu_ps(o + c, m, n);
      if (out_bf16 != nullptr) {
        _mm256_mask_storeu_epi16(out_bf16 + r * cols + c, m, bf16_bits(n));
      }
      lo = _mm512_mask_min_ps(lo, m, lo, n);
      hi = _mm512_mask_max_ps(hi, m, hi, n);
    }
    if (q != nullptr) {
      quantize_row(o, cols, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), q + r * cols, q_scale + r,
                   q_zero + r);
    }
  }
}

void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 v = _mm512_maskz_loadu_ps(m, xr + c);
      lo = _mm512_min_ps(lo, v);
      hi = _mm512_max_ps(hi, v);
    }
    quantize_row(xr, cols, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), q + r * cols, scale + r, zero + r);
  }
}

void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero, float* row_buffer) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* in = raw + r * cols;
    float* xr = row_buffer != nullptr ? row_buffer : raw + r * cols;
    const float rs = affine.row_scale != nullptr ? affine.row_scale[r] : 1.0f;
    const float rz = affine.row_zero != nullptr ? affine.row_zero[r] : 0.0f;
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 v = gelu_erf_ps(affine_load(in, affine, rs, rz, c, m));
      _mm512_mask_storeu_ps(xr + c, m, v);
      lo = _mm512_mask_min_ps(lo, m, lo, v);
      hi = _mm512_mask_max_ps(hi, m, hi, v);
    }
    quantize_row(xr, cols, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), q + r * cols, scale + r, zero + r);
  }
}

void affine_gated_quantize(const float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, bool silu,
                           std::uint8_t* q, float* scale, float* zero, float* row_buffer) {
  const std::size_t width = 2 * cols;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* in = raw + r * width;
    const float rs = affine.row_scale != nullptr ? affine.row_scale[r] : 1.0f;
    const float rz = affine.row_zero != nullptr ? affine.row_zero[r] : 0.0f;
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      const __m512 a = affine_load(in, affine, rs, rz, c, m);
      const __m512 b = affine_load(in, affine, rs, rz, cols + c, m);
      const __m512 act =
          silu ? _mm512_div_ps(a, _mm512_add_ps(_mm512_set1_ps(1.0f), exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), a))))
               : gelu_erf_ps(a);
      const __m512 v = _mm512_maskz_mul_ps(m, act, b);
      _mm512_mask_storeu_ps(row_buffer + c, m, v);
      lo = _mm512_mask_min_ps(lo, m, lo, v);
      hi = _mm512_mask_max_ps(hi, m, hi, v);
    }
    quantize_row(row_buffer, cols, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi), q + r * cols, scale + r,
                 zero + r);
  }
}

void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* xr = raw + r * cols;
    const float rs = affine.row_scale != nullptr ? affine.row_scale[r] : 1.0f;
    const float rz = affine.row_zero != nullptr ? affine.row_zero[r] : 0.0f;
    for (std::size_t c = 0; c < cols; c += 16) {
      const __mmask16 m = cols - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(cols - c);
      _mm512_mask_storeu_ps(xr + c, m, affine_load(xr, affine, rs, rz, c, m));
    }
  }
}

void to_bf16(const float* x, std::size_t n, std::uint16_t* out) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) V512::store_bf16(out + i, _mm512_loadu_ps(x + i));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm256_mask_storeu_epi16(out + i, m, bf16_bits(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

void gelu_to_bf16(const float* x, std::size_t n, std::uint16_t* out) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bf16_bits_native(gelu_erf_ps(_mm512_loadu_ps(x + i))));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm256_mask_storeu_epi16(out + i, m, bf16_bits_native(gelu_erf_ps(_mm512_maskz_loadu_ps(m, x + i))));
  }
}

}  // namespace winnow::kernels::simd::avx512
