// hybrid_search (filter): BM25 and dense search fused into one ranking.
//   {"query": "{{INPUT.query}}", "vector_index": "text_embedding", "top_k": 10,
//    "fusion": "rrf" | "weighted", "rrf_k": 60, "weights": {"text": 1, "semantic": 1},
//    "candidates": 100}
// rrf: score = sum over the two lists of weight / (rrf_k + rank), ranks from 1.
// weighted: each list's scores min-max normalised to [0, 1], then the weighted
// sum (a document missing from a list gets 0 there).
#pragma once

#include <vector>

#include "pipeline/candidate.h"
#include "pipeline/stage_registry.h"

namespace winnow::pipeline {

StageDefinition hybrid_search_stage();

enum class Fusion { kReciprocalRank, kWeighted };

// Fuses ranked lists (each best first) with per-list weights; best first,
// ties in order of first appearance. Exposed for tests.
std::vector<Candidate> fuse_rankings(const std::vector<std::vector<Candidate>>& lists,
                                     const std::vector<double>& weights, Fusion fusion, double rrf_k);

}  // namespace winnow::pipeline
