#include "inference/resolve.h"

#include <string>

#include "base/cpu_features.h"
#include "kernels/precision.h"

namespace winnow::inference {

base::Result<std::size_t> resolve_max_length(std::optional<std::size_t> requested,
                                             std::optional<std::size_t> preferred,
                                             std::size_t model_max_tokens) {
  if (requested) {
    if (*requested == 0) return base::invalid_argument("max_length must be at least 1");
    if (*requested > model_max_tokens) {
      return base::invalid_argument("max_length " + std::to_string(*requested) + " exceeds the model's limit of " +
                                    std::to_string(model_max_tokens) + " tokens (its position embeddings)");
    }
    return *requested;
  }
  if (preferred && *preferred > 0 && *preferred < model_max_tokens) return *preferred;
  return model_max_tokens;
}

base::Result<base::Precision> resolve_precision(base::Precision requested) {
  WINNOW_RETURN_IF_ERROR(kernels::check_cpu_dispatch());
  if (requested != base::Precision::kAuto) {
    WINNOW_RETURN_IF_ERROR(kernels::check_precision_supported(requested));
    return requested;
  }
  const base::CpuFeatures& cpu = base::cpu_features();
  if (cpu.avx512_vnni) return base::Precision::kInt8;
  if (cpu.avx512_bf16) return base::Precision::kBf16;
  return base::Precision::kFp32;
}

}  // namespace winnow::inference
