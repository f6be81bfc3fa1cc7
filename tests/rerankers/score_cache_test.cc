// The score cache: a hit is bitwise the score a miss computes, any setting
// that changes a score changes the key, eviction keeps memory under the bound
// (counted as the allocator really spends it), and concurrent callers are
// safe (run under ASan/UBSan in the sanitizer build).
#include <malloc.h>

#include <barrier>
#include <cstring>
#include <random>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "model/test_util.h"
#include "rerankers/local_cross_encoder.h"
#include "rerankers/score_cache.h"

namespace winnow::rerankers {
namespace {

using model::testing::golden_path;
using model::testing::model_dir;
using model::testing::read_jsonl;

ScoreCache::Key key_of(std::uint64_t n) {
  ScoreCache::Key key{};
  // Spread like a digest: both the table's bytes and the shard's bytes vary.
  std::mt19937_64 rng(n);
  for (std::size_t i = 0; i < key.size(); i += 8) {
    const std::uint64_t v = rng();
    std::memcpy(key.data() + i, &v, 8);
  }
  return key;
}

inference::DocumentScore score_of(float logit) {
  inference::DocumentScore s;
  s.logit = logit;
  s.tokens = 17;
  s.truncated = true;
  s.chunks = 3;
  s.best_chunk = 2;
  s.chunk_begin = 10;
  s.chunk_end = 20;
  s.chunk_begin_char = 9;
  s.chunk_end_char = 19;
  return s;
}

TEST(ScoreCacheTest, FindsWhatWasStoredAndCountsHitsAndMisses) {
  ScoreCache cache(1 << 20);
  EXPECT_FALSE(cache.find(key_of(1)));
  EXPECT_EQ(cache.insert(key_of(1), score_of(1.5f)), 0u);
  auto hit = cache.find(key_of(1));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->logit, 1.5f);
  EXPECT_EQ(hit->tokens, 17u);
  EXPECT_TRUE(hit->truncated);
  EXPECT_EQ(hit->chunks, 3u);
  EXPECT_EQ(hit->best_chunk, 2u);
  EXPECT_EQ(hit->chunk_begin, 10u);
  EXPECT_EQ(hit->chunk_end, 20u);
  EXPECT_EQ(hit->chunk_begin_char, 9u);
  EXPECT_EQ(hit->chunk_end_char, 19u);
  EXPECT_FALSE(cache.find(key_of(2)));
  const ScoreCache::Stats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.insertions, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.capacity_bytes, 1u << 20);
  EXPECT_GE(s.bytes, ScoreCache::entry_bytes());
}

TEST(ScoreCacheTest, EvictsTheLeastRecentlyUsedAndStaysUnderItsBound) {
  const std::size_t capacity = 64 * 1024;
  ScoreCache cache(capacity, 1);
  ASSERT_EQ(cache.shards(), 1u);
  const std::size_t fits = capacity / ScoreCache::entry_bytes();
  std::size_t evicted = 0;
  for (std::uint64_t n = 0; n < 4 * fits; ++n) {
    evicted += cache.insert(key_of(n), score_of(static_cast<float>(n)));
    // Key 0 is read after every insert: it stays the most recently used.
    ASSERT_TRUE(cache.find(key_of(0))) << "after " << n << " inserts";
    ASSERT_LE(cache.stats().bytes, capacity);
  }
  const ScoreCache::Stats s = cache.stats();
  EXPECT_GT(s.evictions, 0u);
  EXPECT_EQ(s.evictions, evicted);
  EXPECT_EQ(s.entries + s.evictions, 4 * fits);
  // The bound is used, not just respected: at least half of it holds entries.
  EXPECT_GT(s.entries, fits / 2);
  // The oldest not reread were evicted first; the newest are there.
  EXPECT_FALSE(cache.find(key_of(1)));
  EXPECT_TRUE(cache.find(key_of(4 * fits - 1)));
}

TEST(ScoreCacheTest, ABoundSmallerThanOneEntryStoresNothing) {
  ScoreCache cache(16);
  EXPECT_EQ(cache.insert(key_of(1), score_of(1)), 0u);
  EXPECT_FALSE(cache.find(key_of(1)));
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_LE(cache.stats().bytes, 16u);
}

