// rerank (sort): scores every candidate against the query with a reranker and
// keeps the top_n, best first.
//   {"model": "bge-reranker-v2-m3", "top_n": 10, "query": "{{INPUT.query}}",
//    "field": "text" | ["title", "text"], "max_candidates": 1000, "precision": "auto"}
// Each output document carries score (the reranker's relevance), original_score
// (the previous stage's score) and rerank_position (1..top_n). Without "field",
// a document's text fields are joined with a space, in the document's order.
// More candidates than max_candidates is an error that says to lower the
// search stage's top_k: candidates scored and candidates kept are separate limits.
// "precision" asks a local model for one of the precisions it prepared ("auto":
// its default); the one used is reported in the stage's stats.
#pragma once

#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition rerank_stage();

}  // namespace winnow::pipeline
