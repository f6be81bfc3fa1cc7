#include "kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>

#include <omp.h>

#include "base/cpu_features.h"
#include "base/huge_pages.h"
#include "kernels/dnnl_context.h"
#include "kernels/quantize.h"
#include "kernels/simd.h"

namespace winnow::kernels {

namespace {

using dnnl::memory;
using DataType = memory::data_type;

// Bound on the score buffer [heads, rows, len]: long sequences are cut into
// blocks of query rows that fit.
constexpr std::size_t kMaxScoreFloats = std::size_t{8} << 20;  // 32 MiB

// Query rows per block under a window or causal mask: each block computes
// only the keys its rows see, so smaller blocks skip more of the masked ones
// (a window w costs 64 + 2w keys a row instead of L).
constexpr std::size_t kMaskedBlockRows = 64;

// A task's packed heads (Q, Kᵀ, V) are meant to stay in L2.
constexpr std::size_t kGroupBytes = 512 << 10;

// Distinct (rows, len) shapes kept; a primitive costs well under a
// millisecond to recreate, so clearing now and then is harmless.
constexpr std::size_t kMaxCachedShapes = 1024;

// Primitives for one block of `rows` queries against `len` keys.
struct BlockPrimitives {
  dnnl::matmul scores;    // [heads, rows, d] x [heads, d, len] -> [heads, rows, len], scaled by 1/√d
  dnnl::softmax_forward softmax;  // over the last axis, in place
  dnnl::matmul context;   // [heads, rows, len] x [heads, len, d] -> [heads, rows, d]
};

// The keys [lo, hi) query i of a sequence of `len` sees (AttentionRequest
// window / causal). simd_attention.inc's keys_seen is the same rule (simd.h
// says why the kernels share no function with this file).
std::pair<std::size_t, std::size_t> keys_seen(const AttentionRequest& request, std::size_t i, std::size_t len) {
  std::size_t lo = 0, hi = len;
  if (request.window != 0 && i > request.window) lo = i - request.window;
  if (request.window != 0 && i + request.window + 1 < hi) hi = i + request.window + 1;
  if (request.causal && i + 1 < hi) hi = i + 1;
  return {lo, hi};
}

// The oneDNN path's mask: scores [heads, rows, keys] of queries first_row ..
// first_row + rows − 1 against keys first_key .. first_key + keys − 1 get
// −inf outside each query's keys, so the softmax gives them weight 0.
void mask_block(const AttentionRequest& request, std::size_t heads, std::size_t first_row, std::size_t rows,
                std::size_t len, std::size_t first_key, std::size_t keys, float* scores) {
  const float masked = -std::numeric_limits<float>::infinity();
  for (std::size_t r = 0; r < rows; ++r) {
    auto [lo, hi] = keys_seen(request, first_row + r, len);
    lo = std::clamp(lo, first_key, first_key + keys) - first_key;
    hi = std::clamp(hi, first_key, first_key + keys) - first_key;
    for (std::size_t h = 0; h < heads; ++h) {
      float* row = scores + (h * rows + r) * keys;
      std::fill(row, row + lo, masked);
      std::fill(row + hi, row + keys, masked);
    }
  }
}

}  // namespace

// What the hand-written kernels use, decided once per Attention.
enum class Simd { kNone, kAvx2, kAvx512 };

Simd choose_simd(std::size_t head_dim, AttentionKernel kernel) {
  if (kernel == AttentionKernel::kOneDnn) return Simd::kNone;
  const base::CpuFeatures& cpu = base::cpu_features();
  // The kernels keep a row of a head's context in at most 16 registers.
  if (cpu.avx512 && head_dim % 16 == 0 && head_dim <= 256) return Simd::kAvx512;
  if (cpu.avx2 && head_dim % 8 == 0 && head_dim <= 128) return Simd::kAvx2;
  return Simd::kNone;
}

// Per-thread scratch of the hand-written kernels (packed K and V, scores).
base::HugeVector<float>& thread_scratch() {
  thread_local base::HugeVector<float> scratch;
  return scratch;
}

struct Attention::Impl {
  std::size_t num_heads = 0;
  std::size_t head_dim = 0;
  Simd simd = Simd::kNone;
  // Reused between calls (thread-compatible contract).
  mutable std::vector<simd::AttentionTask> tasks;
  mutable std::vector<std::size_t> task_sequence;
  // Keyed by (rows, keys, the floats between K / V rows). Mutable: filled
  // lazily by the const forward().
  mutable std::map<std::tuple<std::size_t, std::size_t, std::size_t>, BlockPrimitives> primitives;

  memory::dim hidden() const { return static_cast<memory::dim>(num_heads * head_dim); }

