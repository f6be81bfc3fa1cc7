// Admission control and deadlines of `winnow serve`, from outside: overload
// answers 429 with Retry-After at once and never hangs, /health stays fast
// through it, deadlines (timeout_ms, X-Request-Timeout, --request-timeout)
// answer 504 naming themselves and drop their pairs from the model's queue,
// a client that disconnects cancels its work, and the per-request limits
// name their flags.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "e2e/e2e_util.h"
#include "support/raw_http.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

// The first `n` SciFact abstracts: long enough that a request's pairs fill
// batches of the tiny fixture models.
std::vector<std::string> abstracts(std::size_t n) {
  std::ifstream in(test_data() / "scifact" / "corpus.jsonl");
  std::vector<std::string> out;
  std::string line;
  while (out.size() < n && std::getline(in, line)) out.push_back(json::parse(line)["text"].get<std::string>());
  return out;
}

json rerank_body(std::size_t documents, json extra = json::object()) {
  json body = {{"model", model_path("bert-ce-tiny")},
               {"query", "what do cells do when they run out of oxygen"},
               {"documents", abstracts(documents)}};
  body.update(extra);
  return body;
}

std::string json_post(const std::string& path, const std::string& body, const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The value of a metric line that starts with `prefix` ("name{labels}"), 0 when absent.
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

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start(std::vector<std::string> args = {}) {
    server_.reset();
    // These tests fill the engine's queue with repeated requests: no score
    // cache may answer the repeats.
    args.insert(args.end(), {"--score-cache-mb", "0"});
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models(std::move(args)));
  }
  int port() const { return server_->port(); }
  std::string metrics() {
    auto c = server_->client();
    auto r = c->Get("/metrics");
    return r ? r->body : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

struct Outcome {
  int status = 0;  // 0: no answer within the client's timeout (a hang)
  std::string retry_after;
  std::string body;
};

// `clients` threads, each sending `each` copies of `body` to `path` on its
// own connection, while a prober measures GET /health on new connections.
struct Overload {
  std::vector<Outcome> outcomes;
  std::vector<double> health_ms;
  std::vector<int> health_status;
};

Overload overload(const ServerProcess& server, int clients, int each, const std::string& path, const json& body) {
  Overload result;
  std::mutex mutex;
  std::atomic<int> running{clients};
  const std::string text = body.dump();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      auto c = server.client(60);
      for (int i = 0; i < each; ++i) {
        auto r = c->Post(path, text, "application/json");
        Outcome o;
        if (r) {
          o.status = r->status;
          o.retry_after = r->get_header_value("Retry-After");
          o.body = r->body;
        }
        std::lock_guard<std::mutex> lock(mutex);
        result.outcomes.push_back(std::move(o));
      }
      --running;
    });
  }
  std::thread prober([&] {
    while (running > 0) {
      const double start = now_seconds();
      RawResponse r = raw_request(server.port(), get_request("/health"), 10);
      const double ms = (now_seconds() - start) * 1000;
      {
        std::lock_guard<std::mutex> lock(mutex);
        result.health_ms.push_back(ms);
        result.health_status.push_back(r.status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (std::thread& t : threads) t.join();
  prober.join();
  return result;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()))];
}

void expect_health_fast(const Overload& o) {
  ASSERT_GE(o.health_ms.size(), 5u) << "too few /health probes to judge";
  for (int s : o.health_status) EXPECT_EQ(s, 200);
  const double max = *std::max_element(o.health_ms.begin(), o.health_ms.end());
  // 100 ms is the contract; the machines that run the tests are shared, so
  // one probe in ten may lose its core for a moment, never for long.
  EXPECT_LT(percentile(o.health_ms, 0.9), 100) << "/health p90 under overload; max " << max << " ms";
  EXPECT_LT(max, 1000) << "/health max under overload";
  std::cerr << "/health under overload: " << o.health_ms.size() << " probes, p50 " << percentile(o.health_ms, 0.5)
            << " ms, p90 " << percentile(o.health_ms, 0.9) << " ms, max " << max << " ms\n";
}

TEST_F(AdmissionTest, AFullModelQueueAnswers429WithRetryAfterAtOnceAndHealthStaysFast) {
  // A small queue, so that concurrent 100-document reranks overflow it.
  start({"--threads", "1", "--max-queued-tokens", "2048", "--http-threads", "16"});
  Overload o = overload(*server_, 24, 4, "/v1/rerank", rerank_body(100));
  std::size_t ok = 0, refused = 0;
  for (const Outcome& r : o.outcomes) {
    ASSERT_TRUE(r.status == 200 || r.status == 429) << r.status << " " << r.body;  // 0 would be a hang
    if (r.status == 200) ++ok;
    if (r.status != 429) continue;
    ++refused;
    ASSERT_FALSE(r.retry_after.empty()) << "a 429 without Retry-After: " << r.body;
    EXPECT_GE(std::stoi(r.retry_after), 1);
    const json error = json::parse(r.body)["error"];
    EXPECT_EQ(error["code"], "resource_exhausted");
    EXPECT_NE(error["message"].get<std::string>().find("--max-queued-tokens"), std::string::npos) << error;
  }
  std::cerr << o.outcomes.size() << " reranks of 100 documents from 24 clients: " << ok << " 200, " << refused
            << " 429\n";
  EXPECT_GT(refused, 0u) << "overload was never refused";
  EXPECT_GT(ok, 0u) << "nothing got through";
  expect_health_fast(o);
  const std::string m = metrics();
  // Refused before any work (the server-wide reservation) or by the model's queue.
  EXPECT_EQ(metric(m, "winnow_requests_refused_total{reason=\"queue_full\"}") +
                metric(m, "winnow_requests_refused_total{reason=\"tokens\"}"),
            static_cast<double>(refused))
      << m;
  EXPECT_GT(metric(m, "winnow_engine_queue_wait_seconds_count{model="), 0) << m;
}

// Polls /metrics until `done(value of the metric line starting with prefix)`.
bool wait_for_metric(const std::function<std::string()>& metrics, const std::string& prefix,
                     const std::function<bool(double)>& done, double seconds = 120) {
  const double until = now_seconds() + seconds;
  while (now_seconds() < until) {
    if (done(metric(metrics(), prefix))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST_F(AdmissionTest, ABurstOverTheTokenBudgetIs429AtOnceWithoutWorkWhileHealthStaysFast) {
  // One admitted request far over the budget (it gets in alone), then a
  // burst of small ones arriving together: none fits beside it, so each is
  // answered 429 on the I/O thread before any worker parsed or tokenized it,
  // while the big one still runs. Its client leaving gives its tokens back.
  start({"--threads", "1", "--max-queued-tokens", "20000", "--max-batch-tokens", "64"});
  auto m = [&] { return metrics(); };
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_body(2)).status, 200);  // loaded
  ASSERT_EQ(metric(metrics(), "winnow_admitted_tokens"), 0);

  auto big = std::make_unique<RawConnection>(port());
  ASSERT_TRUE(big->send(json_post("/v1/rerank", rerank_body(3000).dump())));
  ASSERT_TRUE(wait_for_metric(m, "winnow_admitted_tokens", [](double v) { return v > 20000; }))
      << "the big request was never admitted";

  constexpr int kBurst = 16;
  const std::string small = json_post("/v1/rerank", rerank_body(5).dump());
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < kBurst; ++i) connections.push_back(std::make_unique<RawConnection>(port()));
  std::vector<RawResponse> answers(kBurst);
  std::vector<std::thread> senders;
  std::atomic<int> ready{0};
  for (int i = 0; i < kBurst; ++i) {
    senders.emplace_back([&, i] {
      ++ready;
      while (ready < kBurst) std::this_thread::yield();  // all at once
      connections[i]->send(small);
      answers[i] = connections[i]->read_response(60);
    });
  }
  std::vector<double> health_ms;
  for (int i = 0; i < 10; ++i) {
    const double start = now_seconds();
    EXPECT_EQ(raw_request(port(), get_request("/health"), 10).status, 200);
    health_ms.push_back((now_seconds() - start) * 1000);
  }
  for (std::thread& t : senders) t.join();
  // The big request is still running: the refusals did not wait for it.
  const std::string during = metrics();
  EXPECT_GT(metric(during, "winnow_admitted_tokens"), 20000) << "the big request ended before the burst was answered";
  for (const RawResponse& r : answers) {
    ASSERT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.headers.at("retry-after"), "1");
    EXPECT_NE(r.body.find("--max-queued-tokens"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("tokens of scoring work admitted"), std::string::npos) << r.body;
  }
  EXPECT_EQ(metric(during, "winnow_requests_refused_total{reason=\"tokens\"}"), kBurst) << during;
  // None of them was ranked: only the first small request is counted (the big one still runs).
  EXPECT_EQ(metric(during, "winnow_rerank_documents_count{"), 1) << during;
  std::sort(health_ms.begin(), health_ms.end());
  EXPECT_LT(health_ms[8], 100) << "/health p90 during the burst; max " << health_ms.back() << " ms";

  // The big request's client leaves: its work is dropped and its tokens given back.
  connections.clear();
  big.reset();
  ASSERT_TRUE(wait_for_metric(m, "winnow_admitted_tokens", [](double v) { return v == 0; }))
      << "the cancelled request's tokens were never given back";
  EXPECT_EQ(http_post(*c, "/v1/rerank", rerank_body(5)).status, 200);
}

TEST_F(AdmissionTest, RequestsOverMaxConcurrentRequestsAnswer429NamingTheFlag) {
  start({"--threads", "1", "--max-concurrent-requests", "2", "--max-queued-tokens", "100000000"});
  Overload o = overload(*server_, 12, 3, "/v2/rerank", rerank_body(100));
  std::size_t refused = 0;
  for (const Outcome& r : o.outcomes) {
    ASSERT_TRUE(r.status == 200 || r.status == 429) << r.status << " " << r.body;
    if (r.status != 429) continue;
    ++refused;
    EXPECT_EQ(r.retry_after, "1");
    EXPECT_NE(r.body.find("--max-concurrent-requests"), std::string::npos) << r.body;
  }
  EXPECT_GT(refused, 0u);
  expect_health_fast(o);
  EXPECT_EQ(metric(metrics(), "winnow_requests_refused_total{reason=\"concurrency\"}"), static_cast<double>(refused));
  // Every slot was given back: one at a time, requests go through again.
  auto c = server_->client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_post(*c, "/v2/rerank", rerank_body(5)).status, 200) << i;
  // /health, /ready and /v1/models are not scoring requests: never refused.
  EXPECT_EQ(http_get(*c, "/ready").status, 200);
  EXPECT_EQ(http_get(*c, "/v1/models").status, 200);
}

