#include "rerankers/cohere_reranker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/loopback_server.h"

namespace winnow::rerankers {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Wall-clock checks here bound waits from below exactly (a sleep never ends
// early) and from above only loosely: scheduling on a loaded machine, under
// sanitizers, may add seconds to any exchange. The tests make the wrong
// behaviour each upper bound exists to catch far slower than that bound (a
// long maximum wait, a server that never answers), so the bounds stay far
// from both what is right and what is wrong.
constexpr double kSchedulingSlack = 4.0;  // seconds

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A fake Cohere rerank API on /v2/rerank and /v1/rerank. Documents carry their
// score in their text ("... score=0.7"); requests are recorded; a script of
// canned answers is played before it starts ranking for real.
class FakeCohere {
 public:
  using Answer = std::function<void(const httplib::Request&, httplib::Response&)>;

  FakeCohere() {
    for (const char* path : {"/v2/rerank", "/v1/rerank"}) {
      server_.routes().Post(path, [this](const httplib::Request& req, httplib::Response& res) { answer(req, res); });
    }
    server_.start();
  }

  std::string url() const { return server_.url(); }
  void script(Answer answer) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(answer));
  }
  void always(Answer answer) {
    std::lock_guard<std::mutex> lock(mu_);
    always_ = std::move(answer);
  }
  std::string required_key;  // set before use; "" accepts any
  std::string answer_model;  // put in the response as "model" when set

  struct Seen {
    std::string path;
    std::string authorization;
    std::string content_type;
    std::string user_agent;
    json body;
    Clock::time_point at;
  };
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void answer(const httplib::Request& req, httplib::Response& res) {
    Answer canned;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({req.path, req.get_header_value("Authorization"), req.get_header_value("Content-Type"),
                       req.get_header_value("User-Agent"), json::parse(req.body, nullptr, false), Clock::now()});
      if (!script_.empty()) {
        canned = std::move(script_.front());
        script_.pop_front();
      } else {
        canned = always_;
      }
    }
    if (canned) return canned(req, res);
    if (!required_key.empty() && req.get_header_value("Authorization") != "Bearer " + required_key) {
      res.status = 401;
      res.set_content(R"({"message":"invalid api token"})", "application/json");
      return;
    }
    const json body = json::parse(req.body);
    std::vector<std::pair<double, std::size_t>> scored;
    const auto& documents = body["documents"];
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const std::string text = documents[i].get<std::string>();
      const auto at = text.find("score=");
      scored.push_back({at == std::string::npos ? 0.0 : std::stod(text.substr(at + 6)), i});
    }
    std::stable_sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
    const std::size_t top_n = body.value("top_n", scored.size());
    json results = json::array();
    for (std::size_t i = 0; i < std::min(top_n, scored.size()); ++i) {
      results.push_back({{"index", scored[i].second}, {"relevance_score", scored[i].first}});
    }
    json out = {{"id", "fake-1"},
                {"results", results},
                {"meta", {{"api_version", {{"version", "2"}}}, {"billed_units", {{"search_units", 1}}}}}};
    if (!answer_model.empty()) out["model"] = answer_model;
    res.status = 200;
    res.set_content(out.dump(), "application/json");
  }

  mutable std::mutex mu_;
  std::deque<Answer> script_;
  Answer always_;
  std::vector<Seen> seen_;
  test_support::LoopbackServer server_;
};

FakeCohere::Answer status_answer(int status, std::string body = R"({"message":"try later"})",
                                 std::string retry_after = "") {
  return [=](const httplib::Request&, httplib::Response& res) {
    res.status = status;
    if (!retry_after.empty()) res.set_header("Retry-After", retry_after);
    res.set_content(body, "application/json");
  };
}

class CohereRerankerTest : public ::testing::Test {
 protected:
  CohereOptions options() const {
    CohereOptions o;
    o.base_url = fake_.url();
    o.api_key = "test-key";
    o.retry.base_delay = std::chrono::milliseconds(10);
    o.retry.max_delay = std::chrono::milliseconds(3000);
    o.retry.max_retries = 3;
    return o;
  }
  std::unique_ptr<CohereReranker> make(CohereOptions o) {
    auto reranker = CohereReranker::create(std::move(o));
    EXPECT_TRUE(reranker.ok()) << reranker.status().to_string();
    return std::move(reranker).value();
  }
  static std::vector<std::string> docs(std::initializer_list<double> scores) {
    std::vector<std::string> out;
    for (double s : scores) out.push_back("document " + std::to_string(out.size()) + " score=" + std::to_string(s));
    return out;
  }

