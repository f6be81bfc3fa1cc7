// Long documents and the peers' rerank shapes against the real server:
// max_tokens_per_doc and truncation_direction change what is scored (and
// meta says so), chunking finds a relevant end that truncation loses,
// TEI's POST /rerank answers TEI's shapes (errors included), a TEI backend
// in the models file ranks through it, peers' fields are accepted with a
// warning while misspellings are refused, min_score and rank_fields.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

std::string repeat(const std::string& piece, std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) text += (i ? " " : "") + piece;
  return text;
}

// text's code points [start, end), as bytes.
std::string code_points(const std::string& text, std::size_t start, std::size_t end) {
  std::size_t point = 0, begin_byte = text.size(), end_byte = text.size();
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (point == start) begin_byte = std::min(begin_byte, i);
    if (point == end) {
      end_byte = i;
      break;
    }
    ++point;
  }
  return text.substr(begin_byte, end_byte - begin_byte);
}

class LongDocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("long_documents");
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models({"--default-reranker", model_path("bert-ce-tiny")}));
    client_ = server_->client();
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  HttpResult rerank(json body, const std::string& path = "/v2/rerank") {
    if (!body.contains("model")) body["model"] = model_path("bert-ce-tiny");
    return http_post(*client_, path, body);
  }
  // The logit of `document` scored alone (raw_scores: the logit itself).
  double logit(const std::string& query, const std::string& document) {
    auto r = rerank({{"query", query}, {"documents", {document}}, {"raw_scores", true}});
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["results"][0]["relevance_score"].get<double>();
  }
  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(LongDocumentsTest, MaxTokensPerDocAndDirectionChangeWhatIsScored) {
  const std::string query = "where is the cat";
  const std::string document = "the cat sat on the mat and then the dog ran home";  // one token a word
  auto whole = rerank({{"query", query}, {"documents", {document}}, {"raw_scores", true}});
  ASSERT_EQ(whole.status, 200) << whole.raw;
  EXPECT_EQ(whole.body["meta"]["documents_truncated"], 0);
  EXPECT_EQ(whole.body["meta"]["tokens"], 4 + 12 + 3);

  auto cut = rerank({{"query", query}, {"documents", {document}}, {"max_tokens_per_doc", 4}, {"raw_scores", true}});
  ASSERT_EQ(cut.status, 200) << cut.raw;
  EXPECT_EQ(cut.body["meta"]["documents_truncated"], 1);
  EXPECT_EQ(cut.body["meta"]["tokens"], 4 + 4 + 3);
  EXPECT_EQ(cut.body["usage"]["total_tokens"], 4 + 4 + 3);
  EXPECT_NEAR(cut.body["results"][0]["relevance_score"].get<double>(), logit(query, "the cat sat on"), 1e-6);

  for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
    auto left = rerank({{"query", query},
                        {"documents", {document}},
                        {"max_tokens_per_doc", 4},
                        {"truncation_direction", "left"},
                        {"raw_scores", true}},
                       path);
    ASSERT_EQ(left.status, 200) << left.raw;
    EXPECT_EQ(left.body["meta"]["documents_truncated"], 1);
    EXPECT_NEAR(left.body["results"][0]["relevance_score"].get<double>(), logit(query, "the dog ran home"), 1e-6);
  }
  auto bad = rerank({{"query", query}, {"documents", {document}}, {"truncation_direction", "middle"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("truncation_direction"), std::string::npos) << bad.raw;
  auto zero = rerank({{"query", query}, {"documents", {document}}, {"max_tokens_per_doc", 0}});
  EXPECT_EQ(zero.status, 400);
  EXPECT_NE(zero.raw.find("max_tokens_per_doc"), std::string::npos) << zero.raw;
}

// The relevant passage is the end of a long document: truncated, the
// document ranks below a competitor; chunked, first, with the passage's own
// score and its offsets.
TEST_F(LongDocumentsTest, ARelevantEndRanksFirstOnlyWithChunking) {
  std::ifstream in(test_data() / "golden" / "bert-ce-tiny.jsonl");
  std::string line, query;
  std::vector<std::string> pool;
  while (std::getline(in, line)) {
    json r = json::parse(line);
    if (query.empty()) query = r["query"];
    // Passages short enough for one window of 128 tokens.
    const std::string document = r["document"];
    if (document.size() < 200 && std::find(pool.begin(), pool.end(), document) == pool.end()) pool.push_back(document);
  }
  auto all = rerank({{"query", query}, {"documents", pool}, {"raw_scores", true}});
  ASSERT_EQ(all.status, 200) << all.raw;
  const std::size_t best = all.body["results"][0]["index"];
  const double best_logit = all.body["results"][0]["relevance_score"];
  const std::string filler = repeat("the", 640);  // five windows of 128 one-token words
  const std::string long_document = filler + " " + pool[best];
  const double floor = std::max(logit(query, repeat("the", 128)), logit(query, long_document));
  json competitor;
  for (const json& r : all.body["results"]) {
    if (r["relevance_score"].get<double>() > floor && r["relevance_score"].get<double>() < best_logit &&
        pool[r["index"].get<std::size_t>()] != pool[best]) {
      competitor = pool[r["index"].get<std::size_t>()];
    }
  }
  ASSERT_TRUE(competitor.is_string()) << "no golden document scores between " << floor << " and " << best_logit;
  const json documents = {competitor, long_document};

  auto truncated = rerank({{"query", query}, {"documents", documents}});
  ASSERT_EQ(truncated.status, 200) << truncated.raw;
  EXPECT_EQ(truncated.body["results"][0]["index"], 0) << "truncated, the long document ranks second";
  EXPECT_EQ(truncated.body["meta"]["documents_truncated"], 1);

  auto chunked = rerank({{"query", query},
                         {"documents", documents},
                         {"chunking", {{"max_tokens", 128}, {"overlap", 0}, {"max_chunks", 10}}},
                         {"return_chunks", true},
                         {"raw_scores", true}});
  ASSERT_EQ(chunked.status, 200) << chunked.raw;
  const json& first = chunked.body["results"][0];
  EXPECT_EQ(first["index"], 1) << "chunked, the long document ranks first";
  EXPECT_NEAR(first["relevance_score"].get<double>(), best_logit, 1e-5);
  EXPECT_EQ(first["chunk"]["index"], 5);
  EXPECT_EQ(first["chunk"]["chunks"], 6);
  EXPECT_EQ(first["chunk"]["start"], filler.size() + 1);  // ASCII filler: code points are bytes
  EXPECT_EQ(chunked.body["meta"]["chunks_scored"], 7);
  EXPECT_EQ(chunked.body["meta"]["documents_truncated"], 0);

  // Cohere v1's max_chunks_per_doc chunks with windows as wide as the query
  // leaves room for: two here, the document's score its best window's,
  // which scored alone gives the same.
  auto v1 = rerank({{"query", query}, {"documents", {long_document}}, {"max_chunks_per_doc", 10},
                    {"return_chunks", true}, {"raw_scores", true}},
                   "/v1/rerank");
  ASSERT_EQ(v1.status, 200) << v1.raw;
  EXPECT_EQ(v1.body["meta"]["chunks_scored"], 2);
  const json& chunk = v1.body["results"][0]["chunk"];
  const std::size_t start = chunk["start"], end = chunk["end"];
  EXPECT_NEAR(v1.body["results"][0]["relevance_score"].get<double>(),
              logit(query, code_points(long_document, start, end)), 1e-5);

  // Too few windows to reach the end: counted as truncated.
  auto short_of = rerank({{"query", query},
                          {"documents", documents},
                          {"chunking", {{"max_tokens", 128}, {"max_chunks", 2}}}});
  ASSERT_EQ(short_of.status, 200) << short_of.raw;
  EXPECT_EQ(short_of.body["meta"]["documents_truncated"], 1);

  auto bad = rerank({{"query", query}, {"documents", documents}, {"chunking", {{"max_tokens", 16}, {"overlap", 16}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("chunking.overlap"), std::string::npos) << bad.raw;
  auto typo = rerank({{"query", query}, {"documents", documents}, {"chunking", {{"max_token", 16}}}});
  EXPECT_EQ(typo.status, 400);
  EXPECT_NE(typo.raw.find("max_token"), std::string::npos) << typo.raw;
}

TEST_F(LongDocumentsTest, TeiRerankAnswersTeisShapes) {
  const json texts = {"the cat sat on the mat", "bread and butter", "a cat and a dog"};
  auto r = http_post(*client_, "/rerank", json{{"query", "where is the cat"}, {"texts", texts}, {"return_text", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_TRUE(r.body.is_array());
  ASSERT_EQ(r.body.size(), 3u);
  auto cohere = rerank({{"query", "where is the cat"}, {"documents", texts}});
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.body[i]["index"], cohere.body["results"][i]["index"]);
    EXPECT_NEAR(r.body[i]["score"].get<double>(), cohere.body["results"][i]["relevance_score"].get<double>(), 1e-12);
    EXPECT_EQ(r.body[i]["text"], texts[r.body[i]["index"].get<std::size_t>()]);
    if (i > 0) EXPECT_LE(r.body[i]["score"].get<double>(), r.body[i - 1]["score"].get<double>());
  }
  auto raw = http_post(*client_, "/rerank", json{{"query", "where is the cat"}, {"texts", texts}, {"raw_scores", true}});
  ASSERT_EQ(raw.status, 200) << raw.raw;
  EXPECT_FALSE(raw.body[0].contains("text"));
  EXPECT_NEAR(1 / (1 + std::exp(-raw.body[0]["score"].get<double>())), r.body[0]["score"].get<double>(), 1e-6);

  // truncate: false and too long: 413 in TEI's error shape; true (TEI's default) cuts.
  const json long_texts = {repeat("the", 600)};
  auto refused = http_post(*client_, "/rerank", json{{"query", "q"}, {"texts", long_texts}, {"truncate", false}});
  EXPECT_EQ(refused.status, 413) << refused.raw;
  EXPECT_TRUE(refused.body["error"].is_string()) << refused.raw;
  EXPECT_EQ(refused.body["error_type"], "Validation");
  EXPECT_NE(refused.raw.find("max_length 512"), std::string::npos) << refused.raw;
  auto cut = http_post(*client_, "/rerank", json{{"query", "q"}, {"texts", long_texts}});
  EXPECT_EQ(cut.status, 200) << cut.raw;
  auto left = http_post(*client_, "/rerank",
                        json{{"query", "q"}, {"texts", {repeat("the", 600) + " cat"}}, {"truncation_direction", "Left"},
                             {"raw_scores", true}});
  ASSERT_EQ(left.status, 200) << left.raw;
  EXPECT_NEAR(left.body[0]["score"].get<double>(), logit("q", repeat("the", 512 - 3 - 1 - 1) + " cat"), 1e-6);

  auto empty = http_post(*client_, "/rerank", json{{"query", "q"}, {"texts", json::array()}});
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body["error_type"], "Empty") << empty.raw;
  auto unknown = http_post(*client_, "/rerank", json{{"query", "q"}, {"texts", {"a"}}, {"raw_score", true}});
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(unknown.body["error_type"], "Validation");
  EXPECT_NE(unknown.raw.find("raw_score"), std::string::npos) << unknown.raw;
}

TEST_F(LongDocumentsTest, ATeiBackendRanksThroughTeisRoute) {
  auto front_dir = fresh_dir("long_documents_front");
  std::ofstream(front_dir / "models.json")
      << json{{"models", {{{"name", "far-tei"}, {"backend", "tei"}, {"base_url", server_->url()}, {"timeout_ms", 20000},
                           {"max_documents_per_request", 2}}}}}
             .dump();
  ServerProcess front(front_dir);
  auto front_client = front.client();
  const json documents = {"the cat sat on the mat", "bread and butter", "a cat and a dog", "cats purr"};
  auto local = rerank({{"query", "where is the cat"}, {"documents", documents}});
  auto remote = http_post(*front_client, "/v2/rerank",
                          json{{"model", "far-tei"}, {"query", "where is the cat"}, {"documents", documents}, {"top_n", 3}});
  ASSERT_EQ(remote.status, 200) << remote.raw;
  ASSERT_EQ(remote.body["results"].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(remote.body["results"][i]["index"], local.body["results"][i]["index"]);
    EXPECT_NEAR(remote.body["results"][i]["relevance_score"].get<double>(),
                local.body["results"][i]["relevance_score"].get<double>(), 1e-6);
  }
  auto warned = http_post(*front_client, "/v2/rerank",
                          json{{"model", "far-tei"}, {"query", "q"}, {"documents", documents}, {"max_chunks_per_doc", 3}});
  ASSERT_EQ(warned.status, 200) << warned.raw;
  EXPECT_NE(warned.body["meta"]["warnings"].dump().find("chunking"), std::string::npos) << warned.raw;
  front_client.reset();
  std::filesystem::remove_all(front_dir);
}

TEST_F(LongDocumentsTest, PeersFieldsAndShapes) {
  const json documents = {"the cat sat on the mat", "bread and butter"};
  // Cohere v2's priority: accepted, and said to be ignored.
  auto priority = rerank({{"query", "cat"}, {"documents", documents}, {"priority", 1}});
  ASSERT_EQ(priority.status, 200) << priority.raw;
  ASSERT_TRUE(priority.body["meta"]["warnings"].is_array()) << priority.raw;
  EXPECT_NE(priority.body["meta"]["warnings"][0].get<std::string>().find("priority"), std::string::npos);
  // A misspelling of our own field is still refused, with top-level "message" too.
  auto typo = rerank({{"query", "cat"}, {"documents", documents}, {"top_m", 1}});
  EXPECT_EQ(typo.status, 400);
  EXPECT_NE(typo.body["message"].get<std::string>().find("top_m"), std::string::npos) << typo.raw;
  EXPECT_EQ(typo.body["error"]["message"], typo.body["message"]);
  // Together's / Jina's / Infinity's top-level model and usage; documents as {text}.
  auto shaped = rerank({{"query", "cat"}, {"documents", documents}, {"return_documents", true}}, "/v1/rerank");
  ASSERT_EQ(shaped.status, 200) << shaped.raw;
  EXPECT_EQ(shaped.body["model"], model_path("bert-ce-tiny"));
  EXPECT_EQ(shaped.body["usage"]["total_tokens"], shaped.body["meta"]["tokens"]);
  EXPECT_EQ(shaped.body["usage"]["prompt_tokens"], shaped.body["meta"]["tokens"]);
  EXPECT_EQ(shaped.body["usage"]["completion_tokens"], 0);
  EXPECT_TRUE(shaped.body["results"][0]["document"]["text"].is_string());
  // Jina's truncation: false refuses what does not fit (413), true truncates.
  auto refused = rerank({{"query", "q"}, {"documents", {repeat("the", 600)}}, {"truncation", false}});
  EXPECT_EQ(refused.status, 413) << refused.raw;
  auto truncates = rerank({{"query", "q"}, {"documents", {repeat("the", 600)}}, {"truncation", true}});
  EXPECT_EQ(truncates.status, 200) << truncates.raw;
}

TEST_F(LongDocumentsTest, MinScoreAndRankFields) {
  const json documents = {"the cat sat on the mat", "bread and butter", "a cat and a dog"};
  auto all = rerank({{"query", "cat"}, {"documents", documents}});
  ASSERT_EQ(all.status, 200) << all.raw;
  const double middle = all.body["results"][1]["relevance_score"];
  auto some = rerank({{"query", "cat"}, {"documents", documents}, {"min_score", middle}});
  ASSERT_EQ(some.status, 200) << some.raw;
  EXPECT_EQ(some.body["results"].size(), 2u);
  EXPECT_EQ(some.body["meta"]["documents_below_min_score"], 1);
  auto bad = rerank({{"query", "cat"}, {"documents", documents}, {"min_score", 2}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("min_score"), std::string::npos);

  const json objects = {{{"title", "Cats"}, {"body", "they purr"}}, {{"title", "Bread"}}};
  auto fine = rerank({{"query", "cat"}, {"documents", objects}, {"rank_fields", {"title", "body"}}});
  EXPECT_EQ(fine.status, 200) << fine.raw;
  auto missing = rerank({{"query", "cat"}, {"documents", objects}, {"rank_fields", {"title", "summary"}}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.raw.find("rank_fields: no document has a field \\\"summary\\\""), std::string::npos) << missing.raw;
}

// The pipeline's rerank stage: chunking, truncation and min_score as
// parameters, what they did in the stage's stats, each document's best window.
TEST_F(LongDocumentsTest, RerankStageChunksAndDropsBelowMinScore) {
  auto created = http_post(*client_, "/v1/collections", json{{"collection_id", "long"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  std::string ndjson;
  for (int i = 0; i < 6; ++i) {
    ndjson += json{{"id", "d" + std::to_string(i)},
                   {"text", repeat("cat words", 100 + 60 * i) + " the cat sat on the mat " + std::to_string(i)}}
                  .dump() +
              "\n";
  }
  auto ingested = http_post(*client_, "/v1/collections/long/documents", ndjson, "application/x-ndjson");
  ASSERT_EQ(ingested.status, 200) << ingested.raw;
  auto execute = [&](json rerank) {
    rerank["model"] = model_path("bert-ce-tiny");
    return http_post(*client_, "/v1/retrievers/execute",
                     json{{"collection_ids", {"long"}},
                          {"stages", {stage("filter", "text_search", {{"query", "cat"}, {"top_k", 10}}),
                                      stage("sort", "rerank", rerank)}},
                          {"inputs", {{"query", "where is the cat"}}}});
  };
  auto truncated = execute({{"top_n", 10}});
  ASSERT_EQ(truncated.status, 200) << truncated.raw;
  EXPECT_GT(truncated.body["stages"][1]["documents_truncated"].get<int>(), 0);
  EXPECT_FALSE(truncated.body["stages"][1].contains("chunks_scored"));

  auto chunked = execute({{"top_n", 10}, {"chunking", {{"max_tokens", 200}, {"overlap", 20}, {"max_chunks", 20}}}});
  ASSERT_EQ(chunked.status, 200) << chunked.raw;
  const json& stats = chunked.body["stages"][1];
  EXPECT_EQ(stats["documents_truncated"], 0) << stats;
  EXPECT_GT(stats["chunks_scored"].get<int>(), 6) << stats;
  for (const json& d : chunked.body["documents"]) {
    ASSERT_TRUE(d.contains("best_chunk")) << d;
    EXPECT_LT(d["best_chunk"]["index"].get<int>(), d["best_chunk"]["chunks"].get<int>());
    EXPECT_LT(d["best_chunk"]["start"].get<int>(), d["best_chunk"]["end"].get<int>());
  }
  const double second = chunked.body["documents"][1]["score"];
  auto above = execute({{"top_n", 10}, {"chunking", {{"max_tokens", 200}, {"overlap", 20}, {"max_chunks", 20}}},
                        {"min_score", second}});
  ASSERT_EQ(above.status, 200) << above.raw;
  EXPECT_EQ(above.body["documents"].size(), 2u);
  EXPECT_EQ(above.body["stages"][1]["dropped_below_min_score"], 4);
  EXPECT_EQ(above.body["stages"][1]["documents_out"], 2);

  auto left = execute({{"top_n", 10}, {"truncation_direction", "left"}, {"max_tokens_per_doc", 8}});
  ASSERT_EQ(left.status, 200) << left.raw;
  EXPECT_EQ(left.body["stages"][1]["documents_truncated"], 6);

  auto bad = execute({{"chunking", {{"aggregate", "median"}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.raw.find("chunking.aggregate"), std::string::npos) << bad.raw;
  EXPECT_NE(bad.raw.find("rerank"), std::string::npos) << bad.raw;
}

}  // namespace
}  // namespace winnow::testing
