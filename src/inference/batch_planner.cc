#include "inference/batch_planner.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>

namespace winnow::inference {

std::vector<std::vector<std::size_t>> plan_batches(std::span<const std::size_t> lengths,
                                                   const BatchLimits& limits) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });

  const std::size_t max_sequences = std::max<std::size_t>(limits.max_sequences, 1);
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> current;
  std::size_t current_tokens = 0;
  for (std::size_t index : order) {
    std::size_t length = lengths[index];
    bool over_budget = current_tokens + length > limits.token_budget;
    if (!current.empty() && (over_budget || current.size() == max_sequences)) {
      batches.push_back(std::move(current));
      current.clear();
      current_tokens = 0;
    }
    current.push_back(index);
    current_tokens += length;
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

std::vector<std::size_t> plan_next_batch(std::span<const QueuedSequence> queue, const BatchLimits& limits,
                                         const SchedulingLimits& scheduling) {
  // The calls, in order of first appearance (arrival), with their waiting tokens.
  struct Call {
    std::size_t id;
    std::size_t first;  // position of its first sequence in the queue
    std::size_t tokens = 0;
    bool aged = false;
    double waited = 0;  // seconds, its longest-waiting sequence's
  };
  std::vector<Call> calls;
  std::vector<std::size_t> call_of(queue.size());
  for (std::size_t i = 0; i < queue.size(); ++i) {
    std::size_t c = 0;
    // Most queues hold a few calls; a linear look-up from the back finds a
    // call's next sequence at once (a call's sequences are queued together).
    for (c = calls.size(); c > 0 && calls[c - 1].id != queue[i].call; --c) {
    }
    if (c == 0) {
      calls.push_back(Call{queue[i].call, i});
      c = calls.size();
    }
    Call& call = calls[c - 1];
    call.tokens += queue[i].tokens;
    call.waited = std::max(call.waited, queue[i].waited_seconds);
    call.aged = call.aged || queue[i].waited_seconds >= scheduling.aging_seconds;
    call_of[i] = c - 1;
  }
  std::vector<std::size_t> rank(calls.size());
  std::iota(rank.begin(), rank.end(), std::size_t{0});
  std::stable_sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) {
    if (calls[a].aged != calls[b].aged) return calls[a].aged;
    if (calls[a].aged) return calls[a].first < calls[b].first;
    // The response ratio's order: waited / tokens, cross-multiplied so that
    // no call's tokens divide.
    const double ratio_a = calls[a].waited * static_cast<double>(calls[b].tokens);
    const double ratio_b = calls[b].waited * static_cast<double>(calls[a].tokens);
    if (ratio_a != ratio_b) return ratio_a > ratio_b;
    if (calls[a].tokens != calls[b].tokens) return calls[a].tokens < calls[b].tokens;
    return calls[a].first < calls[b].first;
  });

  // Each call's sequences, in queue order.
  std::vector<std::vector<std::size_t>> sequences(calls.size());
  for (std::size_t i = 0; i < queue.size(); ++i) sequences[call_of[i]].push_back(i);

  const std::size_t max_sequences = std::max<std::size_t>(limits.max_sequences, 1);
  // More waiting than a full batch: the queue's wait dominates everyone's
  // latency, and shared batches' throughput shortens it; calls join freely.
  std::size_t waiting = 0;
  for (const Call& call : calls) waiting += call.tokens;
  const std::size_t join_below =
      waiting > limits.token_budget ? std::numeric_limits<std::size_t>::max() : scheduling.join_below_tokens;
  std::vector<std::size_t> batch;
  std::size_t tokens = 0;
  std::optional<std::size_t> group;
  for (std::size_t c : rank) {
    const bool first_call = batch.empty();
    for (std::size_t i : sequences[c]) {
      if (batch.size() == max_sequences) break;
      if (!first_call && tokens >= join_below) break;
      if (group && queue[i].group != *group) break;  // the whole call is of another group
      if (batch.empty()) {
        group = queue[i].group;
        batch.push_back(i);
        tokens = queue[i].tokens;
        if (tokens > limits.token_budget) return batch;  // too long for any company: alone
        continue;
      }
      if (tokens + queue[i].tokens > limits.token_budget) continue;
      batch.push_back(i);
      tokens += queue[i].tokens;
    }
    if (batch.size() == max_sequences || (!batch.empty() && tokens >= join_below)) break;
  }
  std::stable_sort(batch.begin(), batch.end(),
                   [&](std::size_t a, std::size_t b) { return queue[a].tokens > queue[b].tokens; });
  return batch;
}

}  // namespace winnow::inference
