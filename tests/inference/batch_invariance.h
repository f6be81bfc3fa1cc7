// When batching is bitwise invisible: whether oneDNN runs a model's dense
// layers with its brgemm kernels, where a row's result does not depend on the
// other rows of the call. Elsewhere (gemm:jit on AVX2) oneDNN blocks by row
// count and the last bits of a sequence's output may depend on its batch
// (≤ 5e-6 on the golden fixtures), so the engine tests compare within
// kBatchTolerance instead, and say why.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/precision.h"
#include "kernels/gemm.h"
#include "model/model_info.h"

namespace winnow::inference::testing {

inline constexpr float kBatchTolerance = 1e-5f;

struct BatchInvariance {
  bool bitwise = false;
  std::string implementations;  // what oneDNN picked, for failure messages
};

// Builds kernels::Linear layers of the model's dense shapes in `precision`
// (Linear::create picks the kernels the model's own layers get) and asks each,
// at row counts from one sequence to a full batch, which implementation runs.
inline BatchInvariance batch_invariance(const model::ModelInfo& info, base::Precision precision) {
  const std::size_t h = info.hidden_size, i = info.intermediate_size;
  const std::size_t shapes[][2] = {{3 * h, h}, {h, h}, {i, h}, {h, i}};  // [out, in]: qkv, attention out, ffn in, out
  BatchInvariance result{true, ""};
  for (const auto& [out, in] : shapes) {
    auto linear = kernels::Linear::create(std::vector<float>(out * in, 0.01f), {}, out, in,
                                          kernels::Epilogue::kNone, precision);
    if (!linear.ok()) return {false, "Linear::create: " + linear.status().to_string()};
    for (std::size_t rows : {1, 7, 64, 300, 2048}) {
      auto implementation = linear->implementation(rows);
      const std::string name = implementation.ok() ? *implementation : implementation.status().to_string();
      if (result.implementations.find(name) == std::string::npos) {
        result.implementations += (result.implementations.empty() ? "" : ", ") + name;
      }
      if (!implementation.ok() || !name.starts_with("brg")) result.bitwise = false;
    }
  }
  return result;
}

// Expects `together` (from a shared batch) to equal `alone`: bitwise where
// the dense layers run brgemm, else within kBatchTolerance.
inline void expect_batch_invariant(const std::vector<float>& together, const std::vector<float>& alone,
                                   const BatchInvariance& invariance, const std::string& what) {
  ASSERT_EQ(together.size(), alone.size()) << what;
  for (std::size_t k = 0; k < alone.size(); ++k) {
    if (invariance.bitwise) {
      ASSERT_EQ(together[k], alone[k]) << what << " [" << k << "]: bitwise expected, the dense layers run "
                                       << invariance.implementations << " (rows computed independently)";
    } else {
      ASSERT_NEAR(together[k], alone[k], kBatchTolerance)
          << what << " [" << k << "]: within " << kBatchTolerance << ", not bitwise: the dense layers run "
          << invariance.implementations << ", not brgemm, and oneDNN blocks those by row count";
    }
  }
}

}  // namespace winnow::inference::testing
