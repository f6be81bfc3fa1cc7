// What the three search stages share: searching every collection of the
// pipeline and merging, and the subset rule for a search that is not first.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "pipeline/candidate.h"
#include "pipeline/stage.h"
#include "store/types.h"

namespace winnow::pipeline {

// One search of one collection for the `k` best documents, best first.
using CollectionSearch =
    std::function<base::Result<std::vector<store::ScoredDocument>>(const std::string& collection_id, std::size_t k)>;

// Runs `search` on every collection and returns the top_k best, best first
// (ties: collection order, then document_id). At the first stage the search
// covers the collections; later, a filter stage keeps a subset of its input:
// the input's documents re-scored by this search, in this search's order.
base::Result<std::vector<Candidate>> search_collections(StageContext& context, const std::vector<Candidate>& input,
                                                        std::size_t top_k, const CollectionSearch& search);

}  // namespace winnow::pipeline
