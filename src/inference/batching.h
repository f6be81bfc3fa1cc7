// Runs a model over encoded sequences in planned batches (see batch_planner.h).
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "base/status.h"
#include "inference/batch_planner.h"
#include "model/token_batch.h"
#include "text/tokenizer.h"

namespace winnow::inference {

// Called once per batch with the packed batch and, for each of its sequences,
// the index into the caller's `encodings`.
using BatchFunction = std::function<base::Status(const model::TokenBatch& batch, std::span<const std::size_t> items)>;

// Packs `encodings` (null entries are skipped) into length-sorted batches under
// `limits` and calls `run` for each. The first error from `run` is returned
// after every batch ran, so one bad batch does not hide the others' results.
base::Status run_in_batches(std::span<const text::Encoding* const> encodings, const BatchLimits& limits,
                            const BatchFunction& run);

}  // namespace winnow::inference
