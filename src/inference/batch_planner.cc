#include "inference/batch_planner.h"

#include <algorithm>
#include <numeric>

namespace winnow::inference {

std::vector<std::vector<std::size_t>> plan_batches(std::span<const std::size_t> lengths,
                                                   const BatchLimits& limits) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });

  const std::size_t max_sequences = std::max<std::size_t>(limits.max_sequences, 1);
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> current;
  std::size_t current_tokens = 0;
  for (std::size_t index : order) {
    std::size_t length = lengths[index];
    bool over_budget = current_tokens + length > limits.token_budget;
    if (!current.empty() && (over_budget || current.size() == max_sequences)) {
      batches.push_back(std::move(current));
      current.clear();
      current_tokens = 0;
    }
    current.push_back(index);
    current_tokens += length;
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

}  // namespace winnow::inference
