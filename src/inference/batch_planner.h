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

}  // namespace winnow::inference
