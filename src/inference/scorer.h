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

  std::size_t max_length() const { return max_length_; }
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
  ScorerOptions options_;
  std::size_t max_length_;
  Engine engine_;  // owns the model
};

}  // namespace winnow::inference
