#include "kernels/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include "base/huge_pages.h"
#include "kernels/dnnl_context.h"
#include "kernels/row_pass.h"

namespace winnow::kernels {

using base::Precision;
using base::precision_name;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

// Row counts seen by one Linear are bounded by the batch sizes callers use; a
// server that sees many distinct token totals would otherwise grow the cache
// without bound. Creating a matmul primitive costs ~0.3 ms, so clearing the
// cache now and then is harmless (oneDNN keeps its own primitive cache too).
constexpr std::size_t kMaxCachedShapes = 256;

// The row count the blocked weight layout is chosen for; brgemm's layout
// depends on K, N and the types only (checked on oneDNN 2.6), and any other
// row count reads the same layout.
constexpr memory::dim kLayoutRows = 256;

std::string shape_string(std::size_t rows, std::size_t in, std::size_t out) {
  return "[" + std::to_string(rows) + " x " + std::to_string(in) + "] x [" + std::to_string(in) + " x " +
         std::to_string(out) + "]";
}

DataType src_type(Precision p) {
  switch (p) {
    case Precision::kBf16: return DataType::bf16;
    case Precision::kInt8: return DataType::u8;
    default: return DataType::f32;
  }
}

// y[i] = epilogue(y[i]) for i < n, scalar (the int8 forms' unfused epilogues).
void apply_epilogue(float* y, std::size_t n, Epilogue epilogue) {
  if (epilogue == Epilogue::kNone) return;
  const auto total = static_cast<std::int64_t>(n);
  const bool gelu = epilogue == Epilogue::kGeluErf;
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < total; ++i) {
    const float v = y[i];
    y[i] = gelu ? 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)) : std::tanh(v);
  }
}

// The tiles' fp32 output stays within this many bytes, so that a tile
// the GEMM just wrote is still in the core's L2 (1 MiB on Zen 4, beside the
// weights being streamed) when its pass reads it.
constexpr std::size_t kTileBytes = 256 << 10;

// bf16 runs a TilePass on tiles only up to this many bytes of weights: each
// tile's GEMM reads all of them, and past L2's size that stream costs more
// than the pass gains by reading its tile in cache (winnow_kernel_bench
// "projection", 8,192 rows: MiniLM's 384 x 384 and 384 x 1536 and jina's 768
// x 768, 0.3–1.1 MiB, 4–20 % faster tiled; jina's 768 x 3072, 4.5 MiB, 2 %
// slower).
constexpr std::size_t kMaxTiledBf16WeightBytes = 2 << 20;

// Rows per tile for `out` output columns: a multiple of 16 (brgemm's row
// blocking), 32 .. 256. At least 32, so that each pass over the weights
// (which stream from L3 when they outgrow L2, e.g. 768 x 3072) feeds 32
// rows' worth of arithmetic.
std::size_t tile_rows(std::size_t out) {
  const std::size_t rows = kTileBytes / (out * sizeof(float)) / 16 * 16;
  return std::clamp<std::size_t>(rows, 32, 256);
}

// Sets omp_get_max_threads() of this thread to 1 for its lifetime: oneDNN
// sizes a primitive's parallel split by it when the primitive is created,
// and a tile's GEMM runs on the one thread that calls it.
class OneThread {
 public:
  OneThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved_); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;

 private:
  int saved_;
};

// Per-thread buffers of the tiled GEMM: the tile's output and oneDNN's scratchpad.
struct TileBuffers {
  base::HugeVector<float> output;
  base::HugeVector<std::uint8_t> scratchpad;
};
TileBuffers& tile_buffers() {
  thread_local TileBuffers buffers;
  return buffers;
}

// The fp32 / bf16 output of a TilePass forward without a y: one buffer per
// calling thread, shared by every Linear (a model's layers run one at a time).
base::HugeVector<float>& pass_output() {
  thread_local base::HugeVector<float> output;
  return output;
}

