#include "model/token_batch.h"

#include <string>

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

base::Status validate_token_batch(const TokenBatch& batch, std::size_t vocab_size, std::size_t max_tokens) {
  const std::size_t n = batch.num_sequences();
  if (batch.offsets.empty() || batch.offsets[0] != 0) {
    return base::invalid_argument("token batch: offsets must start with 0");
  }
  if (batch.token_type_ids.size() != batch.input_ids.size()) {
    return base::invalid_argument("token batch: " + std::to_string(batch.token_type_ids.size()) +
                                  " token_type_ids for " + std::to_string(batch.input_ids.size()) + " input_ids");
  }
  if (static_cast<std::size_t>(batch.offsets.back()) != batch.input_ids.size()) {
    return base::invalid_argument("token batch: offsets end at " + std::to_string(batch.offsets.back()) + " but " +
                                  std::to_string(batch.input_ids.size()) + " tokens are packed");
  }
  if (!batch.prefix_lengths.empty() && batch.prefix_lengths.size() != n) {
    return base::invalid_argument("token batch: " + std::to_string(batch.prefix_lengths.size()) +
                                  " prefix lengths for " + std::to_string(n) + " sequences");
  }
  for (std::size_t s = 0; s < n; ++s) {
    const std::int32_t begin = batch.offsets[s], end = batch.offsets[s + 1];
    const std::string where = "sequence " + std::to_string(s);
    if (end < begin) return base::invalid_argument("token batch: offsets decrease at " + where);
    const auto length = static_cast<std::size_t>(end - begin);
    if (length == 0) return base::invalid_argument(where + " is empty");
    if (length > max_tokens) {
      return base::invalid_argument(where + " has " + std::to_string(length) + " tokens; the model's maximum is " +
                                    std::to_string(max_tokens));
    }
    if (!batch.prefix_lengths.empty() &&
        (batch.prefix_lengths[s] < 0 || static_cast<std::size_t>(batch.prefix_lengths[s]) > length)) {
      return base::invalid_argument(where + " declares a shared prefix of " + std::to_string(batch.prefix_lengths[s]) +
                                    " tokens, outside its " + std::to_string(length));
    }
    for (std::int32_t t = begin; t < end; ++t) {
      const std::int32_t id = batch.input_ids[static_cast<std::size_t>(t)];
      if (id < 0 || static_cast<std::size_t>(id) >= vocab_size) {
        return base::invalid_argument(where + ": token " + std::to_string(t - begin) + " has id " +
                                      std::to_string(id) + ", outside the vocabulary of " +
                                      std::to_string(vocab_size));
      }
    }
  }
  return {};
}

}  // namespace winnow::model
