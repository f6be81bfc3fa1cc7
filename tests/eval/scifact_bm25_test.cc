// BM25 on BEIR SciFact (tests/data/scifact), against the published Anserini
// figure for the "flat" index (title + " " + text, k1 = 0.9, b = 0.4):
// nDCG@10 0.6789, Recall@100 0.9253.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "base/stopwatch.h"
#include "eval/beir.h"
#include "eval/ir_metrics.h"
#include "store/store.h"
#include "store/test_util.h"

namespace winnow::eval {
namespace {

using store::testing::TempDir;

IrMetrics run_scifact(const BeirDataset& data, const nlohmann::json& settings, const char* label) {
  TempDir dir;
  auto opened = store::Store::open(dir.path());
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
  if (!opened.ok()) return {};
  auto store = std::move(opened).value();
  EXPECT_TRUE(store->create_collection("scifact", settings).ok());
  std::string lines;
  for (const auto& document : data.corpus) lines += beir_document_ndjson(document) + "\n";
  std::istringstream input(lines);
  base::Stopwatch ingest_clock;
  auto report = store->ingest("scifact", input);
  double ingest_ms = ingest_clock.elapsed_ms();
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  if (!report.ok()) return {};
  EXPECT_EQ(report->documents_stored, data.corpus.size());
  EXPECT_TRUE(report->errors.empty());

  std::map<std::string, std::vector<std::string>> runs;
  std::vector<double> latencies;
  for (const auto& query : data.queries) {
    base::Stopwatch clock;
    auto hits = store->text_search("scifact", query.text, 100);
    latencies.push_back(clock.elapsed_ms());
    EXPECT_TRUE(hits.ok()) << hits.status().to_string();
    if (!hits.ok()) return {};
    std::vector<std::string>& ranking = runs[query.id];
    for (const auto& hit : *hits) ranking.push_back(hit.document_id);
  }
  std::sort(latencies.begin(), latencies.end());
  IrMetrics metrics = evaluate_runs(runs, data.qrels);
  std::printf("SciFact BM25 (%s): nDCG@10 %.4f  Recall@100 %.4f  MRR@10 %.4f  over %zu queries\n", label,
              metrics.ndcg_at_10, metrics.recall_at_100, metrics.mrr_at_10, metrics.queries);
  std::printf("  ingest %zu documents in %.0f ms (%.0f documents/s, batches of 500, synchronous=FULL); "
              "top-100 query latency median %.2f ms, p95 %.2f ms\n",
              data.corpus.size(), ingest_ms, 1000.0 * static_cast<double>(data.corpus.size()) / ingest_ms,
              latencies[latencies.size() / 2], latencies[latencies.size() * 95 / 100]);
  return metrics;
}

TEST(SciFactBm25, ReachesThePublishedAnseriniFigure) {
  auto data = read_beir_dataset(std::filesystem::path(WINNOW_TEST_DATA) / "scifact");
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->corpus.size(), 5183u);
  ASSERT_EQ(data->queries.size(), 300u);

  IrMetrics metrics = run_scifact(*data, nlohmann::json::object(), "flat, Lucene English stopwords");
  EXPECT_EQ(metrics.queries, 300u);
  EXPECT_GE(metrics.ndcg_at_10, 0.669);  // published 0.6789, within 0.01
  EXPECT_GE(metrics.recall_at_100, 0.90);  // published 0.9253
}

// The two other ways to treat stopwords, measured beside the default (the
// Anserini reference drops Lucene's stopwords at index and query time).
// Skipped under AddressSanitizer, where each run takes many times longer.
// Two more full SciFact runs: built into the optimized test build only, where
// they take a second (under AddressSanitizer they would take minutes).
#if !defined(__SANITIZE_ADDRESS__)
TEST(SciFactBm25, StopwordVariants) {
  auto data = read_beir_dataset(std::filesystem::path(WINNOW_TEST_DATA) / "scifact");
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  IrMetrics query_only = run_scifact(*data, {{"bm25", {{"stopwords", "english_query_only"}}}},
                                     "stopwords dropped from queries only");
  IrMetrics none = run_scifact(*data, {{"bm25", {{"stopwords", "none"}}}}, "no stopword removal");
  EXPECT_GE(query_only.ndcg_at_10, 0.66);
  EXPECT_GE(none.ndcg_at_10, 0.66);
}
#endif

}  // namespace
}  // namespace winnow::eval
