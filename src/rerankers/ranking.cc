#include "rerankers/ranking.h"

#include <algorithm>
#include <numeric>

#include "inference/scorer.h"

namespace winnow::rerankers {

std::vector<RankedDocument> rank_by_logit(std::span<const float> logits, std::size_t top_n) {
  std::vector<std::size_t> order(logits.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  order.resize(std::min(top_n, order.size()));
  std::vector<RankedDocument> ranked;
  ranked.reserve(order.size());
  for (std::size_t index : order) {
    ranked.push_back({index, inference::relevance_score(logits[index]), logits[index]});
  }
  return ranked;
}

}  // namespace winnow::rerankers