DataType weight_type(Precision p) {
  switch (p) {
    case Precision::kBf16: return DataType::bf16;
    case Precision::kInt8: return DataType::s8;
    default: return DataType::f32;
  }
}

}  // namespace

struct Linear::Impl {
  std::size_t in_features = 0;
  std::size_t out_features = 0;
  Epilogue epilogue = Epilogue::kNone;
  Precision precision = Precision::kFp32;
  memory::desc weights_md;      // the blocked layout
  // The prepared weights, on huge pages (base/huge_pages.h), and oneDNN's view of them.
  std::unique_ptr<void, void (*)(void*)> weights_buffer{nullptr, base::free_huge};
  dnnl::memory weights;
  std::vector<float> bias;      // [out_features] or empty
  std::vector<float> weight_scale;  // int8: s_w [out_features]
  std::vector<float> column_comp;   // int8: s_w[n] · Σ_k w_q[n][k]
  // Primitive per (row count, output type). Mutable: filled lazily by the const forward().
  mutable std::unordered_map<std::uint64_t, dnnl::matmul> primitives;
  // bf16 / int8 tiles: a one-thread primitive per row count (fp32 output,
  // no epilogue), with its scratchpad (user-managed: each thread passes its
  // own, as tiles run concurrently).
  struct Tile {
    dnnl::matmul matmul;
    memory::desc scratchpad_md;
    std::size_t scratchpad_bytes = 0;
  };
  mutable std::unordered_map<std::size_t, Tile> tiles;
  // Buffers of the fp32-input forward for bf16 / int8 (thread-compatible contract).
  mutable std::vector<Bf16> x_bf16;
  mutable std::vector<std::uint8_t> x_q;
  mutable std::vector<float> x_scale, x_zero;