#if !defined(__SANITIZE_ADDRESS__)
// What the cache counts is what the heap spends (glibc's own figure), within
// 10%: the bound is one on real memory, not on a guess. (Sanitizer builds
// replace malloc, so mallinfo2 says nothing there.)
TEST(ScoreCacheTest, CountsTheMemoryTheHeapReallySpends) {
  const std::size_t capacity = 32u << 20;
  const struct mallinfo2 before = mallinfo2();
  auto cache = std::make_unique<ScoreCache>(capacity);
  for (std::uint64_t n = 0; n < 100000; ++n) cache->insert(key_of(n), score_of(1));
  const struct mallinfo2 after = mallinfo2();
  const double heap = static_cast<double>(after.uordblks) - static_cast<double>(before.uordblks);
  const double counted = static_cast<double>(cache->stats().bytes);
  EXPECT_EQ(cache->stats().entries, 100000u);
  EXPECT_NEAR(counted / heap, 1.0, 0.10) << "counted " << counted << " bytes, the heap grew " << heap;
}
#endif

TEST(ScoreCacheTest, ConcurrentCallersKeepItConsistent) {
  const std::size_t capacity = 256 * 1024;
  ScoreCache cache(capacity, 4);
  constexpr int kThreads = 4;
  constexpr std::uint64_t kOps = 20000;
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      start.arrive_and_wait();
      for (std::uint64_t i = 0; i < kOps; ++i) {
        const std::uint64_t n = rng() % 3000;  // more than fits: evictions while others read
        if (auto hit = cache.find(key_of(n))) {
          if (hit->logit != static_cast<float>(n)) ++wrong;
        } else {
          cache.insert(key_of(n), score_of(static_cast<float>(n)));
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const ScoreCache::Stats s = cache.stats();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(s.hits + s.misses, kThreads * kOps);
  EXPECT_LE(s.bytes, capacity);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.hits, 0u);
}

// ------------------------------------------------------------------ keys

TEST(ScoreKeysTest, EverySettingThatChangesAScoreChangesTheKey) {
  const inference::DocumentOptions base_options;
  ScoreSettings base;
  base.model = "/models/a#load 1";
  base.revision = "abc";
  base.precision = base::Precision::kFp32;
  base.max_length = 512;
  base.tokenizer_truncation = 0;
  base.options = &base_options;
  const auto key = [](const ScoreSettings& settings, std::string_view query = "q", std::string_view doc = "d") {
    return *ScoreKeys(settings, query).key(doc);
  };
  const ScoreCache::Key reference = key(base);
  // The same settings, built again: the same key (a hit is possible at all).
  {
    const inference::DocumentOptions same_options;
    ScoreSettings same = base;
    same.options = &same_options;
    EXPECT_EQ(key(same), reference);
  }
  std::vector<std::pair<std::string, ScoreCache::Key>> variants;
  auto vary = [&](const std::string& what, auto change) {
    ScoreSettings s = base;
    inference::DocumentOptions o = base_options;
    change(s, o);
    s.options = &o;
    variants.emplace_back(what, key(s));
  };
  vary("model", [](ScoreSettings& s, auto&) { s.model = "/models/b#load 1"; });
  vary("revision", [](ScoreSettings& s, auto&) { s.revision = "abd"; });
  vary("precision bf16", [](ScoreSettings& s, auto&) { s.precision = base::Precision::kBf16; });
  vary("precision int8", [](ScoreSettings& s, auto&) { s.precision = base::Precision::kInt8; });
  vary("max_length", [](ScoreSettings& s, auto&) { s.max_length = 256; });
  vary("tokenizer truncation", [](ScoreSettings& s, auto&) { s.tokenizer_truncation = 1; });
  vary("instruction", [](ScoreSettings& s, auto&) { s.instruction = "Judge relevance"; });
  vary("direction", [](auto&, inference::DocumentOptions& o) { o.direction = text::TruncationDirection::kLeft; });
  vary("max tokens 0", [](auto&, inference::DocumentOptions& o) { o.max_document_tokens = 0; });
  vary("max tokens 100", [](auto&, inference::DocumentOptions& o) { o.max_document_tokens = 100; });
  vary("truncate off", [](auto&, inference::DocumentOptions& o) { o.truncate = false; });
  vary("chunking", [](auto&, inference::DocumentOptions& o) { o.chunking = inference::ChunkOptions{}; });
  vary("chunk tokens", [](auto&, inference::DocumentOptions& o) { o.chunking = inference::ChunkOptions{64}; });
  vary("chunk overlap", [](auto&, inference::DocumentOptions& o) { o.chunking = inference::ChunkOptions{64, 8}; });
  vary("max chunks", [](auto&, inference::DocumentOptions& o) { o.chunking = inference::ChunkOptions{64, 0, 5}; });
  vary("aggregate", [](auto&, inference::DocumentOptions& o) {
    o.chunking = inference::ChunkOptions{64, 0, 10, inference::ChunkAggregate::kMeanTopK};
  });
  vary("top k", [](auto&, inference::DocumentOptions& o) {
    o.chunking = inference::ChunkOptions{64, 0, 10, inference::ChunkAggregate::kMeanTopK, 2};
  });
  variants.emplace_back("query", key(base, "q2"));
  variants.emplace_back("document", key(base, "q", "d2"));
  // Field boundaries are part of the key: moving text from query to document changes it.
  variants.emplace_back("boundary", key(base, "qd", ""));
  std::set<ScoreCache::Key> seen{reference};
  for (const auto& [what, k] : variants) {
    EXPECT_NE(k, reference) << what;
    EXPECT_TRUE(seen.insert(k).second) << what << " collides with another variant";
  }
}

// ----------------------------------------------------- the local reranker

struct Pool {
  std::string query;
  std::vector<std::string> documents;
};

Pool golden_pool() {
  Pool pool;
  for (const auto& r : read_jsonl(golden_path("bert-ce-tiny.jsonl"))) {
    if (pool.query.empty()) pool.query = r["query"].get<std::string>();
    const std::string doc = r["document"].get<std::string>();
    if (std::find(pool.documents.begin(), pool.documents.end(), doc) == pool.documents.end()) {
      pool.documents.push_back(doc);
    }
  }
  return pool;
}

std::unique_ptr<LocalCrossEncoder> load(std::shared_ptr<ScoreCache> cache, inference::ScorerOptions options = {},
                                        std::string revision = "rev1") {
  auto loaded = LocalCrossEncoder::load(model_dir("bert-ce-tiny"), options, "bert-ce-tiny", std::move(revision),
                                        std::move(cache));
  EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
  return loaded.ok() ? std::move(*loaded) : nullptr;
}

TEST(LocalCrossEncoderCacheTest, ARepeatedCallIsAnsweredBitwiseWithoutTheEngine) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  auto reranker = load(cache);
  ASSERT_TRUE(reranker);
  const Pool pool = golden_pool();
  ASSERT_GE(pool.documents.size(), 4u);

  auto first = reranker->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_TRUE(first->score_cache);
  EXPECT_EQ(first->score_cache->hits, 0u);
  EXPECT_EQ(first->score_cache->misses, pool.documents.size());
  const std::size_t items = reranker->scorer().stats().items;
  EXPECT_EQ(items, pool.documents.size());

  auto second = reranker->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(reranker->scorer().stats().items, items) << "the engine ran pairs for a repeated call";
  ASSERT_TRUE(second->score_cache);
  EXPECT_EQ(second->score_cache->hits, pool.documents.size());
  EXPECT_EQ(second->score_cache->misses, 0u);
  ASSERT_EQ(second->results.size(), first->results.size());
  for (std::size_t i = 0; i < first->results.size(); ++i) {
    EXPECT_EQ(second->results[i].index, first->results[i].index);
    EXPECT_EQ(std::memcmp(&second->results[i].logit, &first->results[i].logit, sizeof(float)), 0);
    EXPECT_EQ(second->results[i].relevance_score, first->results[i].relevance_score);
  }
  EXPECT_EQ(second->tokens_scored, first->tokens_scored);
  EXPECT_EQ(second->documents_truncated, first->documents_truncated);

  // And what an uncached reranker computes: the same bits.
  auto plain = load(nullptr);
  ASSERT_TRUE(plain);
  auto uncached = plain->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(uncached.ok());
  EXPECT_FALSE(uncached->score_cache);
  for (std::size_t i = 0; i < uncached->results.size(); ++i) {
    EXPECT_EQ(uncached->results[i].index, second->results[i].index);
    EXPECT_EQ(std::memcmp(&uncached->results[i].logit, &second->results[i].logit, sizeof(float)), 0);
  }
}

