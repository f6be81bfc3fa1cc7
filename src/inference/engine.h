// Engine: the machinery under both engines, the Scorer (pairs → logits) and
// the Embedder (texts → vectors).
//
// A call's sequences are tokenized, checked one by one against what the model
// accepts, and handed through a bounded token queue to the engine's batching
// worker, which merges concurrent callers' sequences into shared batches under
// the token budget, runs them on the model as packed unpadded batches, and
// routes each result back to its caller in input order. Each batch is planned
// from what is queued when the previous one ends (plan_next_batch): highest
// response ratio first, with an aging bound, so that a short request arriving
// behind a long one waits for one batch, not for the long one, and requests of
// about one size keep their arrival order. A batch
// that fails is run again a sequence at a time, so one bad sequence fails only
// itself, never another caller's sequences batched with it.
//
// Each call may bring its own controls (base/call_context.h): refuse instead of
// waiting for room in the queue, refuse when the estimated wait is too long,
// a deadline, a cancellation. A call whose deadline passes (or that is
// cancelled) returns at once; its sequences still queued are withdrawn and
// those the worker already took are skipped when their batch comes, so it
// costs no more model time.
//
// Thread rules (the same for every engine):
// - A call of fewer than kParallelTokenizeItems sequences is tokenized on the
//   caller's thread; a larger one on every core (OpenMP), so that many small
//   concurrent calls do not each start a team of threads next to the worker's.
// - The worker runs the model with the OpenMP thread count of the thread that
//   created the engine (omp_set_num_threads is per thread).
// - The engine owns its model and the worker is its only runner: the model's
//   run() is non-const and reachable from nowhere else; others see only its
//   const ModelInfo.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "base/precision.h"
#include "base/status.h"
#include "inference/batch_planner.h"
#include "base/call_context.h"
#include "model/model_info.h"
#include "model/token_batch.h"
#include "text/tokenizer.h"

namespace winnow::inference {

// Calls with at least this many sequences are tokenized on every core.
inline constexpr std::size_t kParallelTokenizeItems = 64;

struct EngineOptions {
  BatchLimits batch_limits;
  // Tokens waiting for the batching worker, over all callers, beyond which
  // callers that wait for room (base::CallOptions::wait_for_room) block until
  // the worker catches up (backpressure). Calls that may not wait are
  // refused when the tokens waiting and running (taken by the worker, not
  // run yet) would pass it. A call
  // larger than this still goes through when nothing is waiting (nothing is
  // running either, for one that may not wait); a single sequence larger
  // than this is queued alone.
  std::size_t max_queued_tokens = 1 << 16;
  // How long the worker, once sequences are waiting after an idle spell, waits
  // for more before it plans a batch (unless a full batch's worth is already
  // queued). 0: start at once; under load, the queue fills up anyway while
  // the previous batch runs.
  std::chrono::microseconds batch_wait{0};
  // The order the worker serves queued calls in (batch_planner.h): highest
  // response ratio first, a call waiting longer than aging_seconds before all others.
  SchedulingLimits scheduling;
  // Told the size of every batch the model runs (sequences, tokens), from the
  // worker's thread: how the server's metrics see batching at work.
  std::function<void(std::size_t items, std::size_t tokens)> on_batch;
  // Told how long each call waited in the queue, in seconds: from queueing
  // its first sequence until the worker took its last. From the worker's thread.
  std::function<void(double seconds)> on_queue_wait;
  // Told of sequences dropped unrun because their call's deadline passed or
  // it was cancelled. From the worker's thread or a caller's.
  std::function<void(std::size_t sequences)> on_dropped;
};

// Counters of the batching worker, for tests, benchmarks and metrics.
struct EngineStats {
  std::size_t batches = 0;             // model runs
  std::size_t items = 0;               // sequences run (pairs for the Scorer, texts for the Embedder)
  std::size_t max_batch_items = 0;     // the most sequences in one model run
  std::size_t max_round_requests = 0;  // the most callers served by one batch
  std::size_t peak_queued_tokens = 0;  // the most tokens ever waiting
  std::size_t dropped_items = 0;       // sequences not run: their call's deadline passed or it was cancelled
  std::size_t refused_calls = 0;       // calls refused entry (queue full, or the estimated wait too long)
  std::size_t queued_tokens = 0;       // tokens waiting now
  std::size_t running_tokens = 0;      // tokens of the worker's current batch not run yet
  double tokens_per_second = 0;        // measured throughput of recent batches; 0: nothing run yet
};

// What a batch computes: the model side of an engine. The engine owns it.
class EngineModel {
 public:
  virtual ~EngineModel() = default;

