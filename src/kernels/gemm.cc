#include "kernels/gemm.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/dnnl_context.h"

namespace winnow::kernels {

namespace internal {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

}  // namespace internal

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

// Row counts seen by one Linear are bounded by the batch sizes callers use; a
// server that sees many distinct token totals would otherwise grow the cache
// without bound. Creating a matmul primitive costs ~0.3 ms, so clearing the
// cache now and then is harmless (oneDNN keeps its own primitive cache too).
constexpr std::size_t kMaxCachedShapes = 256;

std::string shape_string(std::size_t rows, std::size_t in, std::size_t out) {
  return "[" + std::to_string(rows) + " x " + std::to_string(in) + "] x [" + std::to_string(in) + " x " +
         std::to_string(out) + "]";
}

}  // namespace

struct Linear::Impl {
  std::size_t in_features = 0;
  std::size_t out_features = 0;
  Epilogue epilogue = Epilogue::kNone;
  std::vector<float> weight_t;  // [in_features, out_features]: the K x N operand, row-major
  std::vector<float> bias;      // [out_features] or empty
  // Primitive per row count. Mutable: filled lazily by the const forward().
  mutable std::unordered_map<std::size_t, dnnl::matmul> primitives;

  const dnnl::matmul& primitive(std::size_t rows) const {
    auto it = primitives.find(rows);
    if (it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedShapes) primitives.clear();
    const auto m = static_cast<memory::dim>(rows);
    const auto k = static_cast<memory::dim>(in_features);
    const auto n = static_cast<memory::dim>(out_features);
    memory::desc src_md({m, k}, DataType::f32, Tag::ab);
    memory::desc weights_md({k, n}, DataType::f32, Tag::ab);
    memory::desc dst_md({m, n}, DataType::f32, Tag::ab);
    memory::desc bias_md = bias.empty() ? memory::desc() : memory::desc({1, n}, DataType::f32, Tag::ab);
    dnnl::primitive_attr attr;
    if (epilogue != Epilogue::kNone) {
      dnnl::post_ops ops;
      auto algorithm =
          epilogue == Epilogue::kGeluErf ? dnnl::algorithm::eltwise_gelu_erf : dnnl::algorithm::eltwise_tanh;
      ops.append_eltwise(1.0f, algorithm, 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_md, bias_md, dst_md), attr,
                                    internal::cpu_engine());
    return primitives.emplace(rows, dnnl::matmul(pd)).first->second;
  }
};

Linear::Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;
Linear::~Linear() = default;

base::Result<Linear> Linear::create(std::span<const float> weight, std::span<const float> bias,
                                    std::size_t out_features, std::size_t in_features, Epilogue epilogue) {
  if (out_features == 0 || in_features == 0) {
    return base::invalid_argument("Linear: empty weight [" + std::to_string(out_features) + ", " +
                                  std::to_string(in_features) + "]");
  }
  if (weight.size() != out_features * in_features) {
    return base::invalid_argument("Linear: weight has " + std::to_string(weight.size()) + " values, expected " +
                                  std::to_string(out_features) + " x " + std::to_string(in_features));
  }
  if (!bias.empty() && bias.size() != out_features) {
    return base::invalid_argument("Linear: bias has " + std::to_string(bias.size()) + " values, expected " +
                                  std::to_string(out_features));
  }
  Linear linear;
  linear.impl_ = std::make_unique<Impl>();
  Impl& impl = *linear.impl_;
  impl.in_features = in_features;
  impl.out_features = out_features;
  impl.epilogue = epilogue;
  impl.weight_t.resize(weight.size());
  for (std::size_t o = 0; o < out_features; ++o) {
    for (std::size_t i = 0; i < in_features; ++i) impl.weight_t[i * out_features + o] = weight[o * in_features + i];
  }
  impl.bias.assign(bias.begin(), bias.end());
  return linear;
}

base::Status Linear::forward(const float* x, std::size_t rows, float* y) const {
  if (rows == 0) return {};
  if (!impl_) return base::failed_precondition("Linear::forward on an empty Linear");
  const Impl& impl = *impl_;
  try {
    const dnnl::matmul& matmul = impl.primitive(rows);
    const dnnl::engine& engine = internal::cpu_engine();
    const auto m = static_cast<memory::dim>(rows);
    const auto k = static_cast<memory::dim>(impl.in_features);
    const auto n = static_cast<memory::dim>(impl.out_features);
    memory src({{m, k}, DataType::f32, Tag::ab}, engine, const_cast<float*>(x));
    memory weights({{k, n}, DataType::f32, Tag::ab}, engine, const_cast<float*>(impl.weight_t.data()));
    memory dst({{m, n}, DataType::f32, Tag::ab}, engine, y);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
    if (!impl.bias.empty()) {
      args.emplace(DNNL_ARG_BIAS,
                   memory({{1, n}, DataType::f32, Tag::ab}, engine, const_cast<float*>(impl.bias.data())));
    }
    dnnl::stream& stream = internal::thread_stream();
    matmul.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return base::internal_error("oneDNN matmul " + shape_string(rows, impl.in_features, impl.out_features) + ": " +
                                e.what());
  }
  return {};
}

std::size_t Linear::in_features() const { return impl_ ? impl_->in_features : 0; }
std::size_t Linear::out_features() const { return impl_ ? impl_->out_features : 0; }
std::size_t Linear::weight_bytes() const {
  return impl_ ? (impl_->weight_t.size() + impl_->bias.size()) * sizeof(float) : 0;
}

}  // namespace winnow::kernels