TEST(LocalCrossEncoderCacheTest, AnOverlappingCallScoresOnlyTheNewDocumentsInInputOrder) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  auto reranker = load(cache);
  ASSERT_TRUE(reranker);
  const Pool pool = golden_pool();
  const std::size_t half = pool.documents.size() / 2;
  const std::vector<std::string> first_half(pool.documents.begin(), pool.documents.begin() + half);
  ASSERT_TRUE(reranker->rerank(pool.query, first_half, first_half.size()).ok());
  const std::size_t items = reranker->scorer().stats().items;

  auto all = reranker->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->score_cache->hits, half);
  EXPECT_EQ(all->score_cache->misses, pool.documents.size() - half);
  EXPECT_EQ(reranker->scorer().stats().items - items, pool.documents.size() - half);

  auto plain = load(nullptr);
  auto expected = plain->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(all->results.size(), expected->results.size());
  for (std::size_t i = 0; i < expected->results.size(); ++i) {
    EXPECT_EQ(all->results[i].index, expected->results[i].index);
    EXPECT_EQ(all->results[i].logit, expected->results[i].logit);
  }
}

TEST(LocalCrossEncoderCacheTest, OtherSettingsOrAnotherRevisionNeverHit) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  const Pool pool = golden_pool();
  auto a = load(cache);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->rerank(pool.query, pool.documents, 3).ok());
  const std::size_t stored = cache->stats().entries;
  ASSERT_EQ(stored, pool.documents.size());

  auto misses_all = [&](const Reranker& reranker, const RerankOptions& options, const std::string& what) {
    auto outcome = reranker.rerank(pool.query, pool.documents, 3, options);
    ASSERT_TRUE(outcome.ok()) << what << ": " << outcome.status().to_string();
    ASSERT_TRUE(outcome->score_cache) << what;
    EXPECT_EQ(outcome->score_cache->hits, 0u) << what;
    EXPECT_EQ(outcome->score_cache->misses, pool.documents.size()) << what;
  };
  // The same model under another revision.
  misses_all(*load(cache, {}, "rev2"), {}, "revision");
  // Another max_length.
  inference::ScorerOptions shorter;
  shorter.max_length = 32;
  misses_all(*load(cache, shorter), {}, "max_length");
  // Another truncation strategy of the tokenizer.
  inference::ScorerOptions only_second;
  only_second.truncation = text::Truncation::kOnlySecond;
  misses_all(*load(cache, only_second), {}, "truncation strategy");
  // The call's truncation settings.
  RerankOptions left;
  left.truncation_direction = TruncationDirection::kLeft;
  misses_all(*a, left, "truncation_direction");
  RerankOptions capped;
  capped.max_tokens_per_doc = 8;
  misses_all(*a, capped, "max_tokens_per_doc");
  RerankOptions chunked;
  chunked.chunking = ChunkingOptions{};
  misses_all(*a, chunked, "chunking");
  RerankOptions small_windows;
  small_windows.chunking = ChunkingOptions{16};
  misses_all(*a, small_windows, "chunk size");
  // The first settings still hit after all that.
  auto again = a->rerank(pool.query, pool.documents, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->score_cache->hits, pool.documents.size());
}

