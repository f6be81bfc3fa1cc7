// The Embedder on the engine's machinery, as the Scorer: concurrent callers
// (semantic_search queries, ingest batches) share batches and still get the
// embeddings they get alone (bitwise where the dense layers run brgemm; see
// batch_invariance.h), within 1e-4 of sentence-transformers; a bounded queue
// pushes back instead of growing.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "inference/batch_invariance.h"
#include "inference/embedder.h"
#include "model/test_util.h"

namespace winnow::inference {
namespace {

using model::testing::golden_path;
using model::testing::model_dir;
using model::testing::read_jsonl;
using testing::batch_invariance;
using testing::BatchInvariance;
using testing::expect_batch_invariant;

struct Golden {
  std::vector<std::string> texts;
  std::vector<std::vector<float>> embeddings;  // sentence-transformers' (EMBEDDINGS.md)
};

Golden golden(const std::string& model) {
  Golden out;
  for (const auto& r : read_jsonl(golden_path(model + ".embeddings.jsonl"))) {
    out.texts.push_back(r["text"].get<std::string>());
    out.embeddings.push_back(r["embedding"].get<std::vector<float>>());
  }
  return out;
}

// Requests of `size` golden texts each; request r starts at text r * 5.
std::vector<std::vector<std::size_t>> requests_of(std::size_t texts, std::size_t count, std::size_t size) {
  std::vector<std::vector<std::size_t>> requests(count);
  for (std::size_t r = 0; r < count; ++r) {
    for (std::size_t k = 0; k < size; ++k) requests[r].push_back((r * 5 + k) % texts);
  }
  return requests;
}

std::vector<float> embed_flat(const Embedder& embedder, const std::vector<std::string>& texts,
                              const std::vector<std::size_t>& request) {
  std::vector<std::string> batch;
  for (std::size_t i : request) batch.push_back(texts[i]);
  auto vectors = embedder.embed(batch);
  EXPECT_TRUE(vectors.ok()) << vectors.status().to_string();
  std::vector<float> out;
  if (vectors.ok()) {
    EXPECT_EQ(vectors->size(), request.size());
    for (const auto& v : *vectors) out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// Runs `requests` from `threads` callers at once (request r on thread r % threads).
std::vector<std::vector<float>> embed_concurrently(const Embedder& embedder, const std::vector<std::string>& texts,
                                                   const std::vector<std::vector<std::size_t>>& requests,
                                                   std::size_t threads) {
  std::vector<std::vector<float>> out(requests.size());
  std::latch start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      start.arrive_and_wait();
      for (std::size_t r = t; r < requests.size(); r += threads) out[r] = embed_flat(embedder, texts, requests[r]);
    });
  }
  for (auto& c : callers) c.join();
  return out;
}

class EmbedderConcurrencyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbedderConcurrencyTest, ConcurrentCallersShareBatchesAndGetTheirAloneEmbeddings) {
  const Golden g = golden(GetParam());
  EmbedderOptions options;
  auto single = Embedder::load(model_dir(GetParam()), options);
  ASSERT_TRUE(single.ok()) << single.status().to_string();
  // Long enough for eight callers started together to land in one round.
  options.batch_wait = std::chrono::milliseconds(200);
  auto embedder = Embedder::load(model_dir(GetParam()), options);
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  const std::size_t dims = (*embedder)->dimensions();

  // Eight callers of 4 texts, as concurrent semantic_search queries and small ingests.
  const auto requests = requests_of(g.texts.size(), 32, 4);
  std::vector<std::vector<float>> alone;
  for (const auto& request : requests) alone.push_back(embed_flat(**single, g.texts, request));
  EXPECT_EQ((*single)->stats().max_round_requests, 1u);
  EXPECT_LE((*single)->stats().max_batch_items, 4u);
  const EngineStats before = (*embedder)->stats();
  const BatchInvariance invariance = batch_invariance((*embedder)->info(), (*embedder)->info().precision);
  std::cout << "dense layers: " << invariance.implementations
            << (invariance.bitwise ? " (bitwise)" : " (within 1e-5)") << "\n";