TEST_F(AdmissionTest, AnEstimatedWaitOverMaxQueueMsAnswers429) {
  // 50 ms: above what reading and parsing one body takes, even in sanitizer builds.
  start({"--threads", "1", "--max-queue-ms", "50", "--max-queued-tokens", "100000000"});
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_body(20)).status, 200);  // the engine measures its throughput
  Overload o = overload(*server_, 12, 3, "/v1/rerank", rerank_body(100));
  std::size_t refused = 0;
  for (const Outcome& r : o.outcomes) {
    ASSERT_TRUE(r.status == 200 || r.status == 429) << r.status << " " << r.body;
    if (r.status != 429) continue;
    ++refused;
    EXPECT_FALSE(r.retry_after.empty());
    EXPECT_NE(r.body.find("--max-queue-ms"), std::string::npos) << r.body;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(metric(metrics(), "winnow_requests_refused_total{reason=\"queue_wait\"}"), static_cast<double>(refused));
}

TEST_F(AdmissionTest, ATinyTimeoutMsAnswers504NamingTheDeadline) {
  start();
  auto c = server_->client();
  auto r = http_post(*c, "/v1/rerank", rerank_body(300, {{"timeout_ms", 1}}));
  ASSERT_EQ(r.status, 504) << r.raw;
  EXPECT_EQ(r.body["error"]["code"], "deadline_exceeded");
  const std::string message = r.body["error"]["message"];
  EXPECT_NE(message.find("deadline of 1 ms (timeout_ms)"), std::string::npos) << message;
  // A generous one changes nothing.
  EXPECT_EQ(http_post(*c, "/v1/rerank", rerank_body(10, {{"timeout_ms", 60000}})).status, 200);
  for (const json& bad : {json("soon"), json(0), json(-5), json(1.5), json(100000000000)}) {
    auto refused = http_post(*c, "/v1/rerank", rerank_body(2, {{"timeout_ms", bad}}));
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_NE(refused.raw.find("timeout_ms"), std::string::npos) << refused.raw;
  }
  EXPECT_GE(metric(metrics(), "winnow_deadlines_exceeded_total{route=\"/v1/rerank\"}"), 1);
}