// A decoder reranker's scores depend on its instruction: the call's, or the
// models-file entry's default when the call names none.
TEST(LocalCrossEncoderCacheTest, AnotherInstructionNeverHits) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  auto load_qwen = [&](std::optional<std::string> default_instruction) {
    inference::ScorerOptions options;
    options.instruction = std::move(default_instruction);
    auto loaded = LocalCrossEncoder::load(model_dir("qwen3-reranker-tiny"), options, "qwen3-reranker-tiny", "rev1",
                                          cache);
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    return loaded.ok() ? std::move(*loaded) : nullptr;
  };
  auto card_default = load_qwen(std::nullopt);
  ASSERT_TRUE(card_default);
  const std::string query = "what is the capital of china?";
  const std::vector<std::string> documents = {"The capital of China is Beijing.", "Gravity pulls things down."};
  auto hits_of = [&](const Reranker& reranker, const RerankOptions& options) -> std::size_t {
    auto outcome = reranker.rerank(query, documents, documents.size(), options);
    EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
    return outcome.ok() && outcome->score_cache ? outcome->score_cache->hits : 999;
  };
  EXPECT_EQ(hits_of(*card_default, {}), 0u);
  EXPECT_EQ(hits_of(*card_default, {}), documents.size());
  RerankOptions other;
  other.instruction = "Judge whether the document is written in French";
  EXPECT_EQ(hits_of(*card_default, other), 0u) << "a call's own instruction hit the default's scores";
  EXPECT_EQ(hits_of(*card_default, other), documents.size());
  // A models-file entry with another default instruction.
  auto entry_default = load_qwen("Judge whether the document mentions a city");
  ASSERT_TRUE(entry_default);
  EXPECT_EQ(hits_of(*entry_default, {}), 0u) << "another default instruction hit the card default's scores";
}

