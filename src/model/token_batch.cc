#include "model/token_batch.h"

namespace winnow::model {

void TokenBatch::add(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids,
                     std::size_t prefix_length) {
  if (offsets.empty()) offsets.push_back(0);
  if (prefix_length > 0 || !prefix_lengths.empty()) {
    prefix_lengths.resize(num_sequences(), 0);
    prefix_lengths.push_back(static_cast<std::int32_t>(prefix_length));
  }
  input_ids.insert(input_ids.end(), ids.begin(), ids.end());
  if (type_ids.empty()) {
    token_type_ids.insert(token_type_ids.end(), ids.size(), 0);
  } else {
    token_type_ids.insert(token_type_ids.end(), type_ids.begin(), type_ids.end());
  }
  offsets.push_back(static_cast<std::int32_t>(input_ids.size()));
}

void TokenBatch::clear() {
  input_ids.clear();
  token_type_ids.clear();
  offsets.assign(1, 0);
  prefix_lengths.clear();
}

}  // namespace winnow::model
