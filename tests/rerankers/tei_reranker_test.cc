// The remote reranker speaking TEI's POST /rerank (RemoteApi::kTei) against a
// fake TEI on loopback: TEI's request shape, raw logits turned into
// sigmoid scores, every text ranked and cut to top_n here, TEI's batch limit
// split over requests, TEI's error bodies, the same retries as Cohere's, and
// long-document options sent or warned about; Cohere's shape sends its own.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "rerankers/cohere_reranker.h"
#include "support/loopback_server.h"

namespace winnow::rerankers {
namespace {

using nlohmann::json;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Texts carry their logit: "... logit=1.5". Answers every text, best first,
// as TEI does; requests are recorded; canned answers are played first.
class FakeTei {
 public:
  using Answer = std::function<void(const httplib::Request&, httplib::Response&)>;

  FakeTei() {
    server_.routes().Post("/rerank", [this](const httplib::Request& req, httplib::Response& res) { answer(req, res); });
    server_.start();
  }
  std::string url() const { return server_.url(); }
  void script(Answer answer) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(answer));
  }
  std::vector<json> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void answer(const httplib::Request& req, httplib::Response& res) {
    Answer canned;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(json::parse(req.body, nullptr, false));
      if (!script_.empty()) {
        canned = std::move(script_.front());
        script_.pop_front();
      }
    }
    if (canned) return canned(req, res);
    const json body = json::parse(req.body);
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t i = 0; i < body["texts"].size(); ++i) {
      const std::string text = body["texts"][i].get<std::string>();
      const auto at = text.find("logit=");
      scored.push_back({std::stod(text.substr(at + 6)), i});
    }
    std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
    json out = json::array();
    for (const auto& [logit, index] : scored) {
      const double score = body.value("raw_scores", false) ? logit : 1 / (1 + std::exp(-logit));
      out.push_back({{"index", index}, {"score", score}});
    }
    res.status = 200;
    res.set_content(out.dump(), "application/json");
  }

  mutable std::mutex mu_;
  std::deque<Answer> script_;
  std::vector<json> seen_;
  test_support::LoopbackServer server_;
};

class TeiRerankerTest : public ::testing::Test {
 protected:
  std::unique_ptr<CohereReranker> make(std::size_t per_request = 32) {
    CohereOptions o;
    o.api = RemoteApi::kTei;
    o.model = "tei-bge";
    o.base_url = fake_.url();
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.retry.max_retries = 2;
    o.max_documents_per_request = per_request;
    auto reranker = CohereReranker::create(std::move(o));
    EXPECT_TRUE(reranker.ok()) << reranker.status().to_string();
    return std::move(reranker).value();
  }
  static std::vector<std::string> docs(std::initializer_list<double> logits) {
    std::vector<std::string> out;
    for (double l : logits) out.push_back("text " + std::to_string(out.size()) + " logit=" + std::to_string(l));
    return out;
  }
  FakeTei fake_;
};

TEST_F(TeiRerankerTest, SendsTeisShapeAndTakesTheSigmoidOfRawScores) {
  auto reranker = make();
  const auto documents = docs({-1.0, 2.0, 0.5});
  auto outcome = reranker->rerank("what is tei?", documents, 2);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->results.size(), 2u);
  EXPECT_EQ(outcome->results[0].index, 1u);
  EXPECT_FLOAT_EQ(outcome->results[0].logit, 2.0f);
  EXPECT_DOUBLE_EQ(outcome->results[0].relevance_score, 1 / (1 + std::exp(-2.0)));
  EXPECT_EQ(outcome->results[1].index, 2u);
  EXPECT_EQ(outcome->model, "tei-bge");
  EXPECT_TRUE(outcome->warnings.empty());
  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["query"], "what is tei?");
  EXPECT_EQ(seen[0]["texts"], json(documents));
  EXPECT_EQ(seen[0]["raw_scores"], true);
  EXPECT_EQ(seen[0]["truncate"], true);
  EXPECT_EQ(seen[0]["truncation_direction"], "Right");
  EXPECT_FALSE(seen[0].contains("documents"));
  EXPECT_FALSE(seen[0].contains("model"));
}

