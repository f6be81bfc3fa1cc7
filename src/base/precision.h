// Numeric precisions of a model's dense layers: the vocabulary every room
// uses to ask for one (kernels/precision.h says what this CPU can run).
//
//   fp32  exact mode: fp32 weights and activations.
//   bf16  bf16 weights and GEMM inputs, fp32 accumulation and outputs.
//   int8  s8 weights (symmetric, one scale per output channel), u8
//         activations quantized per row, s32 accumulation.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace winnow::base {

enum class Precision : std::uint8_t {
  kFp32,
  kBf16,
  kInt8,
  // The fastest precision this CPU runs that met the ranking-agreement bar;
  // resolved when a model is loaded (inference::resolve_precision). No
  // kernel runs "auto".
  kAuto,
};

// "fp32", "bf16", "int8", "auto".
std::string_view precision_name(Precision precision);

// Parses precision_name()'s strings; anything else is InvalidArgument.
Result<Precision> parse_precision(std::string_view name);

}  // namespace winnow::base
