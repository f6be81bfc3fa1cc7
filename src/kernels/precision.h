// What the CPU allows of the numeric precisions (base/precision.h), and how
// the kernels implement each:
//
//   fp32  exact mode: fp32 weights and activations (oneDNN f32 brgemm).
//   bf16  bf16 weights and GEMM inputs, fp32 accumulation and outputs
//         (AVX512_BF16); attention in bf16 with fp32 softmax.
//   int8  s8 weights (symmetric, one scale per output channel), u8
//         activations quantized per row (asymmetric: own scale and zero
//         point), s32 accumulation, dequantized in fp32 (AVX512_VNNI).
// LayerNorm, softmax, GELU, residuals, embeddings and the classification head
// stay fp32 in every precision.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/precision.h"
#include "base/status.h"

namespace winnow::kernels {

// OK if this CPU (after the WINNOW_CPU cap) runs `precision` with native
// instructions; otherwise FailedPrecondition naming the missing instruction
// set, e.g. "bf16 needs AVX512_BF16, which this CPU lacks (WINNOW_CPU=avx2)".
// kAuto is always supported (it resolves to a supported precision).
base::Status check_precision_supported(base::Precision precision);

// The dense-layer instruction set in use: "avx512_bf16", ..., "avx2",
// "generic" (see base::cpu_level_name), with " (WINNOW_CPU=...)" when capped.
std::string cpu_dispatch_name();

// InvalidArgument if WINNOW_CPU holds an unknown value (the kernels then use
// everything the CPU has). Model loading calls this, so a typo is an error,
// not a silently ignored test setting.
base::Status check_cpu_dispatch();

}  // namespace winnow::kernels
