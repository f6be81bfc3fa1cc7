// The transport of `winnow serve` from outside, over raw sockets where an
// HTTP client library would hide the behaviour: idle and slow clients,
// limits and what each answers, pipelining, routing before decoding,
// /health and /ready while every worker is busy, the drain on SIGTERM.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "e2e/e2e_util.h"
#include "support/raw_http.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Milliseconds for GET `path` on a new connection; the status in `status`.
double probe_ms(int port, const std::string& path, int* status) {
  const double start = now_seconds();
  RawResponse r = raw_request(port, get_request(path), 20);
  *status = r.status;
  return (now_seconds() - start) * 1000;
}

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::string chunked_post(const std::string& path, const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n" + headers +
         "Transfer-Encoding: chunked\r\n\r\n";
}

std::string json_post(const std::string& path, const std::string& body, const std::string& headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Requests may name the fixture models (fixture_models()).
  void start(std::vector<std::string> args = {}, std::map<std::string, std::string> env = {}) {
    server_.reset();  // one server per data directory
    server_ = std::make_unique<ServerProcess>(dir_, fixture_models(std::move(args)), std::move(env));
  }
  int port() const { return server_->port(); }

  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TransportTest, TwoHundredIdleConnectionsDoNotDelayHealth) {
  start();
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    int status = 0;
    ms.push_back(probe_ms(port(), "/health", &status));
    ASSERT_EQ(status, 200);
  }
  EXPECT_LT(median(ms), 100) << "median /health with 200 idle connections open";
  // The idle ones are still open (closed only by the header timeout, 10 s).
  EXPECT_FALSE(idle.front()->closed_within(0.05));
}

TEST_F(TransportTest, SlowClientsAreClosedByTheTimeouts) {
  start({"--header-timeout", "0.5", "--body-timeout", "0.5", "--idle-timeout", "0.5"});
  RawConnection silent(port());
  EXPECT_TRUE(silent.closed_within(10)) << "a connection that sends nothing";

  // Slowloris: a head that keeps coming, a byte at a time, never ends.
  RawConnection slowloris(port());
  ASSERT_TRUE(slowloris.send("GET /health HTTP/1.1\r\n"));
  const double start_time = now_seconds();
  bool closed = false;
  while (!closed && now_seconds() - start_time < 10) {
    closed = !slowloris.send("X") || slowloris.closed_within(0.1);
  }
  EXPECT_TRUE(closed) << "the head must be complete within the header timeout";

  RawConnection slow_body(port());
  ASSERT_TRUE(slow_body.send("POST /v1/collections HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"collect"));
  EXPECT_TRUE(slow_body.closed_within(10)) << "a body that stops arriving";

  RawConnection keep_alive(port());
  ASSERT_TRUE(keep_alive.send(get_request("/health")));
  EXPECT_EQ(keep_alive.read_response(10).status, 200);
  EXPECT_TRUE(keep_alive.closed_within(10)) << "an idle keep-alive connection";

  // The server still answers, and logged the body timeout as a 408.
  int status = 0;
  probe_ms(port(), "/health", &status);
  EXPECT_EQ(status, 200);
  EXPECT_NE(server_->log().find("status=408"), std::string::npos) << server_->log();
}

TEST_F(TransportTest, LimitsAnswerWithJsonErrors) {
  start({"--max-body-mb", "1", "--max-ingest-mb", "2"});
  auto expect_error = [](const RawResponse& r, int status, const std::string& fragment) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << r.body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find(fragment), std::string::npos) << r.body;
  };
  // 414: a target over 8 KiB, and a request line over the whole head's 16 KiB.
  expect_error(raw_request(port(), get_request("/health?pad=" + std::string(9000, 'a'))), 414, "request target");
  expect_error(raw_request(port(), get_request("/health?pad=" + std::string(20000, 'a'))), 414, "request line");
  // 431: too many header fields, and headers too large.
  std::string many;
  for (int i = 0; i < 150; ++i) many += "X-Field-" + std::to_string(i) + ": v\r\n";
  expect_error(raw_request(port(), get_request("/health", many)), 431, "header fields");
  expect_error(raw_request(port(), get_request("/health", "X-Big: " + std::string(20000, 'b') + "\r\n")), 431,
               "request headers are larger");
  // 400: malformed requests.
  EXPECT_EQ(raw_request(port(), "GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(raw_request(port(), "GET /health HTTP/1.1\r\nNo colon here\r\n\r\n").status, 400);
  EXPECT_EQ(raw_request(port(), chunked_post("/v1/collections") + "zz\r\n").status, 400);

  // 413 for chunked bodies, counted as they arrive: over the JSON limit...
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send(chunked_post("/v1/collections")));
    const std::string piece(64 << 10, ' ');
    for (int i = 0; i < 20 && c.send(chunk(piece)); ++i) {
    }
    expect_error(c.read_response(20), 413, "over the limit of 1048576");
  }
  // ... and a chunk that announces 2^63 - 1 bytes is refused at once, on a
  // JSON route and on the streaming ingest route.
  ASSERT_EQ(raw_request(port(), json_post("/v1/collections", json{{"collection_id", "papers"}}.dump())).status, 201);
  RawResponse empty = raw_request(port(), json_post("/v1/collections/papers/documents", ""));
  EXPECT_EQ(empty.status, 200) << "an empty ingest body is an empty stream: " << empty.body;
  for (const char* path : {"/v1/collections", "/v1/collections/papers/documents"}) {
    RawConnection c(port());
    ASSERT_TRUE(c.send(chunked_post(path) + "7FFFFFFFFFFFFFFF\r\n"));
    const double start_time = now_seconds();
    RawResponse r = c.read_response(20);
    expect_error(r, 413, "over the limit");
    EXPECT_LT(now_seconds() - start_time, 5) << path;
  }
  // An ingest body over its limit: the documents before it are stored.
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send(chunked_post("/v1/collections/papers/documents")));
    for (int i = 0; i < 3000; ++i) {
      std::string line = json{{"id", "d" + std::to_string(i)}, {"text", std::string(1000, 'w')}}.dump() + "\n";
      if (!c.send(chunk(line))) break;
    }
    c.send("0\r\n\r\n");
    expect_error(c.read_response(30), 413, "were stored");
  }
}