  FakeCohere fake_;
};

TEST_F(CohereRerankerTest, SendsCohereShapedRequestsAndMapsTheResults) {
  auto reranker = make(options());
  const auto documents = docs({0.2, 0.9, 0.5, 0.7});
  auto outcome = reranker->rerank("what is winnow?", documents, 2);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->results.size(), 2u);
  EXPECT_EQ(outcome->results[0].index, 1u);
  EXPECT_DOUBLE_EQ(outcome->results[0].relevance_score, 0.9);
  EXPECT_EQ(outcome->results[1].index, 3u);
  EXPECT_DOUBLE_EQ(outcome->results[1].relevance_score, 0.7);
  EXPECT_EQ(outcome->documents_scored, 4u);
  EXPECT_EQ(outcome->model, "rerank-english-v3.0");
  EXPECT_EQ(outcome->revision, "api v2");

  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v2/rerank");
  EXPECT_EQ(seen[0].authorization, "Bearer test-key");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_TRUE(seen[0].user_agent.starts_with("winnow/")) << seen[0].user_agent;
  EXPECT_EQ(seen[0].body["model"], "rerank-english-v3.0");
  EXPECT_EQ(seen[0].body["query"], "what is winnow?");
  EXPECT_EQ(seen[0].body["documents"], json(documents));
  EXPECT_EQ(seen[0].body["top_n"], 2);
}

TEST_F(CohereRerankerTest, SplitsAboveTheDocumentLimitAndMergesTheRankings) {
  CohereOptions o = options();
  o.max_documents_per_request = 3;
  auto reranker = make(o);
  const auto documents = docs({0.1, 0.9, 0.3, 0.8, 0.5, 0.7, 0.2, 0.6});
  auto outcome = reranker->rerank("q", documents, 4);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].body["documents"].size(), 3u);
  EXPECT_EQ(seen[1].body["documents"].size(), 3u);
  EXPECT_EQ(seen[2].body["documents"].size(), 2u);
  EXPECT_EQ(seen[1].body["documents"][0], documents[3]);
  EXPECT_EQ(seen[2].body["top_n"], 2);  // never more than the request holds
  ASSERT_EQ(outcome->results.size(), 4u);
  const std::vector<std::size_t> expected = {1, 3, 5, 7};
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(outcome->results[i].index, expected[i]) << i;
    EXPECT_DOUBLE_EQ(outcome->results[i].relevance_score, scores[i]) << i;
  }
  EXPECT_EQ(outcome->documents_scored, 8u);
}

TEST_F(CohereRerankerTest, HonoursRetryAfterOn429) {
  fake_.script(status_answer(429, R"({"message":"slow down"})", "1"));
  CohereOptions o = options();
  o.retry.max_delay = std::chrono::seconds(30);  // a wait that ignored Retry-After would be up to this long
  auto reranker = make(o);
  const auto start = Clock::now();
  auto outcome = reranker->rerank("q", docs({0.3, 0.4}), 1);
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(outcome->results[0].index, 1u);
  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 2u);
  const double gap = std::chrono::duration<double>(seen[1].at - seen[0].at).count();
  EXPECT_GE(gap, 0.95);  // the server asked for 1 s, not the 10 ms backoff
  EXPECT_LT(gap, 1.0 + kSchedulingSlack) << "the wait is the 1 s asked for, bounded";
  EXPECT_LT(waited, 1.0 + kSchedulingSlack);
}

TEST_F(CohereRerankerTest, RetriesTwo500sThenSucceeds) {
  fake_.script(status_answer(500));
  fake_.script(status_answer(503));
  auto reranker = make(options());
  auto outcome = reranker->rerank("q", docs({0.3, 0.4}), 2);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(fake_.seen().size(), 3u);
  EXPECT_EQ(outcome->results.size(), 2u);
}

