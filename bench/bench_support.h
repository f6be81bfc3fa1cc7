// What `winnow bench` measures with: the shared/bench workloads, process
// statistics, the GEMM ceiling, and ranking agreement between precisions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "kernels/precision.h"
#include "model/config.h"
#include "model/token_batch.h"

namespace winnow::bench {

// One (query, document) pair as token ids, built as shared/bench/ort_bench.mjs
// builds it: BERT [CLS] q [SEP] d [SEP] (types 0 then 1), XLM-R
// <s> q </s></s> d </s> (types 0), the document's tail cut to max_pair_tokens.
struct TokenPair {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> types;
};

struct Workload {
  std::string name;                 // "short", "long"
  std::vector<std::int32_t> query;  // the workload's query ids
  std::vector<std::vector<std::int32_t>> docs;
  std::int32_t min_id = 1000, max_id = 30000;  // token_id_range
  std::size_t max_pair_tokens = 512;
  nlohmann::json templates;         // pair_templates
};

// Reads `name` from a workloads.json; errors name the file and what is missing.
base::Result<Workload> read_workload(const std::filesystem::path& file, const std::string& name);

// The pairs of `query` with every document of the workload, for a BERT
// ("bert") or XLM-R ("xlm-roberta", "jina-flash") layout.
std::vector<TokenPair> build_pairs(const Workload& workload, const std::vector<std::int32_t>& query,
                                   const std::string& layout);

// A decoder reranker's prompt around a workload's ids, Qwen3-Reranker's card
// template: prefix ("<|im_start|>system\n…<|im_start|>user\n"), before_query
// ("<Instruct>: {default instruction}\n<Query>: "), the query's ids,
// before_document ("\n<Document>: "), the document's ids, suffix
// ("<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n").
struct DecoderTemplate {
  std::vector<std::int32_t> prefix, before_query, before_document, suffix;
  std::string source;  // "tokenizer" or "fixed"
};

// The template's ids from DIR's tokenizer (checked against inference::RerankPrompt,
// which the Scorer uses), else fixed ids of the lengths the card's texts have
// with the test fixture's Qwen tokenizer (63, 22, 5, 13), drawn from the
// workload's id range.
base::Result<DecoderTemplate> decoder_template(const std::filesystem::path& model_dir, const Workload& workload);

// The prompts of `query` with every document: the document's tail is cut so a
// prompt keeps within max_pair_tokens, as build_pairs cuts pairs. Types 0.
std::vector<TokenPair> build_decoder_prompts(const Workload& workload, const std::vector<std::int32_t>& query,
                                             const DecoderTemplate& tpl);

// `count` queries of the workload's query length, random ids in its range
// (deterministic); query 0 is the workload's own.
std::vector<std::vector<std::int32_t>> agreement_queries(const Workload& workload, std::size_t count);

// FLOPs of scoring `pairs` as shared/bench counts them: Σ 2·P·L + 4·L²·hidden·layers.
double count_gflop(const std::vector<TokenPair>& pairs, std::size_t layer_parameters, std::size_t hidden,
             std::size_t layers);

// FLOPs of the modern families (ModernBERT, Qwen3), as bench/ort_modern.mjs
// counts them, per sequence of L tokens:
//   layers · (2·W·L + 4·L²·A) + head
// W = one layer's matrix weights (ModernBERT: Wqkv 3·H² + Wo H² + GeGLU Wi
// 2·H·I + Wo H·I; Qwen3: q and o 2·H·(heads·D), k and v 2·H·(kv_heads·D),
// SwiGLU 3·H·I), A = heads·head_dim (attention counted dense, as ONNX Runtime
// computes it, masked parts included), head = ModernBERT's dense and
// classifier 2·H·H + 2·H·labels, Qwen3's two lm_head rows 2·H·2.
struct FlopModel {
  double layer_weights = 0, attention_width = 0, layers = 0, head = 0;
};
// InvalidArgument for a family other than ModernBERT or Qwen3.
base::Result<FlopModel> flop_model(const model::ModelConfig& config);
double count_gflop(const std::vector<TokenPair>& pairs, const FlopModel& model);

// Median as ort_bench.mjs takes it (mean of the middle two for even counts).
double median(std::vector<double> values);

// VmHWM of this process in MiB; reset_peak_rss() restarts it (Linux ≥ 4.0),
// so each precision's peak can be measured in one process.
double peak_rss_mb();
void reset_peak_rss();

// Tracks what other processes take of the CPUs over an interval:
// (machine busy time − this process's time) / wall time, as ort_bench.mjs's other_load.
class OtherLoad {
 public:
  OtherLoad();
  double value() const;  // since construction

 private:
  double machine_ = 0, self_ = 0, wall_ = 0;
};

// One GEMM shape's measured rate.
struct GemmRate {
  std::size_t rows = 0, in = 0, out = 0;
  std::string implementation;  // oneDNN's
  double gflops = 0;           // median over the runs
};

// The GEMM ceiling of `precision` at a transformer layer's four shapes
// (hidden → 3·hidden, hidden → hidden, hidden → intermediate, intermediate →
// hidden) with `rows` rows, through kernels::Linear on inputs already in the
// precision's type (no conversion timed). `total` is the layer's rate: all
// FLOPs over all median times.
struct GemmCeiling {
  std::vector<GemmRate> shapes;
  double total = 0;
};
// `ffn_in_out` is the intermediate projection's output width: intermediate,
// or 2 · intermediate for a gated FFN (ModernBERT's GeGLU Wi).
base::Result<GemmCeiling> measure_gemm(base::Precision precision, std::size_t hidden, std::size_t intermediate,
                                       std::size_t rows, int runs, std::size_t ffn_in_out = 0);

}  // namespace winnow::bench
