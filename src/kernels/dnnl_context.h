// The process-wide oneDNN CPU engine and a per-thread stream (internal to kernels/).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace winnow::kernels::internal {

// The CPU engine every primitive of this room is created on. Created on first
// use; may throw dnnl::error (callers catch at their edge).
const dnnl::engine& cpu_engine();

// An in-order stream on cpu_engine(), one per calling thread.
dnnl::stream& thread_stream();

}  // namespace winnow::kernels::internal
