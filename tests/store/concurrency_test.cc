// Readers run beside the writer: searches never fail and never return a
// document whose deletion had returned before the search started.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::random_unit_vector;
using testing::TempDir;

TEST(Concurrency, ReadersRunBesideTheWriter) {
  TempDir dir;
  StoreOptions options;
  options.vector.exact_threshold = 400;  // the index turns into HNSW mid-run
  options.vector.hnsw_ef_construction = 64;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path(), options));
  WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}}}}));
  constexpr std::size_t kDims = 8, kDocuments = 1000;
  std::mt19937 rng(1);
  std::vector<std::vector<float>> vectors;
  for (std::size_t i = 0; i < kDocuments; ++i) vectors.push_back(random_unit_vector(rng, kDims));

  std::mutex deleted_mutex;
  std::set<std::string> deleted;  // deletions that have returned
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0}, failures{0}, resurrected{0};

  auto reader = [&](unsigned seed) {
    std::mt19937 local(seed);
    while (!done) {
      std::set<std::string> gone;
      {
        std::lock_guard<std::mutex> lock(deleted_mutex);
        gone = deleted;
      }
      auto text = store->text_search("c", "shared", 50);
      auto near = store->vector_search("c", "v", random_unit_vector(local, kDims), 20);
      if (!text.ok() || !near.ok()) {
        ++failures;
        continue;
      }
      for (const auto* hits : {&*text, &*near}) {
        for (const auto& hit : *hits) resurrected += gone.count(hit.document_id);
      }
      ++searches;
    }
  };
  std::vector<std::thread> readers;
  for (unsigned t = 0; t < 3; ++t) readers.emplace_back(reader, 100 + t);

  for (std::size_t start = 0; start < kDocuments; start += 100) {
    std::string lines;
    for (std::size_t i = start; i < start + 100; ++i) {
      nlohmann::json line = {{"id", "d" + std::to_string(i)}, {"text", "shared words"}, {"vectors", {{"v", vectors[i]}}}};
      lines += line.dump() + "\n";
    }
    std::istringstream input(lines);
    WINNOW_ASSERT_OK(store->ingest("c", input));
    for (std::size_t i = start; i < start + 100; i += 7) {
      std::string id = "d" + std::to_string(i);
      WINNOW_ASSERT_OK(store->delete_document("c", id));
      std::lock_guard<std::mutex> lock(deleted_mutex);
      deleted.insert(id);
    }
  }
  done = true;
  for (auto& thread : readers) thread.join();
  std::printf("%zu concurrent searches\n", searches.load());
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(resurrected.load(), 0u);
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo info, store->vector_index_info("c", "v"));
  EXPECT_TRUE(info.hnsw);
  EXPECT_EQ(info.vectors, kDocuments - deleted.size());
}

}  // namespace
}  // namespace winnow::store
