// The model room's input: token sequences packed back to back, no padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace winnow::model {

// Sequence s is input_ids[offsets[s] .. offsets[s+1]). offsets has
// num_sequences() + 1 entries and offsets[0] == 0 (a new batch holds {0}).
struct TokenBatch {
  std::vector<std::int32_t> input_ids;
  std::vector<std::int32_t> token_type_ids;  // same length as input_ids
  std::vector<std::int32_t> offsets{0};
  // Per sequence: how many of its leading tokens are a prefix it shares with
  // other sequences (a decoder reranker's prompt up to the document), which a
  // decoder may compute once and reuse (decoder.h); encoders ignore it. Either
  // empty or one entry per sequence.
  std::vector<std::int32_t> prefix_lengths;

  std::size_t num_sequences() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::size_t num_tokens() const { return input_ids.size(); }
  std::size_t length(std::size_t sequence) const {
    return static_cast<std::size_t>(offsets[sequence + 1] - offsets[sequence]);
  }

  // Appends one sequence. `type_ids` must have ids.size() entries, or be
  // empty for all zeros; a batch built otherwise is refused by the model.
  void add(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids = {},
           std::size_t prefix_length = 0);

  void clear();
};

// What every model asks of a batch before it runs: offsets that start at 0,
// never decrease and end at the packed size; no empty sequence and none over
// `max_tokens`; every id below `vocab_size`; type ids one per token; prefix
// lengths (if any) one per sequence and within it. Errors name the sequence
// and the token. Token types' range is the embedding table's to check.
base::Status validate_token_batch(const TokenBatch& batch, std::size_t vocab_size, std::size_t max_tokens);

}  // namespace winnow::model
