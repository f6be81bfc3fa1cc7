#include "pipeline/stages/search_common.h"

#include <algorithm>
#include <set>

namespace winnow::pipeline {

base::Result<std::vector<Candidate>> search_collections(StageContext& context, const std::vector<Candidate>& input,
                                                        std::size_t top_k, const CollectionSearch& search) {
  const bool subset = !context.at_start();
  std::set<std::pair<std::string, std::string>> allowed;
  for (const Candidate& c : input) allowed.insert({c.collection_id, c.document_id});

  std::vector<Candidate> merged;
  for (std::size_t ci = 0; ci < context.collection_ids().size(); ++ci) {
    const std::string& collection = context.collection_ids()[ci];
    std::size_t k = top_k;
    if (subset) {
      // Every document of the collection could be among the input's.
      WINNOW_ASSIGN_OR_RETURN(store::Collection info, context.services().store->get_collection(collection));
      k = static_cast<std::size_t>(std::max<std::int64_t>(info.document_count, 1));
    }
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::ScoredDocument> hits, search(collection, k));
    for (store::ScoredDocument& hit : hits) {
      if (subset && allowed.count({collection, hit.document_id}) == 0) continue;
      Candidate c;
      c.collection_id = collection;
      c.document_id = std::move(hit.document_id);
      c.score = hit.score;
      merged.push_back(std::move(c));
    }
  }
  // Each collection's hits are already best first; a stable sort keeps
  // collection order, then the store's document_id order, among equal scores.
  std::stable_sort(merged.begin(), merged.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (merged.size() > top_k) merged.resize(top_k);
  return merged;
}

}  // namespace winnow::pipeline
