// POST /v1/rerank and /v2/rerank in Cohere's shapes, a second Winnow ranking
// through the first as a remote model, /v1/models and /metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <thread>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

// Golden records of a fixture model for the query with most documents (max_length 512).
std::vector<json> golden_query(std::string* query, const std::string& model = "bert-ce-tiny") {
  std::ifstream in(test_data() / "golden" / (model + ".jsonl"));
  std::map<std::string, std::vector<json>> by_query;
  std::string line;
  while (std::getline(in, line)) {
    json r = json::parse(line);
    if (r["max_length"] == 512 && r["truncation"] == "longest_first") by_query[r["query"]].push_back(r);
  }
  auto best = by_query.begin();
  for (auto it = by_query.begin(); it != by_query.end(); ++it) {
    if (it->second.size() > best->second.size()) best = it;
  }
  *query = best->first;
  return best->second;
}

class RerankApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("rerank_api");
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models());
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RerankApiTest, CohereShapesWithScoresOfTheGoldenLogits) {
  std::string query;
  auto golden = golden_query(&query);
  json documents = json::array();
  for (const auto& g : golden) documents.push_back(g["document"]);
  for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
    auto c = server_->client();
    auto r = http_post(*c, path,
                       json{{"model", model_path("bert-ce-tiny")}, {"query", query}, {"documents", documents},
                            {"top_n", 3}, {"return_documents", true}});
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_TRUE(r.body["id"].is_string());
    const json& results = r.body["results"];
    ASSERT_EQ(results.size(), 3u);
    std::vector<std::pair<double, std::size_t>> expected;
    for (std::size_t i = 0; i < golden.size(); ++i) expected.push_back({golden[i]["logit"].get<double>(), i});
    std::stable_sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(results[k]["index"], expected[k].second);
      EXPECT_NEAR(results[k]["relevance_score"].get<double>(), 1 / (1 + std::exp(-expected[k].first)), 3e-5);
      EXPECT_EQ(results[k]["document"]["text"], documents[expected[k].second]);
    }
    EXPECT_EQ(r.body["meta"]["api_version"]["version"], std::string(path).substr(2, 1));
    EXPECT_EQ(r.body["meta"]["model"], model_path("bert-ce-tiny"));
  }
}