TEST_F(CohereRerankerTest, Always500IsUnavailableAfterTheMaximumRetries) {
  fake_.always(status_answer(500, R"({"message":"internal server error"})"));
  CohereOptions o = options();
  o.retry.max_retries = 2;
  auto reranker = make(o);
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kUnavailable);
  EXPECT_TRUE(contains(outcome.status().message(), "answered 500 after 3 tries")) << outcome.status().message();
  EXPECT_TRUE(contains(outcome.status().message(), "internal server error")) << outcome.status().message();
  EXPECT_EQ(fake_.seen().size(), 3u);
}

TEST_F(CohereRerankerTest, RateLimitedAfterRetriesIsResourceExhausted) {
  fake_.always(status_answer(429, R"({"message":"trial key limit"})"));
  CohereOptions o = options();
  o.retry.max_retries = 1;
  auto reranker = make(o);
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kResourceExhausted);
  EXPECT_TRUE(contains(outcome.status().message(), "rate limited / quota")) << outcome.status().message();
  EXPECT_TRUE(contains(outcome.status().message(), "trial key limit")) << outcome.status().message();
  EXPECT_EQ(fake_.seen().size(), 2u);
}

TEST_F(CohereRerankerTest, RetryAfterBeyondTheMaximumWaitGivesUpAtOnce) {
  fake_.always(status_answer(429, "{}", "Wed, 21 Oct 2099 07:28:00 GMT"));
  CohereOptions o = options();
  o.retry.max_delay = std::chrono::seconds(30);  // what waiting instead of giving up would take
  auto reranker = make(o);
  const auto start = Clock::now();
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kResourceExhausted);
  EXPECT_TRUE(contains(outcome.status().message(), "asks to retry after")) << outcome.status().message();
  EXPECT_EQ(fake_.seen().size(), 1u);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), kSchedulingSlack) << "it waited";
}

TEST_F(CohereRerankerTest, SlowServerIsDeadlineExceededWithinTheTimeout) {
  // The server answers only when the test lets it (or after a minute), so a
  // client that ignored its timeout would wait far beyond the bound below.
  struct Gate {
    std::mutex mutex;
    std::condition_variable opened_cv;
    bool opened = false;
    void open() {
      {
        std::lock_guard<std::mutex> lock(mutex);
        opened = true;
      }
      opened_cv.notify_all();
    }
  };
  auto gate = std::make_shared<Gate>();  // shared: the handler may outlive this test's body
  fake_.always([gate](const httplib::Request&, httplib::Response& res) {
    std::unique_lock<std::mutex> lock(gate->mutex);
    gate->opened_cv.wait_for(lock, std::chrono::seconds(60), [&] { return gate->opened; });
    res.status = 200;
    res.set_content(R"({"results":[]})", "application/json");
  });
  CohereOptions o = options();
  o.timeout = std::chrono::milliseconds(300);
  auto reranker = make(o);
  const auto start = Clock::now();
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  gate->open();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(contains(outcome.status().message(), fake_.url() + "/v2/rerank")) << outcome.status().message();
  EXPECT_TRUE(contains(outcome.status().message(), "0.3 s")) << outcome.status().message();
  EXPECT_GE(took, 0.25);
  EXPECT_LT(took, 0.3 + kSchedulingSlack) << "the caller waited for the server, not its timeout";
  EXPECT_EQ(fake_.seen().size(), 1u);  // a timeout is not retried: the caller's budget is spent
}

TEST_F(CohereRerankerTest, ConnectionRefusedIsUnavailable) {
  CohereOptions o = options();
  o.base_url = "http://127.0.0.1:" + std::to_string(test_support::closed_port());
  auto reranker = make(o);
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kUnavailable);
  EXPECT_TRUE(contains(outcome.status().message(), "cannot connect to " + o.base_url)) << outcome.status().message();
}

TEST_F(CohereRerankerTest, RejectedKeyIsUnauthenticated) {
  fake_.required_key = "the-right-key";
  auto reranker = make(options());
  auto outcome = reranker->rerank("q", docs({0.3}), 1);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), base::StatusCode::kUnauthenticated);
  EXPECT_TRUE(contains(outcome.status().message(), "Cohere rejected the API key (COHERE_API_KEY)"))
      << outcome.status().message();
  EXPECT_EQ(fake_.seen().size(), 1u);  // not retried
}