TEST_F(AdmissionTest, XRequestTimeoutAndTheServerDefaultSetDeadlines) {
  start({"--request-timeout", "0.001"});
  const std::string body = rerank_body(300).dump();
  RawResponse r = raw_request(port(), json_post("/v1/rerank", body), 30);
  ASSERT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("(--request-timeout)"), std::string::npos) << r.body;
  // A client may shorten the server's deadline, never lengthen it.
  r = raw_request(port(), json_post("/v1/rerank", body, "X-Request-Timeout: 600000\r\n"), 30);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("(--request-timeout)"), std::string::npos) << r.body;

  start();
  r = raw_request(port(), json_post("/v1/rerank", body, "X-Request-Timeout: 1\r\n"), 30);
  ASSERT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("deadline of 1 ms (X-Request-Timeout)"), std::string::npos) << r.body;
  r = raw_request(port(), json_post("/v1/rerank", rerank_body(5).dump(), "X-Request-Timeout: 60000\r\n"), 30);
  EXPECT_EQ(r.status, 200) << r.body;
  r = raw_request(port(), json_post("/v1/rerank", body, "X-Request-Timeout: 10s\r\n"), 30);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("X-Request-Timeout"), std::string::npos) << r.body;
}

// Waits until the model has run a batch more than `before`: the busy
// requests are tokenized and their pairs queued.
void wait_for_batches(const std::function<std::string()>& metrics, double before) {
  for (int i = 0; i < 15000; ++i) {
    if (metric(metrics(), "winnow_engine_batch_pairs_count{") > before) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  FAIL() << "the busy requests never reached the model";
}

TEST_F(AdmissionTest, ExpiredRequestsLeaveTheModelQueueUnrun) {
  // Queue everything (no 429 here), in batches of at most 64 tokens: the big
  // requests' pairs keep the model busy long after they are queued, however
  // slow tokenizing is in this build. First come, first served: the short
  // requests wait behind the big ones (shortest-first would let them by).
  start({"--threads", "1", "--max-queued-tokens", "100000000", "--max-batch-tokens", "64", "--queue-aging-ms",
         "0"});
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_body(10)).status, 200);  // loaded
  const double batches = metric(metrics(), "winnow_engine_batch_pairs_count{");
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      auto own = server_->client(600);
      EXPECT_EQ(http_post(*own, "/v1/rerank", rerank_body(400)).status, 200);
    });
  }
  wait_for_batches([&] { return metrics(); }, batches);
  // Five documents reach the queue within the deadline and expire there.
  std::size_t expired = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = http_post(*c, "/v1/rerank", rerank_body(5, {{"timeout_ms", 50}}));
    if (r.status == 504) ++expired;
  }
  for (std::thread& t : busy) t.join();
  const std::string m = metrics();
  const double dropped = metric(m, "winnow_engine_dropped_sequences_total{model=");
  std::cerr << expired << " of 5 short-deadline reranks expired; " << dropped << " sequences dropped\n";
  EXPECT_GT(expired, 0u);
  EXPECT_GT(dropped, 0) << m;
  EXPECT_LE(dropped, 5.0 * expired);
}

