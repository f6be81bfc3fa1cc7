// The engine machinery on a fake model whose outputs and failures are known:
// results land at their caller's index, one bad sequence (a refused batch, an
// exception, a tokenizing error) fails only itself, and an unprepared
// precision fails every sequence with the model's own message.
#include "inference/engine.h"

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
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

// ---- admission, deadlines, cancellation ----

// A model whose runs wait at a gate the test opens, so that the test knows
// what is running, what is taken and what is queued. Writes one float per
// sequence (its length) and counts the sequences it ran.
class GatedModel final : public EngineModel {
 public:
  GatedModel() {
    info_.hidden_size = 1;
    info_.precision = base::Precision::kFp32;
    info_.precisions = {base::Precision::kFp32};
  }
  const model::ModelInfo& info() const override { return info_; }
  std::size_t output_width() const override { return 1; }
  base::Status validate(const model::TokenBatch&) const override { return {}; }
  base::Status run(const model::TokenBatch& batch, base::Precision, std::span<float> out) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    if (per_token_.count() > 0) std::this_thread::sleep_for(per_token_ * batch.num_tokens());
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) out[s] = static_cast<float>(batch.length(s));
    sequences_run_ += batch.num_sequences();
    return {};
  }

  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  // Blocks until `n` runs have started (counting from the model's creation).
  void wait_entered(std::size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= n; });
  }
  std::size_t sequences_run() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sequences_run_;
  }
  void set_per_token(std::chrono::microseconds t) { per_token_ = t; }

 private:
  model::ModelInfo info_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  std::size_t entered_ = 0;
  std::size_t sequences_run_ = 0;
  std::chrono::microseconds per_token_{0};
};

// `count` sequences of `tokens` ids each.
std::vector<std::vector<std::int32_t>> sequences(std::size_t count, std::size_t tokens) {
  return std::vector<std::vector<std::int32_t>>(count, std::vector<std::int32_t>(tokens, 1));
}

struct GatedEngine {
  explicit GatedEngine(EngineOptions options) {
    auto owned = std::make_unique<GatedModel>();
    model = owned.get();
    engine = std::make_unique<Engine>(std::move(owned), std::move(options));
  }
  // Occupies the worker: a call of one sequence on another thread whose run
  // waits at the closed gate. Returns once the run has started.
  void occupy_worker(std::size_t runs_before = 0) {
    model->close();
    blocker = std::thread([this] {
      auto ids = sequences(1, 4);
      EngineResults r = engine->run(1, encoder_of(ids), base::Precision::kFp32, base::CallOptions{});
      EXPECT_TRUE(r.status.ok()) << r.status.to_string();
    });
    model->wait_entered(runs_before + 1);
  }
  void release() {
    model->open();
    if (blocker.joinable()) blocker.join();
  }
  // Waits until the worker has run or dropped `n` sequences in all.
  void wait_settled(std::size_t n) {
    for (int i = 0; i < 2000; ++i) {
      EngineStats s = engine->stats();
      if (s.items + s.dropped_items >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "the worker never settled " << n << " sequences";
  }
  ~GatedEngine() { release(); }

  GatedModel* model = nullptr;
  std::unique_ptr<Engine> engine;
  std::thread blocker;
};

TEST(EngineAdmissionTest, ACallThatMayNotWaitIsRefusedAtOnceWhenTheQueueIsFull) {
  EngineOptions options;
  options.max_queued_tokens = 40;
  GatedEngine gated(options);
  gated.occupy_worker();
  // 32 tokens queue behind the running call's 4: room for 4 more.
  auto waiting_ids = sequences(8, 4);
  std::thread waiting([&] {
    EngineResults r = gated.engine->run(8, encoder_of(waiting_ids), base::Precision::kFp32, base::CallOptions{});
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  });
  while (gated.engine->stats().queued_tokens < 32) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  auto ids = sequences(2, 4);  // 8 tokens: over the bound
  base::CallReport report;
  base::CallOptions call;
  call.wait_for_room = false;
  call.report = &report;
  const auto started = std::chrono::steady_clock::now();
  EngineResults refused = gated.engine->run(2, encoder_of(ids), base::Precision::kFp32, call);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));  // not blocked on the gate
  EXPECT_EQ(refused.status.code(), base::StatusCode::kResourceExhausted) << refused.status.to_string();
  EXPECT_NE(refused.status.message().find("queue is full"), std::string::npos) << refused.status.message();
  EXPECT_EQ(report.refusal, base::Refusal::kQueueFull);
  for (const base::Status& e : refused.errors) EXPECT_EQ(e.code(), base::StatusCode::kResourceExhausted);
  EXPECT_EQ(gated.engine->stats().refused_calls, 1u);