// A ModernBERT cross-encoder (byte-level BPE tokenizer, rotary and
// sliding-window attention) is served by the same route and Scorer: the
// ranking and the scores are the golden logits' through the sigmoid.
TEST_F(RerankApiTest, ModernBertIsServedWithTheGoldenScores) {
  std::string query;
  auto golden = golden_query(&query, "modernbert-ce-tiny");
  ASSERT_GE(golden.size(), 3u);
  json documents = json::array();
  for (const auto& g : golden) documents.push_back(g["document"]);
  auto c = server_->client();
  auto r = http_post(*c, "/v1/rerank",
                     json{{"model", model_path("modernbert-ce-tiny")}, {"query", query}, {"documents", documents}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& results = r.body["results"];
  ASSERT_EQ(results.size(), golden.size());
  std::vector<std::pair<double, std::size_t>> expected;
  for (std::size_t i = 0; i < golden.size(); ++i) expected.push_back({golden[i]["logit"].get<double>(), i});
  std::stable_sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (std::size_t k = 0; k < golden.size(); ++k) {
    EXPECT_EQ(results[k]["index"], expected[k].second) << "rank " << k;
    EXPECT_NEAR(results[k]["relevance_score"].get<double>(), 1 / (1 + std::exp(-expected[k].first)), 3e-5);
  }
  EXPECT_EQ(r.body["meta"]["precision"], "fp32");
}

// A decoder reranker (Qwen3-Reranker) is served by the same routes: the
// model card's prompt with the request's instruction, scores of the golden
// yes/no logits; an instruction to a model that takes none is a 400 naming it.
TEST_F(RerankApiTest, Qwen3RerankerIsServedWithTheGoldenScoresAndInstruction) {
  std::ifstream in(test_data() / "golden" / "qwen3-reranker-tiny.jsonl");
  std::map<std::pair<std::string, std::string>, std::vector<json>> calls;
  std::string line;
  while (std::getline(in, line)) {
    json r = json::parse(line);
    if (r["max_length"] == 8192) calls[{r["instruction"], r["query"]}].push_back(r);
  }
  std::size_t checked = 0;
  for (const auto& [key, golden] : calls) {
    if (golden.size() < 2) continue;
    json documents = json::array();
    for (const auto& g : golden) documents.push_back(g["document"]);
    for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
      auto c = server_->client();
      auto r = http_post(*c, path,
                         json{{"model", model_path("qwen3-reranker-tiny")}, {"query", key.second},
                              {"instruction", key.first}, {"documents", documents}});
      ASSERT_EQ(r.status, 200) << r.raw;
      const json& results = r.body["results"];
      ASSERT_EQ(results.size(), golden.size());
      for (const json& result : results) {
        const json& g = golden[result["index"].get<std::size_t>()];
        EXPECT_NEAR(result["relevance_score"].get<double>(), g["score"].get<double>(), 3e-5) << g["id"];
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 4u);
  auto c = server_->client();
  auto refused = http_post(*c, "/v1/rerank",
                           json{{"model", model_path("bert-ce-tiny")}, {"query", "q"}, {"documents", {"a"}},
                                {"instruction", "judge"}});
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_NE(refused.raw.find("instruction"), std::string::npos) << refused.raw;
  auto not_text = http_post(*c, "/v2/rerank",
                            json{{"model", model_path("qwen3-reranker-tiny")}, {"query", "q"}, {"documents", {"a"}},
                                 {"instruction", 7}});
  EXPECT_EQ(not_text.status, 400) << not_text.raw;
  EXPECT_NE(not_text.raw.find("instruction: must be a string"), std::string::npos) << not_text.raw;
}

TEST_F(RerankApiTest, PrecisionIsReportedAndOnlyPreparedOnesAreServed) {
  auto c = server_->client();
  json request = {{"model", model_path("bert-ce-tiny")}, {"query", "q"}, {"documents", {"a", "b"}}};
  auto r = http_post(*c, "/v1/rerank", request);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["meta"]["precision"], "fp32") << "exact fp32 unless a model entry says otherwise";
  request["precision"] = "bf16";
  auto refused = http_post(*c, "/v1/rerank", request);
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_NE(refused.raw.find("fp32"), std::string::npos) << "names the prepared precisions: " << refused.raw;
  request["precision"] = "fp64";
  auto bad = http_post(*c, "/v1/rerank", request);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("precision: must be fp32, bf16, int8 or auto"), std::string::npos) << bad.raw;
}

TEST_F(RerankApiTest, ObjectsWithRankFieldsAndNoTopN) {
  auto c = server_->client();
  auto r = http_post(*c, "/v2/rerank",
                     json{{"model", model_path("xlmr-ce-tiny")},
                          {"query", "how do cross encoders work"},
                          {"documents", {{{"title", "Rerankers"}, {"body", "cross encoders score pairs"}},
                                         {{"title", "Bread"}, {"body", "flour and water"}}}},
                          {"rank_fields", {"title", "body"}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["results"].size(), 2u) << "without top_n every document is ranked";
  EXPECT_FALSE(r.body["results"][0].contains("document")) << "return_documents defaults to false";
}

TEST_F(RerankApiTest, ASecondWinnowRanksThroughTheFirst) {
  auto remote_dir = fresh_dir("rerank_api_remote");
  {
    std::ofstream(remote_dir / "models.json") << json{
        {"models", {{{"name", "far-ce"}, {"backend", "cohere"}, {"base_url", server_->url()}, {"path", "/v1/rerank"},
                     {"model", model_path("bert-ce-tiny")}, {"timeout_ms", 20000}}}}}
                                                     .dump();
  }
  ServerProcess front(remote_dir);
  std::string query;
  auto golden = golden_query(&query);
  json documents = json::array();
  for (const auto& g : golden) documents.push_back(g["document"]);
  auto local_client = server_->client();
  auto front_client = front.client();
  auto local = http_post(*local_client, "/v1/rerank",
                         json{{"model", model_path("bert-ce-tiny")}, {"query", query}, {"documents", documents}});
  auto remote = http_post(*front_client, "/v1/rerank", json{{"model", "far-ce"}, {"query", query}, {"documents", documents}});
  ASSERT_EQ(local.status, 200) << local.raw;
  ASSERT_EQ(remote.status, 200) << remote.raw;
  ASSERT_EQ(remote.body["results"].size(), local.body["results"].size());
  for (std::size_t i = 0; i < local.body["results"].size(); ++i) {
    EXPECT_EQ(remote.body["results"][i]["index"], local.body["results"][i]["index"]);
    EXPECT_NEAR(remote.body["results"][i]["relevance_score"].get<double>(),
                local.body["results"][i]["relevance_score"].get<double>(), 1e-12);
  }
  auto models = http_get(*front_client, "/v1/models");
  bool listed = false;
  for (const auto& m : models.body["models"]) listed = listed || (m["name"] == "far-ce" && m["loaded"] == true);
  EXPECT_TRUE(listed) << models.raw;

  // The first Winnow goes down: the second answers 503 naming the endpoint.
  const std::string url = server_->url();
  server_->kill9();
  auto down = http_post(*front_client, "/v1/rerank", json{{"model", "far-ce"}, {"query", query}, {"documents", documents}});
  EXPECT_EQ(down.status, 503) << down.raw;
  EXPECT_NE(down.raw.find(url), std::string::npos) << down.raw;
  std::filesystem::remove_all(remote_dir);
}

TEST_F(RerankApiTest, ModelsAndMetrics) {
  auto c = server_->client();
  auto models = http_get(*c, "/v1/models");
  ASSERT_EQ(models.status, 200);
  std::map<std::string, json> by_name;
  for (const auto& m : models.body["models"]) by_name[m["name"]] = m;
  ASSERT_TRUE(by_name.count("bge-reranker-v2-m3"));
  EXPECT_EQ(by_name["bge-reranker-v2-m3"]["source"], "BAAI/bge-reranker-v2-m3");
  ASSERT_TRUE(by_name.count("jina-reranker-v2"));
  ASSERT_TRUE(by_name.count("cohere-rerank-v3"));
  EXPECT_EQ(by_name["cohere-rerank-v3"]["backend"], "cohere");

  http_post(*c, "/v1/rerank", json{{"model", model_path("bert-ce-tiny")}, {"query", "q"}, {"documents", {"a", "b"}}});
  auto metrics = c->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("winnow_http_requests_total{route=\"/v1/rerank\",method=\"POST\",status=\"200\"} 1"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("winnow_documents_scored_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("winnow_http_request_duration_seconds_bucket"), std::string::npos);
}

// Eight clients at once, 20 documents each: every answer equals the one the
// same request got alone (scores never depend on what they were batched
// with), and the engine's batch metrics account for every pair scored.
TEST_F(RerankApiTest, ConcurrentClientsGetTheScoresTheyGetAlone) {
  // Every request is sent twice (alone, then concurrently): without the
  // score cache, so that the second time runs the engine too.
  server_.reset();
  server_ = std::make_unique<ServerProcess>(dir_, fixture_models({"--score-cache-mb", "0"}));
  constexpr std::size_t kClients = 8, kRequestsPerClient = 3, kDocs = 20;
  std::vector<json> requests;
  for (std::size_t r = 0; r < kClients * kRequestsPerClient; ++r) {
    json documents = json::array();
    for (std::size_t d = 0; d < kDocs; ++d) {
      documents.push_back("passage " + std::to_string(d) + " of request " + std::to_string(r) + ": " +
                          std::string((r * 7 + d * 3) % 40 + 1, 'x') + " cells divide and proteins fold");
    }
    requests.push_back({{"model", model_path("bert-ce-tiny")},
                        {"query", "how do cells divide " + std::to_string(r)},
                        {"documents", documents},
                        {"top_n", kDocs}});
  }
  std::vector<json> alone(requests.size()), together(requests.size());
  {
    auto c = server_->client();
    for (std::size_t r = 0; r < requests.size(); ++r) {
      auto answer = http_post(*c, "/v1/rerank", requests[r]);
      ASSERT_EQ(answer.status, 200) << answer.raw;
      alone[r] = answer.body["results"];
    }
  }
  std::vector<std::thread> clients;
  std::vector<int> statuses(requests.size(), 0);
  for (std::size_t t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto c = server_->client();
      for (std::size_t r = t; r < requests.size(); r += kClients) {
        auto answer = http_post(*c, "/v1/rerank", requests[r]);
        statuses[r] = answer.status;
        together[r] = answer.body["results"];
      }
    });
  }
  for (auto& c : clients) c.join();
  for (std::size_t r = 0; r < requests.size(); ++r) {
    ASSERT_EQ(statuses[r], 200) << "request " << r;
    EXPECT_EQ(together[r], alone[r]) << "request " << r;
  }

  auto c = server_->client();
  auto metrics = c->Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string sum_prefix = "winnow_engine_batch_pairs_sum{model=\"" + model_path("bert-ce-tiny") + "\"} ";
  const std::size_t at = metrics->body.find(sum_prefix);
  ASSERT_NE(at, std::string::npos) << metrics->body;
  EXPECT_EQ(std::stod(metrics->body.substr(at + sum_prefix.size())), 2.0 * requests.size() * kDocs)
      << "every pair, alone and concurrent, is in exactly one engine batch";
  EXPECT_NE(metrics->body.find("winnow_engine_batch_tokens_bucket"), std::string::npos);
}

}  // namespace
}  // namespace winnow::testing
