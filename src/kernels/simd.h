// Hand-written kernels per instruction set (internal to kernels/).
//
// The functions in namespace avx512 live in simd_avx512.cc, compiled with
// -mavx512f/bw/vl/dq -mavx512bf16 -mfma; those in avx2 in simd_avx2.cc,
// compiled with -mavx2 -mfma (src/kernels/CMakeLists.txt). None uses VNNI:
// the int8 GEMMs are oneDNN's, whose JIT picks VNNI by itself. Call them only
// when base::cpu_features() reports the instruction set (the bf16 ones only
// with avx512_bf16). Those two files include nothing but <immintrin.h>, this
// header (with row_affine.h, a plain struct that declares no function) and
// simd_attention.inc, and keep every helper in an anonymous namespace, so no
// inline library function compiled for a wider instruction set can be merged
// into the rest of the program by the linker. Keep it so: whatever this
// header includes must declare no function either.
//
// Everything here is sequential: the callers (attention.cc, layer_norm.cc,
// quantize.cc, bf16.cc) parallelise over sequences, heads and rows with
// OpenMP.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/row_affine.h"

namespace winnow::kernels::simd {

// One attention problem: a packed batch's q | k | v rows and where the
// context goes. Row indices are token indices of the batch.
struct AttentionArgs {
  const float* qkv = nullptr;  // [tokens, 3 · hidden]; row t is q | k | v, each [heads, head_dim]
  std::size_t num_heads = 0;
  std::size_t head_dim = 0;    // a multiple of the vector width (16 for avx512, 8 for avx2)
  float scale = 1.0f;          // 1/√head_dim
  RowAffine affine;            // applied to qkv values as they are read (columns 0 .. 3·hidden)
  // First-token tasks only, optionally: query rows [sequences, hidden]
  // (indexed by the task's out_row), finished by first_query_affine; qkv
  // rows are then k | v ([tokens, 2 · hidden], affine's columns from k's).
  const float* first_query = nullptr;
  RowAffine first_query_affine;
  float* out = nullptr;        // [out rows, hidden] fp32, or null
  std::uint16_t* out_bf16 = nullptr;  // [out rows, hidden] bf16 bits, or null
  // Which keys query i (counted within its sequence) sees: |i − j| ≤ window
  // (0: no window) and, when causal, j ≤ i. AttentionRequest says why.
  std::size_t window = 0;
  bool causal = false;
};

// One task: heads [head, head + heads) of the sequence at token rows
// [start, start + len); the first `queries` of its tokens attend to all
// `len` (those AttentionArgs window / causal lets them see), and query i's
// context goes to output row out_row + i. `scratch` holds
// attention_scratch_floats(len, head_dim, heads).
struct AttentionTask {
  std::size_t start = 0;
  std::size_t len = 0;
  std::size_t queries = 0;
  std::size_t head = 0;
  std::size_t heads = 1;
  std::size_t out_row = 0;
};

// The packing granularity of the attention kernels' rows (rounded up to it).
inline constexpr std::size_t kAttentionWidth = 16;

namespace avx512 {

std::size_t attention_scratch_floats(std::size_t len, std::size_t head_dim, std::size_t heads);
void attention_f32(const AttentionArgs& args, const AttentionTask& task, float* scratch);
// Q·Kᵀ and P·V as bf16 dot products with fp32 accumulation; softmax in fp32.
void attention_bf16(const AttentionArgs& args, const AttentionTask& task, float* scratch);

// out[r] = LayerNorm(value[r] + residual[r]) for rows [0, rows), value =
// affine(y). out may alias residual. Optionally also writes out as bf16
// (out_bf16) and/or quantized per row (q, q_scale, q_zero; quantize.h).
void add_layer_norm(const float* y, const RowAffine& affine, const float* residual, std::size_t rows,
                    std::size_t cols, const float* gamma, const float* beta, float eps, float* out,
                    std::uint16_t* out_bf16, std::uint8_t* q, float* q_scale, float* q_zero);

// Per-row u8 quantization of x [rows, cols] (quantize.h).
void quantize_rows(const float* x, std::size_t rows, std::size_t cols, std::uint8_t* q, float* scale, float* zero);

// The int8 FFN's middle: v = gelu_erf(affine(raw)), then quantized per row
// (erf by a rational fit: v within 1.1e-6 · max(1, |v|) of the exact GELU).
// v goes to row_buffer ([cols], reused for every row: it stays in L1 and
// nothing is written back to memory), or over raw when row_buffer is null.
void affine_gelu_quantize(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, std::uint8_t* q,
                          float* scale, float* zero, float* row_buffer);

// The int8 gated FFN's middle (gated_activation.h): raw [rows, 2 · cols],
// v = act(affine(raw)[.., 0 .. cols)) · affine(raw)[.., cols .. 2 · cols),
// act = SiLU (silu true: x / (1 + e^−x), e^x by Cephes' polynomial) or the
// erf GELU (affine_gelu_quantize's), then quantized per row. v goes to
// row_buffer ([cols], reused for every row: it stays in L1).
void affine_gated_quantize(const float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols, bool silu,
                           std::uint8_t* q, float* scale, float* zero, float* row_buffer);

// raw = affine(raw), in place.
void affine_rows(float* raw, const RowAffine& affine, std::size_t rows, std::size_t cols);

// bf16 bits of x (round to nearest even), n values.
void to_bf16(const float* x, std::size_t n, std::uint16_t* out);

// bf16 bits of GELU(x) (affine_gelu_quantize's GELU), n values. AVX512_BF16
// only.
void gelu_to_bf16(const float* x, std::size_t n, std::uint16_t* out);

}  // namespace avx512

namespace avx2 {

std::size_t attention_scratch_floats(std::size_t len, std::size_t head_dim, std::size_t heads);
void attention_f32(const AttentionArgs& args, const AttentionTask& task, float* scratch);

}  // namespace avx2

}  // namespace winnow::kernels::simd
