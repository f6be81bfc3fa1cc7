// Scorer: turns (query, document) texts into cross-encoder relevance logits.
//
// Tokenizes every pair, plans length-sorted batches under a token budget, runs
// the model on packed unpadded batches and returns results in input order. A
// pair's logit does not depend on what it was batched with.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "inference/batch_planner.h"
#include "model/cross_encoder.h"
#include "text/tokenizer.h"

namespace winnow::inference {

struct ScorerOptions {
  // Tokens per pair, special tokens included. Unset: the tokenizer's
  // model_max_length, capped at what the model's position table allows.
  std::optional<std::size_t> max_length;
  text::Truncation truncation = text::Truncation::kLongestFirst;
  BatchLimits batch_limits;
};

struct PairText {
  std::string_view query;
  std::string_view document;
};

struct PairScore {
  float logit = 0;         // the model's raw output; rankings use it
  std::size_t tokens = 0;  // tokens scored, special tokens included
  bool truncated = false;  // the pair was cut to max_length
};

// The reported relevance score: the logistic sigmoid of the logit, computed in
// double precision so that large logits still rank apart (float saturates at 1).
double relevance_score(float logit);

// The max_length a request gets: `requested` when given, else the tokenizer's
// model_max_length, else the model's limit. A request above the model's limit
// (position embeddings) is InvalidArgument naming that limit.
base::Result<std::size_t> resolve_max_length(std::optional<std::size_t> requested,
                                             std::optional<std::size_t> tokenizer_max_length,
                                             std::size_t model_max_tokens);

class Scorer {
 public:
  // Loads the tokenizer (tokenizer.json, tokenizer_config.json) and the model
  // (config.json, safetensors) from one Hugging Face model directory.
  static base::Result<std::unique_ptr<Scorer>> load(const std::filesystem::path& model_dir,
                                                    const ScorerOptions& options);
  static base::Result<std::unique_ptr<Scorer>> create(std::shared_ptr<const text::Tokenizer> tokenizer,
                                                      std::shared_ptr<const model::CrossEncoder> model,
                                                      const ScorerOptions& options);

  // One result per pair, in input order. A pair that cannot be tokenized (e.g.
  // only_second truncation with a query that fills max_length) gets its own
  // error; the others are still scored. Thread-safe; model runs are serialized.
  std::vector<base::Result<PairScore>> score_pairs(std::span<const PairText> pairs) const;

  // Scores every document against one query; one score per document, in input
  // order. Fails as a whole if any document fails, naming its index.
  base::Result<std::vector<PairScore>> score(std::string_view query,
                                             std::span<const std::string> documents) const;

  std::size_t max_length() const { return max_length_; }
  const ScorerOptions& options() const { return options_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  const model::CrossEncoder& model() const { return *model_; }

 private:
  Scorer(std::shared_ptr<const text::Tokenizer> tokenizer, std::shared_ptr<const model::CrossEncoder> model,
         const ScorerOptions& options, std::size_t max_length);

  std::shared_ptr<const text::Tokenizer> tokenizer_;
  std::shared_ptr<const model::CrossEncoder> model_;
  ScorerOptions options_;
  std::size_t max_length_;
  mutable std::mutex model_mutex_;  // one forward pass at a time: it uses every core
};

}  // namespace winnow::inference
