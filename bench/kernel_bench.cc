// Times the hand-written kernels against what they replace, at the shapes the
// bench models use, so that each one is kept only where it wins:
//   attention: fp32 AVX-512 / AVX2 kernel and the bf16 kernel vs oneDNN's
//   batched matmuls + softmax per sequence; also with ModernBERT's sliding
//   window and Qwen3's causal mask, where only the keys a query sees count.
//   projection: an output projection with its residual LayerNorm run on the
//   GEMM's output (Linear's TilePass form), bf16 and int8.
//
//   winnow_kernel_bench [--threads 2] [--runs 7] [--filter "fp32 jina-v2 short"]
//   WINNOW_CPU=avx2 winnow_kernel_bench    # the AVX2 kernel (and oneDNN capped at AVX2)
// One JSON line per (kernel, shape).
#include <omp.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <span>
#include <cstdio>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cpu_features.h"
#include "base/stopwatch.h"
#include "kernels/activation_rows.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/layer_norm.h"
#include "kernels/precision.h"

namespace {

using winnow::kernels::Attention;
using winnow::kernels::AttentionKernel;
using winnow::kernels::AttentionRequest;

struct Shape {
  const char* model;
  const char* workload;
  std::size_t heads, head_dim;
  std::size_t min_len, max_len;  // pair lengths, spread evenly over `sequences`
  std::size_t sequences = 16;
  std::size_t window = 0;        // AttentionRequest::window
  bool causal = false;
};

// Query-key pairs a sequence of `len` tokens computes under the shape's mask.
double visible_pairs(const Shape& shape, std::size_t len) {
  double pairs = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const std::size_t lo = shape.window != 0 && i > shape.window ? i - shape.window : 0;
    std::size_t hi = len;
    if (shape.window != 0) hi = std::min(hi, i + shape.window + 1);
    if (shape.causal) hi = std::min(hi, i + 1);
    pairs += static_cast<double>(hi - lo);
  }
  return pairs;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// A layer's projections after attention as the encoder runs them: the
// output projections with their residual step (add the state, LayerNorm,
// write the state and the next GEMM's input: Linear::forward with a
// TilePass), and the FFN's input projection with its GELU into the next
// GEMM's input rows; MiniLM's and jina's shapes on 8,192 rows, in bf16 and
// int8. Returns false on a failure.
bool time_projections(int threads, int runs, const std::string& filter) {
  using winnow::base::Precision;
  using winnow::kernels::ActivationRows;
  using winnow::kernels::Linear;
  using winnow::kernels::RowAffine;
  struct Projection {
    const char* model;
    const char* layer;
    std::size_t out, in;
    bool gelu = false;  // the FFN's input projection: GELU, into the next GEMM's input rows, no residual
  };
  const Projection projections[] = {{"minilm-l6", "attention_out", 384, 384},  {"minilm-l6", "ffn_in", 1536, 384, true},
                                    {"minilm-l6", "ffn_out", 384, 1536},       {"jina-v2", "attention_out", 768, 768},
                                    {"jina-v2", "ffn_in", 3072, 768, true},    {"jina-v2", "ffn_out", 768, 3072}};
  constexpr std::size_t kRows = 8192;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const Projection& shape : projections) {
    for (Precision precision : {Precision::kBf16, Precision::kInt8}) {
      if (!winnow::kernels::check_precision_supported(precision).ok()) continue;
      const std::string label = std::string("projection ") + std::string(winnow::base::precision_name(precision)) +
                                " " + shape.model + " " + shape.layer;
      if (!filter.empty() && label.find(filter) == std::string::npos) continue;
      std::vector<float> w(shape.out * shape.in), b(shape.out), x(kRows * shape.in), state(kRows * shape.out);
      std::vector<float> gamma(shape.out, 1.0f), beta(shape.out, 0.0f);
      for (auto* v : {&w, &b, &x, &state}) {
        for (auto& e : *v) e = dist(rng) * (v == &w ? 0.05f : 1.0f);
      }
      auto linear = Linear::create(w, b, shape.out, shape.in,
                                   shape.gelu ? winnow::kernels::Epilogue::kGeluErf : winnow::kernels::Epilogue::kNone,
                                   precision);
      if (!linear.ok()) {
        std::cerr << linear.status().to_string() << "\n";
        return false;
      }
      ActivationRows input, next;
      input.reserve(precision, kRows, shape.in);
      input.assign(x.data(), kRows);
      next.reserve(precision, kRows, shape.out);
      const ActivationRows::Copies copies = next.copies_for(state.data());
      std::vector<double> ms;
      for (int r = 0; r < runs + 1; ++r) {
        winnow::base::Stopwatch clock;
        auto status = shape.gelu
                          ? linear->forward(input, kRows, next)
                          : linear->forward(input, kRows, nullptr,
                                            [&](float* y, const RowAffine& rest, std::size_t begin, std::size_t end) {
                                              winnow::kernels::add_layer_norm_tile(
                                                  y, rest, state.data(), begin, end, shape.out, gamma.data(),
                                                  beta.data(), 1e-12f, state.data(), copies);
                                            });
        if (!status.ok()) {
          std::cerr << status.to_string() << "\n";
          return false;
        }
        if (r > 0) ms.push_back(clock.elapsed_ms());
      }
      const double m = median(ms);
      const double flop = 2.0 * kRows * static_cast<double>(shape.out * shape.in);
      std::cout << nlohmann::json({{"kernel", shape.gelu ? "projection + GELU" : "projection + residual LayerNorm"},
                                   {"precision", std::string(winnow::base::precision_name(precision))},
                                   {"model", shape.model},
                                   {"layer", shape.layer},
                                   {"rows", kRows},
                                   {"median_ms", std::round(m * 1000) / 1000},
                                   {"gflops", std::round(flop / (m / 1000) / 1e9 * 10) / 10},
                                   {"threads", threads}})
                       .dump()
                << "\n";
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, runs = 7;
  std::string filter;  // only lines whose "impl model workload" contains it
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--threads") threads = std::stoi(argv[i + 1]);
    else if (arg == "--runs") runs = std::stoi(argv[i + 1]);
    else if (arg == "--filter") filter = argv[i + 1];
  }
  omp_set_num_threads(threads);
  const Shape shapes[] = {
      {"minilm-l6", "short", 12, 32, 59, 139},  {"minilm-l6", "long", 12, 32, 219, 512},
      {"jina-v2", "short", 12, 64, 60, 140},    {"jina-v2", "long", 12, 64, 220, 512},
      {"bge-m3", "short", 16, 64, 60, 140},
      // ModernBERT's local layers (window 64 each side) and Qwen3-0.6B's
      // causal self-attention (its 8 KV heads expanded to the 16 query
      // heads by grouped_qkv): about 2k tokens per call.
      {"modernbert", "local-128", 12, 64, 128, 128, 16, 64},
      {"modernbert", "local-256", 12, 64, 256, 256, 8, 64},
      {"modernbert", "local-512", 12, 64, 512, 512, 4, 64},
      {"qwen3-0.6b", "causal-128", 16, 128, 128, 128, 16, 0, true},
      {"qwen3-0.6b", "causal-512", 16, 128, 512, 512, 4, 0, true},
  };
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const Shape& shape : shapes) {
    const std::size_t hidden = shape.heads * shape.head_dim;
    std::vector<std::int32_t> offsets{0};
    double flop = 0;
    for (std::size_t s = 0; s < shape.sequences; ++s) {
      const std::size_t len = shape.min_len + (shape.max_len - shape.min_len) * s / (shape.sequences - 1);
      offsets.push_back(offsets.back() + static_cast<std::int32_t>(len));
      flop += 4.0 * visible_pairs(shape, len) * static_cast<double>(hidden);  // Q·Kᵀ and P·V
    }
    const auto tokens = static_cast<std::size_t>(offsets.back());
    std::vector<float> qkv_storage;
    float* qkv_ptr = nullptr;
    const std::size_t qkv_bytes = (tokens * 3 * hidden * sizeof(float) + (2u << 20) - 1) / (2u << 20) * (2u << 20);
    if (getenv("HUGE")) {
      qkv_ptr = static_cast<float*>(std::aligned_alloc(2u << 20, qkv_bytes));
      madvise(qkv_ptr, qkv_bytes, MADV_HUGEPAGE);
    } else {
      qkv_storage.resize(tokens * 3 * hidden);
      qkv_ptr = qkv_storage.data();
    }
    std::span<float> qkv(qkv_ptr, tokens * 3 * hidden);
    std::vector<float> out(tokens * hidden);
    std::vector<winnow::kernels::Bf16> out_bf16(tokens * hidden);
    for (auto& v : qkv) v = dist(rng);
    struct Variant {
      const char* name;
      AttentionKernel kernel;
      bool bf16;
      bool bf16_context;  // the context written in bf16 only (as a bf16 model's layers do)
    };
    for (const Variant& v : {Variant{"onednn", AttentionKernel::kOneDnn, false, false},
                             Variant{"hand-written fp32", AttentionKernel::kAuto, false, false},
                             Variant{"hand-written fp32 to bf16", AttentionKernel::kAuto, false, true},
                             Variant{"hand-written bf16", AttentionKernel::kAuto, true, true}}) {
      if (v.bf16_context && !winnow::base::cpu_features().avx512_bf16) continue;
      const std::string label = std::string(v.name) + " " + shape.model + " " + shape.workload;
      if (!filter.empty() && label.find(filter) == std::string::npos) continue;
      auto attention = Attention::create(shape.heads, shape.head_dim, v.kernel);
      if (!attention.ok()) return 1;
      std::vector<float> scratch;
      AttentionRequest request;
      request.qkv = qkv.data();
      request.offsets = offsets;
      request.bf16 = v.bf16;
      request.out = v.bf16_context ? nullptr : out.data();
      request.out_bf16 = v.bf16_context ? out_bf16.data() : nullptr;
      request.scratch = &scratch;
      request.window = shape.window;
      request.causal = shape.causal;
      std::vector<double> ms;
      for (int r = 0; r < runs + 1; ++r) {
        winnow::base::Stopwatch clock;
        auto status = attention->forward(request);
        if (!status.ok()) {
          std::cerr << status.to_string() << "\n";
          return 1;
        }
        if (r > 0) ms.push_back(clock.elapsed_ms());
      }
      const double m = median(ms);
      std::cout << nlohmann::json({{"kernel", "attention"},
                                   {"impl", std::string(v.name) + " (" + attention->kernel_name() + ")"},
                                   {"model", shape.model},
                                   {"workload", shape.workload},
                                   {"heads", shape.heads},
                                   {"head_dim", shape.head_dim},
                                   {"sequences", shape.sequences},
                                   {"window", shape.window},
                                   {"causal", shape.causal},
                                   {"tokens", tokens},
                                   {"median_ms", std::round(m * 1000) / 1000},
                                   {"gflops", std::round(flop / (m / 1000) / 1e9 * 10) / 10},
                                   {"threads", threads}})
                       .dump()
                << "\n";
    }
  }
  if (!time_projections(threads, runs, filter)) return 1;
  return 0;
}
