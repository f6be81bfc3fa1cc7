#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "kernels/dnnl_context.h"

namespace winnow::kernels {

namespace {

using dnnl::memory;
using DataType = memory::data_type;

// Bound on the score buffer [heads, rows, len]: long sequences are cut into
// blocks of query rows that fit.
constexpr std::size_t kMaxScoreFloats = std::size_t{8} << 20;  // 32 MiB

// Distinct (rows, len) shapes kept; a primitive costs well under a
// millisecond to recreate, so clearing now and then is harmless.
constexpr std::size_t kMaxCachedShapes = 1024;

// Primitives for one block of `rows` queries against `len` keys.
struct BlockPrimitives {
  dnnl::matmul scores;    // [heads, rows, d] x [heads, d, len] -> [heads, rows, len], scaled by 1/√d
  dnnl::softmax_forward softmax;  // over the last axis, in place
  dnnl::matmul context;   // [heads, rows, len] x [heads, len, d] -> [heads, rows, d]
};

}  // namespace

struct Attention::Impl {
  std::size_t num_heads = 0;
  std::size_t head_dim = 0;
  // Keyed by (rows, len). Mutable: filled lazily by the const forward().
  mutable std::map<std::pair<std::size_t, std::size_t>, BlockPrimitives> primitives;

  memory::dim hidden() const { return static_cast<memory::dim>(num_heads * head_dim); }

  // Views of a sequence's q, k, v, scores and output as oneDNN sees them.
  memory::desc q_md(memory::dim rows) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), rows, d}, DataType::f32, memory::dims{d, 3 * hidden(), 1});
  }
  memory::desc kt_md(memory::dim len) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), d, len}, DataType::f32, memory::dims{d, 1, 3 * hidden()});
  }
  memory::desc v_md(memory::dim len) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), len, d}, DataType::f32, memory::dims{d, 3 * hidden(), 1});
  }
  memory::desc scores_md(memory::dim rows, memory::dim len) const {
    return memory::desc({static_cast<memory::dim>(num_heads), rows, len}, DataType::f32,
                        memory::dims{rows * len, len, 1});
  }
  memory::desc out_md(memory::dim rows) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), rows, d}, DataType::f32, memory::dims{d, hidden(), 1});
  }

  const BlockPrimitives& block(std::size_t rows, std::size_t len) const {
    auto key = std::make_pair(rows, len);
    auto it = primitives.find(key);
    if (it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedShapes) primitives.clear();
    const dnnl::engine& engine = internal::cpu_engine();
    const auto r = static_cast<memory::dim>(rows);
    const auto l = static_cast<memory::dim>(len);
    dnnl::primitive_attr scale;
    scale.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(head_dim))});
    BlockPrimitives p{
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md(r), kt_md(l), scores_md(r, l)), scale,
                                                  engine)),
        dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
            dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, scores_md(r, l), 2), engine)),
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(scores_md(r, l), v_md(l), out_md(r)), engine)),
    };
    return primitives.emplace(key, std::move(p)).first->second;
  }
};

Attention::Attention() = default;
Attention::Attention(Attention&&) noexcept = default;
Attention& Attention::operator=(Attention&&) noexcept = default;
Attention::~Attention() = default;

base::Result<Attention> Attention::create(std::size_t num_heads, std::size_t head_dim) {
  if (num_heads == 0 || head_dim == 0) return base::invalid_argument("Attention: num_heads and head_dim must be positive");
  Attention attention;
  attention.impl_ = std::make_unique<Impl>();
  attention.impl_->num_heads = num_heads;
  attention.impl_->head_dim = head_dim;
  return attention;
}

std::size_t Attention::num_heads() const { return impl_ ? impl_->num_heads : 0; }
std::size_t Attention::head_dim() const { return impl_ ? impl_->head_dim : 0; }

base::Status Attention::forward(const float* qkv, std::span<const std::int32_t> offsets, float* out,
                                std::vector<float>& scratch) const {
  if (!impl_) return base::failed_precondition("Attention::forward on an empty Attention");
  if (offsets.size() < 2) return {};
  const Impl& impl = *impl_;
  const std::size_t hidden = impl.num_heads * impl.head_dim;
  const std::size_t stride = 3 * hidden;
  const dnnl::engine& engine = internal::cpu_engine();
  dnnl::stream& stream = internal::thread_stream();
  std::size_t len = 0;
  try {
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      const auto start = static_cast<std::size_t>(offsets[s]);
      len = static_cast<std::size_t>(offsets[s + 1] - offsets[s]);
      if (len == 0) continue;
      // Block rows depend on len only, so a sequence is computed the same way in any batch.
      const std::size_t block_rows = std::clamp<std::size_t>(kMaxScoreFloats / (impl.num_heads * len), 1, len);
      if (scratch.size() < impl.num_heads * block_rows * len) scratch.resize(impl.num_heads * block_rows * len);
      const float* k = qkv + start * stride + hidden;
      const float* v = k + hidden;
      const auto l = static_cast<memory::dim>(len);
      memory k_mem(impl.kt_md(l), engine, const_cast<float*>(k));
      memory v_mem(impl.v_md(l), engine, const_cast<float*>(v));
      for (std::size_t row = 0; row < len; row += block_rows) {
        const std::size_t rows = std::min(block_rows, len - row);
        const auto r = static_cast<memory::dim>(rows);
        const BlockPrimitives& p = impl.block(rows, len);
        memory q_mem(impl.q_md(r), engine, const_cast<float*>(qkv + (start + row) * stride));
        memory scores_mem(impl.scores_md(r, l), engine, scratch.data());
        memory out_mem(impl.out_md(r), engine, out + (start + row) * hidden);
        p.scores.execute(stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, k_mem}, {DNNL_ARG_DST, scores_mem}});
        p.softmax.execute(stream, {{DNNL_ARG_SRC, scores_mem}, {DNNL_ARG_DST, scores_mem}});
        p.context.execute(stream, {{DNNL_ARG_SRC, scores_mem}, {DNNL_ARG_WEIGHTS, v_mem}, {DNNL_ARG_DST, out_mem}});
      }
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return base::internal_error("oneDNN attention (" + std::to_string(impl.num_heads) + " heads of " +
                                std::to_string(impl.head_dim) + ", sequence of " + std::to_string(len) +
                                " tokens): " + e.what());
  }
  return {};
}

}  // namespace winnow::kernels
