// Runtime CPU dispatch. The suite runs twice under ctest: as the CPU is, and
// with WINNOW_CPU=avx2 (tests/CMakeLists.txt), where everything must behave
// as on an AVX2-only CPU: the AVX2 attention kernel, oneDNN's JIT capped at
// AVX2, and bf16 / int8 refused naming the missing instruction set.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "kernels/attention.h"
#include "kernels/dnnl_context.h"
#include "kernels/gemm.h"
#include "kernels/precision.h"

namespace winnow::kernels {
namespace {

using base::Precision;
using base::parse_precision;
using base::precision_name;

bool forced_avx2() {
  const char* cap = std::getenv("WINNOW_CPU");
  return cap != nullptr && std::string(cap) == "avx2";
}

TEST(DispatchTest, WinnowCpuCapsWhatTheKernelsUse) {
  const base::CpuFeatures& cpu = base::cpu_features();
  EXPECT_TRUE(check_cpu_dispatch().ok());
  auto attention = Attention::create(4, 16);
  ASSERT_TRUE(attention.ok());
  auto linear = Linear::create(std::vector<float>(64 * 32, 0.5f), {}, 64, 32);
  ASSERT_TRUE(linear.ok());
  auto implementation = linear->implementation(100);
  ASSERT_TRUE(implementation.ok()) << implementation.status().to_string();
  const std::string isa = internal::effective_isa_name();
  std::cout << "dispatch: " << cpu_dispatch_name() << ", attention " << attention->kernel_name() << ", oneDNN "
            << isa << ", matmul " << *implementation << "\n";
  if (forced_avx2()) {
    EXPECT_EQ(cpu.cap, "avx2");
    EXPECT_FALSE(cpu.avx512);
    EXPECT_FALSE(cpu.avx512_bf16);
    EXPECT_FALSE(cpu.avx512_vnni);
    if (cpu.avx2) {
      EXPECT_EQ(attention->kernel_name(), "avx2");
      EXPECT_EQ(isa, "avx2");
    }
    EXPECT_EQ(implementation->find("avx512"), std::string::npos) << *implementation;
    EXPECT_NE(cpu_dispatch_name().find("WINNOW_CPU=avx2"), std::string::npos);
  } else if (cpu.avx512) {
    EXPECT_EQ(attention->kernel_name(), "avx512");
  }
}

TEST(DispatchTest, ReducedPrecisionsNameTheMissingInstructionSet) {
  const base::CpuFeatures& cpu = base::cpu_features();
  const std::vector<float> weight(16 * 16, 0.25f);
  auto bf16 = Linear::create(weight, {}, 16, 16, Epilogue::kNone, Precision::kBf16);
  auto int8 = Linear::create(weight, {}, 16, 16, Epilogue::kNone, Precision::kInt8);
  EXPECT_EQ(bf16.ok(), cpu.avx512_bf16);
  EXPECT_EQ(int8.ok(), cpu.avx512_vnni);
  if (!bf16.ok()) {
    EXPECT_EQ(bf16.status().code(), base::StatusCode::kFailedPrecondition);
    EXPECT_NE(bf16.status().message().find("AVX512_BF16"), std::string::npos) << bf16.status().message();
  }
  if (!int8.ok()) {
    EXPECT_NE(int8.status().message().find("AVX512_VNNI"), std::string::npos) << int8.status().message();
  }
  if (forced_avx2()) {
    EXPECT_NE(bf16.status().message().find("WINNOW_CPU=avx2"), std::string::npos);
    auto attention = Attention::create(2, 16);
    ASSERT_TRUE(attention.ok());
    std::vector<float> qkv(3 * 32, 0.1f), out(32);
    std::vector<std::int32_t> offsets{0, 1};
    AttentionRequest request;
    request.qkv = qkv.data();
    request.offsets = offsets;
    request.out = out.data();
    request.bf16 = true;
    EXPECT_FALSE(attention->forward(request).ok());
  }
}

TEST(DispatchTest, PrecisionNamesRoundTrip) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8, Precision::kAuto}) {
    auto parsed = parse_precision(precision_name(p));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, p);
  }
  auto bad = parse_precision("fp16");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected fp32, bf16, int8 or auto"), std::string::npos);
}

}  // namespace
}  // namespace winnow::kernels