  // fused_epilogue false: bias only, the epilogue left to the caller (tiles).
  dnnl::matmul::primitive_desc make_pd(memory::dim m, const memory::desc& wmd, DataType dst,
                                       bool user_scratchpad = false, bool fused_epilogue = true) const {
    const auto k = static_cast<memory::dim>(in_features);
    const auto n = static_cast<memory::dim>(out_features);
    memory::desc src_md({m, k}, src_type(precision), Tag::ab);
    memory::desc dst_md({m, n}, dst, Tag::ab);
    dnnl::primitive_attr attr;
    if (user_scratchpad) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    memory::desc bias_md;
    if (precision == Precision::kInt8) {
      // Constant per-channel scales keep oneDNN on its brgemm kernels (runtime
      // scales fall back to gemm:jit on 2.6); the rows' scales, zero points
      // and the bias are applied by the caller's next pass.
      attr.set_output_scales(1 << 1, weight_scale);
    } else {
      if (!bias.empty()) bias_md = memory::desc({1, n}, DataType::f32, Tag::ab);
      if (epilogue != Epilogue::kNone && fused_epilogue) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f,
                           epilogue == Epilogue::kGeluErf ? dnnl::algorithm::eltwise_gelu_erf
                                                          : dnnl::algorithm::eltwise_tanh,
                           0.0f, 0.0f);
        attr.set_post_ops(ops);
      }
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wmd, bias_md, dst_md), attr,
                                        internal::cpu_engine());
  }

  const dnnl::matmul& primitive(std::size_t rows, DataType dst) const {
    const std::uint64_t key = (static_cast<std::uint64_t>(rows) << 8) | static_cast<std::uint64_t>(dst);
    auto it = primitives.find(key);
    if (it != primitives.end()) return it->second;
    if (primitives.size() >= kMaxCachedShapes) primitives.clear();
    return primitives.emplace(key, dnnl::matmul(make_pd(static_cast<memory::dim>(rows), weights_md, dst)))
        .first->second;
  }

  const Tile& tile(std::size_t rows) const {
    auto it = tiles.find(rows);
    if (it != tiles.end()) return it->second;
    if (tiles.size() >= kMaxCachedShapes) tiles.clear();
    OneThread one;
    const dnnl::matmul::primitive_desc pd =
        make_pd(static_cast<memory::dim>(rows), weights_md, DataType::f32, /*user_scratchpad=*/true,
                /*fused_epilogue=*/false);
    return tiles.emplace(rows, Tile{dnnl::matmul(pd), pd.scratchpad_desc(), pd.scratchpad_desc().get_size()})
        .first->second;
  }

  // x · Wᵀ in tiles of tile_rows(out_features) rows (int8: raw = s_w · (x ·
  // W_qᵀ); bf16: + bias), the tiles spread over the threads, each tile
  // handed to after(tile, begin, end) by the thread that computed it. x is
  // u8 (int8) or bf16 rows. y [rows, out_features] holds the output, or
  // null: a per-thread tile buffer.
  template <typename After>
  base::Status run_tiles(const void* x, std::size_t rows, float* y, const After& after) const;

  // OK if `rows_of` has room for `rows` rows of `cols` in this layer's
  // precision (and, as an input, fp32 rows were pointed at).
  base::Status check_rows(const ActivationRows& rows_of, std::size_t rows, std::size_t cols, bool input) const;

  base::Status run(const void* x, std::size_t rows, void* y, DataType dst) const {
    if (rows == 0) return {};
    try {
      const dnnl::matmul& matmul = primitive(rows, dst);
      const dnnl::engine& engine = internal::cpu_engine();
      const auto m = static_cast<memory::dim>(rows);
      const auto k = static_cast<memory::dim>(in_features);
      const auto n = static_cast<memory::dim>(out_features);
      memory src({{m, k}, src_type(precision), Tag::ab}, engine, const_cast<void*>(x));
      memory out({{m, n}, dst, Tag::ab}, engine, y);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, out}};
      if (precision != Precision::kInt8 && !bias.empty()) {
        args.emplace(DNNL_ARG_BIAS, memory({{1, n}, DataType::f32, Tag::ab}, engine, const_cast<float*>(bias.data())));
      }
      dnnl::stream& stream = internal::thread_stream();
      matmul.execute(stream, args);
      stream.wait();
    } catch (const dnnl::error& e) {
      return base::internal_error("oneDNN " + std::string(precision_name(precision)) + " matmul " +
                                  shape_string(rows, in_features, out_features) + ": " + e.what());
    }
    return {};
  }
};

template <typename After>
base::Status Linear::Impl::run_tiles(const void* x, std::size_t rows, float* y, const After& after) const {
  if (rows == 0) return {};
  const std::size_t k = in_features, n = out_features;
  const std::size_t x_bytes = precision == Precision::kInt8 ? 1 : sizeof(Bf16);
  const std::size_t per_tile = tile_rows(n);
  const std::size_t count = (rows + per_tile - 1) / per_tile;
  // Primitives first, on this thread (the caches are not shared safely).
  const Tile* full = nullptr;
  const Tile* last = nullptr;
  try {
    if (rows >= per_tile) full = &tile(per_tile);
    if (rows % per_tile != 0) last = &tile(rows % per_tile);
  } catch (const dnnl::error& e) {
    return base::internal_error("oneDNN " + std::string(precision_name(precision)) + " matmul tile of " +
                                shape_string(rows, in_features, out_features) + ": " + e.what());
  }
  std::string error;
  const auto tasks = static_cast<std::int64_t>(count);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::size_t begin = static_cast<std::size_t>(t) * per_tile;
    const std::size_t m = std::min(per_tile, rows - begin);
    const Tile& p = m == per_tile ? *full : *last;
    TileBuffers& buffers = tile_buffers();
    float* out = y;
    if (out != nullptr) {
      out += begin * n;
    } else {
      if (buffers.output.size() < per_tile * n) buffers.output.resize(per_tile * n);
      out = buffers.output.data();
    }
    if (buffers.scratchpad.size() < p.scratchpad_bytes) buffers.scratchpad.resize(p.scratchpad_bytes);
    bool ok = true;
    try {
      const dnnl::engine& engine = internal::cpu_engine();
      const auto md = static_cast<memory::dim>(m);
      memory src({{md, static_cast<memory::dim>(k)}, src_type(precision), Tag::ab}, engine,
                 const_cast<char*>(static_cast<const char*>(x) + begin * k * x_bytes));
      memory dst({{md, static_cast<memory::dim>(n)}, DataType::f32, Tag::ab}, engine, out);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
      if (precision != Precision::kInt8 && !bias.empty()) {
        args.emplace(DNNL_ARG_BIAS, memory({{1, static_cast<memory::dim>(n)}, DataType::f32, Tag::ab}, engine,
                                           const_cast<float*>(bias.data())));
      }
      if (p.scratchpad_bytes > 0) {
        args.emplace(DNNL_ARG_SCRATCHPAD, memory(p.scratchpad_md, engine, buffers.scratchpad.data()));
      }
      dnnl::stream& stream = internal::thread_stream();
      p.matmul.execute(stream, args);
      stream.wait();
    } catch (const dnnl::error& e) {
      ok = false;
#pragma omp critical(winnow_linear_tiles)
      if (error.empty()) error = e.what();
    }
    if (ok) after(out, begin, begin + m);
  }
  if (!error.empty()) {
    return base::internal_error("oneDNN " + std::string(precision_name(precision)) + " matmul tiles of " +
                                shape_string(rows, in_features, out_features) + ": " + error);
  }
  return {};
}

