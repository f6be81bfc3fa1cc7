#include "kernels/precision.h"

#include "base/cpu_features.h"

namespace winnow::kernels {

base::Status check_precision_supported(base::Precision precision) {
  using base::Precision;
  const base::CpuFeatures& cpu = base::cpu_features();
  const std::string capped = cpu.cap.empty() ? std::string() : " (WINNOW_CPU=" + cpu.cap + ")";
  switch (precision) {
    case Precision::kFp32:
    case Precision::kAuto:
      return {};
    case Precision::kBf16:
      if (cpu.avx512_bf16) return {};
      return base::failed_precondition("precision bf16 needs AVX512_BF16, which this CPU lacks" + capped);
    case Precision::kInt8:
      if (cpu.avx512_vnni) return {};
      return base::failed_precondition("precision int8 needs AVX512_VNNI, which this CPU lacks" + capped);
  }
  return base::invalid_argument("unknown precision");
}

std::string cpu_dispatch_name() {
  const base::CpuFeatures& cpu = base::cpu_features();
  std::string name = base::cpu_level_name(cpu);
  if (!cpu.cap.empty()) name += " (WINNOW_CPU=" + cpu.cap + ")";
  return name;
}

base::Status check_cpu_dispatch() {
  const base::CpuFeatures& cpu = base::cpu_features();
  if (!cpu.cap_error.empty()) return base::invalid_argument(cpu.cap_error);
  return {};
}

}  // namespace winnow::kernels