  const auto together = embed_concurrently(**embedder, g.texts, requests, 8);
  double max_diff = 0;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    ASSERT_EQ(together[r].size(), requests[r].size() * dims) << "request " << r;
    // An embedding does not depend on its batch.
    expect_batch_invariant(together[r], alone[r], invariance, "request " + std::to_string(r));
    for (std::size_t k = 0; k < requests[r].size(); ++k) {
      const std::vector<float>& want = g.embeddings[requests[r][k]];
      ASSERT_EQ(want.size(), dims);
      for (std::size_t d = 0; d < dims; ++d) {
        max_diff = std::max(max_diff, static_cast<double>(std::abs(together[r][k * dims + d] - want[d])));
      }
    }
  }
  EXPECT_LE(max_diff, 1e-4) << "against sentence-transformers";
  const EngineStats after = (*embedder)->stats();
  EXPECT_GT(after.max_round_requests, 1u) << "no round served two callers";
  EXPECT_GT(after.max_batch_items, 4u) << "no batch held more than one request's texts";
  EXPECT_EQ(after.items - before.items, requests.size() * 4);
  EXPECT_LT(after.batches - before.batches, requests.size()) << "fewer model runs than calls";
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, EmbedderConcurrencyTest,
                         ::testing::Values("bert-embed-tiny", "xlmr-embed-tiny"));

TEST(EmbedderQueueTest, BoundedQueuePushesBackAndEveryoneStillGetsTheirEmbeddings) {
  const Golden g = golden("bert-embed-tiny");
  EmbedderOptions options;
  options.max_queued_tokens = 32;  // a few texts: callers wait for room
  auto embedder = Embedder::load(model_dir("bert-embed-tiny"), options);
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  const auto requests = requests_of(g.texts.size(), 12, 10);
  std::vector<std::vector<float>> alone;
  for (const auto& request : requests) alone.push_back(embed_flat(**embedder, g.texts, request));
  const auto together = embed_concurrently(**embedder, g.texts, requests, 6);
  const BatchInvariance invariance = batch_invariance((*embedder)->info(), (*embedder)->info().precision);
  std::cout << "dense layers: " << invariance.implementations
            << (invariance.bitwise ? " (bitwise)" : " (within 1e-5)") << "\n";
  for (std::size_t r = 0; r < requests.size(); ++r) {
    expect_batch_invariant(together[r], alone[r], invariance, "request " + std::to_string(r));
  }
  // Never more than the bound, except a single text larger than it (queued alone).
  std::size_t longest = 0;
  for (const std::string& text : g.texts) {
    auto e = (*embedder)->tokenizer().encode(text, (*embedder)->max_length());
    ASSERT_TRUE(e.ok());
    longest = std::max(longest, e->ids.size());
  }
  EXPECT_LE((*embedder)->stats().peak_queued_tokens, std::max<std::size_t>(32, longest));
}

TEST(EmbedderQueueTest, ALargeCallKeepsItsOrderAndMatchesSentenceTransformers) {
  // At least kParallelTokenizeItems texts (the path that tokenizes on every
  // core), run in length-sorted batches: every embedding still lands at its
  // text's index.
  const Golden g = golden("bert-embed-tiny");
  auto embedder = Embedder::load(model_dir("bert-embed-tiny"), EmbedderOptions{});
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  ASSERT_GE(g.texts.size(), kParallelTokenizeItems);
  auto all = (*embedder)->embed(g.texts);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  ASSERT_EQ(all->size(), g.texts.size());
  for (std::size_t i = 0; i < g.texts.size(); ++i) {
    for (std::size_t d = 0; d < (*embedder)->dimensions(); ++d) {
      ASSERT_NEAR((*all)[i][d], g.embeddings[i][d], 1e-4) << "text " << i;
    }
  }
  EXPECT_TRUE((*embedder)->embed(std::vector<std::string>{}).ok());
}

}  // namespace
}  // namespace winnow::inference