Linear::Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;
Linear::~Linear() = default;

base::Result<Linear> Linear::create(std::span<const float> weight, std::span<const float> bias,
                                    std::size_t out_features, std::size_t in_features, Epilogue epilogue,
                                    Precision precision) {
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
  if (precision == Precision::kAuto) return base::invalid_argument("Linear: precision auto must be resolved first");
  WINNOW_RETURN_IF_ERROR(check_precision_supported(precision));

  Linear linear;
  linear.impl_ = std::make_unique<Impl>();
  Impl& impl = *linear.impl_;
  impl.in_features = in_features;
  impl.out_features = out_features;
  impl.epilogue = epilogue;
  impl.precision = precision;
  impl.bias.assign(bias.begin(), bias.end());
  const std::size_t k = in_features, n = out_features;

  // The K x N operand, row-major, in the precision's type.
  std::vector<float> f32;
  std::vector<Bf16> b16;
  std::vector<std::int8_t> s8;
  const void* plain = nullptr;
  switch (precision) {
    case Precision::kFp32:
      f32.resize(k * n);
      for (std::size_t o = 0; o < n; ++o) {
        for (std::size_t i = 0; i < k; ++i) f32[i * n + o] = weight[o * k + i];
      }
      plain = f32.data();
      break;
    case Precision::kBf16:
      b16.resize(k * n);
      for (std::size_t o = 0; o < n; ++o) {
        for (std::size_t i = 0; i < k; ++i) b16[i * n + o] = to_bf16(weight[o * k + i]);
      }
      plain = b16.data();
      break;
    case Precision::kInt8: {
      s8.resize(k * n);
      impl.weight_scale.resize(n);
      impl.column_comp.resize(n);
      for (std::size_t o = 0; o < n; ++o) {
        const float* row = weight.data() + o * k;
        float max_abs = 0.0f;
        for (std::size_t i = 0; i < k; ++i) max_abs = std::max(max_abs, std::abs(row[i]));
        const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
        std::int64_t sum = 0;
        for (std::size_t i = 0; i < k; ++i) {
          const auto q = static_cast<std::int8_t>(std::clamp(std::nearbyint(row[i] / scale), -127.0f, 127.0f));
          s8[i * n + o] = q;
          sum += q;
        }
        impl.weight_scale[o] = scale;
        impl.column_comp[o] = scale * static_cast<float>(sum);
      }
      plain = s8.data();
      break;
    }
    case Precision::kAuto:
      break;
  }
  try {
    const dnnl::engine& engine = internal::cpu_engine();
    const auto kd = static_cast<memory::dim>(k), nd = static_cast<memory::dim>(n);
    const DataType wt = weight_type(precision);
    const DataType dst = DataType::f32;
    impl.weights_md = impl.make_pd(kLayoutRows, memory::desc({kd, nd}, wt, Tag::any), dst).weights_desc();
    memory source({{kd, nd}, wt, Tag::ab}, engine, const_cast<void*>(plain));
    impl.weights_buffer.reset(base::allocate_huge(impl.weights_md.get_size()));
    impl.weights = memory(impl.weights_md, engine, impl.weights_buffer.get());
    dnnl::stream& stream = internal::thread_stream();
    dnnl::reorder(source, impl.weights).execute(stream, source, impl.weights);
    stream.wait();
  } catch (const dnnl::error& e) {
    return base::internal_error("oneDNN: preparing " + std::string(precision_name(precision)) + " weights [" +
                                std::to_string(n) + ", " + std::to_string(k) + "]: " + e.what());
  }
  return linear;
}

