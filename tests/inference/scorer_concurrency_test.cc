// The Scorer's cross-request batching: concurrent callers share batches and
// still get the logits they get alone (bitwise where the dense layers run
// brgemm; see batch_invariance.h); a bounded queue pushes back instead of
// growing; one caller's bad pair fails nobody else's; requests may name a
// precision prepared at load.
#include <algorithm>
#include <iostream>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "inference/batch_invariance.h"
#include "inference/scorer.h"
#include "model/test_util.h"

namespace winnow::inference {
namespace {

using model::testing::golden_path;
using model::testing::model_dir;
using model::testing::read_jsonl;
using testing::batch_invariance;
using testing::BatchInvariance;
using testing::expect_batch_invariant;

struct Request {
  std::string query;
  std::vector<std::string> documents;
};

// Requests of 20 documents each, from the golden pairs' texts (one query each).
std::vector<Request> golden_requests(const std::string& model, std::size_t count) {
  std::map<std::string, std::vector<std::string>> by_query;
  for (const auto& r : read_jsonl(golden_path(model + ".jsonl"))) {
    auto& docs = by_query[r["query"].get<std::string>()];
    const std::string doc = r["document"].get<std::string>();
    if (std::find(docs.begin(), docs.end(), doc) == docs.end()) docs.push_back(doc);
  }
  std::vector<std::string> all_docs;
  for (const auto& [q, docs] : by_query) all_docs.insert(all_docs.end(), docs.begin(), docs.end());
  std::vector<Request> requests;
  auto query = by_query.begin();
  for (std::size_t r = 0; r < count; ++r, ++query) {
    if (query == by_query.end()) query = by_query.begin();
    Request request{query->first, {}};
    for (std::size_t d = 0; d < 20; ++d) request.documents.push_back(all_docs[(r * 7 + d * 3) % all_docs.size()]);
    requests.push_back(std::move(request));
  }
  return requests;
}

std::vector<float> logits_of(const Scorer& scorer, const Request& request,
                             base::Precision precision = base::Precision::kAuto) {
  auto scores = scorer.score(request.query, request.documents, precision);
  EXPECT_TRUE(scores.ok()) << scores.status().to_string();
  std::vector<float> out;
  if (scores.ok()) {
    for (const auto& s : *scores) out.push_back(s.logit);
  }
  return out;
}

// Scores `requests` from `threads` callers at once (request r on thread r % threads).
std::vector<std::vector<float>> score_concurrently(const Scorer& scorer, const std::vector<Request>& requests,
                                                   std::size_t threads) {
  std::vector<std::vector<float>> out(requests.size());
  std::latch start(static_cast<std::ptrdiff_t>(threads));
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      start.arrive_and_wait();
      for (std::size_t r = t; r < requests.size(); r += threads) out[r] = logits_of(scorer, requests[r]);
    });
  }
  for (auto& c : callers) c.join();
  return out;
}

class ScorerConcurrencyTest : public ::testing::TestWithParam<base::Precision> {
 protected:
  void SetUp() override {
    if (auto s = kernels::check_precision_supported(GetParam()); !s.ok()) GTEST_SKIP() << s.message();
  }
};

TEST_P(ScorerConcurrencyTest, ConcurrentCallersShareBatchesAndGetTheirAloneLogits) {
  ScorerOptions options;
  options.precision = GetParam();
  auto single = Scorer::load(model_dir("bert-ce-tiny"), options);
  ASSERT_TRUE(single.ok()) << single.status().to_string();
  // Long enough for eight callers started together to land in one round,
  // and every call may join a batch (not only while it is small): what is
  // tested is that sharing a batch never changes a pair's logit.
  options.batch_wait = std::chrono::milliseconds(200);
  options.scheduling.join_below_tokens = options.batch_limits.token_budget;
  auto scorer = Scorer::load(model_dir("bert-ce-tiny"), options);
  ASSERT_TRUE(scorer.ok()) << scorer.status().to_string();
  const std::vector<Request> requests = golden_requests("bert-ce-tiny", 32);
  std::vector<std::vector<float>> alone;
  for (const Request& r : requests) alone.push_back(logits_of(**single, r));
  EXPECT_EQ((*single)->stats().max_round_requests, 1u);
  const EngineStats before = (*scorer)->stats();
  const BatchInvariance invariance = batch_invariance((*scorer)->info(), GetParam());
  std::cout << "dense layers: " << invariance.implementations
            << (invariance.bitwise ? " (bitwise)" : " (within 1e-5)") << "\n";

  const auto together = score_concurrently(**scorer, requests, 8);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    ASSERT_EQ(together[r].size(), 20u);
    // A pair's logit does not depend on its batch.
    expect_batch_invariant(together[r], alone[r], invariance, "request " + std::to_string(r));
  }
  const EngineStats after = (*scorer)->stats();
  EXPECT_GT(after.max_round_requests, 1u) << "no round served two callers";
  EXPECT_GT(after.max_batch_items, 20u) << "no batch held more than one request's pairs";
  EXPECT_EQ(after.items - before.items, requests.size() * 20);
}

INSTANTIATE_TEST_SUITE_P(Precisions, ScorerConcurrencyTest,
                         ::testing::Values(base::Precision::kFp32, base::Precision::kBf16,
                                           base::Precision::kInt8),
                         [](const auto& param_info) { return std::string(base::precision_name(param_info.param)); });