TEST_F(TeiRerankerTest, SplitsAtTeisBatchLimitAndMerges) {
  auto reranker = make(2);
  auto outcome = reranker->rerank("q", docs({0.1, 0.9, 0.3, 0.8, 0.5}), 3);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(fake_.seen().size(), 3u);
  ASSERT_EQ(outcome->results.size(), 3u);
  EXPECT_EQ(outcome->results[0].index, 1u);
  EXPECT_EQ(outcome->results[1].index, 3u);
  EXPECT_EQ(outcome->results[2].index, 4u);
}

TEST_F(TeiRerankerTest, TruncationOptionsAreSentAndTheOthersWarned) {
  auto reranker = make();
  RerankOptions options;
  options.truncate = false;
  options.truncation_direction = TruncationDirection::kLeft;
  options.max_tokens_per_doc = 100;
  options.chunking = ChunkingOptions{};
  auto outcome = reranker->rerank("q", docs({0.1, 0.2}), 2, options);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["truncate"], false);
  EXPECT_EQ(seen[0]["truncation_direction"], "Left");
  ASSERT_EQ(outcome->warnings.size(), 2u);
  EXPECT_TRUE(contains(outcome->warnings[0], "chunking")) << outcome->warnings[0];
  EXPECT_TRUE(contains(outcome->warnings[1], "max_tokens_per_doc")) << outcome->warnings[1];
}

TEST_F(TeiRerankerTest, TeisErrorBodyIsReportedAndFiveHundredsRetried) {
  fake_.script([](const httplib::Request&, httplib::Response& res) {
    res.status = 413;
    res.set_content(R"({"error":"`inputs` must have less than 512 tokens. Given: 700","error_type":"Validation"})",
                    "application/json");
  });
  auto reranker = make();
  auto refused = reranker->rerank("q", docs({0.1}), 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(refused.status().message(), "must have less than 512 tokens")) << refused.status().message();

  fake_.script([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content(R"({"error":"model is loading","error_type":"Unhealthy"})", "application/json");
  });
  auto retried = reranker->rerank("q", docs({0.1, 0.4}), 1);
  ASSERT_TRUE(retried.ok()) << retried.status().to_string();
  EXPECT_EQ(retried->results[0].index, 1u);
  EXPECT_EQ(fake_.seen().size(), 3u);
}

TEST_F(TeiRerankerTest, MalformedAnswerIsNamed) {
  fake_.script([](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(R"([{"index":0}])", "application/json");
  });
  auto reranker = make();
  auto outcome = reranker->rerank("q", docs({0.1}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kInternal);
  EXPECT_TRUE(contains(outcome.status().message(), "results[0].score is missing")) << outcome.status().message();
}

// Cohere's shape: max_tokens_per_doc is sent, max_chunks_per_doc on /v1
// only, and what Cohere lacks is warned about.
TEST(CohereLongDocuments, SentAsCohereHasThemAndWarnedOtherwise) {
  test_support::LoopbackServer server;
  std::mutex mu;
  std::vector<json> seen;
  for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
    server.routes().Post(path, [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(json::parse(req.body));
      res.set_content(R"({"results":[{"index":0,"relevance_score":0.75}]})", "application/json");
    });
  }
  server.start();
  RerankOptions options;
  options.max_tokens_per_doc = 64;
  options.chunking = ChunkingOptions{.max_chunks = 4};
  options.truncation_direction = TruncationDirection::kLeft;
  for (const char* path : {"/v1/rerank", "/v2/rerank"}) {
    CohereOptions o;
    o.base_url = server.url();
    o.path = path;
    o.api_key = "";
    auto reranker = CohereReranker::create(o);
    ASSERT_TRUE(reranker.ok());
    auto outcome = (*reranker)->rerank("q", std::vector<std::string>{"d"}, 1, options);
    ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
    EXPECT_NEAR(outcome->results[0].logit, std::log(3.0), 1e-6);  // the probability's logit
    const bool v1 = std::string(path) == "/v1/rerank";
    EXPECT_EQ(outcome->warnings.size(), v1 ? 1u : 2u);
    EXPECT_TRUE(contains(outcome->warnings.back(), "truncation_direction")) << outcome->warnings.back();
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0]["max_tokens_per_doc"], 64);
  EXPECT_EQ(seen[0]["max_chunks_per_doc"], 4);
  EXPECT_EQ(seen[1]["max_tokens_per_doc"], 64);
  EXPECT_FALSE(seen[1].contains("max_chunks_per_doc"));
}

}  // namespace
}  // namespace winnow::rerankers