TEST(LocalCrossEncoderCacheTest, APrecisionNeverHitsAnother) {
  if (!base::cpu_features().avx512_vnni) GTEST_SKIP() << "no AVX512_VNNI: int8 cannot be prepared";
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  inference::ScorerOptions options;
  options.extra_precisions = {base::Precision::kInt8};
  auto reranker = load(cache, options);
  ASSERT_TRUE(reranker);
  const Pool pool = golden_pool();
  auto fp32 = reranker->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(fp32.ok());
  RerankOptions int8;
  int8.precision = base::Precision::kInt8;
  auto first = reranker->rerank(pool.query, pool.documents, pool.documents.size(), int8);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->score_cache->hits, 0u);
  EXPECT_EQ(first->precision, "int8");
  auto second = reranker->rerank(pool.query, pool.documents, pool.documents.size(), int8);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->score_cache->hits, pool.documents.size());
  for (std::size_t i = 0; i < first->results.size(); ++i) {
    EXPECT_EQ(second->results[i].logit, first->results[i].logit);
  }
  // An explicit fp32 is the default's entries (the key holds the resolved precision).
  RerankOptions explicit_fp32;
  explicit_fp32.precision = base::Precision::kFp32;
  auto fp32_again = reranker->rerank(pool.query, pool.documents, pool.documents.size(), explicit_fp32);
  ASSERT_TRUE(fp32_again.ok());
  EXPECT_EQ(fp32_again->score_cache->hits, pool.documents.size());
}

TEST(LocalCrossEncoderCacheTest, ErrorsAreNotStored) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  auto reranker = load(cache);
  ASSERT_TRUE(reranker);
  const Pool pool = golden_pool();
  RerankOptions strict;
  strict.truncate = false;
  const std::string long_document = [&] {
    std::string text;
    for (int i = 0; i < 2000; ++i) text += "word ";
    return text;
  }();
  const std::vector<std::string> too_long{long_document};
  auto refused = reranker->rerank(pool.query, too_long, 1, strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(cache->stats().entries, 0u);
  auto again = reranker->rerank(pool.query, too_long, 1, strict);
  EXPECT_FALSE(again.ok());
}

TEST(LocalCrossEncoderCacheTest, ConcurrentCallersShareTheCacheSafely) {
  auto cache = std::make_shared<ScoreCache>(1 << 20);
  auto reranker = load(cache);
  ASSERT_TRUE(reranker);
  const Pool pool = golden_pool();
  auto plain = load(nullptr);
  auto expected = plain->rerank(pool.query, pool.documents, pool.documents.size());
  ASSERT_TRUE(expected.ok());
  constexpr int kThreads = 4;
  std::barrier start(kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int r = 0; r < 3; ++r) {
        auto outcome = reranker->rerank(pool.query, pool.documents, pool.documents.size());
        if (!outcome.ok() || outcome->results.size() != expected->results.size()) {
          ++wrong;
          continue;
        }
        for (std::size_t i = 0; i < outcome->results.size(); ++i) {
          if (outcome->results[i].logit != expected->results[i].logit) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  const ScoreCache::Stats s = cache->stats();
  EXPECT_EQ(s.hits + s.misses, kThreads * 3 * pool.documents.size());
  EXPECT_GT(s.hits, 0u);
}

}  // namespace
}  // namespace winnow::rerankers
