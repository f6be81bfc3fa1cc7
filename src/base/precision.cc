#include "base/precision.h"

#include <string>

namespace winnow::base {

std::string_view precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
    case Precision::kAuto: return "auto";
  }
  return "unknown";
}

Result<Precision> parse_precision(std::string_view name) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8, Precision::kAuto}) {
    if (name == precision_name(p)) return p;
  }
  return invalid_argument("precision \"" + std::string(name) + "\": expected fp32, bf16, int8 or auto");
}

}  // namespace winnow::base
