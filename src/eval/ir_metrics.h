// Ranking metrics as trec_eval computes them, for the BEIR evaluation:
// nDCG@k (gains are the qrels scores, ideal DCG from all judged relevant
// documents), Recall@k and MRR@k (reciprocal rank of the first relevant
// document within k, 0 if none).
//
// Not storage: it sits in store/ beside beir.h only because no evaluation
// room exists yet; it depends on nothing but the standard library.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "eval/beir.h"

namespace winnow::eval {

// `ranking`: document ids, best first (duplicates after the first ignored).
// `judgments`: document id -> relevance (> 0 relevant).
double ndcg_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments, std::size_t k);
double recall_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments, std::size_t k);
double reciprocal_rank_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments,
                          std::size_t k);

struct IrMetrics {
  double ndcg_at_10 = 0;
  double recall_at_100 = 0;
  double mrr_at_10 = 0;
  std::size_t queries = 0;  // queries averaged over
};

// Averages over every query of `qrels` with at least one relevant document;
// a query missing from `runs` counts as 0 (trec_eval -c).
IrMetrics evaluate_runs(const std::map<std::string, std::vector<std::string>>& runs, const Qrels& qrels);

}  // namespace winnow::eval
