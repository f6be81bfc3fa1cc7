// The engine machinery on a fake model whose outputs and failures are known:
// results land at their caller's index, one bad sequence (a refused batch, an
// exception, a tokenizing error) fails only itself, and an unprepared
// precision fails every sequence with the model's own message.
#include "inference/engine.h"

#include <latch>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace winnow::inference {
namespace {

constexpr std::int32_t kRefused = 666;  // a batch holding it fails; alone, it fails too
constexpr std::int32_t kThrows = 777;   // the model throws on it

// Two floats per sequence: the sum of its ids and its length.
class FakeModel final : public EngineModel {
 public:
  FakeModel() {
    info_.hidden_size = 2;
    info_.precision = base::Precision::kFp32;
    info_.precisions = {base::Precision::kFp32};
  }
  const model::ModelInfo& info() const override { return info_; }
  std::size_t output_width() const override { return 2; }
  base::Status validate(const model::TokenBatch& batch) const override {
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      if (batch.length(s) == 0) return base::invalid_argument("sequence " + std::to_string(s) + " is empty");
    }
    return {};
  }
  base::Status run(const model::TokenBatch& batch, base::Precision, std::span<float> out) override {
    for (std::int32_t id : batch.input_ids) {
      if (id == kRefused) return base::invalid_argument("refused id 666");
      if (id == kThrows) throw std::runtime_error("id 777");
    }
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      const auto begin = batch.input_ids.begin() + batch.offsets[s];
      const auto end = batch.input_ids.begin() + batch.offsets[s + 1];
      out[2 * s] = static_cast<float>(std::accumulate(begin, end, 0));
      out[2 * s + 1] = static_cast<float>(batch.length(s));
    }
    return {};
  }

 private:
  model::ModelInfo info_;
};

// Sequence i of a call: `ids[i]`, or a tokenizing error where it is empty.
Engine::EncodeFunction encoder_of(const std::vector<std::vector<std::int32_t>>& ids) {
  return [&ids](std::size_t i) -> base::Result<text::Encoding> {
    if (ids[i].empty()) return base::invalid_argument("text " + std::to_string(i) + " has no tokens");
    text::Encoding e;
    e.ids = ids[i];
    e.type_ids.assign(ids[i].size(), 0);
    return e;
  };
}

void expect_output(const EngineResults& results, std::size_t i, const std::vector<std::int32_t>& ids) {
  ASSERT_TRUE(results.errors[i].ok()) << i << ": " << results.errors[i].to_string();
  EXPECT_EQ(results.output(i)[0], static_cast<float>(std::accumulate(ids.begin(), ids.end(), 0))) << i;
  EXPECT_EQ(results.output(i)[1], static_cast<float>(ids.size())) << i;
}

TEST(EngineTest, BadSequencesFailOnlyThemselvesAcrossCallersSharingABatch) {
  EngineOptions options;
  // The worker waits for both callers: until the 10 tokens they queue (a full
  // batch under this budget) are there, however slow the machine.
  options.batch_limits.token_budget = 10;
  options.batch_wait = std::chrono::seconds(30);
  std::vector<std::size_t> batch_sizes;
  options.on_batch = [&](std::size_t items, std::size_t) { batch_sizes.push_back(items); };
  Engine engine(std::make_unique<FakeModel>(), options);

  const std::vector<std::vector<std::int32_t>> a = {{1, 2}, {kRefused, 3}, {}, {4}, {kThrows}};
  const std::vector<std::vector<std::int32_t>> b = {{5, 6, 7}, {8}};
  EngineResults ra, rb;
  std::latch start(2);
  std::thread ta([&] {
    start.arrive_and_wait();
    ra = engine.run(a.size(), encoder_of(a), base::Precision::kAuto);
  });
  std::thread tb([&] {
    start.arrive_and_wait();
    rb = engine.run(b.size(), encoder_of(b), base::Precision::kAuto);
  });
  ta.join();
  tb.join();

  expect_output(ra, 0, a[0]);
  EXPECT_NE(ra.errors[1].message().find("refused id 666"), std::string::npos) << ra.errors[1].to_string();
  EXPECT_NE(ra.errors[2].message().find("text 2 has no tokens"), std::string::npos) << ra.errors[2].to_string();
  EXPECT_FALSE(ra.encodings[2].has_value());
  expect_output(ra, 3, a[3]);
  EXPECT_NE(ra.errors[4].message().find("the model failed: id 777"), std::string::npos) << ra.errors[4].to_string();
  expect_output(rb, 0, b[0]);
  expect_output(rb, 1, b[1]);

  const EngineStats stats = engine.stats();
  EXPECT_EQ(stats.max_round_requests, 2u);
  EXPECT_EQ(stats.items, 6u);  // every sequence that was tokenized, once
  EXPECT_EQ(stats.max_batch_items, 6u) << "both callers' sequences in one batch";
  EXPECT_EQ(batch_sizes, std::vector<std::size_t>{6});
}

TEST(EngineTest, AnUnpreparedPrecisionFailsEverySequenceNamingThePreparedOnes) {
  Engine engine(std::make_unique<FakeModel>(), EngineOptions{});
  const std::vector<std::vector<std::int32_t>> ids = {{1}, {2}};
  const EngineResults results = engine.run(ids.size(), encoder_of(ids), base::Precision::kInt8);
  for (const base::Status& error : results.errors) {
    EXPECT_EQ(error.code(), base::StatusCode::kFailedPrecondition) << error.to_string();
    EXPECT_NE(error.message().find("fp32"), std::string::npos) << error.to_string();
  }
  EXPECT_EQ(engine.stats().batches, 0u);
}

TEST(EngineTest, TheQueueBoundHoldsAndACallLargerThanItStillGoesThrough) {
  EngineOptions options;
  options.max_queued_tokens = 4;
  options.batch_limits.token_budget = 4;
  Engine engine(std::make_unique<FakeModel>(), options);
  std::vector<std::vector<std::int32_t>> ids;
  for (std::int32_t i = 0; i < 100; ++i) ids.push_back({i, i, 1});  // 300 tokens, 3 a sequence
  ids.push_back({1, 1, 1, 1, 1, 1});                                // one sequence over the bound: queued alone
  const EngineResults results = engine.run(ids.size(), encoder_of(ids), base::Precision::kFp32);
  for (std::size_t i = 0; i < ids.size(); ++i) expect_output(results, i, ids[i]);
  EXPECT_LE(engine.stats().peak_queued_tokens, 6u);
  EXPECT_EQ(engine.stats().items, ids.size());
}

}  // namespace
}  // namespace winnow::inference