// Shortest first: short requests sent while two big ones keep
// the model busy are answered before the big ones finish, well within the
// deadline that first come, first served makes them miss (the test above).
TEST_F(AdmissionTest, ShortRequestsGoBeforeBigOnesQueuedEarlier) {
  // An aging bound beyond the test's length: a big request that has waited
  // past it goes first whole (batch_planner_test.cc tests that), which on a
  // slow or loaded machine would come before the short ones arrive.
  start({"--threads", "1", "--max-queued-tokens", "100000000", "--max-batch-tokens", "64", "--queue-aging-ms",
         "600000"});
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_body(10)).status, 200);  // loaded
  const double batches = metric(metrics(), "winnow_engine_batch_pairs_count{");
  std::atomic<int> big_done{0};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      auto own = server_->client(600);
      EXPECT_EQ(http_post(*own, "/v1/rerank", rerank_body(1000)).status, 200);
      ++big_done;
    });
  }
  wait_for_batches([&] { return metrics(); }, batches);
  int answered = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = http_post(*c, "/v1/rerank", rerank_body(5, {{"timeout_ms", 2000}}));
    EXPECT_EQ(r.status, 200) << r.raw;
    answered += r.status == 200;
  }
  const int big_done_then = big_done.load();
  for (std::thread& t : busy) t.join();
  EXPECT_EQ(answered, 5);
  EXPECT_EQ(big_done_then, 0) << "the short requests waited for the big ones";
  EXPECT_EQ(metric(metrics(), "winnow_engine_dropped_sequences_total{model="), 0);
}

