// Issue 10: a request chooses only among the models the operator allowed.
// Against the real `winnow serve`: paths outside --model-dir are refused
// (403) without saying whether they exist, wherever a request names a model;
// every spelling of one directory is one loaded model; unknown repo ids answer
// at once; a broken model under a root is the client's error.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json rerank_request(const std::string& model) {
  return {{"model", model}, {"query", "what is bm25"}, {"documents", {"BM25 ranks by term frequency", "bread"}}};
}

// A port nothing listens on (bound, then closed).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

class ModelPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = new fs::path(fresh_dir("model_policy"));
    const fs::path root = *base_ / "models";
    auto copy = [&](const std::string& from, const std::string& to) {
      fs::create_directories(root / to);
      fs::copy(test_data() / "models" / from, root / to, fs::copy_options::recursive);
    };
    copy("bert-ce-tiny", "ce");
    fs::create_directory_symlink(root / "ce", root / "alias");
    fs::create_directory_symlink(test_data() / "models" / "xlmr-ce-tiny", root / "escape");
    copy("bert-ce-tiny", "bad-header");
    std::string crafted(8, '\0');
    crafted[5] = 0x7f;
    std::ofstream(root / "bad-header" / "model.safetensors", std::ios::trunc) << crafted << "{}";
    copy("bert-ce-tiny", "bad-config");
    std::ofstream(root / "bad-config" / "config.json", std::ios::trunc) << "{\"model_type\": ";
    server_ = new ServerProcess(*base_ / "data", {"--model-dir", root.string(), "--offline"});
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove_all(*base_);
    delete base_;
  }
  static fs::path root() { return *base_ / "models"; }

  static void expect_refused(const HttpResult& r, const std::string& spec) {
    EXPECT_EQ(r.status, 403) << spec << ": " << r.raw;
    EXPECT_EQ(r.body["error"]["code"], "permission_denied") << r.raw;
    const std::string message = r.body["error"]["message"].get<std::string>();
    EXPECT_NE(message.find("--model-dir"), std::string::npos) << message;
    for (const char* leak : {"no such", "exist", "tokenizer.json", "config.json", "not a directory"}) {
      EXPECT_EQ(message.find(leak), std::string::npos) << "says something of the path: " << message;
    }
  }

  static fs::path* base_;
  static ServerProcess* server_;
};

fs::path* ModelPolicyTest::base_ = nullptr;
ServerProcess* ModelPolicyTest::server_ = nullptr;

TEST_F(ModelPolicyTest, PathsOutsideTheModelDirAreRefusedWithoutSayingWhetherTheyExist) {
  auto c = server_->client();
  std::string first_message;
  for (const std::string& spec : {std::string("/etc"), std::string("/no/such/place"), model_path("bert-ce-tiny"),
                                  (root() / ".." / ".." / "etc").string(), (root() / "ce" / ".." / "..").string(),
                                  (root() / "escape").string(), (root() / "escape" / "").string()}) {
    auto r = http_post(*c, "/v1/rerank", rerank_request(spec));
    expect_refused(r, spec);
    auto v2 = http_post(*c, "/v2/rerank", rerank_request(spec));
    expect_refused(v2, spec);
    // The same words for /etc and for a path that does not exist.
    std::string message = r.body["error"]["message"].get<std::string>();
    message.replace(message.find(spec), spec.size(), "PATH");
    if (first_message.empty()) first_message = message;
    EXPECT_EQ(message, first_message);
  }
  auto models = http_get(*c, "/v1/models");
  for (const json& m : models.body["models"]) EXPECT_TRUE(m["builtin"].get<bool>()) << m.dump();
}

TEST_F(ModelPolicyTest, AnIndexModelOutsideTheModelDirIsRefusedAtCollectionCreation) {
  auto c = server_->client();
  for (const std::string& model : {std::string("/etc"), (root() / "escape").string()}) {
    auto r = http_post(*c, "/v1/collections",
                       json{{"collection_id", "leaky"},
                            {"vector_indexes", {{{"name", "v"}, {"model", model}, {"field", "text"}}}}});
    expect_refused(r, model);
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find("vector_indexes[0].model"), std::string::npos);
    EXPECT_EQ(http_get(*c, "/v1/collections/leaky").status, 404) << "nothing was created";
  }
  auto allowed = http_post(*c, "/v1/collections",
                           json{{"collection_id", "fine"},
                                {"vector_indexes", {{{"name", "v"}, {"model", (root() / "ce").string()}, {"field", "text"}}}}});
  EXPECT_EQ(allowed.status, 201) << allowed.raw;
  http_delete(*c, "/v1/collections/fine");
}

