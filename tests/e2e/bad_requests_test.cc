// Bad input over HTTP: each case its status code and a message that names the
// field, stage or limit at fault.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

class BadRequestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(fresh_dir("bad_requests"));
    server_ = new ServerProcess(*dir_, fixture_models({"--max-body-mb", "1", "--max-ingest-mb", "2", "--offline"}));
    auto c = server_->client();
    http_post(*c, "/v1/collections", json{{"collection_id", "papers"}});
    http_post(*c, "/v1/collections/papers/documents", scifact_ndjson(30), "application/x-ndjson");
  }
  static void TearDownTestSuite() {
    delete server_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static void expect_error(const HttpResult& r, int status, const std::string& code, const std::string& fragment) {
    EXPECT_EQ(r.status, status) << r.raw;
    ASSERT_TRUE(r.body.contains("error")) << r.raw;
    EXPECT_EQ(r.body["error"]["code"], code) << r.raw;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(fragment), std::string::npos) << r.raw;
  }

  static std::filesystem::path* dir_;
  static ServerProcess* server_;
};

std::filesystem::path* BadRequestsTest::dir_ = nullptr;
ServerProcess* BadRequestsTest::server_ = nullptr;

TEST_F(BadRequestsTest, MalformedJsonNamesLineAndColumn) {
  auto c = server_->client();
  expect_error(http_post(*c, "/v1/collections", std::string("{\"collection_id\": \"x\",\n  oops}")), 400,
               "invalid_argument", "request body: invalid JSON at line 2, column 3");
  expect_error(http_post(*c, "/v1/collections", std::string("[1, 2]")), 400, "invalid_argument",
               "expected a JSON object");
  expect_error(http_post(*c, "/v1/collections", std::string("")), 400, "invalid_argument", "got nothing");
}

TEST_F(BadRequestsTest, WrongTypesNameTheField) {
  auto c = server_->client();
  expect_error(http_post(*c, "/v1/collections", json{{"collection_id", 7}}), 400, "invalid_argument",
               "\"collection_id\"");
  expect_error(http_post(*c, "/v1/collections", json{{"collection_id", "bad id!"}}), 400, "invalid_argument",
               "collection_id");
  expect_error(http_post(*c, "/v1/retrievers/execute",
                         json{{"collection_ids", {"papers"}},
                              {"stages", {stage("filter", "text_search", {{"top_k", "many"}})}},
                              {"inputs", {{"query", "x"}}}}),
               400, "invalid_argument", "stages[0] (text_search): parameter \"top_k\" must be an integer");
  expect_error(http_post(*c, "/v1/retrievers/execute",
                         json{{"collection_ids", {"papers"}},
                              {"stages", {stage("filter", "text_search", json::object()),
                                          stage("sort", "rerank", {{"model", model_path("bert-ce-tiny")}})}},
                              {"inputs", json::object()}}),
               400, "invalid_argument", "stages[0] (text_search) parameters.query: missing input \"query\"");
  expect_error(http_post(*c, "/v1/retrievers/execute",
                         json{{"collection_ids", {"papers"}},
                              {"stages", {stage("sort", "text_search", json::object())}},
                              {"inputs", {{"query", "x"}}}}),
               400, "invalid_argument", "stage_type \"sort\" does not match text_search");
  expect_error(http_post(*c, "/v1/rerank", json{{"model", model_path("bert-ce-tiny")}, {"query", 3}, {"documents", {"a"}}}),
               400, "invalid_argument", "query: required, a string");
  expect_error(http_post(*c, "/v1/rerank", json{{"model", model_path("bert-ce-tiny")}, {"query", "q"}, {"documents", {"a", 5}}}),
               400, "invalid_argument", "documents[1]: must be a string or an object");
}

TEST_F(BadRequestsTest, UnknownThingsAre404NamingThem) {
  auto c = server_->client();
  expect_error(http_get(*c, "/v1/collections/nope"), 404, "not_found", "nope");
  expect_error(http_post(*c, "/v1/collections/nope/documents", std::string("{\"text\": \"a\"}\n"), "application/x-ndjson"),
               404, "not_found", "nope");
  expect_error(http_post(*c, "/v1/retrievers/execute",
                         json{{"collection_ids", {"nope"}}, {"stages", {stage("filter", "text_search", json::object())}},
                              {"inputs", {{"query", "x"}}}}),
               404, "not_found", "nope");
  expect_error(http_post(*c, "/v1/retrievers/ghost/execute", json{{"inputs", json::object()}}), 404, "not_found", "ghost");
  expect_error(http_get(*c, "/v1/collections/papers/documents/missing-doc"), 404, "not_found", "missing-doc");
  expect_error(http_post(*c, "/v1/rerank", json{{"model", "no-such-model"}, {"query", "q"}, {"documents", {"a"}}}), 404,
               "not_found", "no-such-model");
  expect_error(http_get(*c, "/v2/nothing-here"), 404, "not_found", "no such route");
  expect_error(http_post(*c, "/v1/collections", json{{"collection_id", "papers"}}), 409, "already_exists", "papers");
}

