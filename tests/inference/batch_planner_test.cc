#include "inference/batch_planner.h"

#include <algorithm>
#include <map>
#include <numeric>

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

// ------------------------------------------------------- plan_next_batch

// `count` sequences of `tokens` each for call `call`.
void add(std::vector<QueuedSequence>& queue, std::size_t call, std::size_t count, std::size_t tokens,
         double waited = 0, std::size_t group = 0) {
  for (std::size_t i = 0; i < count; ++i) queue.push_back(QueuedSequence{call, tokens, group, waited});
}

// Runs the queue dry the way the engine does, one planned batch at a time
// (with `arrivals` added before the given batch); the calls each batch served.
std::vector<std::vector<std::size_t>> drain(std::vector<QueuedSequence> queue, const BatchLimits& limits,
                                            const SchedulingLimits& scheduling,
                                            std::map<std::size_t, std::vector<QueuedSequence>> arrivals = {},
                                            double seconds_per_batch = 0) {
  std::vector<std::vector<std::size_t>> served;
  for (std::size_t b = 0; !queue.empty() || arrivals.count(b); ++b) {
    if (auto it = arrivals.find(b); it != arrivals.end()) queue.insert(queue.end(), it->second.begin(), it->second.end());
    if (queue.empty()) continue;
    const std::vector<std::size_t> batch = plan_next_batch(queue, limits, scheduling);
    EXPECT_FALSE(batch.empty());
    std::vector<std::size_t> calls;
    std::vector<bool> taken(queue.size(), false);
    for (std::size_t i : batch) {
      taken[i] = true;
      if (std::find(calls.begin(), calls.end(), queue[i].call) == calls.end()) calls.push_back(queue[i].call);
    }
    served.push_back(calls);
    std::vector<QueuedSequence> rest;
    for (std::size_t i = 0; i < queue.size(); ++i) {
      if (!taken[i]) rest.push_back(queue[i]);
    }
    for (QueuedSequence& q : rest) q.waited_seconds += seconds_per_batch;
    queue = std::move(rest);
    if (b > 10000) {
      ADD_FAILURE() << "the queue never drained";
      break;
    }
  }
  return served;
}

TEST(NextBatchTest, AShortCallGoesBeforeALongOneThatCameFirst) {
  std::vector<QueuedSequence> queue;
  add(queue, /*call=*/1, 100, 50);  // 5,000 tokens: a long request
  add(queue, /*call=*/2, 20, 50);   // 1,000 tokens, arrived after it
  const auto batch = plan_next_batch(queue, {.token_budget = 2000, .max_sequences = 256},
                                     {.join_below_tokens = 2000});
  // Call 2 whole (positions 100..119), then call 1's first 20 sequences fill the budget.
  ASSERT_EQ(batch.size(), 40u);
  std::size_t from_short = 0;
  for (std::size_t i : batch) from_short += queue[i].call == 2;
  EXPECT_EQ(from_short, 20u);
}

