#include "model/load_options.h"

#include <string>

#include "base/cpu_features.h"

namespace winnow::model {

bool bf16_attention(AttentionPrecision choice, base::Precision precision) {
  if (!base::cpu_features().avx512_bf16) return false;
  switch (choice) {
    case AttentionPrecision::kFp32: return false;
    case AttentionPrecision::kBf16: return true;
    case AttentionPrecision::kAuto: return precision == base::Precision::kInt8;
  }
  return false;
}

base::Status check_load_options(const LoadOptions& options) {
  WINNOW_RETURN_IF_ERROR(kernels::check_cpu_dispatch());
  if (options.precisions.empty()) return base::invalid_argument("no precision to prepare the model in");
  for (std::size_t i = 0; i < options.precisions.size(); ++i) {
    const base::Precision p = options.precisions[i];
    if (p == base::Precision::kAuto) return base::invalid_argument("precision auto must be resolved before loading");
    WINNOW_RETURN_IF_ERROR(kernels::check_precision_supported(p));
    for (std::size_t j = 0; j < i; ++j) {
      if (options.precisions[j] == p) {
        return base::invalid_argument("precision " + std::string(base::precision_name(p)) + " listed twice");
      }
    }
  }
  return base::Status();
}

}  // namespace winnow::model