  virtual const model::ModelInfo& info() const = 0;
  // Floats per sequence that run() writes: 1 for a cross-encoder's logit,
  // hidden_size for a sentence embedding.
  virtual std::size_t output_width() const = 0;
  // What run() would refuse in `batch` (ids, type ids, lengths), naming the
  // sequence. Thread-safe: reads only the model's configuration.
  virtual base::Status validate(const model::TokenBatch& batch) const = 0;
  // Runs `batch` in `precision` (one of info().precisions) and writes
  // output_width() floats per sequence, in batch order, into `out`
  // (num_sequences() * output_width() floats). A sequence's output does not
  // depend on the other sequences of the batch. Not thread-safe (the model
  // reuses its workspace): the engine's worker is its only caller.
  virtual base::Status run(const model::TokenBatch& batch, base::Precision precision, std::span<float> out) = 0;
};

// One call's answer, per sequence, in input order.
struct EngineResults {
  // The call as a whole: refused (ResourceExhausted), past its deadline
  // (DeadlineExceeded) or cancelled (Unavailable). When not OK, every
  // sequence's error is this status and no output is valid.
  base::Status status;
  std::size_t width = 0;                                 // floats per sequence
  std::vector<std::optional<text::Encoding>> encodings;  // unset where tokenizing failed
  std::vector<base::Status> errors;                      // OK: output(i) holds the result
  std::vector<float> outputs;                            // [count, width]; zeros where errors[i] is set

  std::span<const float> output(std::size_t i) const { return {outputs.data() + i * width, width}; }
};

class Engine {
 public:
  // Sequence `index` of a call, tokenized. Called from the caller's thread or
  // from OpenMP threads (see the thread rules above): must be thread-safe.
  using EncodeFunction = std::function<base::Result<text::Encoding>(std::size_t index)>;

  // Starts the worker, which will run `model` with the calling thread's
  // OpenMP thread count.
  Engine(std::unique_ptr<EngineModel> model, EngineOptions options);
  // Stops the worker. No call may be in progress.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Tokenizes sequences 0..count-1 with `encode`, runs them in `precision`
  // (kAuto: the model's default) and returns each one's output or error.
  // A precision not prepared at load is every sequence's FailedPrecondition.
  // Thread-safe and blocking: concurrent calls share the model's batches.
  // Without base::CallOptions the call takes those of this thread's base::CallScope,
  // else the defaults: it blocks while the queue is full and runs to the
  // end. See base::CallOptions for refusing instead, deadlines and cancellation
  // (the outcome is then in EngineResults::status).
  EngineResults run(std::size_t count, const EncodeFunction& encode, base::Precision precision) const;
  EngineResults run(std::size_t count, const EncodeFunction& encode, base::Precision precision,
                    const base::CallOptions& call) const;

  const model::ModelInfo& info() const { return model_->info(); }
  const EngineOptions& options() const { return options_; }
  EngineStats stats() const;

 private:
  struct Request;
  struct Item {
    std::shared_ptr<Request> request;  // shared: a caller past its deadline returns before the worker lets go
    std::size_t index;                 // into the request's sequences
    std::size_t tokens;
  };

  void worker_loop();
  // Runs one planned batch (all of one precision); delivers results and
  // releases the items' callers.
  void run_batch(std::vector<Item>& items, base::Precision precision);
  // True when `request`'s remaining sequences are no longer wanted (its
  // deadline passed, it was cancelled, or its caller gave up on it).
  static bool unwanted(const Request& request);
  // Removes `request`'s sequences from the queue; how many. Caller holds mutex_.
  std::size_t withdraw(const Request& request) const;
  // The time for `tokens` to run at the measured throughput; unset before
  // anything ran. Caller holds mutex_.
  std::optional<std::chrono::milliseconds> time_for(std::size_t tokens) const;
  // model_->run with exceptions turned into errors: none leaves the worker.
  base::Status run_model(const model::TokenBatch& batch, base::Precision precision, std::span<float> out);

  std::unique_ptr<EngineModel> model_;  // run by worker_ only
  EngineOptions options_;
  std::size_t width_;
  int compute_threads_;  // the creating thread's OpenMP thread count, for the worker

  // The queue between callers and the worker.
  mutable std::mutex mutex_;
  mutable std::condition_variable work_ready_;   // worker waits: items queued or stopping
  mutable std::condition_variable space_ready_;  // callers wait: the queue has room
  mutable std::deque<Item> queue_;
  mutable std::size_t queued_tokens_ = 0;
  mutable std::size_t running_tokens_ = 0;  // taken by the worker, not run or dropped yet
  // Moving averages of batches' tokens and model seconds: their ratio is the
  // throughput that admission estimates waits with.
  mutable double recent_tokens_ = 0;
  mutable double recent_seconds_ = 0;
  mutable EngineStats stats_;
  bool stopping_ = false;
  // The worker's buffers, kept between batches.
  model::TokenBatch batch_;
  std::vector<float> out_;
  std::thread worker_;
};

}  // namespace winnow::inference
