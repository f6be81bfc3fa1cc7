// The process-wide oneDNN CPU engine and a per-thread stream (internal to kernels/).
#pragma once

#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace winnow::kernels::internal {

// The CPU engine every primitive of this room is created on. Created on first
// use, after capping oneDNN's instruction set as WINNOW_CPU says (see
// base/cpu_features.h); may throw dnnl::error (callers catch at their edge).
const dnnl::engine& cpu_engine();

// An in-order stream on cpu_engine(), one per calling thread.
dnnl::stream& thread_stream();

// The instruction set oneDNN's JIT uses (after any WINNOW_CPU cap), e.g.
// "avx512_core_bf16", "avx2".
std::string effective_isa_name();

// The implementation oneDNN picked for `primitive`, e.g. "brg:avx512_core_bf16".
std::string primitive_implementation(const dnnl::primitive& primitive);

}  // namespace winnow::kernels::internal