// Without a backlog, a call that fills join_below_tokens runs alone; small
// calls share a batch until it holds that many tokens (the call crossing the
// bound contributes the sequences that cross it, the rest waits for a later
// batch). With more than the budget waiting, calls share batches freely.
TEST(NextBatchTest, CallsJoinABatchOnlyWhileItIsSmall) {
  const BatchLimits limits{.token_budget = 8192, .max_sequences = 256};
  std::vector<QueuedSequence> big;
  add(big, /*call=*/1, 20, 80, /*waited=*/0.02);  // 1,600 tokens each
  add(big, /*call=*/2, 20, 80, /*waited=*/0.01);
  EXPECT_THAT(drain(big, limits, {.join_below_tokens = 1024}), ElementsAre(ElementsAre(1), ElementsAre(2)));
  EXPECT_THAT(drain(big, limits, {.join_below_tokens = 8192}), ElementsAre(ElementsAre(1, 2)));

  std::vector<QueuedSequence> small;
  for (std::size_t call = 1; call <= 12; ++call) add(small, call, 2, 50, /*waited=*/0.01);  // 100 tokens each
  const auto served = drain(small, limits, {.join_below_tokens = 1024});
  // Calls 1..10 make 1,000 tokens; call 11's first sequence crosses 1,024.
  ASSERT_EQ(served.size(), 2u);
  EXPECT_THAT(served[0], ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_THAT(served[1], ElementsAre(11, 12));
  // 0: every call alone.
  EXPECT_EQ(drain(small, limits, {.join_below_tokens = 0}).size(), 12u);

  // A backlog (more than the budget waiting): calls share batches up to the
  // budget, for their throughput, whatever join_below_tokens says.
  std::vector<QueuedSequence> backlog;
  for (std::size_t call = 1; call <= 6; ++call) {
    add(backlog, call, 20, 80, /*waited=*/0.01 * static_cast<double>(7 - call));  // 1,600 tokens each, 9,600 in all
  }
  const auto shared = drain(backlog, limits, {.join_below_tokens = 1024});
  // Calls 1..5 (8,000 tokens) and two of call 6's sequences fill 8,160 of the 8,192.
  EXPECT_THAT(shared, ElementsAre(ElementsAre(1, 2, 3, 4, 5, 6), ElementsAre(6)));
}

TEST(NextBatchTest, EqualCallsAreServedInArrivalOrder) {
  std::vector<QueuedSequence> queue;
  for (std::size_t call = 1; call <= 4; ++call) add(queue, call, 10, 100);  // 1,000 tokens each
  const auto served = drain(queue, {.token_budget = 1000, .max_sequences = 256}, {});
  EXPECT_THAT(served, ElementsAre(ElementsAre(1), ElementsAre(2), ElementsAre(3), ElementsAre(4)));
}

TEST(NextBatchTest, ABatchIsLongestFirstAndWithinItsLimits) {
  std::vector<QueuedSequence> queue = {{1, 10}, {1, 45}, {2, 20}, {2, 30}, {3, 5}};
  const auto batch = plan_next_batch(queue, {.token_budget = 60, .max_sequences = 10}, {});
  // Call 3 (5 tokens) first, call 2 (50) fits whole, call 1's (55) sequences do not fit.
  EXPECT_THAT(batch, ElementsAre(3, 2, 4));
  const auto capped = plan_next_batch(queue, {.token_budget = 1000, .max_sequences = 2}, {});
  EXPECT_THAT(capped, ElementsAre(2, 4));
}

TEST(NextBatchTest, ASequenceLongerThanTheBudgetRunsAlone) {
  std::vector<QueuedSequence> queue = {{1, 500}, {2, 8}};
  const auto served = drain(queue, {.token_budget = 100, .max_sequences = 10}, {});
  EXPECT_THAT(served, ElementsAre(ElementsAre(2), ElementsAre(1)));
  std::vector<QueuedSequence> only = {{1, 500}, {1, 8}};
  EXPECT_THAT(plan_next_batch(only, {.token_budget = 100, .max_sequences = 10}, {}), ElementsAre(0));
}

TEST(NextBatchTest, GroupsNeverShareABatch) {
  std::vector<QueuedSequence> queue;
  add(queue, 1, 2, 10, 0, /*group=*/0);
  add(queue, 2, 1, 10, 0, /*group=*/1);
  add(queue, 3, 3, 10, 0, /*group=*/0);
  const auto batch = plan_next_batch(queue, {.token_budget = 1000, .max_sequences = 256}, {});
  // Call 2 is the shortest: its group runs first, alone.
  EXPECT_THAT(batch, ElementsAre(2));
}

TEST(NextBatchTest, AnAgedCallGoesFirstWhateverItsSize) {
  std::vector<QueuedSequence> queue;
  add(queue, 1, 100, 50, /*waited=*/0.6);  // long, but past the aging bound
  add(queue, 2, 2, 50, /*waited=*/0.1);
  const auto batch = plan_next_batch(queue, {.token_budget = 1000, .max_sequences = 256}, {.aging_seconds = 0.5});
  std::size_t from_long = 0;
  for (std::size_t i : batch) from_long += queue[i].call == 1;
  EXPECT_EQ(from_long, 20u) << "the aged call fills the batch before the short one";
  // Two aged calls: the older (earlier in the queue) first.
  std::vector<QueuedSequence> aged;
  add(aged, 5, 10, 100, 0.9);
  add(aged, 6, 1, 100, 0.9);
  EXPECT_EQ(aged[plan_next_batch(aged, {.token_budget = 1000, .max_sequences = 256}, {.aging_seconds = 0.5})[0]].call,
            5u);
}

// A long call under a stream of shorter ones is not starved: a short call
// filling a whole batch arrives before every batch. The long one's response
// ratio grows while it waits and the newcomers' starts at 1, so it runs once
// it has waited about as long, relative to its size, as a newcomer: a short
// call goes ahead once, not for as long as the stream lasts, with or without
// the aging bound.
TEST(NextBatchTest, NoCallStarvesUnderAStreamOfShorterOnes) {
  const BatchLimits limits{.token_budget = 1000, .max_sequences = 256};
  const double seconds_per_batch = 0.01;
  std::vector<QueuedSequence> queue;
  add(queue, /*call=*/0, 40, 100);  // 4,000 tokens: four batches' worth
  std::map<std::size_t, std::vector<QueuedSequence>> arrivals;
  for (std::size_t b = 0; b < 500; ++b) {
    std::vector<QueuedSequence> short_call;
    add(short_call, 1000 + b, 10, 100);  // 1,000 tokens each (a full batch), a new one every batch
    arrivals[b] = short_call;
  }
  for (const double aging : {0.5, 1e9}) {
    const auto served = drain(queue, limits, {.aging_seconds = aging}, arrivals, seconds_per_batch);
    std::vector<std::size_t> batches_of_long;
    for (std::size_t b = 0; b < served.size(); ++b) {
      if (std::find(served[b].begin(), served[b].end(), 0u) != served[b].end()) batches_of_long.push_back(b);
    }
    // Batch 0: both have waited nothing, the shorter goes first. Then the long
    // one shares the model with the backlog of short ones (each waited as long,
    // relative to its size), and is done within twice its own four batches.
    EXPECT_EQ(served[0], std::vector<std::size_t>{1000}) << "aging " << aging;
    ASSERT_EQ(batches_of_long.size(), 4u) << "aging " << aging;
    EXPECT_LE(batches_of_long.back(), 8u) << "aging " << aging;
  }
}

// Calls of nearly one size keep their arrival order once they have waited
// different times: a newcomer 10% shorter does not overtake a call that has
// waited a batch (what shortest-first did, adding the overtaken call's wait
// to the tail of the latencies under load), but one a hundred times shorter does.
TEST(NextBatchTest, ANewcomerOfNearlyTheSameSizeDoesNotOvertake) {
  std::vector<QueuedSequence> queue;
  add(queue, /*call=*/1, 20, 80, /*waited=*/0.070);  // 1,600 tokens, waited one batch
  add(queue, /*call=*/2, 18, 80, /*waited=*/0.002);  // 1,440 tokens, just arrived
  add(queue, /*call=*/3, 20, 80, /*waited=*/0.050);  // 1,600 tokens, waited most of a batch
  const auto served = drain(queue, {.token_budget = 1600, .max_sequences = 256}, {});
  EXPECT_THAT(served, ElementsAre(ElementsAre(1), ElementsAre(3), ElementsAre(2)));

  std::vector<QueuedSequence> tiny;
  add(tiny, /*call=*/1, 20, 80, /*waited=*/0.070);  // 1,600 tokens
  add(tiny, /*call=*/2, 1, 80, /*waited=*/0.010);   // 80 tokens: 20 times shorter, waited 1/7 as long
  EXPECT_THAT(drain(tiny, {.token_budget = 1600, .max_sequences = 256}, {}),
              ElementsAre(ElementsAre(2, 1), ElementsAre(1)));
}

TEST(NextBatchTest, EveryQueuedSequenceIsServedExactlyOnce) {
  std::vector<QueuedSequence> queue;
  for (std::size_t i = 0; i < 300; ++i) queue.push_back({i % 7, (i * 37) % 120 + 1, i % 2, (i % 5) * 0.3});
  std::vector<int> seen(queue.size(), 0);
  std::vector<std::size_t> ids(queue.size());  // position in the original queue
  std::iota(ids.begin(), ids.end(), 0);
  auto rest = queue;
  while (!rest.empty()) {
    const auto batch = plan_next_batch(rest, {.token_budget = 512, .max_sequences = 16}, {});
    ASSERT_FALSE(batch.empty());
    std::size_t tokens = 0;
    std::vector<bool> taken(rest.size(), false);
    for (std::size_t i : batch) {
      ASSERT_FALSE(taken[i]);
      taken[i] = true;
      ++seen[ids[i]];
      tokens += rest[i].tokens;
      EXPECT_EQ(rest[i].group, rest[batch[0]].group);
    }
    EXPECT_LE(tokens, 512u);
    EXPECT_LE(batch.size(), 16u);
    std::vector<QueuedSequence> next;
    std::vector<std::size_t> next_ids;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (!taken[i]) {
        next.push_back(rest[i]);
        next_ids.push_back(ids[i]);
      }
    }
    rest = std::move(next);
    ids = std::move(next_ids);
  }
  for (int count : seen) EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace winnow::inference