  // 4 tokens still fit: a call that fits is let in.
  auto fitting = sequences(1, 4);
  std::thread fits([&] {
    EngineResults r = gated.engine->run(1, encoder_of(fitting), base::Precision::kFp32, call);
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  });
  while (gated.engine->stats().queued_tokens < 36) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The queue is full now: even the smallest call is refused, before it is tokenized.
  std::atomic<int> tokenized{0};
  EngineResults small = gated.engine->run(
      1,
      [&](std::size_t) -> base::Result<text::Encoding> {
        ++tokenized;
        text::Encoding e;
        e.ids = {1};
        e.type_ids = {0};
        return e;
      },
      base::Precision::kFp32, call);
  EXPECT_EQ(small.status.code(), base::StatusCode::kResourceExhausted);
  EXPECT_EQ(tokenized, 0);
  gated.release();
  waiting.join();
  fits.join();
  EXPECT_EQ(gated.engine->stats().refused_calls, 2u);
  EXPECT_EQ(gated.model->sequences_run(), 1u + 8u + 1u);  // nothing of the refused calls ran
}

TEST(EngineAdmissionTest, ACallReportsItsTokensOnceTokenizedAndZeroOnceItReturns) {
  // What the server corrects its reservation with: the real count before
  // the sequences queue (seen by the model only after), then 0.
  GatedEngine gated(EngineOptions{});
  std::vector<std::size_t> reported;
  std::size_t run_when_reported = 0;
  base::CallOptions call;
  call.tokenized = [&](std::size_t tokens) {
    if (reported.empty()) run_when_reported = gated.model->sequences_run();
    reported.push_back(tokens);
  };
  auto ids = sequences(3, 5);
  EngineResults r = gated.engine->run(3, encoder_of(ids), base::Precision::kFp32, call);
  ASSERT_TRUE(r.status.ok()) << r.status.to_string();
  EXPECT_EQ(reported, (std::vector<std::size_t>{15, 0}));
  EXPECT_EQ(run_when_reported, 0u);
  // A call refused after tokenizing (its real count does not fit behind
  // the work queued ahead) reports 0 too.
  reported.clear();
  GatedEngine busy(EngineOptions{});
  busy.occupy_worker();
  auto ahead = sequences(1, 4);
  std::thread waiting([&] {
    EngineResults queued = busy.engine->run(1, encoder_of(ahead), base::Precision::kFp32, base::CallOptions{});
    EXPECT_TRUE(queued.status.ok());
  });
  while (busy.engine->stats().queued_tokens < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  call.wait_for_room = false;
  std::vector<std::vector<std::int32_t>> big(1, std::vector<std::int32_t>(70000, 1));
  EngineResults refused = busy.engine->run(1, encoder_of(big), base::Precision::kFp32, call);
  busy.release();
  waiting.join();
  EXPECT_EQ(refused.status.code(), base::StatusCode::kResourceExhausted) << refused.status.to_string();
  EXPECT_EQ(reported, (std::vector<std::size_t>{70000, 0}));
}

TEST(EngineAdmissionTest, ACallIsRefusedWhenItsEstimatedWaitIsOverItsLimit) {
  EngineOptions options;
  options.batch_limits.token_budget = 64;
  GatedEngine gated(options);
  gated.model->set_per_token(std::chrono::microseconds(500));  // 2000 tokens/s
  base::CallOptions limited;
  limited.max_queue_wait = std::chrono::milliseconds(100);
  base::CallReport report;
  limited.report = &report;
  // Nothing measured yet: let in, whatever is ahead.
  auto warmup = sequences(4, 16);
  EngineResults first = gated.engine->run(4, encoder_of(warmup), base::Precision::kFp32, limited);
  ASSERT_TRUE(first.status.ok()) << first.status.to_string();
  EXPECT_GT(gated.engine->stats().tokens_per_second, 0);

  gated.occupy_worker(1);
  // 1000 tokens queued ahead: about 0.5 s at the measured throughput.
  auto ahead_ids = sequences(50, 20);
  std::thread ahead([&] {
    EngineResults r = gated.engine->run(50, encoder_of(ahead_ids), base::Precision::kFp32, base::CallOptions{});
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  });
  while (gated.engine->stats().queued_tokens < 1000) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  auto ids = sequences(2, 4);
  EngineResults refused = gated.engine->run(2, encoder_of(ids), base::Precision::kFp32, limited);
  EXPECT_EQ(refused.status.code(), base::StatusCode::kResourceExhausted) << refused.status.to_string();
  EXPECT_EQ(report.refusal, base::Refusal::kWait);
  EXPECT_GT(report.estimated_wait, std::chrono::milliseconds(100));
  EXPECT_NE(refused.status.message().find("over the limit of 100 ms"), std::string::npos) << refused.status.message();

  // With a limit above the estimate the same call waits its turn.
  base::CallOptions patient;
  patient.max_queue_wait = std::chrono::seconds(600);
  std::thread waits([&] {
    EngineResults r = gated.engine->run(2, encoder_of(ids), base::Precision::kFp32, patient);
    EXPECT_TRUE(r.status.ok()) << r.status.to_string();
  });
  while (gated.engine->stats().queued_tokens < 1008) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  gated.release();
  ahead.join();
  waits.join();
  EXPECT_EQ(gated.engine->stats().refused_calls, 1u);
}

TEST(EngineDeadlineTest, APassedDeadlineWithdrawsQueuedSequencesAndTheCallReturnsAtOnce) {
  GatedEngine gated(EngineOptions{});
  gated.occupy_worker();
  auto ids = sequences(10, 4);
  base::CallReport report;
  base::CallOptions call;
  call.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  call.report = &report;
  EngineResults late = gated.engine->run(10, encoder_of(ids), base::Precision::kFp32, call);  // returns with the gate closed
  EXPECT_EQ(late.status.code(), base::StatusCode::kDeadlineExceeded) << late.status.to_string();
  EXPECT_EQ(report.dropped, 10u);
  EXPECT_EQ(gated.engine->stats().dropped_items, 10u);
  EXPECT_EQ(gated.engine->stats().queued_tokens, 0u);
  gated.release();
  gated.wait_settled(11);
  EXPECT_EQ(gated.model->sequences_run(), 1u);  // only the blocker's
  EXPECT_EQ(gated.engine->stats().dropped_items, 10u);
}

TEST(EngineDeadlineTest, SequencesTheWorkerTookAreDroppedWhenTheirBatchComesAfterTheDeadline) {
  EngineOptions options;
  options.batch_limits.token_budget = 4;  // one sequence per batch
  GatedEngine gated(options);
  gated.model->close();
  auto ids = sequences(6, 4);
  base::CallOptions call;
  call.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  EngineResults late;
  std::thread caller([&] { late = gated.engine->run(6, encoder_of(ids), base::Precision::kFp32, call); });
  gated.model->wait_entered(1);  // the worker took all six; the first batch waits at the gate
  caller.join();                 // the deadline passes with the gate still closed
  EXPECT_EQ(late.status.code(), base::StatusCode::kDeadlineExceeded) << late.status.to_string();
  gated.release();
  gated.wait_settled(6);
  EXPECT_EQ(gated.model->sequences_run(), 1u);  // the batch already running; the other five never ran
  EXPECT_EQ(gated.engine->stats().dropped_items, 5u);
  EXPECT_EQ(gated.engine->stats().running_tokens, 0u);
}

TEST(EngineDeadlineTest, ACancelledCallReturnsUnavailableAndItsSequencesAreDropped) {
  GatedEngine gated(EngineOptions{});
  gated.occupy_worker();
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto ids = sequences(7, 4);
  base::CallOptions call;
  call.cancelled = cancelled;
  EngineResults result;
  std::thread caller([&] { result = gated.engine->run(7, encoder_of(ids), base::Precision::kFp32, call); });
  while (gated.engine->stats().queued_tokens < 28) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  *cancelled = true;
  caller.join();  // within the poll interval, the gate still closed
  EXPECT_EQ(result.status.code(), base::StatusCode::kUnavailable) << result.status.to_string();
  EXPECT_NE(result.status.message().find("cancelled"), std::string::npos);
  EXPECT_EQ(gated.engine->stats().dropped_items, 7u);
  gated.release();
  gated.wait_settled(8);
  EXPECT_EQ(gated.model->sequences_run(), 1u);
}

TEST(EngineDeadlineTest, CallsWithoutOptionsTakeTheirThreadsScope) {
  GatedEngine gated(EngineOptions{});
  auto ids = sequences(3, 4);
  {
    base::CallOptions outer;
    outer.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
    base::CallScope scope(outer);
    EngineResults r = gated.engine->run(3, encoder_of(ids), base::Precision::kFp32);
    EXPECT_EQ(r.status.code(), base::StatusCode::kDeadlineExceeded);
    {
      base::CallScope inner(base::CallOptions{});  // the innermost wins
      EXPECT_TRUE(gated.engine->run(3, encoder_of(ids), base::Precision::kFp32).status.ok());
    }
    EXPECT_FALSE(gated.engine->run(3, encoder_of(ids), base::Precision::kFp32).status.ok());
  }
  EXPECT_EQ(base::CallScope::current(), nullptr);
  EXPECT_TRUE(gated.engine->run(3, encoder_of(ids), base::Precision::kFp32).status.ok());
  EXPECT_EQ(gated.model->sequences_run(), 6u);
}

}  // namespace
}  // namespace winnow::inference
