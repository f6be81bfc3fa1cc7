// `winnow ingest`, `winnow query` and `winnow eval` end to end.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/cli_test_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

TEST(StoreCommandsTest, IngestThenQueryWithoutAServer) {
  auto dir = fresh_temp_dir("store_commands");
  std::string ndjson =
      "{\"id\": \"a\", \"title\": \"Reranking\", \"text\": \"cross encoders rerank candidates\", \"metadata\": {\"year\": 2024}}\n"
      "{\"id\": \"b\", \"title\": \"BM25\", \"text\": \"bm25 ranks by term frequency\", \"metadata\": {\"year\": 2009}}\n"
      "oops\n"
      "{\"id\": \"c\", \"title\": \"Bread\", \"text\": \"flour water salt\"}\n";
  ProcessResult ingest = run_process({winnow_binary(), "ingest", "--data", (dir / "data").string(), "--collection",
                                      "papers", "--create", "-"},
                                     ndjson);
  EXPECT_EQ(ingest.exit_code, 2) << ingest.err;
  EXPECT_NE(ingest.err.find("standard input line 3:"), std::string::npos) << ingest.err;
  auto summary = nlohmann::json::parse(ingest.out);
  EXPECT_EQ(summary["documents_stored"], 3);
  EXPECT_EQ(summary["bad_lines"], 1);

  std::ofstream(dir / "pipeline.json") << nlohmann::json{
      {"collection_ids", {"papers"}},
      {"stages",
       {{{"stage_type", "filter"}, {"stage_id", "text_search"}, {"parameters", {{"top_k", 10}}}},
        {{"stage_type", "sort"},
         {"stage_id", "rerank"},
         {"parameters", {{"model", model_dir("bert-ce-tiny").string()}, {"top_n", 2}}}}}}}
                                              .dump();
  ProcessResult query = run_process({winnow_binary(), "query", "--data", (dir / "data").string(), "--pipeline",
                                     (dir / "pipeline.json").string(), "--input", "query=rerank candidates bm25"});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  auto result = nlohmann::json::parse(query.out);
  ASSERT_EQ(result["documents"].size(), 2u);
  EXPECT_EQ(result["documents"][0]["rerank_position"], 1);
  EXPECT_EQ(result["stages"][1]["stage_id"], "rerank");

  ProcessResult missing = run_process({winnow_binary(), "query", "--data", (dir / "data").string(), "--pipeline",
                                       (dir / "pipeline.json").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("missing input \"query\""), std::string::npos) << missing.err;

  ProcessResult no_collection = run_process(
      {winnow_binary(), "ingest", "--data", (dir / "data").string(), "--collection", "other", "-"}, "{}\n");
  EXPECT_EQ(no_collection.exit_code, 1);
  EXPECT_NE(no_collection.err.find("no collection \"other\""), std::string::npos) << no_collection.err;
  std::filesystem::remove_all(dir);
}

TEST(StoreCommandsTest, EvalOnSciFactReachesThePublishedBm25) {
  ProcessResult r = run_process({winnow_binary(), "eval", "--data", (test_data() / "scifact").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto metrics = nlohmann::json::parse(r.out);
  std::cout << r.out;
  // Published (Anserini, flat): nDCG@10 0.6789, R@100 0.9253.
  EXPECT_GE(metrics["ndcg@10"].get<double>(), 0.6789 - 0.01);
  EXPECT_GE(metrics["recall@100"].get<double>(), 0.9253 - 0.02);
  EXPECT_GT(metrics["mrr@10"].get<double>(), 0.5);
  EXPECT_EQ(metrics["queries"], 300);
}

TEST(StoreCommandsTest, EvalRefusesADirectoryThatIsNotBeir) {
  ProcessResult r = run_process({winnow_binary(), "eval", "--data", "/nonexistent-beir", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent-beir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace winnow::testing
