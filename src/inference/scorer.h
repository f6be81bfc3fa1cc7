// Scorer: turns (query, document) texts into cross-encoder relevance logits.
//
// The cross-encoder's engine (engine.h): pairs are tokenized (on the caller's
// thread for small calls), then pairs from concurrent callers are merged into
// shared length-sorted batches under the token budget, run on the model as
// packed unpadded batches, and routed back to each caller in input order. A
// pair's logit does not depend on what it was batched with: bitwise in every
// precision where oneDNN runs its brgemm kernels (AVX-512: rows are computed
// independently, activations are quantized per row), so concurrency changes
// throughput, never scores. (On AVX2, oneDNN's gemm:jit blocks by row count
// and the last bits may move: ≤ 5e-6 on the golden fixtures.)
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "inference/engine.h"
#include "inference/rerank_prompt.h"
#include "inference/resolve.h"
#include "model/cross_encoder.h"
#include "text/tokenizer.h"

namespace winnow::inference {

// The engine's options (batch limits, queue bound, batch wait, on_batch) and
// the cross-encoder's own.
struct ScorerOptions : EngineOptions {
  // Tokens per pair, special tokens included. Unset: the tokenizer's
  // model_max_length, capped at what the model's position table allows.
  std::optional<std::size_t> max_length;
  text::Truncation truncation = text::Truncation::kLongestFirst;
  // The model's default precision (resolve_precision() turns kAuto into a
  // concrete one). fp32 is exact (1e-4 of transformers); bf16 and int8 are
  // faster with a measured ranking agreement (see resolve_precision).
  base::Precision precision = base::Precision::kFp32;
  // Further precisions to prepare at load, for requests that ask for them
  // (score_pairs(pairs, precision)); each costs its weights' memory.
  std::vector<base::Precision> extra_precisions;
  // Decoder rerankers (Qwen3-Reranker): the instruction their prompt carries
  // when a request names none. Unset: the model card's
  // (kDefaultRerankInstruction). Models that take no instruction refuse it.
  std::optional<std::string> instruction;
  // Decoder rerankers: reuse each call's shared prompt prefix (the default);
  // false computes every prompt whole (benchmarks compare the two).
  bool prefix_reuse = true;
};

// The max_length a decoder reranker's requests get unless told otherwise: the
// 8192 of Qwen3-Reranker's model card (its tokenizer declares the LLM's 131072).
inline constexpr std::size_t kDecoderRerankMaxLength = 8192;

struct PairText {
  std::string_view query;
  std::string_view document;
};

struct PairScore {
  float logit = 0;         // the model's raw output; rankings use it
  std::size_t tokens = 0;  // tokens scored, special tokens included
  bool truncated = false;  // the pair was cut to max_length
};

// How one call fits documents longer than the model's window (max_length
// after the query and the special tokens): truncated (the default), or cut
// into windows that are scored one by one (chunked scoring).
enum class ChunkAggregate {
  kMax,       // the document's logit is its best window's
  kMeanTopK,  // the mean of its top_k best windows' logits
};

struct ChunkOptions {
  // Document tokens per window. 0: all the room the query leaves in
  // max_length; more than that room is capped to it.
  std::size_t max_tokens = 0;
  std::size_t overlap = 0;      // tokens consecutive windows may share; < the window's tokens
  std::size_t max_chunks = 10;  // windows per document at most; the rest of the document is not scored
  ChunkAggregate aggregate = ChunkAggregate::kMax;
  std::size_t top_k = 3;        // for kMeanTopK
};

struct DocumentOptions {
  base::Precision precision = base::Precision::kAuto;  // kAuto: the model's default
  // Which end of a document (and of the query, under longest_first)
  // truncation drops; with chunking, which end windows start from.
  text::TruncationDirection direction = text::TruncationDirection::kRight;
  // Document tokens kept at most, cut in `direction` before anything else
  // (Cohere's max_tokens_per_doc). Unset: no limit but the model's.
  std::optional<std::size_t> max_document_tokens;
  // false: a pair longer than max_length is an OutOfRange error naming its
  // length instead of being cut (TEI's truncate: false). Chunking never cuts.
  bool truncate = true;
  std::optional<ChunkOptions> chunking;
  // Decoder rerankers: this call's instruction (unset: the model's). A model
  // that takes no instruction refuses the call (InvalidArgument naming it).
  std::optional<std::string> instruction;
};

struct DocumentScore {
  float logit = 0;             // the document's: its only window's, or the windows' aggregate
  std::size_t tokens = 0;      // tokens scored over all its windows, special tokens included
  bool truncated = false;      // some of the document was not scored
  std::size_t chunks = 1;      // windows scored
  std::size_t best_chunk = 0;  // the best window: its index, and its bytes [chunk_begin, chunk_end) of the document
  std::size_t chunk_begin = 0;
  std::size_t chunk_end = 0;
  std::size_t chunk_begin_char = 0;  // the same in Unicode code points (with chunking only)
  std::size_t chunk_end_char = 0;
};

// The text room's direction, under the name callers of the Scorer use.
using TruncationDirection = text::TruncationDirection;

// The reported relevance score: the logistic sigmoid of the logit, computed in
// double precision so that large logits still rank apart (float saturates at 1).
double relevance_score(float logit);

class Scorer {
 public:
  // Loads the tokenizer (tokenizer.json, tokenizer_config.json) and the model
  // (config.json, safetensors) from one Hugging Face model directory, with
  // the weights prepared in options.precision (+ extra_precisions).
  static base::Result<std::unique_ptr<Scorer>> load(const std::filesystem::path& model_dir,
                                                    const ScorerOptions& options);
  // Takes a loaded model over; options.precision and extra_precisions must be
  // among model->info().precisions (kAuto: the model's default).
  static base::Result<std::unique_ptr<Scorer>> create(std::unique_ptr<const text::Tokenizer> tokenizer,
                                                      std::unique_ptr<model::CrossEncoder> model,
                                                      const ScorerOptions& options);

