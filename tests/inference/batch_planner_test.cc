#include "inference/batch_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace winnow::inference {
namespace {

using ::testing::ElementsAre;

TEST(BatchPlannerTest, SortsLongestFirstAndFillsToTheBudget) {
  std::vector<std::size_t> lengths = {10, 40, 20, 30, 5};
  auto batches = plan_batches(lengths, {.token_budget = 60, .max_sequences = 10});
  // Longest first: 40, then 30 would make 70; 30 + 20 + 10 = 60 fits; 5 starts a new batch.
  EXPECT_THAT(batches, ElementsAre(ElementsAre(1), ElementsAre(3, 2, 0), ElementsAre(4)));
}

TEST(BatchPlannerTest, BudgetIsInclusive) {
  std::vector<std::size_t> lengths = {30, 30, 30};
  auto batches = plan_batches(lengths, {.token_budget = 60, .max_sequences = 10});
  EXPECT_THAT(batches, ElementsAre(ElementsAre(0, 1), ElementsAre(2)));
}

TEST(BatchPlannerTest, SequenceLongerThanTheBudgetRunsAlone) {
  std::vector<std::size_t> lengths = {8, 500, 8};
  auto batches = plan_batches(lengths, {.token_budget = 100, .max_sequences = 10});
  EXPECT_THAT(batches, ElementsAre(ElementsAre(1), ElementsAre(0, 2)));
}

TEST(BatchPlannerTest, CapsSequencesPerBatch) {
  std::vector<std::size_t> lengths(7, 1);
  auto batches = plan_batches(lengths, {.token_budget = 1000, .max_sequences = 3});
  EXPECT_THAT(batches, ElementsAre(ElementsAre(0, 1, 2), ElementsAre(3, 4, 5), ElementsAre(6)));
}

TEST(BatchPlannerTest, EveryIndexExactlyOnce) {
  std::vector<std::size_t> lengths;
  for (std::size_t i = 0; i < 100; ++i) lengths.push_back((i * 37) % 120 + 1);
  auto batches = plan_batches(lengths, {.token_budget = 512, .max_sequences = 16});
  std::vector<int> seen(lengths.size(), 0);
  std::size_t previous_max = SIZE_MAX;
  for (const auto& batch : batches) {
    std::size_t tokens = 0;
    for (std::size_t i : batch) {
      ++seen[i];
      tokens += lengths[i];
    }
    EXPECT_LE(tokens, 512u);
    EXPECT_LE(batch.size(), 16u);
    EXPECT_LE(lengths[batch.front()], previous_max);
    previous_max = lengths[batch.front()];
  }
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(BatchPlannerTest, EmptyInputGivesNoBatches) {
  EXPECT_TRUE(plan_batches({}, {}).empty());
}

}  // namespace
}  // namespace winnow::inference