  // Views of a sequence's q, k, v, scores and output as oneDNN sees them
  // (k and v rows `stride` floats apart: 3 · hidden in a fused projection's
  // output, 2 · hidden in K | V alone).
  memory::desc q_md(memory::dim rows) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), rows, d}, DataType::f32, memory::dims{d, 3 * hidden(), 1});
  }
  memory::desc kt_md(memory::dim len, memory::dim stride) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), d, len}, DataType::f32, memory::dims{d, 1, stride});
  }
  memory::desc v_md(memory::dim len, memory::dim stride) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), len, d}, DataType::f32, memory::dims{d, stride, 1});
  }
  memory::desc scores_md(memory::dim rows, memory::dim len) const {
    return memory::desc({static_cast<memory::dim>(num_heads), rows, len}, DataType::f32,
                        memory::dims{rows * len, len, 1});
  }
  memory::desc out_md(memory::dim rows) const {
    const auto d = static_cast<memory::dim>(head_dim);
    return memory::desc({static_cast<memory::dim>(num_heads), rows, d}, DataType::f32, memory::dims{d, hidden(), 1});
  }

  const BlockPrimitives& block(std::size_t rows, std::size_t len, std::size_t stride) const {
    auto key = std::make_tuple(rows, len, stride);
    auto it = primitives.find(key);
    if (it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedShapes) primitives.clear();
    const dnnl::engine& engine = internal::cpu_engine();
    const auto r = static_cast<memory::dim>(rows);
    const auto l = static_cast<memory::dim>(len);
    const auto kv = static_cast<memory::dim>(stride);
    dnnl::primitive_attr scale;
    scale.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(head_dim))});
    BlockPrimitives p{
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md(r), kt_md(l, kv), scores_md(r, l)), scale,
                                                  engine)),
        dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(
            dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, scores_md(r, l), 2), engine)),
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(scores_md(r, l), v_md(l, kv), out_md(r)), engine)),
    };
    return primitives.emplace(key, std::move(p)).first->second;
  }

  // The oneDNN path: per sequence, blocks of query rows as batched matmuls
  // around a softmax, each against the keys its rows see. With
  // first_token_only, one block of one row per sequence.
  base::Status forward_onednn(const AttentionRequest& request, std::vector<float>& scratch) const;
};

Attention::Attention() = default;
Attention::Attention(Attention&&) noexcept = default;
Attention& Attention::operator=(Attention&&) noexcept = default;
Attention::~Attention() = default;

base::Result<Attention> Attention::create(std::size_t num_heads, std::size_t head_dim, AttentionKernel kernel) {
  if (num_heads == 0 || head_dim == 0) return base::invalid_argument("Attention: num_heads and head_dim must be positive");
  Attention attention;
  attention.impl_ = std::make_unique<Impl>();
  attention.impl_->num_heads = num_heads;
  attention.impl_->head_dim = head_dim;
  attention.impl_->simd = choose_simd(head_dim, kernel);
  return attention;
}

std::string Attention::kernel_name() const {
  if (!impl_) return "";
  switch (impl_->simd) {
    case Simd::kAvx512: return "avx512";
    case Simd::kAvx2: return "avx2";
    case Simd::kNone: break;
  }
  return "onednn";
}

std::size_t Attention::num_heads() const { return impl_ ? impl_->num_heads : 0; }
std::size_t Attention::head_dim() const { return impl_ ? impl_->head_dim : 0; }

base::Status Attention::forward(const float* qkv, std::span<const std::int32_t> offsets, float* out,
                                std::vector<float>& scratch) const {
  if (!impl_) return base::failed_precondition("Attention::forward on an empty Attention");
  AttentionRequest request;
  request.qkv = qkv;
  request.offsets = offsets;
  request.out = out;
  if (impl_->simd == Simd::kNone) return impl_->forward_onednn(request, scratch);
  return forward(request);
}

