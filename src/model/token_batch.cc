#include "model/token_batch.h"

namespace winnow::model {

void TokenBatch::add(std::span<const std::int32_t> ids, std::span<const std::int32_t> type_ids) {
  if (offsets.empty()) offsets.push_back(0);
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
}

}  // namespace winnow::model
