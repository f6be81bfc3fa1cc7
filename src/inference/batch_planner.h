// How an engine (engine.h) groups variable-length sequences into batches
// under a token budget.
//
// The model runs on packed, unpadded batches, so a batch costs what its real
// tokens cost; the budget bounds activation memory, and sorting by length keeps
// the attention work of a batch even across threads.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace winnow::inference {

struct BatchLimits {
  std::size_t token_budget = 8192;   // real tokens per batch; a longer sequence runs alone
  std::size_t max_sequences = 256;   // sequences per batch
};

// Returns batches of indices into `lengths`, longest sequences first; within a
// batch, indices are in descending length order, ties in input order. Every
// index appears exactly once. Deterministic.
std::vector<std::vector<std::size_t>> plan_batches(std::span<const std::size_t> lengths,
                                                   const BatchLimits& limits);

// One sequence waiting in an engine's queue, as the scheduler sees it.
struct QueuedSequence {
  std::size_t call = 0;       // the call it belongs to: any id, the same for all of a call's sequences
  std::size_t tokens = 0;
  std::size_t group = 0;      // sequences of different groups (precisions) never share a batch
  double waited_seconds = 0;  // since its call was queued
};

// Requests that have waited this long are served before all others, oldest
// first, whatever their size: a hard bound on top of the response-ratio
// order, which starves no one but may keep a very long request behind a
// stream of short ones for a while.
struct SchedulingLimits {
  double aging_seconds = 0.5;
  // Other calls' sequences join the first-ranked call's batch only while it
  // holds fewer tokens than this, unless more than a full batch (the token
  // budget) is waiting: under moderate load a call big enough to keep the
  // model busy runs alone and finishes as soon as it can, instead of at the
  // end of a batch shared with the calls behind it, while small calls still
  // share batches; under a backlog, shared batches' few percent of
  // throughput shorten everyone's wait more. 0: calls run alone unless a
  // backlog is waiting.
  std::size_t join_below_tokens = 1024;
};

// The next batch to run from `queue` (in arrival order). Calls are served
// highest response ratio next ((waited + service) / service, with service
// proportional to the tokens a call has waiting): a short request goes
// before a long one that has not waited many times longer, and requests of
// about one size go in arrival order, so that none is overtaken again and
// again by newer ones of nearly its size (what plain shortest-first does to
// latency tails under load). Calls are ranked (1) aged calls (waited >=
// aging_seconds), by arrival; (2) the others by waited / tokens, highest
// first, then fewest tokens, then arrival. The batch takes the first-ranked
// call's group, then each call's sequences in rank order (a call's own in
// queue order) while they fit the budget and max_sequences; a sequence that
// does not fit is skipped for a later one that does, and calls after the
// first only while the batch holds fewer than join_below_tokens (or while
// more than the budget is waiting). A sequence longer than
// the budget runs alone. Returns indices into `queue` in descending length
// order (ties in queue order); empty only when `queue` is. Deterministic.
std::vector<std::size_t> plan_next_batch(std::span<const QueuedSequence> queue, const BatchLimits& limits,
                                         const SchedulingLimits& scheduling);

}  // namespace winnow::inference
