// The score cache through the real server: a repeated rerank is answered
// without the engine (its batch counters stay still) with the same scores,
// on every API that reranks (Cohere v1/v2, TEI's /rerank, a pipeline's rerank
// stage), counted in the responses and in /metrics; --score-cache-mb 0 turns
// it off.
#include <gtest/gtest.h>

#include "e2e/e2e_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

// The value of the metric line that starts with `prefix`, 0 when absent.
double metric(const std::string& metrics, const std::string& prefix) {
  std::size_t at = 0;
  while ((at = metrics.find(prefix, at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') {
      const std::size_t space = metrics.find(' ', at + prefix.size());
      return std::stod(metrics.substr(space + 1, metrics.find('\n', space) - space - 1));
    }
    at += prefix.size();
  }
  return 0;
}

json scifact_texts(std::size_t n) {
  json texts = json::array();
  std::istringstream in(scifact_ndjson(n));
  std::string line;
  while (std::getline(in, line)) texts.push_back(json::parse(line)["text"]);
  return texts;
}

class ScoreCacheE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start(std::vector<std::string> args = {}) {
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models(std::move(args)));
  }
  std::string metrics() {
    auto c = server_->client();
    auto r = c->Get("/metrics");
    return r ? r->body : "";
  }
  double pairs_run() { return metric(metrics(), "winnow_engine_batch_pairs_sum"); }
  HttpResult rerank(const std::string& path, const json& documents, const std::string& query = "cancer cells") {
    auto c = server_->client();
    return http_post(*c, path, json{{"model", model_path("bert-ce-tiny")}, {"query", query}, {"documents", documents}});
  }

  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ScoreCacheE2eTest, ARepeatedRequestIsAnsweredWithoutTheEngine) {
  start();
  const json documents = scifact_texts(40);
  auto first = rerank("/v1/rerank", documents);
  ASSERT_EQ(first.status, 200) << first.raw;
  EXPECT_EQ(first.body["meta"]["score_cache"], (json{{"hits", 0}, {"misses", 40}, {"evictions", 0}}));
  const double pairs = pairs_run();
  EXPECT_EQ(pairs, 40);

  for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
    auto again = rerank(path, documents);
    ASSERT_EQ(again.status, 200) << again.raw;
    EXPECT_EQ(again.body["meta"]["score_cache"], (json{{"hits", 40}, {"misses", 0}, {"evictions", 0}})) << path;
    EXPECT_EQ(again.body["results"], first.body["results"]) << path;
    EXPECT_EQ(again.body["usage"], first.body["usage"]) << path;
    EXPECT_EQ(pairs_run(), pairs) << path << ": the engine ran pairs for a repeated request";
  }
  // Half of the documents new: only they reach the engine.
  json overlap = json::array();
  for (std::size_t i = 20; i < 40; ++i) overlap.push_back(documents[i]);
  for (const json& text : scifact_texts(60)) {
    if (overlap.size() == 40) break;
    if (std::find(documents.begin(), documents.end(), text) == documents.end()) overlap.push_back(text);
  }
  auto half = rerank("/v1/rerank", overlap);
  ASSERT_EQ(half.status, 200) << half.raw;
  EXPECT_EQ(half.body["meta"]["score_cache"]["hits"], 20);
  EXPECT_EQ(half.body["meta"]["score_cache"]["misses"], 20);
  EXPECT_EQ(pairs_run(), pairs + 20);
  // Another query is another key.
  auto other = rerank("/v1/rerank", documents, "vitamin D");
  ASSERT_EQ(other.status, 200) << other.raw;
  EXPECT_EQ(other.body["meta"]["score_cache"]["hits"], 0);

  const std::string m = metrics();
  EXPECT_EQ(metric(m, "winnow_score_cache_hits_total"), 100);
  EXPECT_EQ(metric(m, "winnow_score_cache_misses_total"), 100);
  EXPECT_EQ(metric(m, "winnow_score_cache_evictions_total"), 0);
  EXPECT_EQ(metric(m, "winnow_score_cache_entries"), 100);
  EXPECT_GT(metric(m, "winnow_score_cache_bytes"), 0);
  EXPECT_EQ(metric(m, "winnow_score_cache_capacity_bytes"), 64.0 * (1 << 20));
}