base::Status Linear::forward(const float* x, std::size_t rows, float* y) const {
  if (rows == 0) return {};
  if (!impl_) return base::failed_precondition("Linear::forward on an empty Linear");
  const Impl& impl = *impl_;
  const std::size_t k = impl.in_features, n = impl.out_features;
  switch (impl.precision) {
    case Precision::kFp32:
      return impl.run(x, rows, y, DataType::f32);
    case Precision::kBf16:
      if (impl.x_bf16.size() < rows * k) impl.x_bf16.resize(rows * k);
      convert_to_bf16(x, rows * k, impl.x_bf16.data());
      return impl.run(impl.x_bf16.data(), rows, y, DataType::f32);
    case Precision::kInt8: {
      if (impl.x_q.size() < rows * k) impl.x_q.resize(rows * k);
      if (impl.x_scale.size() < rows) {
        impl.x_scale.resize(rows);
        impl.x_zero.resize(rows);
      }
      quantize_rows(x, rows, k, impl.x_q.data(), impl.x_scale.data(), impl.x_zero.data());
      WINNOW_RETURN_IF_ERROR(impl.run(impl.x_q.data(), rows, y, DataType::f32));
      affine_rows(y, affine({impl.x_q.data(), impl.x_scale.data(), impl.x_zero.data()}), rows, n);
      apply_epilogue(y, rows * n, impl.epilogue);
      return {};
    }
    case Precision::kAuto:
      break;
  }
  return base::internal_error("Linear: unresolved precision");
}

base::Status Linear::Impl::check_rows(const ActivationRows& rows_of, std::size_t rows, std::size_t cols,
                                      bool input) const {
  const char* role = input ? "input" : "output";
  if (rows_of.precision() != precision) {
    return base::failed_precondition("Linear: " + std::string(precision_name(rows_of.precision())) + " " + role +
                                     " rows for a " + std::string(precision_name(precision)) + " layer");
  }
  if (rows_of.cols() != cols || rows_of.rows() < rows) {
    return base::invalid_argument("Linear " + shape_string(rows, in_features, out_features) + ": " + role +
                                  " rows hold room for [" + std::to_string(rows_of.rows()) + " x " +
                                  std::to_string(rows_of.cols()) + "]");
  }
  if (input && rows > 0 && precision == Precision::kFp32 && rows_of.fp32() == nullptr) {
    return base::failed_precondition("Linear: fp32 input rows read before they were written");
  }
  return {};
}

