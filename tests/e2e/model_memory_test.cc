// Issue 10: a server keeps its loaded models within --max-loaded-models and
// --memory-budget. Idle models are unloaded least recently used first and
// reload on demand with the same scores; a model in use is never unloaded
// under its request; a load that cannot fit is a 503 naming the budget, and
// the server keeps answering.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "e2e/e2e_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json rerank_request(const std::string& model) {
  return {{"model", model},
          {"query", "what is bm25"},
          {"documents", {"BM25 ranks by term frequency", "bread needs flour", "cross-encoders read both texts"}}};
}

const json* listed(const json& models, const std::string& name) {
  for (const json& m : models["models"]) {
    if (m["name"] == name) return &m;
  }
  return nullptr;
}

TEST(ModelMemoryTest, TheIdleModelIsUnloadedAndReloadedOnDemandWithTheSameScores) {
  auto dir = fresh_dir("lru");
  ServerProcess server(dir, fixture_models({"--max-loaded-models", "1"}));
  auto c = server.client();
  const std::string a = model_path("bert-ce-tiny");
  const std::string b = model_path("xlmr-ce-tiny");
  auto first = http_post(*c, "/v1/rerank", rerank_request(a));
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(http_post(*c, "/v1/rerank", rerank_request(b)).status, 200);

  auto models = http_get(*c, "/v1/models");
  ASSERT_NE(listed(models.body, a), nullptr) << models.raw;
  EXPECT_FALSE((*listed(models.body, a))["loaded"].get<bool>());
  EXPECT_EQ((*listed(models.body, a))["unloads"], 1);
  EXPECT_EQ((*listed(models.body, a))["resident_bytes"], 0);
  EXPECT_TRUE((*listed(models.body, b))["loaded"].get<bool>());
  EXPECT_EQ(models.body["memory"]["loaded_models"], 1);
  EXPECT_EQ(models.body["memory"]["max_loaded_models"], 1);
  EXPECT_EQ(models.body["memory"]["unloads"], 1);
  auto metrics = http_get(*c, "/metrics");
  EXPECT_NE(metrics.raw.find("winnow_model_unloads_total 1\n"), std::string::npos) << metrics.raw;

  auto again = http_post(*c, "/v1/rerank", rerank_request(a));
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["results"], first.body["results"]) << "reloaded, the same scores";
  EXPECT_EQ(server.stop(), 0);
  EXPECT_NE(server.log().find("unloaded model \"" + a + "\""), std::string::npos) << server.log();
  fs::remove_all(dir);
}

TEST(ModelMemoryTest, AModelLargerThanTheBudgetIs503AndTheServerKeepsAnswering) {
  auto dir = fresh_dir("budget");
  // bert-ce-tiny's weights are about 8 MiB (its fp32 word embeddings), xlmr-ce-tiny's under 3 MiB.
  ServerProcess server(dir, fixture_models({"--memory-budget", "5M"}));
  auto c = server.client();
  for (int i = 0; i < 2; ++i) {
    auto big = http_post(*c, "/v1/rerank", rerank_request(model_path("bert-ce-tiny")));
    EXPECT_EQ(big.status, 503) << big.raw;
    const std::string message = big.body["error"]["message"].get<std::string>();
    EXPECT_NE(message.find("5.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("--memory-budget"), std::string::npos) << message;
    EXPECT_NE(message.find("estimated"), std::string::npos) << message;
    EXPECT_NE(message.find("loaded: "), std::string::npos) << message;
    auto small = http_post(*c, "/v1/rerank", rerank_request(model_path("xlmr-ce-tiny")));
    EXPECT_EQ(small.status, 200) << small.raw;
  }
  EXPECT_EQ(http_get(*c, "/health").status, 200);
  auto models = http_get(*c, "/v1/models");
  EXPECT_EQ(models.body["memory"]["budget_bytes"], 5 << 20);
  EXPECT_LE(models.body["memory"]["used_bytes"].get<std::uint64_t>(), 5u << 20);
  EXPECT_EQ(models.body["memory"]["refused_loads"], 2);
  fs::remove_all(dir);
}

TEST(ModelMemoryTest, AModelInUseIsNotUnloadedUnderAConcurrentRequest) {
  auto dir = fresh_dir("in_use");
  // A queue bound above the long request's tokens: the other model's request
  // must reach the registry, not the server-wide reservation (admission.h),
  // which all models share.
  ServerProcess server(dir, fixture_models({"--max-loaded-models", "1", "--max-queued-tokens", "100000000"}));
  const std::string a = model_path("bert-ce-tiny");
  const std::string b = model_path("xlmr-ce-tiny");
  // A long request on `a`; while the server says it is in use, ask for `b`.
  bool saw_in_use = false;
  for (std::size_t documents = 2000; documents <= 10000 && !saw_in_use; documents *= 2) {
    json long_request = rerank_request(a);
    long_request["documents"] = json::array();
    for (std::size_t i = 0; i < documents; ++i) {
      long_request["documents"].push_back("document " + std::to_string(i) +
                                          " about ranking passages with term frequencies and cross-encoders "
                                          "that read the query and the passage together in one pass");
    }
    std::atomic<int> long_status{0};
    std::thread request([&] {
      auto lc = server.client(300);
      long_status = http_post(*lc, "/v1/rerank", long_request).status;
    });
    auto c = server.client();
    while (long_status == 0) {
      auto models = http_get(*c, "/v1/models");
      const json* m = listed(models.body, a);
      if (m != nullptr && (*m)["in_use"].get<bool>()) {
        saw_in_use = true;
        auto other = http_post(*c, "/v1/rerank", rerank_request(b));
        EXPECT_EQ(other.status, 503) << other.raw;
        EXPECT_NE(other.raw.find("in use"), std::string::npos) << other.raw;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    request.join();
    EXPECT_EQ(long_status, 200);
  }
  ASSERT_TRUE(saw_in_use) << "the long request never showed as in use";
  auto c = server.client();
  EXPECT_EQ(http_post(*c, "/v1/rerank", rerank_request(b)).status, 200) << "once idle, it makes room";
  fs::remove_all(dir);
}

TEST(ModelMemoryTest, StartUpFailsClearlyWhenTheLoadAtStartModelsDoNotFit) {
  auto dir = fresh_dir("startup_budget");
  std::ofstream(dir / "models.json")
      << json{{"models",
               {{{"name", "first"}, {"source", model_path("bert-ce-tiny")}, {"load_at_start", true}},
                {{"name", "second"}, {"source", model_path("xlmr-ce-tiny")}, {"load_at_start", true}}}}}
             .dump();
  ProcessResult r = run_process(
      {winnow_binary(), "serve", "--data", dir.string(), "--port", "0", "--offline", "--memory-budget", "9M"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("load_at_start model \"second\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("9.0 MiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"first\""), std::string::npos) << r.err;

  ProcessResult bad = run_process({winnow_binary(), "serve", "--data", dir.string(), "--memory-budget", "lots"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--memory-budget"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