TEST_F(TransportTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.send(get_request("/health", "X-Request-Id: p1\r\n") +
                     get_request("/v1/collections/nope", "X-Request-Id: p2\r\n")));
  auto two = c.read_responses(2, 20);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].status, 200);
  EXPECT_EQ(two[0].headers["x-request-id"], "p1");
  EXPECT_EQ(two[1].status, 404);
  EXPECT_EQ(two[1].headers["x-request-id"], "p2");
  // Three, one with a body in the middle.
  ASSERT_TRUE(c.send(get_request("/ready", "X-Request-Id: q1\r\n") +
                     json_post("/v1/collections", json{{"collection_id", "piped"}}.dump(), "X-Request-Id: q2\r\n") +
                     get_request("/v1/collections/piped", "X-Request-Id: q3\r\n")));
  auto three = c.read_responses(3, 20);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].headers["x-request-id"], "q1");
  EXPECT_EQ(three[0].status, 200);
  EXPECT_EQ(three[1].headers["x-request-id"], "q2");
  EXPECT_EQ(three[1].status, 201) << three[1].body;
  EXPECT_EQ(three[2].headers["x-request-id"], "q3");
  EXPECT_EQ(three[2].status, 200) << three[2].body;
}

TEST_F(TransportTest, EncodedSlashIsNotDecodedBeforeRouting) {
  start();
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", "rel"}}).status, 201);
  ASSERT_EQ(http_post(*c, "/v1/collections/rel/documents", scifact_ndjson(3), "application/x-ndjson").status, 200);
  RawResponse listed = raw_request(port(), get_request("/v1/collections/rel/documents"));
  EXPECT_EQ(listed.status, 200);
  RawResponse encoded = raw_request(port(), get_request("/v1/collections/rel%2Fdocuments"));
  EXPECT_NE(encoded.status, 200) << "the collection \"rel/documents\", not the documents route: " << encoded.body;
  EXPECT_NE(encoded.body.find("rel/documents"), std::string::npos) << encoded.body;
  // Query parameters are decoded.
  RawResponse one = raw_request(port(), get_request("/v1/collections/rel/documents?limit=%31"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["documents"].size(), 1u);
}

// Both workers held by ingests whose bodies are still arriving, a request
// queued behind them: /health and /ready answer at once all the same.
TEST_F(TransportTest, HealthAndReadyAnswerWhileEveryWorkerIsBusy) {
  start({"--http-threads", "2"});
  auto c = server_->client();
  for (const char* id : {"a", "b"}) ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", id}}).status, 201);
  std::vector<std::unique_ptr<RawConnection>> ingests;
  for (const char* id : {"a", "b"}) {
    ingests.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(ingests.back()->send(chunked_post(std::string("/v1/collections/") + id + "/documents") +
                                     chunk("{\"id\": \"first\", \"text\": \"the first line\"}\n")));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the handlers have started
  RawConnection queued(port());
  ASSERT_TRUE(queued.send(get_request("/v1/collections")));
  EXPECT_EQ(queued.read_response(0.3).status, 0) << "the workers should be saturated";

  std::vector<double> health, ready;
  for (int i = 0; i < 10; ++i) {
    int status = 0;
    health.push_back(probe_ms(port(), "/health", &status));
    EXPECT_EQ(status, 200);
    ready.push_back(probe_ms(port(), "/ready", &status));
    EXPECT_EQ(status, 200);
  }
  EXPECT_LT(median(health), 100);
  EXPECT_LT(median(ready), 100);
  EXPECT_LT(*std::max_element(health.begin(), health.end()), 2000);

  for (auto& ingest : ingests) {
    ASSERT_TRUE(ingest->send("0\r\n\r\n"));
    RawResponse r = ingest->read_response(20);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(queued.read_response(20).status, 200);
}

// Scoring on every worker and every core: /health still answers at once.
TEST_F(TransportTest, HealthAnswersWhileWorkersScore) {
  start({"--http-threads", "2"});
  json documents = json::array();
  for (int i = 0; i < 300; ++i) documents.push_back("passage " + std::to_string(i) + " about cells and proteins");
  const std::string request =
      json_post("/v1/rerank", json{{"model", model_path("bert-ce-tiny")}, {"query", "how do cells divide"},
                                   {"documents", documents}}
                                  .dump());
  std::atomic<int> answered{0};
  std::atomic<bool> busy{true};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      RawConnection c(port());
      while (busy) {
        if (!c.send(request) || c.read_response(60).status != 200) return;
        ++answered;
      }
    });
  }
  const double start_time = now_seconds();
  while (answered < 2 && now_seconds() - start_time < 120) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::vector<double> health;
  const bool scoring = answered >= 2;
  for (int i = 0; scoring && i < 10; ++i) {
    int status = 0;
    health.push_back(probe_ms(port(), "/health", &status));
    EXPECT_EQ(status, 200);
  }
  busy = false;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(scoring) << "the reranks do not answer";
  EXPECT_LT(median(health), 100);
}