TEST_F(CohereRerankerTest, MalformedResponsesAreInternalErrorsSayingWhatWasWrong) {
  auto reranker = make(options());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not JSON"},
      {R"({"id":"x"})", "no \"results\" array"},
      {R"({"results":[{"index":0}]})", "results[0].relevance_score is missing"},
      {R"({"results":[{"index":5,"relevance_score":0.5}]})", "results[0].index 5 is out of range for 2 documents"},
      {R"({"results":[{"index":1,"relevance_score":0.5},{"index":1,"relevance_score":0.4}]})", "appears twice"},
  };
  for (const auto& [body, expected] : cases) {
    fake_.script(status_answer(200, body));
    auto outcome = reranker->rerank("q", docs({0.3, 0.4}), 2);
    ASSERT_FALSE(outcome.ok()) << body;
    EXPECT_EQ(outcome.status().code(), base::StatusCode::kInternal) << body;
    EXPECT_TRUE(contains(outcome.status().message(), "malformed response from " + fake_.url())) << body;
    EXPECT_TRUE(contains(outcome.status().message(), expected)) << outcome.status().message();
  }
}

TEST_F(CohereRerankerTest, TalksToCompatibleEndpointsOnV1WithoutAKey) {
  fake_.answer_model = "BAAI/bge-reranker-v2-m3";
  CohereOptions o = options();
  o.path = "v1/rerank";
  o.api_key = "";
  o.model = "bge-reranker-v2-m3";
  auto reranker = make(o);
  EXPECT_EQ(reranker->url(), fake_.url() + "/v1/rerank");
  auto outcome = reranker->rerank("q", docs({0.3, 0.4, 0.1}), 5);
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(outcome->results.size(), 3u);
  EXPECT_EQ(outcome->model, "BAAI/bge-reranker-v2-m3");
  const auto seen = fake_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v1/rerank");
  EXPECT_EQ(seen[0].authorization, "");
  EXPECT_EQ(seen[0].body["top_n"], 3);
}

TEST_F(CohereRerankerTest, ConcurrentCallsShareTheClientSafely) {
  auto reranker = make(options());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto outcome = reranker->rerank("q", docs({0.1, 0.9, 0.5}), 1);
        if (outcome.ok() && outcome->results.size() == 1 && outcome->results[0].index == 1) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
}

TEST_F(CohereRerankerTest, NoDocumentsNoRequestAndTopNMustBePositive) {
  auto reranker = make(options());
  auto empty = reranker->rerank("q", std::vector<std::string>{}, 3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->results.empty());
  EXPECT_EQ(reranker->rerank("q", docs({0.3}), 0).status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(fake_.seen().empty());
}

TEST(CohereRerankerCreate, ValidatesOptionsAndNeedsAKeyForCohere) {
  const char* saved = std::getenv("COHERE_API_KEY");
  const std::string old = saved ? saved : "";
  ::unsetenv("COHERE_API_KEY");
  CohereOptions cohere;  // api.cohere.com, no key anywhere
  auto missing = CohereReranker::create(cohere);
  EXPECT_EQ(missing.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(contains(missing.status().message(), "COHERE_API_KEY"));
  ::setenv("COHERE_API_KEY", "from-env", 1);
  auto from_env = CohereReranker::create(cohere);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ((*from_env)->options().api_key.value_or(""), "from-env");
  CohereOptions bad;
  bad.base_url = "ftp://example.com";
  EXPECT_EQ(CohereReranker::create(bad).status().code(), base::StatusCode::kInvalidArgument);
  CohereOptions no_limit;
  no_limit.max_documents_per_request = 0;
  EXPECT_EQ(CohereReranker::create(no_limit).status().code(), base::StatusCode::kInvalidArgument);
  if (saved) {
    ::setenv("COHERE_API_KEY", old.c_str(), 1);
  } else {
    ::unsetenv("COHERE_API_KEY");
  }
}

}  // namespace
}  // namespace winnow::rerankers