  // Stops the worker. No call may be in progress.
  ~Scorer() = default;
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  // One result per pair, in input order. A pair that cannot be tokenized (e.g.
  // only_second truncation with a query that fills max_length) gets its own
  // error; the others are still scored. Thread-safe and blocking: concurrent
  // calls share the model's batches. Blocks while the queue is full.
  std::vector<base::Result<PairScore>> score_pairs(std::span<const PairText> pairs) const;
  // The same in `precision` (one prepared at load; kAuto = the default);
  // otherwise every pair gets the FailedPrecondition naming the prepared ones.
  std::vector<base::Result<PairScore>> score_pairs(std::span<const PairText> pairs,
                                                   base::Precision precision) const;

  // Scores every document against one query; one score per document, in input
  // order. Fails as a whole if any document fails, naming its index.
  base::Result<std::vector<PairScore>> score(std::string_view query,
                                             std::span<const std::string> documents) const;
  base::Result<std::vector<PairScore>> score(std::string_view query, std::span<const std::string> documents,
                                             base::Precision precision) const;

  // Scores every document against `query` as `options` ask: one result per
  // document, in input order. Without chunking each document is one pair,
  // truncated to max_length (or refused, when options.truncate is false).
  // With chunking, a document whose tokens do not fit the room the query
  // leaves is cut into windows (text::plan_windows), every window of every
  // document goes through the engine's shared batches like any pair, and
  // the document's logit is the windows' aggregate: exactly what scoring
  // each window's text as a document of its own would give. A document's
  // error is the first of its windows'. Thread-safe and blocking.
  std::vector<base::Result<DocumentScore>> score_documents(std::string_view query,
                                                           std::span<const std::string> documents,
                                                           const DocumentOptions& options) const;

  std::size_t max_length() const { return max_length_; }
  // Whether the model's prompt takes an instruction (decoder rerankers).
  bool takes_instruction() const { return prompt_.has_value(); }
  // The instruction a call that names none gets ("" for models without one).
  std::string_view default_instruction() const {
    return prompt_ ? std::string_view(prompt_->default_instruction()) : std::string_view();
  }
  const ScorerOptions& options() const { return options_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  // The model, as far as anyone but the engine's worker may see it.
  const model::ModelInfo& info() const { return engine_.info(); }
  // The precision requests get when they name none.
  base::Precision precision() const { return engine_.info().precision; }
  EngineStats stats() const { return engine_.stats(); }

 private:
  Scorer(std::unique_ptr<const text::Tokenizer> tokenizer, std::unique_ptr<model::CrossEncoder> model,
         const ScorerOptions& options, std::size_t max_length);

  std::unique_ptr<const text::Tokenizer> tokenizer_;
  // A decoder reranker's prompt, else unset; with it every pair's ids are the
  // prompt's instead of the tokenizer's pair template.
  std::optional<RerankPrompt> prompt_;
  ScorerOptions options_;
  std::size_t max_length_;
  Engine engine_;  // owns the model
};

}  // namespace winnow::inference
