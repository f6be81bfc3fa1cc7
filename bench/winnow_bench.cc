// winnow-bench: the cross-encoder on shared/bench workloads, side by side
// with shared/bench/ort_bench.mjs (the same pairs, the same JSON fields), the
// GEMM ceiling per precision, ranking agreement of bf16 / int8 with fp32, and
// the Scorer and the Embedder under concurrent callers.
//
//   winnow-bench --model DIR --workload FILE --name short|long [--precision P|all]
//                [--batch-tokens N] [--runs 5] [--warmup 1] [--threads 2] [--json]
//   winnow-bench --gemm [--model DIR] [--threads 2]
//   winnow-bench --model DIR --concurrency 8 [--requests 6] [--docs 20] [--embedder]
//   winnow-bench --model DIR --long-documents 2000 [--docs 100] [--precision P|all]
//   winnow-bench --model DIR --scaling 10,100,500,1000 [--name short] [--precision P|all]
//   winnow-bench --model DIR --workload FILE --name short --dump-pairs FILE [--runs 0]
//                (the pairs / decoder prompts timed, as JSON, for bench/ort_modern.mjs)
//   winnow-bench --model DIR --prefix-reuse [--docs 100] [--precision P|all]   (decoder rerankers)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <tuple>

#include <CLI/CLI.hpp>

#include "base/cpu_features.h"
#include "base/stopwatch.h"
#include "bench_support.h"
#include "eval/agreement.h"
#include "inference/batch_planner.h"
#include "inference/embedder.h"
#include "inference/rerank_prompt.h"
#include "inference/scorer.h"
#include "kernels/precision.h"
#include "model/config.h"
#include "model/cross_encoder.h"
#include "model/model_description.h"
#include "text/tokenizer.h"

