// kill -9 at random points during ingest, retriever creation and collection
// deletion, a few kills of each (bench/kill_loop.py runs the long loop): after
// each restart every acknowledged write is there, a cut write is all there or
// not at all (ingest: whole commit batches), and SQLite, the BM25 index and
// the vector index hold the same documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "e2e/store_checks.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

constexpr int kKills = 3;

// A random seed, printed so a failure can be replayed (WINNOW_TEST_SEED=N).
unsigned test_seed() {
  if (const char* fixed = std::getenv("WINNOW_TEST_SEED")) return static_cast<unsigned>(std::stoul(fixed));
  return std::random_device{}();
}

void sleep_ms(std::mt19937& rng, int low, int high) {
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(low, high)(rng)));
}

std::string doc_id(std::int64_t i) { return "doc" + std::to_string(i); }

TEST(KillNineTest, IngestKeepsEveryAcknowledgedRequestAndWholeBatchesOfTheCutOne) {
  const unsigned seed = test_seed();
  SCOPED_TRACE("WINNOW_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto dir = fresh_dir("kill9_ingest");
  auto server = std::make_unique<ServerProcess>(dir);
  {
    auto c = server->client();
    ASSERT_EQ(http_post(*c, "/v1/collections", checked_collection("docs")).status, 201);
  }
  // 1,100 lines: the server commits them in batches of 500, 500 and 100.
  constexpr std::int64_t kRequest = 1100;
  const std::set<std::int64_t> kBatchEnds = {0, 500, 1000, 1100};
  std::vector<std::pair<std::int64_t, std::int64_t>> acknowledged;  // [from, to)
  std::vector<std::int64_t> cut;                                    // first ids of requests the kill cut
  std::int64_t next = 0;
  // One request acknowledged before any kill, and timed: the kills then land
  // at random points within about two requests, however slow a request is in
  // this build (a sanitizer's on a loaded machine takes seconds).
  int request_ms = 0;
  {
    auto c = server->client();
    const auto started = std::chrono::steady_clock::now();
    auto r = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(0, kRequest), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(r.body["documents_stored"], kRequest) << r.raw;
    request_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    acknowledged.emplace_back(0, kRequest);
    next = kRequest;
  }

  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1));
    std::int64_t in_flight = -1;
    std::thread writer([&] {
      auto c = server->client();
      // Stay below what a search can count (kMaxCheckedDocuments).
      while (next + kRequest < kMaxCheckedDocuments - (kKills - kill) * kRequest) {
        in_flight = next;
        auto r = http_post(*c, "/v1/collections/docs/documents", checked_ndjson(next, next + kRequest),
                           "application/x-ndjson");
        if (r.status == 0) return;  // cut by the kill
        ASSERT_EQ(r.status, 200) << r.raw;
        ASSERT_EQ(r.body["documents_stored"], kRequest) << r.raw;
        acknowledged.emplace_back(next, next + kRequest);
        next += kRequest;
        in_flight = -1;
      }
    });
    sleep_ms(rng, 50, std::max(900, 2 * request_ms));
    server->kill9();
    writer.join();
    if (in_flight >= 0) {
      cut.push_back(in_flight);
      next = in_flight + kRequest;  // the cut request's ids are not reused
    }

    server = std::make_unique<ServerProcess>(dir);
    auto c = server->client();
    const std::set<std::string> ids = all_document_ids(*c, "docs");
    std::size_t expected = 0;
    for (const auto& [from, to] : acknowledged) {
      for (std::int64_t i = from; i < to; ++i) ASSERT_TRUE(ids.count(doc_id(i))) << doc_id(i) << " was acknowledged";
      expected += static_cast<std::size_t>(to - from);
    }
    for (std::int64_t from : cut) {
      std::int64_t kept = 0;
      while (kept < kRequest && ids.count(doc_id(from + kept))) ++kept;
      EXPECT_TRUE(kBatchEnds.count(kept)) << "the cut request from " << doc_id(from) << " kept " << kept
                                          << " documents: not a whole number of commit batches";
      for (std::int64_t i = from + kept; i < from + kRequest; ++i) {
        ASSERT_FALSE(ids.count(doc_id(i))) << doc_id(i) << " is stored though the batch before it is not";
      }
      expected += static_cast<std::size_t>(kept);
    }
    EXPECT_EQ(ids.size(), expected) << "documents that were never sent";
    EXPECT_TRUE(indexes_agree(*c, "docs"));
    EXPECT_EQ(sqlite_integrity(dir), "ok");
    auto sample = http_get(*c, "/v1/collections/docs/documents/doc0");
    if (!acknowledged.empty()) {
      ASSERT_EQ(sample.status, 200) << sample.raw;
      EXPECT_EQ(sample.body["fields"]["text"], checked_document(0)["text"]);
    }
  }
  server.reset();
  std::filesystem::remove_all(dir);
}

json retriever_body(int n) {
  return {{"retriever_id", "r" + std::to_string(n)},
          {"collection_ids", {"docs"}},
          {"input_schema", {{"query", {{"type", "string"}, {"required", true}}}}},
          {"stages",
           {stage("filter", "text_search", {{"query", "{{INPUT.query}}"}, {"top_k", 20 + n}}),
            stage("reduce", "limit", {{"limit", 5}})}}};
}

