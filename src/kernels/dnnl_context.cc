#include "kernels/dnnl_context.h"

#include "base/cpu_features.h"

namespace winnow::kernels::internal {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine = [] {
    // The WINNOW_CPU cap reaches oneDNN's JIT too (as ONEDNN_MAX_CPU_ISA
    // would): it must be set before the first primitive is created, and every
    // primitive of this room is created on this engine.
    const base::CpuFeatures& cpu = base::cpu_features();
    if (cpu.cap == "avx2") {
      dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
    } else if (cpu.cap == "avx512") {
      dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core);
    }
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

std::string effective_isa_name() {
  cpu_engine();  // applies the cap first
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

std::string primitive_implementation(const dnnl::primitive& primitive) {
  const_dnnl_primitive_desc_t pd = nullptr;
  if (dnnl_primitive_get_primitive_desc(primitive.get(), &pd) != dnnl_success || pd == nullptr) return "";
  const char* info = nullptr;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) != dnnl_success || info == nullptr) return "";
  return info;
}

}  // namespace winnow::kernels::internal