// Sends only the headers of a request that declares `length` bytes of body,
// as a client waiting for "100 Continue" would, and returns the raw response.
std::string headers_only_request(int port, const std::string& path, std::size_t length) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "";
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                        "Content-Length: " + std::to_string(length) + "\r\n\r\n";
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.find("\r\n\r\n") != std::string::npos && response.back() == '}') break;
  }
  close(fd);
  return response;
}

TEST_F(BadRequestsTest, OversizedBodiesAre413BeforeTheyAreRead) {
  std::string json_route = headers_only_request(server_->port(), "/v1/collections", 1100000);
  EXPECT_EQ(json_route.rfind("HTTP/1.1 413", 0), 0u) << json_route;
  EXPECT_NE(json_route.find("\"code\":\"out_of_range\""), std::string::npos) << json_route;
  EXPECT_NE(json_route.find("request body of 1100000 bytes is over the limit of 1048576"), std::string::npos)
      << json_route;
  std::string ingest = headers_only_request(server_->port(), "/v1/collections/papers/documents", 3u << 20);
  EXPECT_EQ(ingest.rfind("HTTP/1.1 413", 0), 0u) << ingest;
  EXPECT_NE(ingest.find("is over the limit of 2097152: split it into several requests"), std::string::npos) << ingest;
  // An ingest body under the ingest limit but over the JSON limit is fine.
  auto c = server_->client();
  std::string ndjson;
  for (int i = 0; ndjson.size() < 1500000; ++i) {
    ndjson += "{\"id\": \"big" + std::to_string(i) + "\", \"text\": \"" + std::string(1000, 'w') + "\"}\n";
  }
  auto r = http_post(*c, "/v1/collections/papers/documents", ndjson, "application/x-ndjson");
  EXPECT_EQ(r.status, 200) << r.raw;
}

TEST_F(BadRequestsTest, IngestReportsBadLinesAndStoresTheGoodOnes) {
  auto c = server_->client();
  std::string ndjson = "{\"id\": \"g1\", \"text\": \"good one\"}\nnot json\n{\"id\": \"g2\", \"text\": 5}\n"
                       "[1]\n{\"id\": \"g3\", \"text\": \"good three\"}\n";
  auto r = http_post(*c, "/v1/collections/papers/documents", ndjson, "application/x-ndjson");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["documents_stored"], 2);
  EXPECT_EQ(r.body["bad_lines"], 3);
  ASSERT_EQ(r.body["errors"].size(), 3u);
  EXPECT_EQ(r.body["errors"][0]["line"], 2);
  EXPECT_EQ(r.body["errors"][1]["line"], 3);
  EXPECT_NE(r.body["errors"][1]["error"].get<std::string>().find("text"), std::string::npos) << r.raw;
  EXPECT_EQ(r.body["errors"][2]["line"], 4);
  EXPECT_EQ(http_get(*c, "/v1/collections/papers/documents/g3").status, 200);
}

TEST_F(BadRequestsTest, TooManyRerankCandidatesSaysToLowerTopK) {
  auto c = server_->client();
  expect_error(http_post(*c, "/v1/retrievers/execute",
                         json{{"collection_ids", {"papers"}},
                              {"stages", {stage("filter", "text_search", {{"top_k", 30}}),
                                          stage("sort", "rerank", {{"model", model_path("bert-ce-tiny")}, {"max_candidates", 5}})}},
                              {"inputs", {{"query", "cells"}}}}),
               400, "invalid_argument", "lower the top_k of the search stage");
}

TEST(AuthTest, ApiKeyIsRequiredWhenConfigured) {
  auto dir = fresh_dir("auth");
  ServerProcess server(dir, {"--api-key", "s3cret"});
  auto c = server.client();
  auto denied = http_get(*c, "/v1/collections");
  EXPECT_EQ(denied.status, 401) << denied.raw;
  EXPECT_EQ(denied.body["error"]["code"], "unauthenticated");
  EXPECT_EQ(http_get(*c, "/health").status, 200) << "health stays public for load balancers";
  c->set_bearer_token_auth("s3cret");
  EXPECT_EQ(http_get(*c, "/v1/collections").status, 200);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
