// What the CPU can execute, as the kernels dispatch on it.
//
// Detected once (cpuid through the compiler's builtins, which also check that
// the OS saves the AVX-512 state). The environment variable WINNOW_CPU caps
// what is reported, to test the fallbacks on a CPU that has more:
//   WINNOW_CPU=avx2     AVX2 + FMA at most (no AVX-512, so no bf16 or int8 VNNI)
//   WINNOW_CPU=avx512   AVX-512 F/BW/VL/DQ at most (no AVX512_BF16, no AVX512_VNNI)
//   WINNOW_CPU=native   (or unset, or empty) everything detected
// The cap only removes features; it never claims one the CPU lacks.
#pragma once

#include <string>

namespace winnow::base {

struct CpuFeatures {
  bool avx2 = false;         // with FMA
  bool avx512 = false;       // AVX-512 F, BW, VL, DQ (oneDNN's "avx512_core")
  bool avx512_vnni = false;  // int8 dot products (vpdpbusd)
  bool avx512_bf16 = false;  // bf16 dot products (vdpbf16ps) and conversions
  // The WINNOW_CPU value that capped these, "" if none.
  std::string cap;
  // Set when WINNOW_CPU holds something else than the values above; the
  // features are then the detected ones and this says what was wrong.
  std::string cap_error;
};

// The features, detected on first call (thread-safe) and fixed for the process.
const CpuFeatures& cpu_features();

// "avx512_bf16", "avx512_vnni", "avx512", "avx2" or "generic": the best level
// the kernels use, for reports.
std::string cpu_level_name(const CpuFeatures& features);

}  // namespace winnow::base
