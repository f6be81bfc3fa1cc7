// Embedder: texts to sentence embeddings with a sentence-transformers model.
//
// Tokenizes each text (cut to max_seq_length, as sentence-transformers does),
// runs length-sorted batches under a token budget, and returns embeddings in
// input order. An embedding does not depend on what it was batched with.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "inference/batch_planner.h"
#include "kernels/precision.h"
#include "model/sentence_embedder.h"
#include "text/tokenizer.h"

namespace winnow::inference {

struct EmbedderOptions {
  // Tokens per text, special tokens included. Unset: sentence_bert_config's
  // max_seq_length, else the tokenizer's model_max_length, within the model's limit.
  std::optional<std::size_t> max_length;
  BatchLimits batch_limits;
  // As ScorerOptions::precision (kAuto resolved by resolve_precision).
  base::Precision precision = base::Precision::kFp32;
};

class Embedder {
 public:
  // Loads tokenizer and model from one sentence-transformers model directory.
  static base::Result<std::unique_ptr<Embedder>> load(const std::filesystem::path& model_dir,
                                                      const EmbedderOptions& options);

  // One embedding per text, in input order. A text that cannot be tokenized
  // fails the call, naming its index. Thread-safe; model runs are serialized.
  base::Result<std::vector<std::vector<float>>> embed(std::span<const std::string> texts) const;

  std::size_t dimensions() const { return model_->info().hidden_size; }
  std::size_t max_length() const { return max_length_; }
  const model::ModelInfo& info() const { return model_->info(); }

 private:
  Embedder(std::unique_ptr<text::Tokenizer> tokenizer, std::unique_ptr<model::SentenceEmbedder> model,
           const EmbedderOptions& options, std::size_t max_length)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)), options_(options), max_length_(max_length) {}

  std::unique_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<model::SentenceEmbedder> model_;
  EmbedderOptions options_;
  std::size_t max_length_;
  mutable std::mutex model_mutex_;  // one forward pass at a time: it uses every core
};

}  // namespace winnow::inference
