// Embedder: texts to sentence embeddings with a sentence-transformers model.
//
// The sentence embedder's engine (engine.h), the same machinery as the
// Scorer's: texts are tokenized (cut to max_seq_length, as
// sentence-transformers does; on the caller's thread for small calls), then
// texts from concurrent callers — a pipeline's semantic_search queries, an
// ingest's documents — are merged into shared length-sorted batches under the
// token budget behind a bounded queue, and each embedding is routed back in
// input order. An embedding does not depend on what it was batched with
// (bitwise where oneDNN runs its brgemm kernels; see scorer.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "inference/engine.h"
#include "inference/resolve.h"
#include "model/sentence_embedder.h"
#include "text/tokenizer.h"

namespace winnow::inference {

// The engine's options (batch limits, queue bound, batch wait, on_batch) and
// the embedder's own.
struct EmbedderOptions : EngineOptions {
  // Tokens per text, special tokens included. Unset: sentence_bert_config's
  // max_seq_length, else the tokenizer's model_max_length, within the model's limit.
  std::optional<std::size_t> max_length;
  // As ScorerOptions::precision (kAuto resolved by resolve_precision).
  base::Precision precision = base::Precision::kFp32;
};

class Embedder {
 public:
  // Loads tokenizer and model from one sentence-transformers model directory.
  static base::Result<std::unique_ptr<Embedder>> load(const std::filesystem::path& model_dir,
                                                      const EmbedderOptions& options);

  // Stops the worker. No call may be in progress.
  ~Embedder() = default;
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  // One embedding of dimensions() floats per text, in input order. A text
  // that cannot be tokenized or run fails the call, naming its index.
  // Thread-safe and blocking: concurrent calls share the model's batches.
  // Blocks while the queue is full.
  base::Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts) const;

  std::size_t dimensions() const { return engine_.info().hidden_size; }
  std::size_t max_length() const { return max_length_; }
  const EmbedderOptions& options() const { return options_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  // The model, as far as anyone but the engine's worker may see it.
  const model::ModelInfo& info() const { return engine_.info(); }
  EngineStats stats() const { return engine_.stats(); }

 private:
  Embedder(std::unique_ptr<const text::Tokenizer> tokenizer, std::unique_ptr<model::SentenceEmbedder> model,
           const EmbedderOptions& options, std::size_t max_length);

  std::unique_ptr<const text::Tokenizer> tokenizer_;
  EmbedderOptions options_;
  std::size_t max_length_;
  Engine engine_;  // owns the model
};

}  // namespace winnow::inference
