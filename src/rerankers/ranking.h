// Turning per-document logits into a ranking.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "rerankers/reranker.h"

namespace winnow::rerankers {

// Orders documents by logit, best first, ties in input order; keeps `top_n`.
std::vector<RankedDocument> rank_by_logit(std::span<const float> logits, std::size_t top_n);

}  // namespace winnow::rerankers