base::Status Linear::forward(const ActivationRows& x, std::size_t rows, float* y, RowAffine& rest) const {
  rest = {};
  if (!impl_) return base::failed_precondition("Linear::forward on an empty Linear");
  const Impl& impl = *impl_;
  WINNOW_RETURN_IF_ERROR(impl.check_rows(x, rows, impl.in_features, /*input=*/true));
  switch (impl.precision) {
    case Precision::kFp32:
      return impl.run(x.fp32(), rows, y, DataType::f32);
    case Precision::kBf16:
      return impl.run(x.bf16(), rows, y, DataType::f32);
    case Precision::kInt8:
      if (impl.epilogue != Epilogue::kNone) {
        return base::failed_precondition("Linear: an int8 layer with an epilogue writes ActivationRows, not fp32");
      }
      rest = affine(x.quantized());
      return impl.run(x.quantized().values, rows, y, DataType::f32);
    case Precision::kAuto:
      break;
  }
  return base::internal_error("Linear: unresolved precision");
}

base::Status Linear::forward(const ActivationRows& x, std::size_t rows, float* y, const TilePass& pass) const {
  if (!impl_) return base::failed_precondition("Linear::forward on an empty Linear");
  const Impl& impl = *impl_;
  WINNOW_RETURN_IF_ERROR(impl.check_rows(x, rows, impl.in_features, /*input=*/true));
  if (rows == 0) return {};
  const std::size_t n = impl.out_features;
  if (impl.precision == Precision::kInt8) {
    if (impl.epilogue != Epilogue::kNone) {
      return base::failed_precondition("Linear: an int8 layer with an epilogue writes ActivationRows, not fp32");
    }
    const RowAffine rest = affine(x.quantized());
    return impl.run_tiles(x.quantized().values, rows, y, [&](float* tile, std::size_t begin, std::size_t end) {
      pass(tile, internal::affine_of_row(rest, begin), begin, end);
    });
  }
  if (impl.precision == Precision::kBf16 && impl.epilogue == Epilogue::kNone &&
      impl.in_features * impl.out_features * sizeof(Bf16) <= kMaxTiledBf16WeightBytes) {
    return impl.run_tiles(x.bf16(), rows, y, [&](float* tile, std::size_t begin, std::size_t end) {
      pass(tile, RowAffine{}, begin, end);
    });
  }
  if (y == nullptr) {
    base::HugeVector<float>& output = pass_output();
    if (output.size() < rows * n) output.resize(rows * n);
    y = output.data();
  }
  RowAffine rest;
  WINNOW_RETURN_IF_ERROR(forward(x, rows, y, rest));
  const auto chunks = static_cast<std::int64_t>((rows + internal::kRowChunk - 1) / internal::kRowChunk);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * internal::kRowChunk;
    const std::size_t end = std::min<std::size_t>(rows, begin + internal::kRowChunk);
    pass(y + begin * n, rest, begin, end);
  }
  return {};
}