base::Status Attention::forward(const AttentionRequest& request) const {
  if (!impl_) return base::failed_precondition("Attention::forward on an empty Attention");
  const Impl& impl = *impl_;
  if (request.offsets.size() < 2) return {};
  if (request.out == nullptr && request.out_bf16 == nullptr) {
    return base::invalid_argument("Attention::forward: no output");
  }
  const bool quantized = request.out_q != nullptr;
  if (quantized != (request.out_scale != nullptr) || quantized != (request.out_zero != nullptr)) {
    return base::invalid_argument("Attention::forward: out_q, out_scale and out_zero go together");
  }
  if (quantized && request.out == nullptr) {
    return base::invalid_argument("Attention::forward: a quantized output needs the fp32 one");
  }
  if (request.first_query != nullptr && !request.first_token_only) {
    return base::invalid_argument("Attention::forward: first_query needs first_token_only");
  }
  const RowAffine& f = request.affine;
  const RowAffine& fq = request.first_query_affine;
  auto has_rows = [](const RowAffine& r) {
    return r.row_scale != nullptr || r.row_zero != nullptr || r.column_comp != nullptr;
  };
  const bool affine = has_rows(f) || has_rows(fq);
  for (const RowAffine* r : {&f, &fq}) {
    if (has_rows(*r) && (r->row_scale == nullptr || r->row_zero == nullptr || r->column_comp == nullptr)) {
      return base::invalid_argument("Attention::forward: row_scale, row_zero and column_comp go together");
    }
  }
  if (impl.simd != Simd::kAvx512 && (request.bf16 || request.out_bf16 != nullptr || affine)) {
    return base::failed_precondition("attention in bf16 or on int8 GEMM outputs needs the AVX-512 kernel (head_dim " +
                                     std::to_string(impl.head_dim) + ", CPU " +
                                     base::cpu_level_name(base::cpu_features()) + ")");
  }
  if (request.bf16 && !base::cpu_features().avx512_bf16) {
    return base::failed_precondition("bf16 attention needs AVX512_BF16, which this CPU lacks");
  }
  if (impl.simd == Simd::kNone) {
    if (f.bias != nullptr || fq.bias != nullptr) {
      return base::failed_precondition("attention bias needs a hand-written kernel");
    }
    if (request.out == nullptr) return base::invalid_argument("Attention::forward: the oneDNN path writes fp32 only");
    std::vector<float> local;
    WINNOW_RETURN_IF_ERROR(impl.forward_onednn(request, request.scratch != nullptr ? *request.scratch : local));
    if (quantized) {
      const std::size_t rows = request.first_token_only ? request.offsets.size() - 1
                                                        : static_cast<std::size_t>(request.offsets.back());
      quantize_rows(request.out, rows, impl.num_heads * impl.head_dim, request.out_q, request.out_scale,
                    request.out_zero);
    }
    return {};
  }

  simd::AttentionArgs args;
  args.qkv = request.qkv;
  args.num_heads = impl.num_heads;
  args.head_dim = impl.head_dim;
  args.scale = 1.0f / std::sqrt(static_cast<float>(impl.head_dim));
  args.affine = request.affine;
  args.first_query = request.first_query;
  args.first_query_affine = request.first_query_affine;
  args.out = request.out;
  args.out_bf16 = reinterpret_cast<std::uint16_t*>(request.out_bf16);
  args.window = request.window;
  args.causal = request.causal;

  // Tasks: (sequence, group of heads). A group's packed Q, Kᵀ and V should
  // stay in L2 (kGroupBytes), and there should be a few tasks per thread for
  // the dynamic schedule to balance; sequences come length-sorted from the
  // batch planner. Grouping changes only the order data is packed in, never
  // the arithmetic: results are bitwise the same for any grouping.
  const std::size_t sequences = request.offsets.size() - 1;
  const std::size_t heads = impl.num_heads, d = impl.head_dim;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, omp_get_max_threads()));
  const std::size_t width = simd::kAttentionWidth;
  std::vector<simd::AttentionTask>& tasks = impl.tasks;
  tasks.clear();
  // Per task its sequence, and per sequence its tasks not yet done: the
  // thread that finishes a sequence quantizes its rows (out_q).
  std::vector<std::size_t>& task_sequence = impl.task_sequence;
  task_sequence.clear();
  std::vector<std::atomic<int>> remaining(quantized ? sequences : 0);
  const std::size_t min_groups = std::max<std::size_t>(1, (4 * threads + sequences - 1) / sequences);
  for (std::size_t s = 0; s < sequences; ++s) {
    simd::AttentionTask task;
    task.start = static_cast<std::size_t>(request.offsets[s]);
    task.len = static_cast<std::size_t>(request.offsets[s + 1] - request.offsets[s]);
    if (task.len == 0) continue;
    task.queries = request.first_token_only ? 1 : task.len;
    task.out_row = request.first_token_only ? s : task.start;
    const std::size_t lp = (task.len + width - 1) / width * width;
    const std::size_t head_bytes = (d * lp + 2 * task.len * d) * sizeof(float);
    std::size_t group = std::clamp<std::size_t>(kGroupBytes / head_bytes, 1, heads);
    group = std::min(group, std::max<std::size_t>(1, heads / std::min(min_groups, heads)));
    for (std::size_t h = 0; h < heads; h += group) {
      task.head = h;
      task.heads = std::min(group, heads - h);
      tasks.push_back(task);
      task_sequence.push_back(s);
      if (quantized) remaining[s].fetch_add(1, std::memory_order_relaxed);
    }
  }
  const Simd simd_kind = impl.simd;
  const bool bf16 = request.bf16;
  const auto count = static_cast<std::int64_t>(tasks.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t i = 0; i < count; ++i) {
    const simd::AttentionTask& task = tasks[static_cast<std::size_t>(i)];
    base::HugeVector<float>& scratch = thread_scratch();
    const std::size_t need = simd_kind == Simd::kAvx512
                                 ? simd::avx512::attention_scratch_floats(task.len, d, task.heads)
                                 : simd::avx2::attention_scratch_floats(task.len, d, task.heads);
    if (scratch.size() < need) scratch.resize(need);
    if (simd_kind == Simd::kAvx2) {
      simd::avx2::attention_f32(args, task, scratch.data());
    } else if (bf16) {
      simd::avx512::attention_bf16(args, task, scratch.data());
    } else {
      simd::avx512::attention_f32(args, task, scratch.data());
    }
    // acq_rel: the last thread of a sequence sees the rows the others wrote.
    if (quantized && remaining[task_sequence[static_cast<std::size_t>(i)]].fetch_sub(1, std::memory_order_acq_rel) == 1) {
      const std::size_t hidden = heads * d;
      for (std::size_t r = task.out_row; r < task.out_row + task.queries; ++r) {
        quantize_row(request.out + r * hidden, hidden, request.out_q + r * hidden, request.out_scale + r,
                     request.out_zero + r);
      }
    }
  }
  return {};
}

