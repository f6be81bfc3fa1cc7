#include <gtest/gtest.h>

#include <cmath>

#include "eval/ir_metrics.h"

namespace winnow::eval {
namespace {

TEST(IrMetrics, MatchTrecEvalByHand) {
  std::map<std::string, int> judgments = {{"a", 1}, {"b", 2}, {"c", 0}, {"z", 1}};
  std::vector<std::string> ranking = {"x", "b", "c", "a", "a"};
  // DCG@10 = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4).
  double dcg = 2 / std::log2(3.0) + 1 / std::log2(5.0);
  double ideal = 2 / std::log2(2.0) + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_NEAR(ndcg_at(ranking, judgments, 10), dcg / ideal, 1e-12);
  EXPECT_NEAR(ndcg_at(ranking, judgments, 1), 0.0, 1e-12);
  EXPECT_NEAR(recall_at(ranking, judgments, 100), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(recall_at(ranking, judgments, 2), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(reciprocal_rank_at(ranking, judgments, 10), 0.5, 1e-12);
  EXPECT_NEAR(reciprocal_rank_at(ranking, judgments, 1), 0.0, 1e-12);
}

TEST(IrMetrics, AveragesOverJudgedQueriesCountingMissingRunsAsZero) {
  Qrels qrels = {{"q1", {{"a", 1}}}, {"q2", {{"b", 1}}}, {"q3", {{"c", 0}}}};
  std::map<std::string, std::vector<std::string>> runs = {{"q1", {"a"}}};
  IrMetrics metrics = evaluate_runs(runs, qrels);
  EXPECT_EQ(metrics.queries, 2u);  // q3 has no relevant document
  EXPECT_NEAR(metrics.ndcg_at_10, 0.5, 1e-12);
  EXPECT_NEAR(metrics.recall_at_100, 0.5, 1e-12);
  EXPECT_NEAR(metrics.mrr_at_10, 0.5, 1e-12);
}

}  // namespace
}  // namespace winnow::eval