namespace winnow::bench {
namespace {

constexpr int kExitFailure = 1;

void print_error(std::string_view what, const base::Status& status) {
  std::cerr << "winnow-bench " << what << ": " << status.to_string() << "\n";
}

struct BenchFlags {
  std::string model;
  std::string workload = "../shared/bench/workloads.json";
  std::string name = "short";
  std::string precision = "fp32";
  std::string attention = "auto";
  std::size_t batch_tokens = inference::BatchLimits{}.token_budget;
  int runs = 5;
  int warmup = 1;
  int threads = 2;
  bool json = false;
  bool profile = false;
  bool gemm = false;
  std::size_t gemm_rows = 4096;
  std::size_t agreement_queries = 10;
  std::string agreement_out;  // JSON file: the queries and every precision's scores
  int concurrency = 0;
  int requests = 6;
  std::size_t docs = 20;
  bool embedder = false;
  std::size_t long_documents = 0;  // tokens per document: chunked scoring against truncation
  std::string corpus = "tests/data/scifact/corpus.jsonl";  // BEIR corpus whose texts make the long documents
  std::vector<std::size_t> scaling;  // documents per request: time per document at each count
  bool prefix_reuse = false;  // decoder rerankers: time a request's documents with and without prefix reuse
  std::string dump_pairs;     // JSON file: the workload's pairs as timed (ids), for bench/ort_modern.mjs
};

double round_to(double v, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

void emit(const nlohmann::json& line, bool json) {
  if (json) {
    std::cout << line.dump() << "\n" << std::flush;
    return;
  }
  // Human form: key=value, one configuration a line.
  std::string out;
  for (const auto& [key, value] : line.items()) out += (out.empty() ? "" : " ") + key + "=" + value.dump();
  std::cout << out << "\n" << std::flush;
}

// The precisions a --precision value names, resolved for this CPU.
base::Result<std::vector<base::Precision>> precisions_of(const std::string& value) {
  std::vector<base::Precision> out;
  if (value == "all") {
    out.push_back(base::Precision::kFp32);
    for (base::Precision p : {base::Precision::kBf16, base::Precision::kInt8}) {
      if (kernels::check_precision_supported(p).ok()) out.push_back(p);
    }
    return out;
  }
  WINNOW_ASSIGN_OR_RETURN(base::Precision p, base::parse_precision(value));
  WINNOW_ASSIGN_OR_RETURN(base::Precision resolved, inference::resolve_precision(p));
  out.push_back(resolved);
  return out;
}

// Scores pairs in length-sorted batches under the token budget, as the Scorer
// plans them; scores land in pair order.
class BatchedPairs {
 public:
  BatchedPairs(const std::vector<TokenPair>& pairs, std::size_t budget) {
    std::vector<std::size_t> lengths;
    for (const auto& p : pairs) lengths.push_back(p.ids.size());
    for (const auto& positions : inference::plan_batches(lengths, {.token_budget = budget})) {
      model::TokenBatch batch;
      for (std::size_t i : positions) batch.add(pairs[i].ids, pairs[i].types);
      batches_.push_back(std::move(batch));
      items_.push_back(positions);
      max_pairs_ = std::max(max_pairs_, positions.size());
    }
    size_ = pairs.size();
  }

  base::Status score(model::CrossEncoder& model, base::Precision precision, std::vector<float>& out) const {
    out.assign(size_, 0.0f);
    for (std::size_t b = 0; b < batches_.size(); ++b) {
      WINNOW_ASSIGN_OR_RETURN(std::vector<float> logits, model.score(batches_[b], precision));
      for (std::size_t k = 0; k < items_[b].size(); ++k) out[items_[b][k]] = logits[k];
    }
    return {};
  }

  std::size_t max_pairs() const { return max_pairs_; }
  std::size_t count() const { return batches_.size(); }

 private:
  std::vector<model::TokenBatch> batches_;
  std::vector<std::vector<std::size_t>> items_;
  std::size_t size_ = 0;
  std::size_t max_pairs_ = 0;
};

nlohmann::json gemm_json(base::Precision precision, const GemmCeiling& ceiling, int threads) {
  nlohmann::json shapes = nlohmann::json::array();
  for (const auto& s : ceiling.shapes) {
    shapes.push_back({{"m", s.rows}, {"k", s.in}, {"n", s.out}, {"gflops", round_to(s.gflops, 1)},
                      {"impl", s.implementation}});
  }
  return {{"engine", "winnow"},        {"bench", "gemm"},
          {"precision", std::string(base::precision_name(precision))},
          {"gflops", round_to(ceiling.total, 1)},
          {"threads", threads},        {"cpu", kernels::cpu_dispatch_name()},
          {"shapes", shapes}};
}

// The intermediate projection's output width (GeGLU, SwiGLU: both halves).
std::size_t ffn_in_out(const model::ModelConfig& config) {
  return config.is_modernbert() || config.is_qwen3() ? 2 * config.intermediate_size : config.intermediate_size;
}

// How the bench loads a model: decoder rerankers need label ids, which only
// change which two lm_head rows are read: the checkpoint tokenizer's "no" and
// "yes" (as the Scorer reads them), else the real Qwen3 tokenizer's where the
// vocabulary has them.
model::LoadOptions bench_load_options(const std::filesystem::path& dir, const model::ModelConfig& config) {
  model::LoadOptions load;
  if (config.is_qwen3()) {
    load.label_token_ids = config.vocab_size > 9693 ? std::array<std::int32_t, 2>{2152, 9693}
                                                    : std::array<std::int32_t, 2>{0, 1};
    if (std::filesystem::exists(dir / "tokenizer.json")) {
      auto tokenizer = text::Tokenizer::load_dir(dir);
      if (tokenizer.ok()) {
        const auto no = tokenizer->token_to_id("no"), yes = tokenizer->token_to_id("yes");
        if (no && yes) load.label_token_ids = std::array<std::int32_t, 2>{*no, *yes};
      }
    }
  }
  return load;
}

// Hidden, intermediate and ffn_in_out sizes of DIR's config.json, else bge-reranker-v2-m3's.
std::tuple<std::size_t, std::size_t, std::size_t> layer_shape(const std::string& model_dir) {
  if (!model_dir.empty()) {
    auto config = model::read_model_config(std::filesystem::path(model_dir) / "config.json");
    if (config.ok()) return {config->hidden_size, config->intermediate_size, ffn_in_out(*config)};
  }
  return {1024, 4096, 4096};
}

int run_gemm(const BenchFlags& flags) {
  auto precisions = precisions_of(flags.precision == "fp32" ? "all" : flags.precision);
  if (!precisions.ok()) {
    print_error("bench", precisions.status());
    return kExitFailure;
  }
  const auto [hidden, intermediate, ffn] = layer_shape(flags.model);
  for (base::Precision p : *precisions) {
    auto ceiling = measure_gemm(p, hidden, intermediate, flags.gemm_rows, std::max(flags.runs, 5), ffn);
    if (!ceiling.ok()) {
      print_error("bench", ceiling.status());
      return kExitFailure;
    }
    emit(gemm_json(p, *ceiling, flags.threads), flags.json);
  }
  return 0;
}

struct PrecisionRun {
  base::Precision precision;
  std::vector<std::vector<float>> scores;  // per agreement query
};

int run_workload(const BenchFlags& flags) {
  auto precisions = precisions_of(flags.precision);
  if (!precisions.ok()) {
    print_error("bench", precisions.status());
    return kExitFailure;
  }
  auto workload = read_workload(flags.workload, flags.name);
  if (!workload.ok()) {
    print_error("bench", workload.status());
    return kExitFailure;
  }
  auto config = model::read_model_config(std::filesystem::path(flags.model) / "config.json");
  if (!config.ok()) {
    print_error("bench", config.status());
    return kExitFailure;
  }
  const std::string model_name = std::filesystem::path(flags.model).lexically_normal().filename().string().empty()
                                     ? std::filesystem::path(flags.model).parent_path().filename().string()
                                     : std::filesystem::path(flags.model).filename().string();
  // The pairs every engine times: BERT / XLM-R / ModernBERT pairs in the
  // layout's shape, a decoder reranker's prompts around the same ids.
  std::string layout = "qwen3";
  if (!config->is_qwen3()) {
    auto described = model::describe_model_dir(flags.model);
    if (!described.ok()) {
      print_error("bench", described.status());
      return kExitFailure;
    }
    layout = described->layout;
  }
  DecoderTemplate prompt_template;
  if (config->is_qwen3()) {
    auto tpl = decoder_template(flags.model, *workload);
    if (!tpl.ok()) {
      print_error("bench", tpl.status());
      return kExitFailure;
    }
    prompt_template = std::move(tpl).value();
  }
  auto make_pairs = [&](const std::vector<std::int32_t>& query) {
    return config->is_qwen3() ? build_decoder_prompts(*workload, query, prompt_template)
                              : build_pairs(*workload, query, layout);
  };
  const bool modern = config->is_modernbert() || config->is_qwen3();
  FlopModel flops;
  if (modern) flops = flop_model(*config).value();
  if (!flags.dump_pairs.empty()) {
    const std::vector<TokenPair> pairs = make_pairs(workload->query);
    nlohmann::json ids = nlohmann::json::array();
    for (const TokenPair& p : pairs) ids.push_back(p.ids);
    nlohmann::json dump = {{"model", model_name},
                           {"workload", flags.name},
                           {"layout", layout},
                           {"decoder_prompt", config->is_qwen3()},
                           {"pairs", ids}};
    if (config->is_qwen3()) dump["template"] = prompt_template.source;
    if (modern) dump["gflop"] = count_gflop(pairs, flops);
    std::ofstream out(flags.dump_pairs);
    out << dump.dump() << "\n";
    if (!out) {
      print_error("bench", base::internal_error(flags.dump_pairs + ": could not write the pairs"));
      return kExitFailure;
    }
    if (flags.runs == 0) return 0;
  }
  // Agreement needs fp32 scores: computed first (and not printed) when fp32
  // was not asked for.
  std::vector<base::Precision> order = *precisions;
  const bool agreement = flags.agreement_queries > 0 &&
                         std::any_of(order.begin(), order.end(), [](auto p) { return p != base::Precision::kFp32; });
  const bool fp32_asked = std::find(order.begin(), order.end(), base::Precision::kFp32) != order.end();
  if (agreement && !fp32_asked) order.insert(order.begin(), base::Precision::kFp32);

  std::vector<PrecisionRun> runs;
  for (base::Precision precision : order) {
    const bool report = precision != base::Precision::kFp32 || fp32_asked;
    // The GEMM ceiling of this precision at this model's shapes, in this run.
    double ceiling = 0;
    if (report) {
      auto measured = measure_gemm(precision, config->hidden_size, config->intermediate_size, flags.gemm_rows, 5,
                                   ffn_in_out(*config));
      if (!measured.ok()) {
        print_error("bench", measured.status());
        return kExitFailure;
      }
      ceiling = measured->total;
    }
    reset_peak_rss();
    model::LoadOptions load = bench_load_options(flags.model, *config);
    load.precisions = {precision};
    load.attention = flags.attention == "onednn" ? kernels::AttentionKernel::kOneDnn : kernels::AttentionKernel::kAuto;
    base::Stopwatch load_clock;
    auto loaded = model::CrossEncoder::load(flags.model, load);
    if (!loaded.ok()) {
      print_error("bench", loaded.status());
      return kExitFailure;
    }
    const double load_ms = load_clock.elapsed_ms();
    std::unique_ptr<model::CrossEncoder> model = std::move(loaded).value();
    const model::ModelInfo& info = model->info();
    const std::vector<TokenPair> pairs = make_pairs(workload->query);
    const BatchedPairs batched(pairs, flags.batch_tokens);
    std::vector<float> scores;
    PrecisionRun run{precision, {}};
    if (report) {
      for (int w = 0; w < flags.warmup; ++w) {
        if (auto s = batched.score(*model, precision, scores); !s.ok()) {
          print_error("bench", s);
          return kExitFailure;
        }
      }
      model::EncoderProfile profile;
      if (flags.profile) model->set_profile(&profile);
      std::vector<double> times;
      const OtherLoad other_load;
      for (int r = 0; r < flags.runs; ++r) {
        base::Stopwatch clock;
        if (auto s = batched.score(*model, precision, scores); !s.ok()) {
          print_error("bench", s);
          return kExitFailure;
        }
        times.push_back(clock.elapsed_ms());
      }
      const double load_other = other_load.value();
      model->set_profile(nullptr);
      const double med = median(times);
      std::size_t tokens = 0;
      for (const auto& p : pairs) tokens += p.ids.size();
      const double gflop = modern ? count_gflop(pairs, flops)
                                  : count_gflop(pairs, info.encoder_layer_parameter_count, info.hidden_size,
                                                info.num_layers);
      const double gflops_eff = gflop / (med / 1000.0);
      nlohmann::json line = {{"engine", "winnow"},
            {"precision", std::string(base::precision_name(precision))},
            {"requested", flags.precision},
            {"model", model_name},
            {"workload", flags.name},
            {"batch", batched.max_pairs()},
            {"batch_tokens", flags.batch_tokens},
            {"sorted", true},
            {"median_ms", round_to(med, 2)},
            {"min_ms", round_to(*std::min_element(times.begin(), times.end()), 2)},
            {"max_ms", round_to(*std::max_element(times.begin(), times.end()), 2)},
            {"runs", flags.runs},
            {"pairs_per_s", round_to(static_cast<double>(pairs.size()) / (med / 1000.0), 2)},
            {"tokens", tokens},
            {"padded_tokens", tokens},
            {"gflop", round_to(gflop, 2)},
            {"gflops_eff", round_to(gflops_eff, 1)},
            {"gemm_gflops", round_to(ceiling, 1)},
            {"efficiency", round_to(gflops_eff / ceiling, 3)},
            {"peak_rss_mb", round_to(peak_rss_mb(), 1)},
            {"weight_mb", round_to(static_cast<double>(info.weight_bytes) / (1 << 20), 1)},
            {"threads", flags.threads},
            {"load_ms", round_to(load_ms, 1)},
            {"score0", round_to(scores.empty() ? 0.0 : scores[0], 5)},
            {"other_load", round_to(load_other, 2)},
            {"attention", info.attention_kernel},
            {"cpu", kernels::cpu_dispatch_name()}};
      if (flags.profile) {
        // Milliseconds per run in each stage of the encoder (the head and batching are the rest).
        const double n = flags.runs;
        line["stages_ms"] = {{"embeddings", round_to(profile.embeddings / n, 1)},
                             {"qkv", round_to(profile.qkv / n, 1)},
                             {"attention", round_to(profile.attention / n, 1)},
                             {"attention_out", round_to(profile.attention_out / n, 1)},
                             {"norms", round_to(profile.norms / n, 1)},
                             {"ffn_in", round_to(profile.ffn_in / n, 1)},
                             {"ffn_act", round_to(profile.ffn_act / n, 1)},
                             {"ffn_out", round_to(profile.ffn_out / n, 1)},
                             {"total", round_to(profile.total() / n, 1)}};
      }
      emit(line, flags.json);
    }
    if (agreement) {
      for (const auto& query : agreement_queries(*workload, flags.agreement_queries)) {
        const BatchedPairs q(make_pairs(query), flags.batch_tokens);
        if (auto s = q.score(*model, precision, scores); !s.ok()) {
          print_error("bench", s);
          return kExitFailure;
        }
        run.scores.push_back(scores);
      }
    }
    runs.push_back(std::move(run));
  }
  if (agreement && !flags.agreement_out.empty()) {
    nlohmann::json dump = {{"model", model_name},
                           {"workload", flags.name},
                           {"queries", agreement_queries(*workload, flags.agreement_queries)},
                           {"scores", nlohmann::json::object()}};
    for (const PrecisionRun& run : runs) dump["scores"][std::string(base::precision_name(run.precision))] = run.scores;
    std::ofstream(flags.agreement_out) << dump.dump() << "\n";
  }
  if (agreement) {
    const PrecisionRun& reference = runs.front();
    for (const PrecisionRun& run : runs) {
      if (run.precision == base::Precision::kFp32) continue;
      const eval::Agreement a = eval::measure_agreement(reference.scores, run.scores);
      emit({{"engine", "winnow"},
            {"agreement", std::string(base::precision_name(run.precision)) + " vs fp32"},
            {"model", model_name},
            {"workload", flags.name},
            {"queries", a.queries},
            {"docs", workload->docs.size()},
            {"spearman_min", round_to(a.spearman_min, 5)},
            {"spearman_mean", round_to(a.spearman_mean, 5)},
            {"top10_identical", round_to(a.top10_identical, 3)},
            {"top10_same_set", round_to(a.top10_same_set, 3)},
            {"max_abs_diff", round_to(a.max_abs_diff, 6)},
            {"fp32_score_std", round_to(a.reference_std, 6)},
            {"fp32_top10_min_gap", round_to(a.reference_top10_min_gap, 7)},
            {"meets_bar", a.meets_bar()}},
           flags.json);
    }
  }
  return 0;
}

// ------------------------------------------------------------ concurrency

// Documents of pseudo-words (syllables), 'short'-like once tokenized.
std::vector<std::string> synthetic_texts(std::size_t count, std::size_t min_words, std::size_t max_words,
                                         std::uint32_t seed) {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ren", "sa", "tor", "vel", "du", "ne", "pa", "qui", "ber",
                                     "gan", "il", "mo", "rus", "te", "xo", "zar", "el", "fin", "hal", "jo", "wen"};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> words(min_words, max_words), syllables(1, 3),
      syllable(0, std::size(kSyllables) - 1);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < count; ++i) {
    std::string text;
    const std::size_t n = words(rng);
    for (std::size_t w = 0; w < n; ++w) {
      if (!text.empty()) text += ' ';
      const std::size_t s = syllables(rng);
      for (std::size_t k = 0; k < s; ++k) text += kSyllables[syllable(rng)];
    }
    texts.push_back(std::move(text));
  }
  return texts;
}

// CPU seconds this process has used, all threads (OpenMP threads wait
// passively under OMP_WAIT_POLICY=passive, so this is work, not spinning):
// what a run costs on a machine shared with other load.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = static_cast<std::size_t>(std::ceil(rank));
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

// One engine as the concurrency benchmark drives it: a request's outputs
// (logits, or embeddings back to back), the engine's counters, and the tokens
// of one document as the engine cuts it.
struct EngineUnderTest {
  std::function<base::Result<std::vector<float>>(const std::string& query, std::span<const std::string> docs)> call;
  std::function<inference::EngineStats()> stats;
  std::function<std::size_t(const std::string& query, const std::string& doc)> tokens;
  base::Precision precision = base::Precision::kFp32;
};

base::Result<EngineUnderTest> load_engine(const BenchFlags& flags, base::Precision precision,
                                          std::shared_ptr<const void>& keep) {
  EngineUnderTest engine;
  if (flags.embedder) {
    inference::EmbedderOptions options;
    options.precision = precision;
    options.batch_limits.token_budget = flags.batch_tokens;
    WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<inference::Embedder> loaded,
                            inference::Embedder::load(flags.model, options));
    std::shared_ptr<const inference::Embedder> embedder = std::move(loaded);
    keep = embedder;
    const inference::Embedder* e = embedder.get();
    engine.call = [e](const std::string&, std::span<const std::string> docs) -> base::Result<std::vector<float>> {
      WINNOW_ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, e->embed(docs));
      std::vector<float> out;
      for (const auto& v : vectors) out.insert(out.end(), v.begin(), v.end());
      return out;
    };
    engine.stats = [e] { return e->stats(); };
    engine.tokens = [e](const std::string&, const std::string& doc) {
      auto encoding = e->tokenizer().encode(doc, e->max_length());
      return encoding.ok() ? encoding->ids.size() : 0;
    };
    engine.precision = e->info().precision;
    return engine;
  }
  inference::ScorerOptions options;
  options.precision = precision;
  options.batch_limits.token_budget = flags.batch_tokens;
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<inference::Scorer> loaded, inference::Scorer::load(flags.model, options));
  std::shared_ptr<const inference::Scorer> scorer = std::move(loaded);
  keep = scorer;
  const inference::Scorer* s = scorer.get();
  engine.call = [s](const std::string& query, std::span<const std::string> docs) -> base::Result<std::vector<float>> {
    WINNOW_ASSIGN_OR_RETURN(std::vector<inference::PairScore> scores, s->score(query, docs));
    std::vector<float> out;
    for (const auto& score : scores) out.push_back(score.logit);
    return out;
  };
  engine.stats = [s] { return s->stats(); };
  engine.tokens = [s](const std::string& query, const std::string& doc) {
    auto encoding = s->tokenizer().encode_pair(query, doc, s->max_length(), text::Truncation::kLongestFirst);
    return encoding.ok() ? encoding->ids.size() : 0;
  };
  engine.precision = s->precision();
  return engine;
}

