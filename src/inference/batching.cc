#include "inference/batching.h"

#include <vector>

namespace winnow::inference {

base::Status run_in_batches(std::span<const text::Encoding* const> encodings, const BatchLimits& limits,
                            const BatchFunction& run) {
  std::vector<std::size_t> present;  // indices of non-null encodings
  std::vector<std::size_t> lengths;
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    if (encodings[i] == nullptr) continue;
    present.push_back(i);
    lengths.push_back(encodings[i]->ids.size());
  }
  base::Status first_error;
  model::TokenBatch batch;
  std::vector<std::size_t> items;
  for (const std::vector<std::size_t>& positions : plan_batches(lengths, limits)) {
    batch.clear();
    items.clear();
    for (std::size_t position : positions) {
      const text::Encoding& e = *encodings[present[position]];
      batch.add(e.ids, e.type_ids);
      items.push_back(present[position]);
    }
    base::Status status = run(batch, items);
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

}  // namespace winnow::inference
