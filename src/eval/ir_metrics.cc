#include "eval/ir_metrics.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace winnow::eval {

namespace {

// The first k distinct ids of the ranking.
std::vector<std::string> top_distinct(const std::vector<std::string>& ranking, std::size_t k) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& id : ranking) {
    if (out.size() >= k) break;
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

int relevance(const std::map<std::string, int>& judgments, const std::string& id) {
  auto it = judgments.find(id);
  return it == judgments.end() ? 0 : it->second;
}

}  // namespace

double ndcg_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments, std::size_t k) {
  double dcg = 0;
  std::vector<std::string> top = top_distinct(ranking, k);
  for (std::size_t i = 0; i < top.size(); ++i) {
    int gain = relevance(judgments, top[i]);
    if (gain > 0) dcg += gain / std::log2(static_cast<double>(i) + 2.0);
  }
  std::vector<int> gains;
  for (const auto& [id, rel] : judgments) {
    if (rel > 0) gains.push_back(rel);
  }
  std::sort(gains.rbegin(), gains.rend());
  double ideal = 0;
  for (std::size_t i = 0; i < gains.size() && i < k; ++i) ideal += gains[i] / std::log2(static_cast<double>(i) + 2.0);
  return ideal > 0 ? dcg / ideal : 0.0;
}

double recall_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments, std::size_t k) {
  std::size_t relevant = 0, found = 0;
  for (const auto& [id, rel] : judgments) relevant += rel > 0 ? 1 : 0;
  if (relevant == 0) return 0.0;
  for (const auto& id : top_distinct(ranking, k)) found += relevance(judgments, id) > 0 ? 1 : 0;
  return static_cast<double>(found) / static_cast<double>(relevant);
}

double reciprocal_rank_at(const std::vector<std::string>& ranking, const std::map<std::string, int>& judgments,
                          std::size_t k) {
  std::vector<std::string> top = top_distinct(ranking, k);
  for (std::size_t i = 0; i < top.size(); ++i) {
    if (relevance(judgments, top[i]) > 0) return 1.0 / static_cast<double>(i + 1);
  }
  return 0.0;
}

IrMetrics evaluate_runs(const std::map<std::string, std::vector<std::string>>& runs, const Qrels& qrels) {
  IrMetrics metrics;
  static const std::vector<std::string> kEmpty;
  for (const auto& [query_id, judgments] : qrels) {
    bool any_relevant = std::any_of(judgments.begin(), judgments.end(), [](const auto& j) { return j.second > 0; });
    if (!any_relevant) continue;
    auto it = runs.find(query_id);
    const std::vector<std::string>& ranking = it == runs.end() ? kEmpty : it->second;
    metrics.ndcg_at_10 += ndcg_at(ranking, judgments, 10);
    metrics.recall_at_100 += recall_at(ranking, judgments, 100);
    metrics.mrr_at_10 += reciprocal_rank_at(ranking, judgments, 10);
    ++metrics.queries;
  }
  if (metrics.queries > 0) {
    double n = static_cast<double>(metrics.queries);
    metrics.ndcg_at_10 /= n;
    metrics.recall_at_100 /= n;
    metrics.mrr_at_10 /= n;
  }
  return metrics;
}

}  // namespace winnow::eval