base::Status Attention::Impl::forward_onednn(const AttentionRequest& request, std::vector<float>& scratch) const {
  const Impl& impl = *this;
  const std::span<const std::int32_t> offsets = request.offsets;
  const float* qkv = request.qkv;
  float* out = request.out;
  const std::size_t hidden = impl.num_heads * impl.head_dim;
  // With first_query, qkv holds k | v only.
  const bool own_query = request.first_query != nullptr;
  const std::size_t stride = (own_query ? 2 : 3) * hidden;
  const dnnl::engine& engine = internal::cpu_engine();
  dnnl::stream& stream = internal::thread_stream();
  std::size_t len = 0;
  try {
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      const auto start = static_cast<std::size_t>(offsets[s]);
      len = static_cast<std::size_t>(offsets[s + 1] - offsets[s]);
      if (len == 0) continue;
      const std::size_t queries = request.first_token_only ? 1 : len;
      const std::size_t out_row = request.first_token_only ? s : start;
      // Block rows depend on len only, so a sequence is computed the same way in any batch.
      const bool masked = request.window != 0 || request.causal;
      std::size_t block_rows = std::clamp<std::size_t>(kMaxScoreFloats / (impl.num_heads * len), 1, queries);
      if (masked) block_rows = std::min(block_rows, kMaskedBlockRows);
      if (scratch.size() < impl.num_heads * block_rows * len) scratch.resize(impl.num_heads * block_rows * len);
      for (std::size_t row = 0; row < queries; row += block_rows) {
        const std::size_t rows = std::min(block_rows, queries - row);
        // Keys [first_key, first_key + keys): those the block's rows see
        // between them (each row's range starts and ends no earlier than
        // the one before's).
        const std::size_t first_key = keys_seen(request, row, len).first;
        const std::size_t keys = keys_seen(request, row + rows - 1, len).second - first_key;
        const auto r = static_cast<memory::dim>(rows);
        const auto n = static_cast<memory::dim>(keys);
        const BlockPrimitives& p = impl.block(rows, keys, stride);
        const float* k = qkv + (start + first_key) * stride + (own_query ? 0 : hidden);
        // One query row with first_query: its row stride never matters.
        const float* q = own_query ? request.first_query + s * hidden : qkv + (start + row) * stride;
        memory q_mem(impl.q_md(r), engine, const_cast<float*>(q));
        memory k_mem(impl.kt_md(n, static_cast<memory::dim>(stride)), engine, const_cast<float*>(k));
        memory v_mem(impl.v_md(n, static_cast<memory::dim>(stride)), engine, const_cast<float*>(k + hidden));
        memory scores_mem(impl.scores_md(r, n), engine, scratch.data());
        memory out_mem(impl.out_md(r), engine, out + (out_row + row) * hidden);
        p.scores.execute(stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, k_mem}, {DNNL_ARG_DST, scores_mem}});
        if (masked) {
          stream.wait();
          mask_block(request, impl.num_heads, row, rows, len, first_key, keys, scratch.data());
        }
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
