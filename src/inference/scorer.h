// Scorer: turns (query, document) texts into cross-encoder relevance logits.
//
// Tokenizes every pair on the caller's thread, then hands the encoded pairs to
// the Scorer's batching worker: pairs from concurrent callers are merged into
// shared length-sorted batches under the token budget, run on the model as
// packed unpadded batches, and routed back to each caller in input order. A
// pair's logit does not depend on what it was batched with: bitwise in every
// precision where oneDNN runs its brgemm kernels (AVX-512: rows are computed
// independently, activations are quantized per row), so concurrency changes
// throughput, never scores. (On AVX2, oneDNN's gemm:jit blocks by row count
// and the last bits may move: ≤ 5e-6 on the golden fixtures.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "inference/batch_planner.h"
#include "kernels/precision.h"
#include "model/cross_encoder.h"
#include "text/tokenizer.h"

namespace winnow::inference {

struct ScorerOptions {
  // Tokens per pair, special tokens included. Unset: the tokenizer's
  // model_max_length, capped at what the model's position table allows.
  std::optional<std::size_t> max_length;
  text::Truncation truncation = text::Truncation::kLongestFirst;
  BatchLimits batch_limits;
  // The model's default precision (resolve_precision() turns kAuto into a
  // concrete one). fp32 is exact (1e-4 of transformers); bf16 and int8 are
  // faster with a measured ranking agreement (see resolve_precision).
  base::Precision precision = base::Precision::kFp32;
  // Further precisions to prepare at load, for requests that ask for them
  // (score_pairs(pairs, precision)); each costs its weights' memory.
  std::vector<base::Precision> extra_precisions;
  // Tokens waiting for the batching worker, over all callers, beyond which
  // callers block until the worker catches up (backpressure). A request
  // larger than this still goes through, a part at a time.
  std::size_t max_queued_tokens = 1 << 16;
  // How long the worker, once pairs are waiting, waits for more before it
  // starts a round (unless a full batch's worth is already queued). 0: start
  // at once; under load, rounds fill up anyway while the previous one runs.
  std::chrono::microseconds batch_wait{0};
  // Told the size of every batch the model runs (pairs, tokens), from the
  // batching worker's thread: how the server's metrics see batching at work.
  std::function<void(std::size_t pairs, std::size_t tokens)> on_batch;
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

// The precision `requested` means on this CPU. fp32 / bf16 / int8 are checked
// (FailedPrecondition naming the missing instruction set). kAuto is the
// fastest precision that met the agreement bar (Spearman ≥ 0.99 per query,
// identical top-10 for ≥ 99% of queries, against fp32) on the golden fixtures
// and on full-size MiniLM-L6 / jina-v2 / bge-m3 shapes: int8 where the CPU has
// AVX512_VNNI, else bf16 where it has AVX512_BF16, else fp32.
base::Result<base::Precision> resolve_precision(base::Precision requested);

class Scorer {
 public:
  // Loads the tokenizer (tokenizer.json, tokenizer_config.json) and the model
  // (config.json, safetensors) from one Hugging Face model directory, with
  // the weights prepared in options.precision (+ extra_precisions).
  static base::Result<std::unique_ptr<Scorer>> load(const std::filesystem::path& model_dir,
                                                    const ScorerOptions& options);
  // Wraps a loaded model; options.precision and extra_precisions must be
  // among model->info().precisions (kAuto: the model's default). The Scorer
  // must be the only caller of `model` (its worker runs the model unlocked).
  static base::Result<std::unique_ptr<Scorer>> create(std::shared_ptr<const text::Tokenizer> tokenizer,
                                                      std::shared_ptr<const model::CrossEncoder> model,
                                                      const ScorerOptions& options);

  // Stops the worker. No call may be in progress.
  ~Scorer();
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
  const model::CrossEncoder& model() const { return *model_; }
  // The precision requests get when they name none.
  base::Precision precision() const { return model_->default_precision(); }

  // Counters of the batching worker, for tests and metrics.
  struct Stats {
    std::size_t batches = 0;       // model calls
    std::size_t pairs = 0;         // pairs scored
    std::size_t max_batch_pairs = 0;
    std::size_t max_round_requests = 0;  // callers served by one round
    std::size_t peak_queued_tokens = 0;  // the most tokens ever waiting
  };
  Stats stats() const;

 private:
  struct Request;
  struct Item {
    Request* request;
    std::size_t index;  // into the request's pairs
  };

  Scorer(std::shared_ptr<const text::Tokenizer> tokenizer, std::shared_ptr<const model::CrossEncoder> model,
         const ScorerOptions& options, std::size_t max_length);

  void worker_loop();
  void run_round(std::vector<Item>& items);

  std::shared_ptr<const text::Tokenizer> tokenizer_;
  std::shared_ptr<const model::CrossEncoder> model_;
  ScorerOptions options_;
  std::size_t max_length_;
  int compute_threads_;  // the creating thread's OpenMP thread count, for the worker

  // The queue between callers and the worker.
  mutable std::mutex mutex_;
  mutable std::condition_variable work_ready_;   // worker waits: items queued or stopping
  mutable std::condition_variable space_ready_;  // callers wait: the queue has room
  mutable std::deque<Item> queue_;
  mutable std::size_t queued_tokens_ = 0;
  mutable Stats stats_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace winnow::inference
