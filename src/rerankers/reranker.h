// The Reranker interface: one query, many documents, the best top_n back.
// Implemented by the local cross-encoder (Winnow's own engine) and by clients
// of remote Cohere-compatible rerank APIs.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/precision.h"

namespace winnow::rerankers {

// The window of a document that scored best, when it was scored in windows.
struct BestChunk {
  std::size_t index = 0;   // 0-based, in document order
  std::size_t chunks = 1;  // windows the document was scored in
  std::size_t start = 0;   // Unicode code points [start, end) of the document
  std::size_t end = 0;
};

struct RankedDocument {
  std::size_t index = 0;        // position in the caller's documents
  double relevance_score = 0;   // in [0, 1]; sigmoid(logit) for local models
  float logit = 0;              // the raw model output where known (local models, TEI), else 0
  std::optional<BestChunk> chunk;  // set when the call asked for chunking (local models)
};

// Which end of a document truncation drops.
enum class TruncationDirection {
  kRight,  // its end (the default everywhere)
  kLeft,   // its start, keeping the end
};

// How a document's windows' scores make its score.
enum class ChunkAggregate {
  kMax,       // the best window's (the default)
  kMeanTopK,  // the mean of the top_k best windows' logits
};

// Chunked scoring: a document longer than the room the query leaves in the
// model's window is cut into windows of text, each scored on its own.
struct ChunkingOptions {
  std::size_t max_tokens = 0;   // document tokens per window; 0: all the room the query leaves
  std::size_t overlap = 0;      // tokens consecutive windows may share
  std::size_t max_chunks = 10;  // windows per document at most; the rest is not scored (counted as truncated)
  ChunkAggregate aggregate = ChunkAggregate::kMax;
  std::size_t top_k = 3;        // kMeanTopK
};

struct RerankOptions {
  // Local models: one of the precisions the model prepared at load; unset,
  // the model's default. Remote models refuse anything but unset.
  std::optional<base::Precision> precision;
  // How an error names the document it is about, from its index in the
  // call's documents (e.g. "docs.jsonl line 4"); unset: "document INDEX".
  // Local models fail per document; remote models fail as a whole.
  std::function<std::string(std::size_t index)> document_name;

  // Long documents (issue 11). Local models honour every field; remote ones
  // send what their API has and report the rest in RerankOutcome::warnings.
  TruncationDirection truncation_direction = TruncationDirection::kRight;
  // Document tokens kept at most, before anything else (Cohere's max_tokens_per_doc).
  std::optional<std::size_t> max_tokens_per_doc;
  // false: a document that does not fit the model's window is an OutOfRange
  // error (TEI's truncate: false, Jina's truncation: false) instead of being cut.
  bool truncate = true;
  // Set: long documents are scored in windows instead of truncated.
  std::optional<ChunkingOptions> chunking;
  // Decoder rerankers (Qwen3-Reranker): the task instruction in their prompt;
  // unset: the model's (its models-file entry's, else the model card's).
  // Models that take no instruction refuse a call that sets it
  // (InvalidArgument naming "instruction").
  std::optional<std::string> instruction;
};

// What a call found in the score cache (local models served with one).
struct ScoreCacheUse {
  std::size_t hits = 0;       // documents answered from the cache, not scored
  std::size_t misses = 0;     // documents scored by the engine
  std::size_t evictions = 0;  // older entries this call's scores pushed out
};

struct RerankOutcome {
  std::vector<RankedDocument> results;  // best first, at most top_n
  std::size_t documents_scored = 0;
  std::size_t documents_truncated = 0;  // not scored whole: cut to max_length or max_tokens_per_doc, or beyond max_chunks (local models)
  std::size_t chunks_scored = 0;        // windows scored (local models; one per document without chunking)
  std::size_t max_length = 0;           // local models: tokens per pair, special tokens included; else 0
  std::size_t tokens_scored = 0;        // local models; remote APIs report billed units instead
  std::string model;                    // what answered: a repo id, a directory, an API model name
  std::string revision;                 // a commit hash or API version, when known
  std::string precision;                // local models: "fp32", "bf16" or "int8"
  std::optional<ScoreCacheUse> score_cache;  // set when the model has a score cache
  // What the request asked that this model could not honour, one sentence
  // each (a remote API without chunking, ...): said, never silently dropped.
  std::vector<std::string> warnings;
};

class Reranker {
 public:
  virtual ~Reranker() = default;

  // Scores every document against `query` and returns the `top_n` best, best
  // first, ties in input order. Thread-safe.
  virtual base::Result<RerankOutcome> rerank(std::string_view query, std::span<const std::string> documents,
                                             std::size_t top_n, const RerankOptions& options = {}) const = 0;
};

}  // namespace winnow::rerankers