TEST_F(AdmissionTest, AClientThatDisconnectsCancelsItsEngineWork) {
  // First come, first served: the small requests must stay queued behind the busy one.
  start({"--threads", "1", "--max-queued-tokens", "100000000", "--max-batch-tokens", "64", "--queue-aging-ms",
         "0"});
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_body(10)).status, 200);
  const double batches = metric(metrics(), "winnow_engine_batch_pairs_count{");
  std::thread busy([&] {
    auto own = server_->client(600);
    EXPECT_EQ(http_post(*own, "/v1/rerank", rerank_body(1500)).status, 200);
  });
  wait_for_batches([&] { return metrics(); }, batches);
  // Small requests, tokenized and queued within the pause, each cancelled in
  // the queue behind the busy one.
  for (int i = 0; i < 3; ++i) {
    RawConnection gone(port());
    ASSERT_TRUE(gone.send(json_post("/v1/rerank", rerank_body(20).dump())));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }  // each closes here, its request still queued behind the busy one
  busy.join();
  std::string m;
  for (int i = 0; i < 100 && metric(m, "winnow_requests_cancelled_total{route=\"/v1/rerank\"}") < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    m = metrics();
  }
  EXPECT_EQ(metric(m, "winnow_requests_cancelled_total{route=\"/v1/rerank\"}"), 3) << m;
  EXPECT_GT(metric(m, "winnow_engine_dropped_sequences_total{model="), 0) << m;
}

TEST_F(AdmissionTest, PipelineExecutionsTakeTimeoutMsAndAnswer504) {
  start();
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", "papers"}}).status, 201);
  ASSERT_EQ(http_post(*c, "/v1/collections/papers/documents", scifact_ndjson(200), "application/x-ndjson").status, 200);
  json stages = json::array({stage("filter", "text_search", {{"query", "{{INPUT.query}}"}, {"top_k", 200}}),
                             stage("sort", "rerank", {{"model", model_path("bert-ce-tiny")}, {"top_n", 5}})});
  json body = {{"collection_ids", {"papers"}}, {"stages", stages}, {"inputs", {{"query", "cells oxygen"}}}};
  ASSERT_EQ(http_post(*c, "/v1/retrievers/execute", body).status, 200);
  body["timeout_ms"] = 1;
  auto r = http_post(*c, "/v1/retrievers/execute", body);
  ASSERT_EQ(r.status, 504) << r.raw;
  EXPECT_NE(r.raw.find("(timeout_ms)"), std::string::npos) << r.raw;
  body["timeout_ms"] = "x";
  EXPECT_EQ(http_post(*c, "/v1/retrievers/execute", body).status, 400);
}