TEST_F(ScoreCacheE2eTest, TeiRerankCountsInHeaders) {
  start();
  const json texts = scifact_texts(10);
  const json body = {{"model", model_path("bert-ce-tiny")}, {"query", "cancer"}, {"texts", texts}};
  auto c = server_->client();
  auto first = c->Post("/rerank", body.dump(), "application/json");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(first->get_header_value("X-Winnow-Score-Cache-Misses"), "10");
  EXPECT_EQ(first->get_header_value("X-Winnow-Score-Cache-Hits"), "0");
  const double pairs = pairs_run();
  auto again = c->Post("/rerank", body.dump(), "application/json");
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(again->get_header_value("X-Winnow-Score-Cache-Hits"), "10");
  EXPECT_EQ(again->get_header_value("X-Winnow-Score-Cache-Misses"), "0");
  EXPECT_EQ(again->get_header_value("X-Winnow-Score-Cache-Evictions"), "0");
  EXPECT_EQ(json::parse(again->body), json::parse(first->body));
  EXPECT_EQ(pairs_run(), pairs);
}

TEST_F(ScoreCacheE2eTest, APipelineRerankStageUsesItAndReportsIt) {
  start();
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", "papers"}}).status, 201);
  auto ingested = http_post(*c, "/v1/collections/papers/documents", scifact_ndjson(200), "application/x-ndjson");
  ASSERT_EQ(ingested.status, 200) << ingested.raw;
  const json request = {
      {"collection_ids", {"papers"}},
      {"stages", json::array({stage("filter", "text_search", {{"query", "{{INPUT.query}}"}, {"top_k", 30}}),
                              stage("sort", "rerank", {{"model", model_path("bert-ce-tiny")}, {"top_n", 10}})})},
      {"inputs", {{"query", "cancer cells"}}}};
  auto first = http_post(*c, "/v1/retrievers/execute", request);
  ASSERT_EQ(first.status, 200) << first.raw;
  const json& stats = first.body["stages"][1];
  const int scored = stats["candidates_scored"].get<int>();
  ASSERT_GT(scored, 0);
  EXPECT_EQ(stats["score_cache"], (json{{"hits", 0}, {"misses", scored}, {"evictions", 0}}));
  const double pairs = pairs_run();
  auto again = http_post(*c, "/v1/retrievers/execute", request);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["stages"][1]["score_cache"], (json{{"hits", scored}, {"misses", 0}, {"evictions", 0}}));
  EXPECT_EQ(again.body["documents"], first.body["documents"]);
  EXPECT_EQ(pairs_run(), pairs);
}

TEST_F(ScoreCacheE2eTest, SettingsThatChangeScoresMiss) {
  start();
  const json documents = scifact_texts(8);
  ASSERT_EQ(rerank("/v1/rerank", documents).status, 200);
  auto c = server_->client();
  for (const json& extra : {json{{"truncation_direction", "left"}}, json{{"max_tokens_per_doc", 16}},
                            json{{"chunking", {{"max_tokens", 32}}}}}) {
    json body = {{"model", model_path("bert-ce-tiny")}, {"query", "cancer cells"}, {"documents", documents}};
    body.update(extra);
    auto r = http_post(*c, "/v1/rerank", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["meta"]["score_cache"]["hits"], 0) << extra.dump();
    EXPECT_EQ(r.body["meta"]["score_cache"]["misses"], 8) << extra.dump();
  }
}

TEST_F(ScoreCacheE2eTest, EvictionKeepsTheCacheUnderItsBound) {
  start({"--score-cache-mb", "1"});
  // About 5,000 scores fit in 1 MiB: 300 distinct queries over 20 documents pass it.
  const json documents = scifact_texts(20);
  std::size_t evictions = 0;
  for (int q = 0; q < 300; ++q) {
    auto r = rerank("/v1/rerank", documents, "query " + std::to_string(q));
    ASSERT_EQ(r.status, 200) << r.raw;
    evictions += r.body["meta"]["score_cache"]["evictions"].get<std::size_t>();
  }
  const std::string m = metrics();
  EXPECT_GT(evictions, 0u);
  EXPECT_EQ(metric(m, "winnow_score_cache_evictions_total"), static_cast<double>(evictions));
  EXPECT_LE(metric(m, "winnow_score_cache_bytes"), 1 << 20);
  EXPECT_EQ(metric(m, "winnow_score_cache_entries") + static_cast<double>(evictions), 300 * 20);
}

TEST_F(ScoreCacheE2eTest, ZeroMegabytesTurnsItOff) {
  start({"--score-cache-mb", "0"});
  const json documents = scifact_texts(10);
  ASSERT_EQ(rerank("/v1/rerank", documents).status, 200);
  const double pairs = pairs_run();
  auto again = rerank("/v1/rerank", documents);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_FALSE(again.body["meta"].contains("score_cache"));
  EXPECT_EQ(pairs_run(), pairs + 10);
  EXPECT_EQ(metrics().find("winnow_score_cache"), std::string::npos);
}

TEST_F(ScoreCacheE2eTest, ABadCacheSizeIsRefused) {
  ProcessResult run =
      run_process({winnow_binary(), "serve", "--data", dir_.string(), "--port", "0", "--score-cache-mb", "-1"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("--score-cache-mb"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace winnow::testing
