#include "base/cpu_features.h"

#include <string>

#include "base/env.h"

namespace winnow::base {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
#endif
  const std::string cap = env("WINNOW_CPU").value_or("");
  if (cap.empty() || cap == "native") return f;
  if (cap == "avx2") {
    f.avx512 = f.avx512_vnni = f.avx512_bf16 = false;
  } else if (cap == "avx512") {
    f.avx512_vnni = f.avx512_bf16 = false;
  } else {
    f.cap_error = "WINNOW_CPU=" + cap + ": expected avx2, avx512 or native";
    return f;
  }
  f.cap = cap;
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

std::string cpu_level_name(const CpuFeatures& features) {
  if (features.avx512_bf16) return "avx512_bf16";
  if (features.avx512_vnni) return "avx512_vnni";
  if (features.avx512) return "avx512";
  if (features.avx2) return "avx2";
  return "generic";
}

}  // namespace winnow::base
