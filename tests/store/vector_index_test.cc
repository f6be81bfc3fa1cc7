#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::dot;
using testing::random_unit_vector;
using testing::TempDir;

std::string document_line(std::size_t i, const std::vector<float>& vector) {
  nlohmann::json line = {{"id", "d" + std::to_string(i)}, {"vectors", {{"v", vector}}}};
  return line.dump() + "\n";
}

// Exact top-k ids by inner product (ties by id).
std::vector<std::string> exact_top(const std::vector<std::vector<float>>& data, const std::vector<float>& query,
                                   std::size_t k) {
  std::vector<std::pair<float, std::string>> scored;
  for (std::size_t i = 0; i < data.size(); ++i) scored.push_back({dot(data[i], query), "d" + std::to_string(i)});
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < k && i < scored.size(); ++i) out.push_back(scored[i].second);
  return out;
}

TEST(VectorIndex, ExactBelowThresholdHnswAboveWithHighRecall) {
  constexpr std::size_t kDims = 32, kCount = 3000, kQueries = 100, kTopK = 10;
  std::mt19937 rng(7);
  std::vector<std::vector<float>> data;
  std::string lines;
  for (std::size_t i = 0; i < kCount; ++i) {
    data.push_back(random_unit_vector(rng, kDims));
    lines += document_line(i, data.back());
  }
  std::vector<std::vector<float>> queries;
  for (std::size_t q = 0; q < kQueries; ++q) queries.push_back(random_unit_vector(rng, kDims));

  TempDir exact_dir, hnsw_dir;
  StoreOptions exact_options;  // default threshold: 20,000
  StoreOptions hnsw_options;
  hnsw_options.vector.exact_threshold = 1000;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto exact, Store::open(exact_dir.path(), exact_options));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hnsw, Store::open(hnsw_dir.path(), hnsw_options));
  for (Store* store : {exact.get(), hnsw.get()}) {
    WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}}}}));
    std::istringstream input(lines);
    WINNOW_ASSERT_OK(store->ingest("c", input));
  }
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo exact_info, exact->vector_index_info("c", "v"));
  EXPECT_FALSE(exact_info.hnsw);
  EXPECT_EQ(exact_info.vectors, kCount);
  WINNOW_ASSERT_OK_AND_ASSIGN(VectorIndexInfo hnsw_info, hnsw->vector_index_info("c", "v"));
  EXPECT_TRUE(hnsw_info.hnsw);
  EXPECT_EQ(hnsw_info.vectors, kCount);
  EXPECT_EQ(hnsw_info.spec.dimensions, static_cast<std::int64_t>(kDims));

  std::size_t found = 0;
  for (const auto& query : queries) {
    std::vector<std::string> truth = exact_top(data, query, kTopK);
    WINNOW_ASSERT_OK_AND_ASSIGN(auto exact_hits, exact->vector_search("c", "v", query, kTopK));
    ASSERT_EQ(testing::ids_of(exact_hits), truth);  // exact is exact
    EXPECT_NEAR(exact_hits[0].score, dot(data[std::stoul(truth[0].substr(1))], query), 1e-5);
    WINNOW_ASSERT_OK_AND_ASSIGN(auto approximate, hnsw->vector_search("c", "v", query, kTopK));
    ASSERT_EQ(approximate.size(), kTopK);
    for (std::size_t i = 1; i < approximate.size(); ++i) EXPECT_GE(approximate[i - 1].score, approximate[i].score);
    std::set<std::string> wanted(truth.begin(), truth.end());
    for (const auto& hit : approximate) found += wanted.count(hit.document_id);
  }
  double recall = static_cast<double>(found) / (kQueries * kTopK);
  std::printf("HNSW recall@%zu vs exact on %zu random %zu-d unit vectors: %.4f\n", kTopK, kCount, kDims, recall);
  EXPECT_GE(recall, 0.95);

  // Deleted documents never come back from HNSW (markDelete), nor replaced vectors.
  for (std::size_t i = 0; i < 200; ++i) WINNOW_ASSERT_OK(hnsw->delete_document("c", "d" + std::to_string(i)));
  for (std::size_t i = 0; i < 200; ++i) {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, hnsw->vector_search("c", "v", data[i], 5));
    for (const auto& hit : hits) EXPECT_GE(std::stoul(hit.document_id.substr(1)), 200u) << "deleted d" << i;
  }
  WINNOW_ASSERT_OK_AND_ASSIGN(hnsw_info, hnsw->vector_index_info("c", "v"));
  EXPECT_EQ(hnsw_info.vectors, kCount - 200);
}

TEST(VectorIndex, CosineNormalisesAndRejectsZeroQueries) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}}, {{"name", "ip"}, {"metric", "ip"}}}}}));
  WINNOW_ASSERT_OK(store->put_document("c", R"({"id": "a", "vectors": {"v": [3, 4], "ip": [3, 4]}})"));
  WINNOW_ASSERT_OK(store->put_document("c", R"({"id": "b", "vectors": {"v": [1, 0], "ip": [1, 0]}})"));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto cosine, store->vector_search("c", "v", std::vector<float>{10, 0}, 2));
  ASSERT_EQ(cosine.size(), 2u);
  EXPECT_EQ(cosine[0].document_id, "b");
  EXPECT_NEAR(cosine[0].score, 1.0, 1e-6);
  EXPECT_NEAR(cosine[1].score, 0.6, 1e-6);
  WINNOW_ASSERT_OK_AND_ASSIGN(auto ip, store->vector_search("c", "ip", std::vector<float>{10, 0}, 2));
  EXPECT_EQ(ip[0].document_id, "a");
  EXPECT_NEAR(ip[0].score, 30.0, 1e-4);
  auto zero = store->vector_search("c", "v", std::vector<float>{0, 0}, 2);
  EXPECT_NE(zero.status().message().find("zero length"), std::string::npos);
  auto unknown = store->vector_search("c", "nope", std::vector<float>{1, 0}, 2);
  EXPECT_EQ(unknown.status().message(), "collection 'c' has no vector index 'nope'");
}

}  // namespace
}  // namespace winnow::store
