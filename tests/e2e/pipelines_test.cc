// The spec's three example pipelines through the real server, with the fixture
// models: invariants of every stage, then a restart that finds everything intact.
#include <gtest/gtest.h>

#include <map>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

class SpecPipelinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("pipelines");
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models());
    auto c = server_->client();
    auto created = http_post(*c, "/v1/collections",
                             json{{"collection_id", "papers"},
                                  {"vector_indexes", {{{"name", "text_extractor_v1_embedding"},
                                                       {"model", model_path("bert-embed-tiny")},
                                                       {"field", "text"}}}}});
    ASSERT_EQ(created.status, 201) << created.raw;
    auto ingested = http_post(*c, "/v1/collections/papers/documents", scifact_ndjson(300), "application/x-ndjson");
    ASSERT_EQ(ingested.status, 200) << ingested.raw;
    ASSERT_EQ(ingested.body["documents_stored"], 300);
    ASSERT_EQ(ingested.body["bad_lines"], 0);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  json search_stage() const {
    return stage("filter", "semantic_search",
                 {{"query", "{{INPUT.query}}"}, {"vector_index", "text_extractor_v1_embedding"}, {"top_k", 50}});
  }
  json rerank_stage(int top_n) const {
    return stage("sort", "rerank", {{"model", model_path("bert-ce-tiny")}, {"top_n", top_n}});
  }

  HttpResult execute(const json& stages, const json& inputs) {
    auto c = server_->client();
    return http_post(*c, "/v1/retrievers/execute",
                     json{{"collection_ids", {"papers"}}, {"stages", stages}, {"inputs", inputs}});
  }

  // document_id -> score of the search stage alone.
  std::map<std::string, double> search_scores(const json& inputs) {
    auto r = execute(json::array({search_stage()}), inputs);
    EXPECT_EQ(r.status, 200) << r.raw;
    std::map<std::string, double> scores;
    for (const auto& d : r.body["documents"]) scores[d["document_id"]] = d["score"].get<double>();
    return scores;
  }

  static void expect_reranked(const json& documents, const std::map<std::string, double>& previous) {
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const json& d = documents[i];
      EXPECT_EQ(d["rerank_position"], i + 1);
      if (i > 0) {
        EXPECT_GE(documents[i - 1]["score"].get<double>(), d["score"].get<double>()) << "sorted by score";
      }
      ASSERT_TRUE(previous.count(d["document_id"])) << "a reranked document came from the search";
      EXPECT_DOUBLE_EQ(d["original_score"].get<double>(), previous.at(d["document_id"]));
      EXPECT_GT(d["score"].get<double>(), 0.0);
      EXPECT_LT(d["score"].get<double>(), 1.0);
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SpecPipelinesTest, SearchThenRerank) {
  json inputs = {{"query", "cancer cells and tumour growth"}};
  auto previous = search_scores(inputs);
  auto r = execute(json::array({search_stage(), rerank_stage(10)}), inputs);
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["documents"].size(), 10u);
  expect_reranked(r.body["documents"], previous);
  const json& stats = r.body["stages"];
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0]["stage_id"], "semantic_search");
  EXPECT_EQ(stats[0]["documents_in"], 0);
  EXPECT_EQ(stats[0]["documents_out"], 50);
  EXPECT_EQ(stats[1]["documents_in"], 50);
  EXPECT_EQ(stats[1]["documents_out"], 10);
  EXPECT_EQ(stats[1]["candidates_scored"], 50);
  EXPECT_TRUE(stats[1]["ms"].is_number());
  EXPECT_TRUE(r.body["total_ms"].is_number());
  EXPECT_TRUE(r.body["documents"][0]["fields"].contains("title"));
  EXPECT_TRUE(r.body["documents"][0]["metadata"].contains("category"));
}

TEST_F(SpecPipelinesTest, SearchRerankLimit) {
  json inputs = {{"query", "vitamin D deficiency"}};
  auto previous = search_scores(inputs);
  auto full = execute(json::array({search_stage(), rerank_stage(10)}), inputs);
  auto r = execute(json::array({search_stage(), rerank_stage(10), stage("reduce", "limit", {{"limit", 5}})}), inputs);
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["documents"].size(), 5u);
  expect_reranked(r.body["documents"], previous);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.body["documents"][i]["document_id"], full.body["documents"][i]["document_id"]);
  }
  EXPECT_EQ(r.body["stages"][2]["documents_in"], 10);
  EXPECT_EQ(r.body["stages"][2]["documents_out"], 5);
}

TEST_F(SpecPipelinesTest, StoredRetrieverSearchFilterRerankSurvivesARestart) {
  json retriever = {
      {"retriever_id", "qa"},
      {"collection_ids", {"papers"}},
      {"input_schema", {{"query", {{"type", "string"}, {"required", true}}}, {"category", {{"type", "string"}}}}},
      {"stages", {search_stage(),
                  stage("filter", "structured_filter",
                        {{"conditions", {{"field", "metadata.category"}, {"operator", "eq"}, {"value", "{{INPUT.category}}"}}}}),
                  rerank_stage(10)}}};
  auto c = server_->client();
  auto created = http_post(*c, "/v1/retrievers", retriever);
  ASSERT_EQ(created.status, 201) << created.raw;
  json inputs = {{"query", "protein folding"}, {"category", "biology"}};
  auto previous = search_scores(inputs);
  auto r = http_post(*c, "/v1/retrievers/qa/execute", json{{"inputs", inputs}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& docs = r.body["documents"];
  ASSERT_FALSE(docs.empty());
  EXPECT_LE(docs.size(), 10u);
  expect_reranked(docs, previous);
  for (const auto& d : docs) EXPECT_EQ(d["metadata"]["category"], "biology");
  const json& stats = r.body["stages"];
  EXPECT_EQ(stats[1]["documents_in"], 50);
  EXPECT_EQ(stats[1]["documents_out"], stats[2]["documents_in"]);
  EXPECT_LT(stats[1]["documents_out"].get<int>(), 50);

  EXPECT_EQ(server_->stop(), 0) << server_->log();
  server_ = std::make_unique<ServerProcess>(dir_, fixture_models());
  c = server_->client();
  auto collection = http_get(*c, "/v1/collections/papers");
  ASSERT_EQ(collection.status, 200);
  EXPECT_EQ(collection.body["document_count"], 300);
  EXPECT_EQ(http_get(*c, "/v1/retrievers/qa").status, 200);
  auto again = http_post(*c, "/v1/retrievers/qa/execute", json{{"inputs", inputs}});
  ASSERT_EQ(again.status, 200) << again.raw;
  ASSERT_EQ(again.body["documents"].size(), docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(again.body["documents"][i]["document_id"], docs[i]["document_id"]);
    EXPECT_DOUBLE_EQ(again.body["documents"][i]["score"].get<double>(), docs[i]["score"].get<double>());
  }
}

TEST_F(SpecPipelinesTest, HybridSearchAndSortByField) {
  json inputs = {{"query", "insulin resistance"}};
  auto r = execute(json::array({stage("filter", "hybrid_search",
                                      {{"vector_index", "text_extractor_v1_embedding"}, {"top_k", 20}}),
                                stage("sort", "sort_by_field", {{"field", "metadata.year"}, {"direction", "asc"}})}),
                   inputs);
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["documents"].size(), 20u);
  for (std::size_t i = 1; i < 20; ++i) {
    EXPECT_LE(r.body["documents"][i - 1]["metadata"]["year"].get<int>(),
              r.body["documents"][i]["metadata"]["year"].get<int>());
  }
}

}  // namespace
}  // namespace winnow::testing