TEST(ScorerQueueTest, BoundedQueuePushesBackAndEveryoneStillGetsTheirScores) {
  ScorerOptions options;
  options.max_queued_tokens = 64;  // a few pairs: callers wait for room
  auto scorer = Scorer::load(model_dir("xlmr-ce-tiny"), options);
  ASSERT_TRUE(scorer.ok()) << scorer.status().to_string();
  const std::vector<Request> requests = golden_requests("xlmr-ce-tiny", 12);
  std::vector<std::vector<float>> alone;
  for (const Request& r : requests) alone.push_back(logits_of(**scorer, r));
  const auto together = score_concurrently(**scorer, requests, 6);
  const BatchInvariance invariance = batch_invariance((*scorer)->info(), (*scorer)->precision());
  std::cout << "dense layers: " << invariance.implementations
            << (invariance.bitwise ? " (bitwise)" : " (within 1e-5)") << "\n";
  for (std::size_t r = 0; r < requests.size(); ++r) {
    expect_batch_invariant(together[r], alone[r], invariance, "request " + std::to_string(r));
  }
  // Never more than the bound, except a single pair larger than it (queued alone).
  std::size_t longest = 0;
  for (const Request& r : requests) {
    for (const auto& d : r.documents) {
      auto e = (*scorer)->tokenizer().encode_pair(r.query, d, (*scorer)->max_length(), text::Truncation::kLongestFirst);
      ASSERT_TRUE(e.ok());
      longest = std::max(longest, e->ids.size());
    }
  }
  EXPECT_LE((*scorer)->stats().peak_queued_tokens, std::max<std::size_t>(64, longest));
}

TEST(ScorerQueueTest, OneCallersBadPairFailsOnlyThatPair) {
  ScorerOptions options;
  options.max_length = 12;
  options.truncation = text::Truncation::kOnlySecond;
  options.batch_wait = std::chrono::milliseconds(100);
  auto scorer = Scorer::load(model_dir("bert-ce-tiny"), options);
  ASSERT_TRUE(scorer.ok()) << scorer.status().to_string();
  const std::string long_query = "a query far too long to leave any room for the document in twelve tokens";
  std::vector<base::Result<PairScore>> bad, good;
  std::latch start(2);
  std::thread a([&] {
    std::vector<PairText> pairs{{long_query, "doc"}, {"short", "doc"}};
    start.arrive_and_wait();
    bad = (*scorer)->score_pairs(pairs);
  });
  std::thread b([&] {
    std::vector<PairText> pairs{{"what", "a document"}, {"who", "another document"}};
    start.arrive_and_wait();
    good = (*scorer)->score_pairs(pairs);
  });
  a.join();
  b.join();
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_FALSE(bad[0].ok());
  EXPECT_TRUE(bad[1].ok());
  ASSERT_EQ(good.size(), 2u);
  EXPECT_TRUE(good[0].ok());
  EXPECT_TRUE(good[1].ok());
}

TEST(ScorerPrecisionTest, RequestsPickAPreparedPrecisionAndNameTheMissingOnes) {
  if (!base::cpu_features().avx512_vnni) GTEST_SKIP() << "no AVX512_VNNI";
  ScorerOptions options;
  options.extra_precisions = {base::Precision::kInt8};
  auto scorer = Scorer::load(model_dir("bert-ce-tiny"), options);
  ASSERT_TRUE(scorer.ok()) << scorer.status().to_string();
  EXPECT_EQ((*scorer)->precision(), base::Precision::kFp32);
  EXPECT_EQ((*scorer)->info().precisions,
            (std::vector<base::Precision>{base::Precision::kFp32, base::Precision::kInt8}));
  const Request request = golden_requests("bert-ce-tiny", 1)[0];
  const auto fp32 = logits_of(**scorer, request);
  const auto int8 = logits_of(**scorer, request, base::Precision::kInt8);
  ASSERT_EQ(fp32.size(), int8.size());
  EXPECT_NE(fp32, int8);
  for (std::size_t i = 0; i < fp32.size(); ++i) EXPECT_NEAR(fp32[i], int8[i], 0.1);
  auto missing = (*scorer)->score(request.query, request.documents, base::Precision::kBf16);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("bf16 was not prepared"), std::string::npos) << missing.status().message();
}

TEST(ResolvePrecisionTest, AutoPicksWhatTheCpuRunsAndExplicitRequestsAreChecked) {
  const base::CpuFeatures& cpu = base::cpu_features();
  auto automatic = resolve_precision(base::Precision::kAuto);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(*automatic, cpu.avx512_vnni   ? base::Precision::kInt8
                        : cpu.avx512_bf16 ? base::Precision::kBf16
                                          : base::Precision::kFp32);
  auto bf16 = resolve_precision(base::Precision::kBf16);
  EXPECT_EQ(bf16.ok(), cpu.avx512_bf16);
  if (!bf16.ok()) {
    EXPECT_NE(bf16.status().message().find("AVX512_BF16"), std::string::npos);
  }
  auto int8 = resolve_precision(base::Precision::kInt8);
  EXPECT_EQ(int8.ok(), cpu.avx512_vnni);
  if (!int8.ok()) {
    EXPECT_NE(int8.status().message().find("AVX512_VNNI"), std::string::npos);
  }
}

}  // namespace
}  // namespace winnow::inference