base::Status Linear::forward(const ActivationRows& x, std::size_t rows, ActivationRows& y) const {
  if (!impl_) return base::failed_precondition("Linear::forward on an empty Linear");
  const Impl& impl = *impl_;
  WINNOW_RETURN_IF_ERROR(impl.check_rows(x, rows, impl.in_features, /*input=*/true));
  WINNOW_RETURN_IF_ERROR(impl.check_rows(y, rows, impl.out_features, /*input=*/false));
  switch (impl.precision) {
    case Precision::kFp32: {
      WINNOW_RETURN_IF_ERROR(impl.run(x.fp32(), rows, y.targets().fp32, DataType::f32));
      y.complete(rows);
      return {};
    }
    case Precision::kBf16: {
      if (impl.epilogue != Epilogue::kGeluErf) return impl.run(x.bf16(), rows, y.targets().bf16, DataType::bf16);
      // GELU on each fp32 tile while it is in cache, into the bf16 rows:
      // cheaper than oneDNN's erf post-op (MiniLM long bf16: ffn_in ~610 ms
      // with it, ~505 without any GELU, ~565 with this one).
      Bf16* out = y.targets().bf16;
      const std::size_t n = impl.out_features;
      return impl.run_tiles(x.bf16(), rows, nullptr, [&](float* tile, std::size_t begin, std::size_t end) {
        gelu_to_bf16(tile, (end - begin) * n, out + begin * n);
      });
    }
    case Precision::kInt8: {
      const std::size_t n = impl.out_features;
      const RowAffine rest = affine(x.quantized());
      const ActivationRows::Copies q = y.copies_for(nullptr);  // int8 keeps no fp32 rows
      const Epilogue epilogue = impl.epilogue;
      return impl.run_tiles(x.quantized().values, rows, nullptr,
                            [&](float* raw, std::size_t begin, std::size_t end) {
                              const RowAffine tile_rest = internal::affine_of_row(rest, begin);
                              const ActivationRows::Copies at = q.at(begin, n);
                              if (epilogue == Epilogue::kGeluErf) {
                                affine_gelu_quantize_tile(raw, tile_rest, end - begin, n, at.q, at.scale, at.zero);
                                return;
                              }
                              // Inside the tiles' parallel region, affine_rows runs on this thread alone.
                              affine_rows(raw, tile_rest, end - begin, n);
                              for (std::size_t r = 0; r < end - begin; ++r) {
                                float* row = raw + r * n;
                                if (epilogue == Epilogue::kTanh) {
                                  for (std::size_t c = 0; c < n; ++c) row[c] = std::tanh(row[c]);
                                }
                                quantize_row(row, n, at.q + r * n, at.scale + r, at.zero + r);
                              }
                            });
    }
    case Precision::kAuto:
      break;
  }
  return base::internal_error("Linear: unresolved precision");
}

base::Status Linear::forward(const Bf16* x, std::size_t rows, float* y) const {
  if (!impl_ || impl_->precision != Precision::kBf16) {
    return base::failed_precondition("Linear::forward(bf16) on a Linear that is not bf16");
  }
  return impl_->run(x, rows, y, DataType::f32);
}

base::Status Linear::forward(const Bf16* x, std::size_t rows, Bf16* y) const {
  if (!impl_ || impl_->precision != Precision::kBf16) {
    return base::failed_precondition("Linear::forward(bf16) on a Linear that is not bf16");
  }
  return impl_->run(x, rows, y, DataType::bf16);
}

base::Status Linear::forward_raw(const std::uint8_t* x, std::size_t rows, float* raw) const {
  if (!impl_ || impl_->precision != Precision::kInt8) {
    return base::failed_precondition("Linear::forward_raw on a Linear that is not int8");
  }
  return impl_->run(x, rows, raw, DataType::f32);
}

RowAffine Linear::affine(const QuantizedRows& x) const {
  RowAffine a;
  if (!impl_) return a;
  a.bias = impl_->bias.empty() ? nullptr : impl_->bias.data();
  if (impl_->precision == Precision::kInt8) {
    a.row_scale = x.scale;
    a.row_zero = x.zero;
    a.column_comp = impl_->column_comp.data();
  }
  return a;
}

std::size_t Linear::in_features() const { return impl_ ? impl_->in_features : 0; }
std::size_t Linear::out_features() const { return impl_ ? impl_->out_features : 0; }
Precision Linear::precision() const { return impl_ ? impl_->precision : Precision::kFp32; }
Epilogue Linear::epilogue() const { return impl_ ? impl_->epilogue : Epilogue::kNone; }
const float* Linear::bias() const { return impl_ && !impl_->bias.empty() ? impl_->bias.data() : nullptr; }

std::size_t Linear::weight_bytes() const {
  if (!impl_) return 0;
  return impl_->weights_md.get_size() +
         (impl_->bias.size() + impl_->weight_scale.size() + impl_->column_comp.size()) * sizeof(float);
}

base::Result<std::string> Linear::implementation(std::size_t rows) const {
  if (!impl_) return base::failed_precondition("Linear::implementation on an empty Linear");
  try {
    return internal::primitive_implementation(impl_->primitive(std::max<std::size_t>(rows, 1), DataType::f32));
  } catch (const dnnl::error& e) {
    return base::internal_error(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace winnow::kernels
