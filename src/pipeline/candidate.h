// The unit that flows between stages: one document of one collection, with
// the score the last stage gave it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace winnow::pipeline {

struct LoadedDocument {
  std::vector<std::pair<std::string, std::string>> text_fields;  // (name, text) in the document's order
  nlohmann::json metadata;                                       // an object
  // {"document_id", text fields..., "metadata"}: what conditions and sorts address.
  nlohmann::json view;
};

struct Candidate {
  std::string collection_id;
  std::string document_id;
  double score = 0;
  // The score the previous stage gave, kept when a stage re-scores (rerank).
  std::optional<double> original_score;
  std::optional<std::size_t> rerank_position;  // 1-based, set by rerank
  // A chunked rerank's best window: {"index", "chunks", "start", "end"}
  // (Unicode code points of the text the stage ranked).
  std::optional<nlohmann::json> best_chunk;
  // The stored document, once fetched. Shared, never mutated.
  std::shared_ptr<const LoadedDocument> document;
};

}  // namespace winnow::pipeline