int run_concurrency(const BenchFlags& flags) {
  auto precisions = precisions_of(flags.precision);
  if (!precisions.ok() || precisions->size() != 1) {
    print_error("bench", precisions.ok() ? base::invalid_argument("--concurrency takes one precision")
                                         : precisions.status());
    return kExitFailure;
  }
  std::shared_ptr<const void> keep;  // the Scorer or Embedder the engine's functions call
  auto engine = load_engine(flags, precisions->front(), keep);
  if (!engine.ok()) {
    print_error("bench", engine.status());
    return kExitFailure;
  }
  const std::size_t clients = static_cast<std::size_t>(flags.concurrency);
  const std::size_t total = clients * static_cast<std::size_t>(flags.requests);
  struct Request {
    std::string query;
    std::vector<std::string> docs;
  };
  std::vector<Request> requests;
  for (std::size_t r = 0; r < total; ++r) {
    Request request;
    request.query = synthetic_texts(1, 6, 10, static_cast<std::uint32_t>(r) * 7919u + 1)[0];
    request.docs = synthetic_texts(flags.docs, 20, 60, static_cast<std::uint32_t>(r) * 104729u + 3);
    requests.push_back(std::move(request));
  }
  std::vector<std::vector<float>> alone(total), together(total);
  std::vector<double> alone_ms(total), together_ms(total);
  std::size_t item_tokens = 0;
  auto call = [&](std::size_t r, std::vector<float>& outputs, double& ms) -> base::Status {
    base::Stopwatch clock;
    WINNOW_ASSIGN_OR_RETURN(outputs, engine->call(requests[r].query, requests[r].docs));
    ms = clock.elapsed_ms();
    return {};
  };
  // Warm-up: primitives for the usual row counts.
  for (std::size_t r = 0; r < std::min<std::size_t>(total, 2); ++r) {
    double ms = 0;
    std::vector<float> ignored;
    if (auto s = call(r, ignored, ms); !s.ok()) {
      print_error("bench", s);
      return kExitFailure;
    }
  }
  for (const auto& d : requests[0].docs) item_tokens += engine->tokens(requests[0].query, d);
  const OtherLoad other_load;
  const auto before_alone = engine->stats();
  base::Stopwatch sequential_clock;
  const double sequential_cpu_start = process_cpu_seconds();
  for (std::size_t r = 0; r < total; ++r) {
    if (auto s = call(r, alone[r], alone_ms[r]); !s.ok()) {
      print_error("bench", s);
      return kExitFailure;
    }
  }
  const double sequential_s = sequential_clock.elapsed_ms() / 1000.0;
  const double sequential_cpu_s = process_cpu_seconds() - sequential_cpu_start;
  const auto before = engine->stats();
  std::vector<base::Status> errors(clients);
  base::Stopwatch concurrent_clock;
  const double concurrent_cpu_start = process_cpu_seconds();
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (std::size_t r = c; r < total; r += clients) {
        base::Status s = call(r, together[r], together_ms[r]);
        if (!s.ok() && errors[c].ok()) errors[c] = s;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double concurrent_s = concurrent_clock.elapsed_ms() / 1000.0;
  const double concurrent_cpu_s = process_cpu_seconds() - concurrent_cpu_start;
  for (const auto& e : errors) {
    if (!e.ok()) {
      print_error("bench", e);
      return kExitFailure;
    }
  }
  const auto after = engine->stats();
  std::size_t identical = 0;
  for (std::size_t r = 0; r < total; ++r) identical += alone[r] == together[r];
  auto per_batch = [](const inference::EngineStats& from, const inference::EngineStats& to) {
    return round_to(static_cast<double>(to.items - from.items) /
                        std::max(static_cast<double>(to.batches - from.batches), 1.0), 1);
  };
  emit({{"engine", "winnow"},
        {"bench", flags.embedder ? "embedder_concurrency" : "concurrency"},
        {"precision", std::string(base::precision_name(engine->precision))},
        {"model", std::filesystem::path(flags.model).filename().string()},
        {"clients", clients},
        {"requests", total},
        {"docs", flags.docs},
        {"item_tokens_mean", round_to(static_cast<double>(item_tokens) / static_cast<double>(flags.docs), 1)},
        {"sequential_rps", round_to(static_cast<double>(total) / sequential_s, 2)},
        {"concurrent_rps", round_to(static_cast<double>(total) / concurrent_s, 2)},
        {"speedup", round_to(sequential_s / concurrent_s, 2)},
        {"sequential_p50_ms", round_to(percentile(alone_ms, 50), 1)},
        {"sequential_p99_ms", round_to(percentile(alone_ms, 99), 1)},
        {"p50_ms", round_to(percentile(together_ms, 50), 1)},
        {"p99_ms", round_to(percentile(together_ms, 99), 1)},
        {"sequential_cpu_ms_per_request", round_to(sequential_cpu_s * 1000.0 / static_cast<double>(total), 1)},
        {"concurrent_cpu_ms_per_request", round_to(concurrent_cpu_s * 1000.0 / static_cast<double>(total), 1)},
        {"sequential_items_per_batch", per_batch(before_alone, before)},
        {"items_per_batch", per_batch(before, after)},
        {"max_round_requests", after.max_round_requests},
        {"identical_to_alone", identical == total},
        {"batch_tokens", flags.batch_tokens},
        {"threads", flags.threads},
        {"other_load", round_to(other_load.value(), 2)}},
       flags.json);
  return identical == total ? 0 : kExitFailure;
}

// Scaling with request size: one request of N documents (the workload's
// documents over and over, so that every N has the same length mix) for each
// --scaling N, planned and run as the Scorer runs them; the time per
// document at each N against the time per document at the first N (flat
// means the engine costs per document whatever the request's size).
int run_scaling(const BenchFlags& flags) {
  auto precisions = precisions_of(flags.precision);
  if (!precisions.ok()) {
    print_error("bench", precisions.status());
    return kExitFailure;
  }
  auto workload = read_workload(flags.workload, flags.name);
  if (!workload.ok()) {
    print_error("bench", workload.status());
    return kExitFailure;
  }
  const std::string model_name = std::filesystem::path(flags.model).lexically_normal().filename().string().empty()
                                     ? std::filesystem::path(flags.model).parent_path().filename().string()
                                     : std::filesystem::path(flags.model).filename().string();
  for (base::Precision precision : *precisions) {
    model::LoadOptions load;
    load.precisions = {precision};
    auto loaded = model::CrossEncoder::load(flags.model, load);
    if (!loaded.ok()) {
      print_error("bench", loaded.status());
      return kExitFailure;
    }
    std::unique_ptr<model::CrossEncoder> model = std::move(loaded).value();
    const std::vector<TokenPair> base_pairs = build_pairs(*workload, workload->query, model->info().layout);
    double first_per_doc = 0;
    for (std::size_t n : flags.scaling) {
      std::vector<TokenPair> pairs;
      pairs.reserve(n);
      for (std::size_t i = 0; i < n; ++i) pairs.push_back(base_pairs[i % base_pairs.size()]);
      const BatchedPairs batched(pairs, flags.batch_tokens);
      std::vector<float> scores;
      for (int w = 0; w < flags.warmup; ++w) {
        if (auto s = batched.score(*model, precision, scores); !s.ok()) {
          print_error("bench", s);
          return kExitFailure;
        }
      }
      std::vector<double> times;
      const OtherLoad other_load;
      for (int r = 0; r < flags.runs; ++r) {
        base::Stopwatch clock;
        if (auto s = batched.score(*model, precision, scores); !s.ok()) {
          print_error("bench", s);
          return kExitFailure;
        }
        times.push_back(clock.elapsed_ms());
      }
      std::size_t tokens = 0;
      for (const auto& p : pairs) tokens += p.ids.size();
      const double med = median(times);
      const double per_doc = med / static_cast<double>(n);
      if (first_per_doc == 0) first_per_doc = per_doc;
      emit({{"engine", "winnow"},
            {"bench", "scaling"},
            {"precision", std::string(base::precision_name(precision))},
            {"model", model_name},
            {"workload", flags.name},
            {"docs", n},
            {"tokens", tokens},
            {"batches", batched.count()},
            {"median_ms", round_to(med, 2)},
            {"min_ms", round_to(*std::min_element(times.begin(), times.end()), 2)},
            {"max_ms", round_to(*std::max_element(times.begin(), times.end()), 2)},
            {"runs", flags.runs},
            {"ms_per_doc", round_to(per_doc, 3)},
            {"per_doc_vs_first", round_to(per_doc / first_per_doc, 3)},
            {"threads", flags.threads},
            {"other_load", round_to(other_load.value(), 2)},
            {"cpu", kernels::cpu_dispatch_name()}},
           flags.json);
    }
  }
  return 0;
}

// The cost of chunked scoring: --docs documents of about --long-documents
// tokens (SciFact abstracts joined), scored truncated to the model's window
// and chunked (windows as wide as the query leaves room for, no overlap,
// enough of them to cover each document), per precision; the median of
// --runs, per 100 documents.
int run_long_documents(const BenchFlags& flags) {
  inference::ScorerOptions options;
  options.batch_limits.token_budget = flags.batch_tokens;
  std::vector<base::Precision> precisions;
  if (flags.precision == "all") {
    precisions = {base::Precision::kFp32, base::Precision::kInt8};
  } else {
    auto parsed = base::parse_precision(flags.precision);
    if (!parsed.ok()) {
      print_error("bench", parsed.status());
      return kExitFailure;
    }
    precisions = {*parsed};
  }
  options.precision = precisions.front();
  options.extra_precisions.assign(precisions.begin() + 1, precisions.end());
  auto scorer_or = inference::Scorer::load(flags.model, options);
  if (!scorer_or.ok()) {
    print_error("bench", scorer_or.status());
    return kExitFailure;
  }
  const inference::Scorer& scorer = **scorer_or;
  std::ifstream in(flags.corpus);
  if (!in) {
    print_error("bench", base::not_found(flags.corpus + ": cannot open (--corpus)"));
    return kExitFailure;
  }
  std::vector<std::string> documents(flags.docs);
  std::string line;
  for (std::string& document : documents) {
    while (scorer.tokenizer().tokenize(document)->size() < flags.long_documents) {
      if (!std::getline(in, line)) {
        in.clear();
        in.seekg(0);
        std::getline(in, line);
      }
      document += (document.empty() ? "" : " ") + nlohmann::json::parse(line)["text"].get<std::string>();
    }
  }
  std::size_t tokens = 0;
  for (const std::string& d : documents) tokens += scorer.tokenizer().tokenize(d)->size();
  const std::string query = "how do cells respond to DNA damage";
  for (base::Precision precision : precisions) {
    for (const bool chunked : {false, true}) {
      inference::DocumentOptions document_options;
      document_options.precision = precision;
      if (chunked) document_options.chunking = inference::ChunkOptions{.max_tokens = 0, .overlap = 0, .max_chunks = 100};
      std::vector<double> times;
      std::size_t chunks = 0;
      std::size_t truncated = 0;
      for (int run = 0; run < flags.warmup + flags.runs; ++run) {
        base::Stopwatch clock;
        auto scores = scorer.score_documents(query, documents, document_options);
        const double ms = clock.elapsed_ms();
        chunks = truncated = 0;
        for (const auto& s : scores) {
          if (!s.ok()) {
            print_error("bench", s.status());
            return kExitFailure;
          }
          chunks += s->chunks;
          truncated += s->truncated;
        }
        if (run >= flags.warmup) times.push_back(ms);
      }
      emit({{"engine", "winnow"},
            {"bench", "long_documents"},
            {"mode", chunked ? "chunked" : "truncated"},
            {"precision", std::string(base::precision_name(precision))},
            {"model", std::filesystem::path(flags.model).filename().string()},
            {"docs", flags.docs},
            {"doc_tokens_mean", round_to(static_cast<double>(tokens) / static_cast<double>(flags.docs), 1)},
            {"windows", chunks},
            {"documents_truncated", truncated},
            {"median_ms", round_to(median(times), 1)},
            {"ms_per_100_docs", round_to(median(times) * 100.0 / static_cast<double>(flags.docs), 1)},
            {"runs", flags.runs},
            {"threads", flags.threads}},
           flags.json);
    }
  }
  return 0;
}

// A decoder reranker's request: one query and --docs documents through the
// model card's prompt, as the Scorer builds them, timed with the shared
// prefix (system prompt, instruction, query) computed once for the request
// and reused by every document, against every prompt computed whole. Runs
// alternate, each starting with an empty prefix cache (a new request); the
// median of each and their ratio come from the same run.
int run_prefix_reuse(const BenchFlags& flags) {
  auto precisions = precisions_of(flags.precision);
  if (!precisions.ok()) {
    print_error("bench", precisions.status());
    return kExitFailure;
  }
  const std::filesystem::path dir(flags.model);
  auto config = model::read_model_config(dir / "config.json");
  auto tokenizer = text::Tokenizer::load_dir(dir);
  if (!config.ok() || !tokenizer.ok()) {
    print_error("bench", config.ok() ? tokenizer.status() : config.status());
    return kExitFailure;
  }
  if (!config->is_qwen3()) {
    print_error("bench", base::invalid_argument("--prefix-reuse: " + flags.model + " is not a decoder reranker"));
    return kExitFailure;
  }
  auto prompt = inference::RerankPrompt::create(*tokenizer, std::string(inference::kDefaultRerankInstruction),
                                                inference::kDecoderRerankMaxLength);
  if (!prompt.ok()) {
    print_error("bench", prompt.status());
    return kExitFailure;
  }
  const std::string query = synthetic_texts(1, 8, 12, 17)[0];
  const std::vector<std::string> docs = synthetic_texts(flags.docs, 40, 120, 29);
  auto head = prompt->head(prompt->default_instruction(), query);
  if (!head.ok()) {
    print_error("bench", head.status());
    return kExitFailure;
  }
  std::vector<text::Encoding> encodings;
  std::vector<std::size_t> lengths;
  std::size_t tokens = 0, shared = 0;
  for (const std::string& doc : docs) {
    auto e = prompt->encode(prompt->default_instruction(), query, doc, *head,
                            inference::PromptFit{inference::kDecoderRerankMaxLength});
    if (!e.ok()) {
      print_error("bench", e.status());
      return kExitFailure;
    }
    tokens += e->ids.size();
    shared = e->shared_prefix;
    lengths.push_back(e->ids.size());
    encodings.push_back(std::move(*e));
  }
  std::vector<model::TokenBatch> batches;
  for (const auto& positions : inference::plan_batches(lengths, {.token_budget = flags.batch_tokens})) {
    model::TokenBatch batch;
    for (std::size_t i : positions) batch.add(encodings[i].ids, encodings[i].type_ids, encodings[i].shared_prefix);
    batches.push_back(std::move(batch));
  }
  for (base::Precision precision : *precisions) {
    model::LoadOptions load = bench_load_options(flags.model, *config);
    load.precisions = {precision};
    auto loaded = model::CrossEncoder::load(dir, load);
    if (!loaded.ok()) {
      print_error("bench", loaded.status());
      return kExitFailure;
    }
    model::CrossEncoder& model = **loaded;
    std::vector<double> with, without;
    double worst = 0;
    std::vector<float> reused_scores, whole_scores;
    for (int run = 0; run < flags.warmup + flags.runs; ++run) {
      for (bool reuse : {true, false}) {
        model.set_prefix_reuse(reuse);  // and an empty cache: a new request
        std::vector<float>& scores = reuse ? reused_scores : whole_scores;
        scores.clear();
        base::Stopwatch clock;
        for (const model::TokenBatch& batch : batches) {
          auto logits = model.score(batch, precision);
          if (!logits.ok()) {
            print_error("bench", logits.status());
            return kExitFailure;
          }
          scores.insert(scores.end(), logits->begin(), logits->end());
        }
        if (run >= flags.warmup) (reuse ? with : without).push_back(clock.elapsed_ms());
      }
      for (std::size_t i = 0; i < reused_scores.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(reused_scores[i] - whole_scores[i])));
      }
    }
    const double per_100 = 100.0 / static_cast<double>(flags.docs);
    emit({{"engine", "winnow"},
          {"bench", "prefix_reuse"},
          {"precision", std::string(base::precision_name(precision))},
          {"model", dir.filename().string()},
          {"docs", flags.docs},
          {"prompt_tokens_mean", round_to(static_cast<double>(tokens) / static_cast<double>(flags.docs), 1)},
          {"shared_prefix_tokens", shared},
          {"batches", batches.size()},
          {"ms_per_100_docs_reuse", round_to(median(with) * per_100, 1)},
          {"ms_per_100_docs_whole", round_to(median(without) * per_100, 1)},
          {"speedup", round_to(median(without) / median(with), 3)},
          {"max_abs_diff", worst},
          {"runs", flags.runs},
          {"threads", flags.threads},
          {"cpu", kernels::cpu_dispatch_name()}},
         flags.json);
  }
  return 0;
}