TEST(KillNineTest, RetrieverCreationKeepsEveryAcknowledgedRetriever) {
  const unsigned seed = test_seed();
  SCOPED_TRACE("WINNOW_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto dir = fresh_dir("kill9_retrievers");
  auto server = std::make_unique<ServerProcess>(dir);
  {
    auto c = server->client();
    ASSERT_EQ(http_post(*c, "/v1/collections", checked_collection("docs")).status, 201);
    ASSERT_EQ(http_post(*c, "/v1/collections/docs/documents", checked_ndjson(0, 50), "application/x-ndjson").status,
              200);
  }
  std::set<int> acknowledged, cut;
  int next = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1));
    int in_flight = -1;
    std::thread writer([&] {
      auto c = server->client();
      while (true) {
        in_flight = next;
        auto r = http_post(*c, "/v1/retrievers", retriever_body(next));
        if (r.status == 0) return;
        ASSERT_EQ(r.status, 201) << r.raw;
        acknowledged.insert(next++);
        in_flight = -1;
      }
    });
    sleep_ms(rng, 20, 400);
    server->kill9();
    writer.join();
    if (in_flight >= 0) {
      cut.insert(in_flight);
      next = in_flight + 1;
    }

    server = std::make_unique<ServerProcess>(dir);
    auto c = server->client();
    auto list = http_get(*c, "/v1/retrievers");
    ASSERT_EQ(list.status, 200) << list.raw;
    std::set<int> present;
    for (const auto& r : list.body["retrievers"]) present.insert(std::stoi(r["retriever_id"].get<std::string>().substr(1)));
    for (int n : acknowledged) EXPECT_TRUE(present.count(n)) << "r" << n << " was acknowledged (201)";
    for (int n : present) {
      EXPECT_TRUE(acknowledged.count(n) || cut.count(n)) << "r" << n << " was never sent";
      auto got = http_get(*c, "/v1/retrievers/r" + std::to_string(n));
      ASSERT_EQ(got.status, 200) << got.raw;
      EXPECT_EQ(got.body["stages"], retriever_body(n)["stages"]) << "r" << n;
    }
    if (!present.empty()) {
      auto run = http_post(*c, "/v1/retrievers/r" + std::to_string(*present.rbegin()) + "/execute",
                           json{{"inputs", {{"query", "shared tok7"}}}});
      ASSERT_EQ(run.status, 200) << run.raw;
      ASSERT_FALSE(run.body["documents"].empty());
      EXPECT_EQ(run.body["documents"][0]["document_id"], "doc7");
    }
    EXPECT_EQ(sqlite_integrity(dir), "ok");
  }
  EXPECT_FALSE(acknowledged.empty()) << "no retriever was created before any kill";
  server.reset();
  std::filesystem::remove_all(dir);
}

TEST(KillNineTest, CollectionDeletionIsAllOrNothing) {
  const unsigned seed = test_seed();
  SCOPED_TRACE("WINNOW_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto dir = fresh_dir("kill9_delete");
  auto server = std::make_unique<ServerProcess>(dir);
  constexpr int kCollections = 24;
  constexpr long kDocuments = 200;
  auto name = [](int i) { return "c" + std::to_string(i); };
  {
    auto c = server->client();
    for (int i = 0; i < kCollections; ++i) {
      ASSERT_EQ(http_post(*c, "/v1/collections", checked_collection(name(i))).status, 201);
      auto r = http_post(*c, "/v1/collections/" + name(i) + "/documents", checked_ndjson(0, kDocuments),
                         "application/x-ndjson");
      ASSERT_EQ(r.status, 200) << r.raw;
    }
  }
  std::set<int> deleted;  // acknowledged (200), or found gone after a kill cut its request
  int next = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1));
    int in_flight = -1;
    std::thread deleter([&] {
      auto c = server->client();
      while (next < kCollections) {
        in_flight = next;
        auto r = http_delete(*c, "/v1/collections/" + name(next));
        if (r.status == 0) return;
        ASSERT_EQ(r.status, 200) << r.raw;
        deleted.insert(next++);
        in_flight = -1;
      }
    });
    sleep_ms(rng, 5, 150);
    server->kill9();
    deleter.join();

    server = std::make_unique<ServerProcess>(dir);
    auto c = server->client();
    if (in_flight >= 0) {
      // Cut: gone entirely or there entirely (checked below with the others).
      if (http_get(*c, "/v1/collections/" + name(in_flight)).status == 404) deleted.insert(in_flight);
      next = in_flight + 1;
    }
    auto list = http_get(*c, "/v1/collections");
    ASSERT_EQ(list.status, 200) << list.raw;
    std::set<std::string> listed;
    for (const auto& col : list.body["collections"]) listed.insert(col["collection_id"].get<std::string>());
    for (int i = 0; i < kCollections; ++i) {
      if (deleted.count(i)) {
        EXPECT_FALSE(listed.count(name(i))) << name(i) << " was deleted (200) but is listed";
        EXPECT_EQ(http_get(*c, "/v1/collections/" + name(i)).status, 404) << name(i);
        auto search = http_post(*c, "/v1/retrievers/execute",
                                json{{"collection_ids", {name(i)}},
                                     {"stages", {stage("filter", "text_search", {{"query", "shared"}})}}});
        EXPECT_EQ(search.status, 404) << name(i) << ": " << search.raw;
        continue;
      }
      EXPECT_TRUE(listed.count(name(i))) << name(i) << " was never deleted but is not listed";
      IndexCounts n = index_counts(*c, name(i));
      EXPECT_EQ(n.stored, kDocuments) << name(i);
      EXPECT_EQ(n.bm25, kDocuments) << name(i);
      EXPECT_EQ(n.dense, kDocuments) << name(i);
    }
    EXPECT_EQ(sqlite_integrity(dir), "ok");
  }
  EXPECT_FALSE(deleted.empty()) << "no deletion completed before any kill";
  server.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
