// kill -9 in the middle of a large ingest: every document of an acknowledged
// request is there after a restart, and the indexes agree with the documents.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "e2e/e2e_util.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

// Document i: a unique word "tokNNNN" and a pseudo-random 32-d vector (random
// vectors of that size are far from each other, so each is its own nearest).
json document(int i) {
  std::vector<float> v(32);
  std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
  for (float& f : v) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
    f = static_cast<float>(static_cast<double>(x % 20001) / 10000.0 - 1.0);
  }
  return {{"id", "doc" + std::to_string(i)},
          {"text", "shared words tok" + std::to_string(i) + " and more"},
          {"vectors", {{"vec", v}}}};
}

std::string batch(int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += document(i).dump() + "\n";
  return out;
}

TEST(DurabilityTest, AcknowledgedDocumentsSurviveKillNine) {
  auto dir = fresh_dir("kill9");
  auto server = std::make_unique<ServerProcess>(dir);
  auto c = server->client();
  ASSERT_EQ(http_post(*c, "/v1/collections",
                      json{{"collection_id", "docs"}, {"vector_indexes", {{{"name", "vec"}, {"dimensions", 32}}}}})
                .status,
            201);
  // Five acknowledged requests...
  int acknowledged = 0;
  for (int b = 0; b < 5; ++b) {
    auto r = http_post(*c, "/v1/collections/docs/documents", batch(b * 400, (b + 1) * 400), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(r.body["documents_stored"], 400);
    acknowledged = (b + 1) * 400;
  }
  // ... then a large one, cut by SIGKILL once the server has committed part
  // of it (it commits every few hundred lines). Polled, not timed: on a
  // loaded machine the request may take any time to get going.
  std::atomic<bool> answered{false};
  std::thread big([&] {
    auto bc = server->client();
    http_post(*bc, "/v1/collections/docs/documents", batch(acknowledged, acknowledged + 7000), "application/x-ndjson");
    answered = true;
  });
  int committed = acknowledged;  // what the server reported stored before the kill
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (committed == acknowledged && !answered && std::chrono::steady_clock::now() < deadline) {
    auto progress = http_get(*c, "/v1/collections/docs");
    if (progress.status == 200) committed = progress.body["document_count"].get<int>();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a commit takes far longer; spare the server
  }
  server->kill9();
  big.join();
  ASSERT_GT(committed, acknowledged) << "the large request was never seen in progress";

  server = std::make_unique<ServerProcess>(dir);
  c = server->client();
  auto info = http_get(*c, "/v1/collections/docs");
  ASSERT_EQ(info.status, 200);
  const int stored = info.body["document_count"].get<int>();
  EXPECT_GE(stored, acknowledged);
  EXPECT_GE(stored, committed) << "documents committed before the kill were lost";
  EXPECT_LT(stored, acknowledged + 7000) << "the kill should have cut the large request";
  ASSERT_LT(stored, 10000) << "the whole-index checks below read at most top_k 10000";

  // Every acknowledged document is there and both indexes find it.
  for (int i = 0; i < acknowledged; i += 7) {
    const std::string id = "doc" + std::to_string(i);
    ASSERT_EQ(http_get(*c, "/v1/collections/docs/documents/" + id).status, 200) << id;
    auto bm25 = http_post(*c, "/v1/retrievers/execute",
                          json{{"collection_ids", {"docs"}},
                               {"stages", {stage("filter", "text_search", {{"query", "tok" + std::to_string(i)}, {"top_k", 1}})}}});
    ASSERT_EQ(bm25.status, 200) << bm25.raw;
    ASSERT_EQ(bm25.body["documents"].size(), 1u) << id;
    EXPECT_EQ(bm25.body["documents"][0]["document_id"], id);
    auto dense = http_post(
        *c, "/v1/retrievers/execute",
        json{{"collection_ids", {"docs"}},
             {"stages", {stage("filter", "semantic_search",
                               {{"query_vector", document(i)["vectors"]["vec"]}, {"vector_index", "vec"}, {"top_k", 1}})}}});
    ASSERT_EQ(dense.status, 200) << dense.raw;
    EXPECT_EQ(dense.body["documents"][0]["document_id"], id);
  }
  // The indexes hold exactly the stored documents: no more, no fewer.
  auto all_text = http_post(*c, "/v1/retrievers/execute",
                            json{{"collection_ids", {"docs"}},
                                 {"stages", {stage("filter", "text_search", {{"query", "shared"}, {"top_k", 10000}})}}});
  EXPECT_EQ(all_text.body["documents"].size(), static_cast<std::size_t>(stored));
  auto all_dense = http_post(
      *c, "/v1/retrievers/execute",
      json{{"collection_ids", {"docs"}},
           {"stages", {stage("filter", "semantic_search",
                             {{"query_vector", document(0)["vectors"]["vec"]}, {"vector_index", "vec"}, {"top_k", 10000}})}}});
  EXPECT_EQ(all_dense.body["documents"].size(), static_cast<std::size_t>(stored));
  server.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