TEST_F(TransportTest, SigtermDrainsInFlightRequestsAndRefusesNewOnes) {
  start();
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", "papers"}}).status, 201);
  RawConnection ingest(port());
  ASSERT_TRUE(ingest.send(chunked_post("/v1/collections/papers/documents") +
                          chunk("{\"id\": \"d1\", \"text\": \"one\"}\n")));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the handlers have started
  RawConnection idle(port());
  ASSERT_TRUE(idle.connected());
  server_->signal(SIGTERM);
  // New connections are refused (the listening socket is closed) ...
  const double start_time = now_seconds();
  bool refused = false;
  while (!refused && now_seconds() - start_time < 10) {
    refused = !can_connect(port());
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(idle.closed_within(10)) << "idle connections are closed";
  // ... while the request in flight finishes.
  ASSERT_TRUE(ingest.send(chunk("{\"id\": \"d2\", \"text\": \"two\"}\n") + "0\r\n\r\n"));
  RawResponse r = ingest.read_response(20);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["documents_stored"], 2) << r.body;
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_EQ(server_->wait_exit(30), 0) << server_->log();
}

TEST_F(TransportTest, RequestsStillRunningAtTheDrainDeadlineAreCut) {
  start({"--drain-seconds", "0.5"});
  auto c = server_->client();
  ASSERT_EQ(http_post(*c, "/v1/collections", json{{"collection_id", "papers"}}).status, 201);
  RawConnection ingest(port());
  ASSERT_TRUE(ingest.send(chunked_post("/v1/collections/papers/documents", "X-Request-Id: cut-me\r\n") +
                          chunk("{\"id\": \"d1\", \"text\": \"one\"}\n")));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the handlers have started
  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait_exit(30), 3) << "the exit status says requests were cut: " << server_->log();
  EXPECT_NE(server_->log().find("request_cut request_id=cut-me"), std::string::npos) << server_->log();
  // The acknowledged state is intact: the store opens again.
  start();
}