TEST_F(AdmissionTest, MaxClientBatchSizeRefusesLargerRequestsNamingFieldAndFlag) {
  start({"--max-client-batch-size", "5"});
  auto c = server_->client();
  EXPECT_EQ(http_post(*c, "/v1/rerank", rerank_body(5)).status, 200);
  auto r = http_post(*c, "/v1/rerank", rerank_body(6));
  ASSERT_EQ(r.status, 400) << r.raw;
  const std::string message = r.body["error"]["message"];
  EXPECT_NE(message.find("documents"), std::string::npos) << message;
  EXPECT_NE(message.find("--max-client-batch-size"), std::string::npos) << message;
}

// TEI's POST /rerank answers every error in TEI's shape, {"error", "error_type"},
// also those the server makes around its handler (admission, deadlines, the
// API key), with their status and Retry-After unchanged: a TEI client reads
// them as it reads TEI's.
TEST_F(AdmissionTest, TeiRerankGetsTheErrorsMadeAroundItsHandlerInTeisShape) {
  auto tei_body = [](std::size_t texts) {
    return json{{"model", model_path("bert-ce-tiny")},
                {"query", "what do cells do when they run out of oxygen"},
                {"texts", abstracts(texts)}};
  };
  auto expect_tei_error = [](const std::string& body, const std::string& type, const std::string& says) {
    const json error = json::parse(body);
    ASSERT_TRUE(error.is_object()) << body;
    EXPECT_EQ(error.size(), 2u) << body;
    EXPECT_EQ(error.value("error_type", ""), type) << body;
    EXPECT_NE(error.value("error", "").find(says), std::string::npos) << body;
  };
  start({"--threads", "1", "--max-concurrent-requests", "2", "--max-queued-tokens", "100000000", "--api-key", "k"});
  const std::string key = "Authorization: Bearer k\r\n";
  const std::string body = tei_body(300).dump();

  RawResponse r = raw_request(port(), json_post("/rerank", body), 30);
  ASSERT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer");
  expect_tei_error(r.body, "Validation", "API key");

  r = raw_request(port(), json_post("/rerank", body, key + "X-Request-Timeout: 1\r\n"), 30);
  ASSERT_EQ(r.status, 504) << r.body;
  expect_tei_error(r.body, "Backend", "deadline of 1 ms (X-Request-Timeout)");
  r = raw_request(port(), json_post("/rerank", body, key + "X-Request-Timeout: soon\r\n"), 30);
  ASSERT_EQ(r.status, 400) << r.body;
  expect_tei_error(r.body, "Validation", "X-Request-Timeout");
  // The router's own refusal once the route is known (fuzz/http_routes_fuzz.cc found it).
  r = raw_request(port(), json_post("/rerank?%e", body, key), 30);
  ASSERT_EQ(r.status, 400) << r.body;
  expect_tei_error(r.body, "Validation", "percent-encoding");

  // More clients than --max-concurrent-requests: 429 Overloaded, Retry-After kept.
  std::vector<std::thread> clients;
  std::mutex mutex;
  std::vector<RawResponse> answers;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      RawResponse a = raw_request(port(), json_post("/rerank", tei_body(100).dump(), key), 120);
      std::lock_guard<std::mutex> lock(mutex);
      answers.push_back(std::move(a));
    });
  }
  for (std::thread& t : clients) t.join();
  std::size_t refused = 0;
  for (RawResponse& a : answers) {
    ASSERT_TRUE(a.status == 200 || a.status == 429) << a.status << " " << a.body;
    if (a.status != 429) continue;
    ++refused;
    EXPECT_EQ(a.headers["retry-after"], "1");
    expect_tei_error(a.body, "Overloaded", "--max-concurrent-requests");
  }
  EXPECT_GT(refused, 0u) << "8 simultaneous requests over a limit of 2 were never refused";
  // Winnow's own routes keep Winnow's shape.
  r = raw_request(port(), json_post("/v1/rerank", rerank_body(300).dump(), key + "X-Request-Timeout: 1\r\n"), 30);
  ASSERT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "deadline_exceeded") << r.body;
}

TEST(AdmissionFlagsTest, ServeHelpListsEveryAdmissionFlag) {
  ProcessResult help = run_process({winnow_binary(), "serve", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  for (const char* flag : {"--max-concurrent-requests", "--max-batch-tokens", "--max-queued-tokens",
                           "--max-client-batch-size", "--max-queue-ms", "--request-timeout"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace winnow::testing
