// semantic_search (filter): nearest neighbours in a vector index.
//   {"query": "{{INPUT.query}}", "vector_index": "text_embedding", "top_k": 10}
// or {"query_vector": [...], ...}. A query text is embedded with the index's model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition semantic_search_stage();

// The optional "query_vector" parameter: a non-empty array of numbers.
base::Result<std::optional<std::vector<float>>> query_vector_parameter(Params& params);

// The query vector for `index` of `collection`: `vector` when given, else
// `query` embedded with the index's model. Errors name the collection and index.
base::Result<std::vector<float>> query_vector_for(StageContext& context, const std::string& collection,
                                                  const std::string& index, const std::string& query,
                                                  const std::optional<std::vector<float>>& vector);

}  // namespace winnow::pipeline