TEST_F(TransportTest, SighupReloadsTheKeyFileWithoutDroppingConnections) {
  const auto key_file = dir_ / "keys.txt";
  std::ofstream(key_file) << "# test keys\nkey-one\n";
  start({"--api-key-file", key_file.string()});
  RawConnection kept(port());
  ASSERT_EQ(kept.send(get_request("/v1/collections", "Authorization: Bearer key-one\r\n")), true);
  EXPECT_EQ(kept.read_response(20).status, 200);
  EXPECT_EQ(raw_request(port(), get_request("/v1/collections", "Authorization: Bearer key-two\r\n")).status, 401);

  std::ofstream(key_file) << "key-two\n";
  server_->signal(SIGHUP);
  const double start_time = now_seconds();
  int status = 0;
  while (status != 200 && now_seconds() - start_time < 10) {
    status = raw_request(port(), get_request("/v1/collections", "Authorization: Bearer key-two\r\n")).status;
  }
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(kept.send(get_request("/v1/collections", "Authorization: Bearer key-two\r\n")));
  EXPECT_EQ(kept.read_response(20).status, 200) << "the connection open before the reload still serves";
  ASSERT_TRUE(kept.send(get_request("/v1/collections", "Authorization: Bearer key-one\r\n")));
  EXPECT_EQ(kept.read_response(20).status, 401);

  // A reload that fails keeps the keys in force and says why.
  std::ofstream(key_file) << "# emptied\n";
  server_->signal(SIGHUP);
  const double wait_start = now_seconds();
  while (server_->log().find("api_keys_reload_failed") == std::string::npos && now_seconds() - wait_start < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(server_->log().find("api_keys_reload_failed"), std::string::npos) << server_->log();
  EXPECT_EQ(raw_request(port(), get_request("/v1/collections", "Authorization: Bearer key-two\r\n")).status, 200);
}

TEST_F(TransportTest, KeysGuardMetricsButNotHealthOrReady) {
  start({"--api-key", "s3cret"});
  EXPECT_EQ(raw_request(port(), get_request("/metrics")).status, 401);
  EXPECT_EQ(raw_request(port(), get_request("/metrics", "Authorization: Bearer s3cret\r\n")).status, 200);
  EXPECT_EQ(raw_request(port(), get_request("/metrics", "X-API-Key: s3cret\r\n")).status, 200);
  EXPECT_EQ(raw_request(port(), get_request("/metrics", "Authorization: Bearer s3cre\r\n")).status, 401);
  EXPECT_EQ(raw_request(port(), get_request("/health")).status, 200);
  EXPECT_EQ(raw_request(port(), get_request("/ready")).status, 200);
  RawResponse denied = raw_request(port(), get_request("/v1/models"));
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["www-authenticate"], "Bearer");
  // WINNOW_API_KEY still works.
  start({}, {{"WINNOW_API_KEY", "from-env"}});
  EXPECT_EQ(raw_request(port(), get_request("/v1/collections")).status, 401);
  EXPECT_EQ(raw_request(port(), get_request("/v1/collections", "Authorization: Bearer from-env\r\n")).status, 200);
}

