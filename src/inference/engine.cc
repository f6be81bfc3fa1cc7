#include "inference/engine.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>

#include "base/stopwatch.h"

namespace winnow::inference {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting caller looks at its cancellation flag.
constexpr auto kCancelPoll = std::chrono::milliseconds(20);

std::string millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

// One caller's sequences while they are being run. Shared by the caller and
// the queue's items: a caller past its deadline returns while the worker may
// still hold some of its items. `results` is written by the worker for items
// it took (no lock: until pending drops, only it touches those slots) and
// moved out by the caller once pending is 0; the counters are used under the
// Engine's mutex.
struct Engine::Request {
  base::Precision precision = base::Precision::kFp32;
  EngineResults results;
  std::size_t pending = 0;  // queued or taken, not run or dropped yet
  std::size_t queued = 0;   // still in the queue
  std::size_t dropped = 0;  // dropped unrun (deadline, cancellation)
  Clock::time_point queued_at;
  std::optional<Clock::time_point> deadline;
  std::shared_ptr<const std::atomic<bool>> cancelled;
  std::atomic<bool> abandoned{false};  // the caller returned without the results
  std::condition_variable done;
};

Engine::Engine(std::unique_ptr<EngineModel> model, EngineOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      width_(model_->output_width()),
      compute_threads_(omp_get_max_threads()) {
  worker_ = std::thread([this] { worker_loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  worker_.join();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats stats = stats_;
  stats.queued_tokens = queued_tokens_;
  stats.running_tokens = running_tokens_;
  stats.tokens_per_second = recent_seconds_ > 0 ? recent_tokens_ / recent_seconds_ : 0;
  return stats;
}

bool Engine::unwanted(const Request& request) {
  if (request.abandoned.load(std::memory_order_relaxed)) return true;
  if (request.cancelled && request.cancelled->load(std::memory_order_relaxed)) return true;
  return request.deadline && Clock::now() >= *request.deadline;
}

std::optional<std::chrono::milliseconds> Engine::time_for(std::size_t tokens) const {
  if (recent_seconds_ <= 0 || recent_tokens_ <= 0) return std::nullopt;
  const double seconds = static_cast<double>(tokens) * recent_seconds_ / recent_tokens_;
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

std::size_t Engine::withdraw(const Request& request) const {
  std::size_t removed = 0;
  std::erase_if(queue_, [&](const Item& item) {
    if (item.request.get() != &request) return false;
    queued_tokens_ -= item.tokens;
    ++removed;
    return true;
  });
  return removed;
}

EngineResults Engine::run(std::size_t count, const EncodeFunction& encode, base::Precision precision) const {
  if (base::CallScope* scope = base::CallScope::current()) return run(count, encode, precision, scope->options());
  return run(count, encode, precision, base::CallOptions{});
}

EngineResults Engine::run(std::size_t count, const EncodeFunction& encode, base::Precision precision,
                          const base::CallOptions& call) const {
  const Clock::time_point started = Clock::now();
  auto request = std::make_shared<Request>();
  request->precision = precision == base::Precision::kAuto ? model_->info().precision : precision;
  request->deadline = call.deadline;
  request->cancelled = call.cancelled;
  EngineResults& results = request->results;
  results.width = width_;
  results.encodings.resize(count);
  results.errors.resize(count);
  results.outputs.assign(count * width_, 0.0f);

  // The call as a whole failed: every sequence gets `status`, no output.
  auto fail = [&](base::Status status) {
    EngineResults failed;
    failed.width = width_;
    failed.encodings.resize(count);
    failed.errors.assign(count, status);
    failed.outputs.assign(count * width_, 0.0f);
    failed.status = std::move(status);
    return failed;
  };
  auto gone = [&](std::string_view where) {
    if (call.cancelled && call.cancelled->load()) {
      return base::unavailable("the request was cancelled (its client went away) " + std::string(where));
    }
    return base::deadline_exceeded("the request's deadline passed " + std::string(where));
  };
  if (unwanted(*request)) return fail(gone("before its sequences were queued"));

  // Admission: a call that may not wait is refused before any of it queues.
  // The refusal, if any (caller holds mutex_), for a call of `tokens`.
  auto admission = [&](std::size_t tokens) -> std::optional<base::Status> {
    auto refuse = [&](base::Refusal why, std::chrono::milliseconds wait, base::Status status) {
      ++stats_.refused_calls;
      if (call.report) {
        call.report->refusal = why;
        call.report->estimated_wait = wait;
      }
      return std::optional<base::Status>(std::move(status));
    };
    const std::size_t ahead = queued_tokens_ + running_tokens_;
    const std::chrono::milliseconds estimated = time_for(ahead).value_or(std::chrono::milliseconds(0));
    if (!call.wait_for_room && ahead > 0 && ahead + tokens > options_.max_queued_tokens) {
      return refuse(base::Refusal::kQueueFull, estimated,
                    base::resource_exhausted("the engine's queue is full (" + std::to_string(ahead) +
                                             " tokens waiting or running, room for " +
                                             std::to_string(options_.max_queued_tokens) + "; this request brings " +
                                             std::to_string(tokens) + "); estimated wait " + millis(estimated)));
    }
    if (call.max_queue_wait && time_for(ahead)) {
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(started - call.waiting_since.value_or(started));
      if (waited + estimated > *call.max_queue_wait) {
        return refuse(base::Refusal::kWait, estimated,
                      base::resource_exhausted("the request would wait about " + millis(waited + estimated) +
                                               " in the queue (waited " + millis(waited) + ", " +
                                               std::to_string(ahead) + " tokens ahead), over the limit of " +
                                               millis(*call.max_queue_wait)));
      }
    }
    return std::nullopt;
  };
  // Checked first with the fewest tokens the call can bring (one per
  // sequence), so that under overload a refusal costs no tokenizing; then
  // again with its real count.
  if (!call.wait_for_room || call.max_queue_wait) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::optional<base::Status> refused = admission(count)) return fail(std::move(*refused));
  }

  const auto n = static_cast<std::int64_t>(count);
#pragma omp parallel for schedule(dynamic, 4) if (count >= kParallelTokenizeItems)
  for (std::int64_t i = 0; i < n; ++i) {
    base::Result<text::Encoding> encoding = encode(static_cast<std::size_t>(i));
    if (encoding.ok()) {
      results.encodings[i] = std::move(encoding).value();
    } else {
      results.errors[i] = encoding.status();
    }
  }

  // What the model would refuse is refused here, per sequence, so that one
  // bad sequence never fails another caller's sequences batched with it.
  const base::Status unprepared = model_->info().check_prepared(request->precision);
  std::vector<std::size_t> to_queue;
  std::size_t call_tokens = 0;
  model::TokenBatch single;
  for (std::size_t i = 0; i < count; ++i) {
    if (!results.errors[i].ok()) continue;
    if (!unprepared.ok()) {
      results.errors[i] = unprepared;
      continue;
    }
    single.clear();
    single.add(results.encodings[i]->ids, results.encodings[i]->type_ids);
    if (base::Status valid = model_->validate(single); !valid.ok()) {
      results.errors[i] = valid;
      continue;
    }
    to_queue.push_back(i);
    call_tokens += results.encodings[i]->ids.size();
  }
  if (to_queue.empty()) return std::move(request->results);
  // The caller learns the call's real token count before it queues, and 0
  // once it returns, however it returns.
  struct TokensDone {
    const std::function<void(std::size_t)>* report = nullptr;
    ~TokensDone() {
      if (report) (*report)(0);
    }
  } tokens_done;
  if (call.tokenized) {
    call.tokenized(call_tokens);
    tokens_done.report = &call.tokenized;
  }

  std::unique_lock<std::mutex> lock(mutex_);
  if (std::optional<base::Status> refused = admission(call_tokens)) {
    lock.unlock();
    return fail(std::move(*refused));
  }

  // Waits on `cv` until `ready`, the deadline or a cancellation; false when
  // the call is no longer wanted.
  auto wait_for = [&](std::condition_variable& cv, auto ready) {
    while (!ready()) {
      if (unwanted(*request)) return false;
      Clock::time_point until = Clock::now() + kCancelPoll;
      if (!call.cancelled) until = Clock::time_point::max();
      if (call.deadline) until = std::min(until, *call.deadline);
      if (until == Clock::time_point::max()) {
        cv.wait(lock);
      } else {
        cv.wait_until(lock, until);
      }
    }
    return true;
  };
  // Gives up on the call: its queued sequences leave the queue, those the
  // worker took are skipped when their batch comes.
  auto give_up = [&](std::string_view where) {
    request->abandoned = true;
    const std::size_t removed = withdraw(*request);
    request->queued -= removed;
    request->pending -= removed;
    request->dropped += removed;
    stats_.dropped_items += removed;
    if (call.report) call.report->dropped += request->dropped;
    lock.unlock();
    space_ready_.notify_all();
    if (removed > 0 && options_.on_dropped) options_.on_dropped(removed);
    return fail(gone(where));
  };

  request->queued_at = Clock::now();
  for (std::size_t i : to_queue) {
    const std::size_t tokens = results.encodings[i]->ids.size();
    // Backpressure: wait for room, unless the queue is empty (a sequence
    // larger than the bound must still get through). A call that may not
    // wait was let in whole above.
    if (call.wait_for_room) {
      const bool wanted = wait_for(space_ready_, [&] {
        return queued_tokens_ == 0 || queued_tokens_ + tokens <= options_.max_queued_tokens;
      });
      if (!wanted) return give_up("while it waited for room in the engine's queue");
    }
    queue_.push_back(Item{request, i, tokens});
    queued_tokens_ += tokens;
    stats_.peak_queued_tokens = std::max(stats_.peak_queued_tokens, queued_tokens_);
    ++request->pending;
    ++request->queued;
    work_ready_.notify_one();
  }
  if (!wait_for(request->done, [&] { return request->pending == 0; })) {
    return give_up("while its sequences waited in the engine");
  }
  if (request->dropped > 0) {
    // The worker dropped some of them: the deadline passed as their batch came.
    if (call.report) call.report->dropped += request->dropped;
    lock.unlock();
    return fail(gone("while its sequences were in the engine"));
  }
  lock.unlock();
  return std::move(request->results);
}

void Engine::worker_loop() {
  omp_set_num_threads(compute_threads_);
  std::vector<Item> batch;
  std::vector<QueuedSequence> view;
  std::vector<const Request*> callers;
  std::vector<double> waits;
  while (true) {
    waits.clear();
    base::Precision precision;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      const bool was_idle = queue_.empty();
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      if (was_idle && options_.batch_wait.count() > 0) {
        work_ready_.wait_for(lock, options_.batch_wait, [&] {
          return stopping_ || queued_tokens_ >= options_.batch_limits.token_budget;
        });
      }
      // One batch, planned from everything queued now (plan_next_batch):
      // what arrived while the previous batch ran competes on equal terms.
      const Clock::time_point now = Clock::now();
      view.clear();
      for (const Item& item : queue_) {
        view.push_back(QueuedSequence{reinterpret_cast<std::uintptr_t>(item.request.get()), item.tokens,
                                      static_cast<std::size_t>(item.request->precision),
                                      std::chrono::duration<double>(now - item.request->queued_at).count()});
      }
      const std::vector<std::size_t> chosen = plan_next_batch(view, options_.batch_limits, options_.scheduling);
      std::vector<bool> taken(queue_.size(), false);
      batch.clear();
      for (std::size_t i : chosen) {
        taken[i] = true;
        batch.push_back(queue_[i]);
      }
      std::size_t position = 0;
      std::erase_if(queue_, [&](const Item&) { return taken[position++]; });
      callers.clear();
      for (const Item& item : batch) {
        queued_tokens_ -= item.tokens;
        running_tokens_ += item.tokens;
        Request& request = *item.request;
        if (std::find(callers.begin(), callers.end(), &request) == callers.end()) callers.push_back(&request);
        if (--request.queued == 0) waits.push_back(std::chrono::duration<double>(now - request.queued_at).count());
      }
      stats_.max_round_requests = std::max(stats_.max_round_requests, callers.size());
      precision = batch.front().request->precision;
    }
    space_ready_.notify_all();
    if (options_.on_queue_wait) {
      for (double seconds : waits) options_.on_queue_wait(seconds);
    }
    run_batch(batch, precision);
  }
}

base::Status Engine::run_model(const model::TokenBatch& batch, base::Precision precision, std::span<float> out) {
  try {
    return model_->run(batch, precision, out);
  } catch (const std::exception& e) {
    return base::internal_error(std::string("the model failed: ") + e.what());
  }
}

void Engine::run_batch(std::vector<Item>& items, base::Precision precision) {
  model::TokenBatch one;
  auto encoding_of = [](const Item& item) -> const text::Encoding& {
    return *item.request->results.encodings[item.index];
  };
  // Sequences whose call is no longer wanted are dropped, not run.
  std::size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(items, [&](const Item& item) {
      Request& request = *item.request;
      if (!unwanted(request)) return false;
      running_tokens_ -= item.tokens;
      ++request.dropped;
      ++dropped;
      if (--request.pending == 0) request.done.notify_all();
      return true;
    });
    stats_.dropped_items += dropped;
  }
  if (dropped > 0 && options_.on_dropped) options_.on_dropped(dropped);
  if (items.empty()) return;
  batch_.clear();
  for (const Item& item : items) {
    const text::Encoding& encoding = encoding_of(item);
    batch_.add(encoding.ids, encoding.type_ids, encoding.shared_prefix);
  }
  out_.assign(items.size() * width_, 0.0f);
  base::Stopwatch model_time;
  const base::Status status = run_model(batch_, precision, out_);
  const double seconds = model_time.elapsed_ms() / 1000.0;
  // Where each sequence's output or error goes. Written without the lock:
  // until pending drops, only this thread touches these slots.
  auto deliver = [&](std::size_t k, std::span<const float> values, const base::Status& error) {
    const Item& item = items[k];
    EngineResults& results = item.request->results;
    if (error.ok()) {
      std::copy(values.begin(), values.end(), results.outputs.begin() + item.index * width_);
    } else {
      results.errors[item.index] = error;
    }
  };
  if (status.ok()) {
    for (std::size_t k = 0; k < items.size(); ++k) {
      deliver(k, std::span<const float>(out_).subspan(k * width_, width_), {});
    }
  } else if (items.size() == 1) {
    deliver(0, {}, status);
  } else {
    // Isolate the failure: each sequence alone, so the others still get results.
    std::vector<float> alone(width_);
    for (std::size_t k = 0; k < items.size(); ++k) {
      one.clear();
      const text::Encoding& encoding = encoding_of(items[k]);
      one.add(encoding.ids, encoding.type_ids, encoding.shared_prefix);
      const base::Status s = run_model(one, precision, alone);
      deliver(k, alone, s);
    }
  }
  if (options_.on_batch) options_.on_batch(items.size(), batch_.num_tokens());
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.batches;
  stats_.items += items.size();
  stats_.max_batch_items = std::max(stats_.max_batch_items, items.size());
  // Throughput for admission's wait estimates: moving averages, so that
  // it follows the load's lengths and the machine's other work.
  if (status.ok()) {
    constexpr double kWeight = 0.2;
    const double tokens = static_cast<double>(batch_.num_tokens());
    if (recent_seconds_ <= 0) {
      recent_tokens_ = tokens;
      recent_seconds_ = std::max(seconds, 1e-6);
    } else {
      recent_tokens_ += kWeight * (tokens - recent_tokens_);
      recent_seconds_ += kWeight * (std::max(seconds, 1e-6) - recent_seconds_);
    }
  }
  for (const Item& item : items) {
    running_tokens_ -= item.tokens;
    Request& request = *item.request;
    // Notified under the lock: the caller cannot return (and destroy the
    // Request) before this thread lets go of it.
    if (--request.pending == 0) request.done.notify_all();
  }
}

}  // namespace winnow::inference