TEST_F(ModelPolicyTest, ATemplatedRerankModelIsCheckedAsTheRequestFillsIt) {
  auto c = server_->client();
  http_post(*c, "/v1/collections", json{{"collection_id", "papers"}});
  http_post(*c, "/v1/collections/papers/documents", scifact_ndjson(20), "application/x-ndjson");
  auto run = [&](const std::string& model) {
    return http_post(*c, "/v1/retrievers/execute",
                     json{{"collection_ids", {"papers"}},
                          {"stages", {stage("filter", "text_search", {{"top_k", 10}}),
                                      stage("sort", "rerank", {{"model", "{{INPUT.m}}"}, {"top_n", 3}})}},
                          {"inputs", {{"query", "cells"}, {"m", model}}}});
  };
  expect_refused(run("/etc"), "/etc");
  expect_refused(run((root() / "ce" / ".." / ".." / "..").string()), "..");
  auto allowed = run((root() / "ce").string());
  EXPECT_EQ(allowed.status, 200) << allowed.raw;
  http_delete(*c, "/v1/collections/papers");
}

TEST_F(ModelPolicyTest, EverySpellingOfAModelDirectoryIsOneLoadAndOneListing) {
  auto c = server_->client();
  json first;
  for (const std::string& spec :
       {(root() / "ce").string(), (root() / "ce" / "").string(), (root() / "." / "ce" / "." / "").string(),
        (root() / "alias").string(), fs::canonical(root() / "ce").string(), std::string("ce")}) {
    auto r = http_post(*c, "/v1/rerank", rerank_request(spec));
    ASSERT_EQ(r.status, 200) << spec << ": " << r.raw;
    EXPECT_EQ(r.body["meta"]["model"], (root() / "ce").string()) << "one name, the root's spelling";
    if (first.is_null()) first = r.body["results"];
    EXPECT_EQ(r.body["results"], first) << spec;
  }
  auto models = http_get(*c, "/v1/models");
  int listed = 0;
  for (const json& m : models.body["models"]) {
    if (m["builtin"].get<bool>()) continue;
    ++listed;
    EXPECT_EQ(m["name"], (root() / "ce").string());
    EXPECT_EQ(m["loads"], 1);
    EXPECT_TRUE(m["loaded"].get<bool>());
    EXPECT_GT(m["resident_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_TRUE(m["last_used_ms"].is_number());
  }
  EXPECT_EQ(listed, 1) << models.raw;
  EXPECT_EQ(models.body["memory"]["loads"], 1);
}

TEST_F(ModelPolicyTest, ABrokenModelUnderTheModelDirIsTheClientsErrorNamingTheFile) {
  auto c = server_->client();
  auto header = http_post(*c, "/v1/rerank", rerank_request((root() / "bad-header").string()));
  EXPECT_EQ(header.status, 400) << header.raw;
  EXPECT_NE(header.raw.find("model.safetensors: header length"), std::string::npos) << header.raw;
  auto config = http_post(*c, "/v1/rerank", rerank_request((root() / "bad-config").string()));
  EXPECT_EQ(config.status, 400) << config.raw;
  EXPECT_NE(config.raw.find(": config.json"), std::string::npos) << config.raw;
  EXPECT_EQ(config.raw.find(fs::canonical(root()).string() + "/bad-config/config.json"), std::string::npos)
      << config.raw;
  EXPECT_EQ(http_get(*c, "/health").status, 200);
}

TEST_F(ModelPolicyTest, AnUnknownRepoIdIsNotFoundAtOnceWithoutAllowDownloads) {
  auto c = server_->client();
  const auto start = std::chrono::steady_clock::now();
  auto r = http_post(*c, "/v1/rerank", rerank_request("someorg/no-such-reranker"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_NE(r.raw.find("--allow-downloads"), std::string::npos) << r.raw;
}

TEST(ModelDownloadsTest, WithAllowDownloadsAnUnreachableHubIsOne503) {
  auto dir = fresh_dir("allow_downloads");
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  ::setenv("HF_ENDPOINT", endpoint.c_str(), 1);
  ::setenv("HF_HUB_CACHE", (dir / "cache").c_str(), 1);
  ::unsetenv("HF_HUB_OFFLINE");
  ServerProcess server(dir / "data", {"--allow-downloads"});
  ::unsetenv("HF_ENDPOINT");
  ::unsetenv("HF_HUB_CACHE");
  auto c = server.client();
  const auto start = std::chrono::steady_clock::now();
  auto r = http_post(*c, "/v1/rerank", rerank_request("someorg/no-such-reranker"));
  // One answer after the Hub client's own retries (3, backing off from 0.5 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_NE(r.raw.find("someorg/no-such-reranker"), std::string::npos) << r.raw;
  // Paths are still refused: --allow-downloads is about the Hub only.
  EXPECT_EQ(http_post(*c, "/v1/rerank", rerank_request("/etc")).status, 403);
  fs::remove_all(dir);
}

TEST(ModelDownloadsTest, WithoutModelDirNoPathIsServed) {
  auto dir = fresh_dir("no_model_dir");
  ServerProcess server(dir, {"--offline"});
  auto c = server.client();
  auto r = http_post(*c, "/v1/rerank", rerank_request(model_path("bert-ce-tiny")));
  EXPECT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(server.log().find("--model-dir"), std::string::npos) << "the start-up line says how to serve directories";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