TEST_F(TransportTest, CorsForAllowedOriginsOnly) {
  start({"--cors-origin", "https://app.example"});
  const std::string preflight = "OPTIONS /v1/rerank HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Method: POST\r\n"
                                "Access-Control-Request-Headers: authorization, content-type\r\n";
  RawResponse allowed = raw_request(port(), preflight + "Origin: https://app.example\r\n\r\n");
  EXPECT_EQ(allowed.status, 204);
  EXPECT_EQ(allowed.headers["access-control-allow-origin"], "https://app.example");
  EXPECT_NE(allowed.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  EXPECT_NE(allowed.headers["access-control-allow-headers"].find("Authorization"), std::string::npos);
  RawResponse refused = raw_request(port(), preflight + "Origin: https://evil.example\r\n\r\n");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.headers.count("access-control-allow-origin"), 0u);
  RawResponse get = raw_request(port(), get_request("/health", "Origin: https://app.example\r\n"));
  EXPECT_EQ(get.headers["access-control-allow-origin"], "https://app.example");
  RawResponse other = raw_request(port(), get_request("/health", "Origin: https://evil.example\r\n"));
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

TEST_F(TransportTest, RequestIdsAreEchoedOrGenerated) {
  start();
  EXPECT_EQ(raw_request(port(), get_request("/health", "X-Request-Id: client-42\r\n")).headers["x-request-id"],
            "client-42");
  std::string generated = raw_request(port(), get_request("/health")).headers["x-request-id"];
  EXPECT_EQ(generated.size(), 32u) << generated;
  std::string replaced =
      raw_request(port(), get_request("/health", "X-Request-Id: has spaces \"and quotes\"\r\n")).headers["x-request-id"];
  EXPECT_EQ(replaced.size(), 32u) << "an id that is not sane is replaced: " << replaced;
  EXPECT_EQ(raw_request(port(), "GARBAGE\r\n\r\n").headers["x-request-id"].size(), 32u) << "on every answer";
}

TEST_F(TransportTest, OneJsonLogLinePerRequestWithoutSecretsOrText) {
  start({"--log-format", "json", "--api-key", "SECRET-KEY-123"});
  const std::string body = json{{"model", model_path("bert-ce-tiny")},
                                {"query", "zebra query text"},
                                {"documents", {"aardvark document text", "another passage"}}}
                               .dump();
  RawResponse r = raw_request(
      port(), json_post("/v1/rerank", body, "Authorization: Bearer SECRET-KEY-123\r\nX-Request-Id: log-test-1\r\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(raw_request(port(), get_request("/v1/collections/nope", "Authorization: Bearer SECRET-KEY-123\r\n"
                                                                    "X-Request-Id: log-test-2\r\n"))
                .status,
            404);
  json line, missing;
  const double start_time = now_seconds();
  while ((line.is_null() || missing.is_null()) && now_seconds() - start_time < 10) {
    std::istringstream log(server_->log());
    std::string text;
    while (std::getline(log, text)) {
      if (text.empty() || text.front() != '{') continue;
      json parsed = json::parse(text, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded()) << "every JSON line parses: " << text;
      if (parsed.value("request_id", "") == "log-test-1") line = parsed;
      if (parsed.value("request_id", "") == "log-test-2") missing = parsed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(line.is_null()) << server_->log();
  EXPECT_EQ(line["event"], "request");
  EXPECT_EQ(line["level"], "info");
  EXPECT_TRUE(line["ts"].is_string());
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["route"], "/v1/rerank");
  EXPECT_EQ(line["status"], 200);
  EXPECT_TRUE(line["ms"].is_number());
  EXPECT_EQ(line["model"], model_path("bert-ce-tiny"));
  EXPECT_EQ(line["documents"], 2);
  EXPECT_GT(line["tokens"].get<int>(), 0);
  EXPECT_EQ(line["precision"], "fp32");
  ASSERT_FALSE(missing.is_null());
  EXPECT_EQ(missing["route"], "/v1/collections/{id}");
  EXPECT_EQ(missing["status"], 404);
  EXPECT_EQ(missing["error"], "not_found");
  const std::string log = server_->log();
  EXPECT_NE(log.find("\"event\":\"started\""), std::string::npos) << log;
  EXPECT_EQ(log.find("SECRET-KEY-123"), std::string::npos) << "no API key in the log";
  EXPECT_EQ(log.find("zebra"), std::string::npos) << "no query text in the log";
  EXPECT_EQ(log.find("aardvark"), std::string::npos) << "no document text in the log";
}

TEST_F(TransportTest, LogBodiesPutsBodiesInTheLog) {
  start({"--log-bodies"});
  const std::string body = json{{"collection_id", "visible-body-marker"}}.dump();
  ASSERT_EQ(raw_request(port(), json_post("/v1/collections", body, "X-Request-Id: with-body\r\n")).status, 201);
  auto logged = [&] {
    std::istringstream log(server_->log());
    std::string line;
    while (std::getline(log, line)) {
      if (line.find("request_id=with-body") != std::string::npos && line.find(" body=") != std::string::npos &&
          line.find("visible-body-marker") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  const double start_time = now_seconds();
  while (!logged() && now_seconds() - start_time < 10) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(logged()) << server_->log();
}

}  // namespace
}  // namespace winnow::testing
