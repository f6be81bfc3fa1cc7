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

struct RankedDocument {
  std::size_t index = 0;        // position in the caller's documents
  double relevance_score = 0;   // in [0, 1]; sigmoid(logit) for local models
  float logit = 0;              // the raw model output where known (local models), else 0
};

struct RerankOptions {
  // Local models: one of the precisions the model prepared at load; unset,
  // the model's default. Remote models refuse anything but unset.
  std::optional<base::Precision> precision;
  // How an error names the document it is about, from its index in the
  // call's documents (e.g. "docs.jsonl line 4"); unset: "document INDEX".
  // Local models fail per document; remote models fail as a whole.
  std::function<std::string(std::size_t index)> document_name;
};

struct RerankOutcome {
  std::vector<RankedDocument> results;  // best first, at most top_n
  std::size_t documents_scored = 0;
  std::size_t documents_truncated = 0;  // cut to the model's max_length (local models)
  std::size_t max_length = 0;           // local models: tokens per pair, special tokens included; else 0
  std::size_t tokens_scored = 0;        // local models; remote APIs report billed units instead
  std::string model;                    // what answered: a repo id, a directory, an API model name
  std::string revision;                 // a commit hash or API version, when known
  std::string precision;                // local models: "fp32", "bf16" or "int8"
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