int run_bench(const BenchFlags& flags) {
  omp_set_num_threads(flags.threads);
  if (auto s = kernels::check_cpu_dispatch(); !s.ok()) {
    print_error("bench", s);
    return kExitFailure;
  }
  if (flags.gemm) return run_gemm(flags);
  if (flags.model.empty()) {
    print_error("bench", base::invalid_argument("--model is required (or --gemm)"));
    return kExitFailure;
  }
  const bool workload_mode = flags.concurrency == 0 && flags.long_documents == 0 && flags.scaling.empty() &&
                             !flags.prefix_reuse;
  if (flags.runs == 0 && (!workload_mode || flags.dump_pairs.empty())) {
    print_error("bench", base::invalid_argument("--runs 0 is for --dump-pairs alone; time at least 1 run"));
    return kExitFailure;
  }
  if (flags.concurrency > 0) return run_concurrency(flags);
  if (flags.long_documents > 0) return run_long_documents(flags);
  if (!flags.scaling.empty()) return run_scaling(flags);
  if (flags.prefix_reuse) return run_prefix_reuse(flags);
  return run_workload(flags);
}

}  // namespace
}  // namespace winnow::bench

int main(int argc, char** argv) {
  winnow::bench::BenchFlags flags_storage;
  auto* flags = &flags_storage;
  CLI::App app{"winnow-bench: time the cross-encoder on shared/bench workloads (ort_bench.mjs's JSON fields), the GEMM ceiling, "
               "precision agreement, concurrent callers", "winnow-bench"};
  CLI::App* command = &app;
  command->add_option("--model,-m", flags->model, "model directory");
  command->add_option("--workload", flags->workload, "shared/bench/workloads.json");
  command->add_option("--name", flags->name, "workload name")->check(CLI::IsMember({"short", "long"}));
  command->add_option("--precision", flags->precision, "fp32, bf16, int8, auto, or all (fp32 + what the CPU runs)")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto", "all"}));
  command->add_option("--batch-tokens", flags->batch_tokens, "token budget of one model batch")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  command->add_option("--runs", flags->runs, "timed runs (the median is reported)")->check(CLI::Range(0, 1000));
  command->add_option("--warmup", flags->warmup, "untimed runs first")->check(CLI::Range(0, 100));
  command->add_option("--threads", flags->threads, "compute threads")->check(CLI::Range(1, 1024));
  command->add_flag("--json", flags->json, "one JSON object per line");
  command->add_flag("--profile", flags->profile, "add the time per encoder stage (stages_ms; costs a clock read per stage)");
  command->add_flag("--gemm", flags->gemm, "measure the GEMM ceiling per precision (the model's shapes with --model)");
  command->add_option("--gemm-rows", flags->gemm_rows, "rows of the GEMM ceiling's matrices")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  command->add_option("--agreement-queries", flags->agreement_queries,
                      "queries (x the workload's documents) to compare bf16 / int8 rankings with fp32; 0: none");
  command->add_option("--dump-pairs", flags->dump_pairs,
                      "write the workload's pairs as timed (decoder rerankers: the prompts) and their GFLOP to this "
                      "JSON file, for bench/ort_modern.mjs; with --runs 0 nothing is timed");
  command->add_option("--agreement-out", flags->agreement_out,
                      "write the agreement queries and every precision's scores to this JSON file "
                      "(bench/torch_agreement.py scores the same pairs with PyTorch)");
  command->add_option("--attention", flags->attention, "auto (hand-written kernel) or onednn")
      ->check(CLI::IsMember({"auto", "onednn"}));
  command->add_option("--concurrency", flags->concurrency,
                      "callers scoring through one Scorer (embedding through one Embedder with --embedder) at once, "
                      "against the same requests one at a time")
      ->check(CLI::Range(0, 1024));
  command->add_option("--requests", flags->requests, "requests per caller (--concurrency)")->check(CLI::Range(1, 100000));
  command->add_option("--docs", flags->docs, "documents per request (--concurrency)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  command->add_option("--long-documents", flags->long_documents,
                      "tokens per document: time chunked scoring against truncation on --docs documents")
      ->check(CLI::Range(1, 1 << 20));
  command->add_option("--scaling", flags->scaling,
                      "documents per request, e.g. 10,100,500,1000: time per document at each count")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  command->add_flag("--prefix-reuse", flags->prefix_reuse,
                    "decoder rerankers: time --docs documents of one query with the prompt's shared prefix computed "
                    "once and reused, against every prompt computed whole (ms per 100 documents, median of --runs)");
  command->add_option("--corpus", flags->corpus, "BEIR corpus.jsonl the long documents are made of (--long-documents)");
  command->add_flag("--embedder", flags->embedder,
                    "--concurrency: the model as a sentence embedder (mean pooling without modules.json), "
                    "each request embedding its documents");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return winnow::bench::run_bench(*flags);
}
