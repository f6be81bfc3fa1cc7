// Per-call controls of a model engine's calls (inference/engine.h): how a
// call enters the engine's queue, until when its work is wanted, and what the
// engine reports back. The command line passes none: a call waits for room in
// the queue (backpressure) and runs to the end. The server passes all of
// them, so that no request blocks a worker on a full queue and no request
// spends engine time after its deadline or after its client went away. In
// base so that the server can set them without knowing how scores are
// computed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

namespace winnow::base {

// Why a call was refused entry to an engine's queue.
enum class Refusal {
  kNone,
  kQueueFull,  // the queue has no room for the call (EngineOptions::max_queued_tokens)
  kWait,       // its sequences are not estimated to start within max_queue_wait
};

// What the engine tells a caller about a call besides its results.
struct CallReport {
  Refusal refusal = Refusal::kNone;
  // Set with a refusal: the estimated time for the work ahead of the call to
  // run (tokens queued and running over the measured throughput); zero when
  // the engine has measured nothing yet. When to try again.
  std::chrono::milliseconds estimated_wait{0};
  // Sequences of the call not run because its deadline passed or it was
  // cancelled, as far as known when the call returned.
  std::size_t dropped = 0;
};

struct CallOptions {
  // false: never wait for room in the queue; a call that finds it full is
  // refused at once (ResourceExhausted). true: wait for room (backpressure).
  bool wait_for_room = true;
  // Set: the call is refused at once (ResourceExhausted) when its sequences
  // are not estimated to start running within this, counted from
  // `waiting_since` (else from the call's start). The estimate is the tokens
  // queued and running ahead of the call over the engine's measured
  // throughput; with nothing ahead, or nothing measured yet, a call is let in.
  std::optional<std::chrono::milliseconds> max_queue_wait;
  // Where max_queue_wait counts from: a server request's arrival, so that
  // time spent waiting for a worker counts too.
  std::optional<std::chrono::steady_clock::time_point> waiting_since;
  // Set: once it passes, the call's sequences not yet run are dropped (those
  // queued at once, those already taken by the worker before their batch
  // runs) and the call returns DeadlineExceeded without waiting for them.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Set to true by another thread (the client went away): as a passed
  // deadline, but the call returns Unavailable. Checked at least every 20 ms.
  std::shared_ptr<const std::atomic<bool>> cancelled;
  // Set: called on the calling thread with the call's token count once its
  // sequences are tokenized, before they queue, and with 0 when the call
  // returns (the server corrects the tokens it reserved for the request
  // from an estimate to those it has in a model's queue or batches).
  std::function<void(std::size_t tokens)> tokenized;
  // Filled in when set; must outlive the call. Several calls may share one
  // (a request's engine calls): the last refusal is kept, drops add up.
  CallReport* report = nullptr;
};

// The options of the engine calls this thread makes while the scope lives,
// for calls that bring none (Engine::run without CallOptions): how a server
// request hands its deadline, cancellation and admission rules to every
// engine call its handler makes, through the layers between (pipeline,
// rerankers, Scorer, Embedder) that need not know of them. Scopes nest; the
// innermost wins. Not to be moved to another thread.
class CallScope {
 public:
  explicit CallScope(CallOptions options);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

  CallOptions& options() { return options_; }
  // The innermost scope of this thread, or null.
  static CallScope* current();

 private:
  CallOptions options_;
  CallScope* outer_;
};

}  // namespace winnow::base
