#include "inference/engine.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

namespace winnow::inference {

// One caller's sequences while they are being run. Lives on the caller's
// stack; `pending` and `done` are used under the Engine's mutex.
struct Engine::Request {
  base::Precision precision = base::Precision::kFp32;
  EngineResults* results = nullptr;
  std::size_t pending = 0;
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
  return stats_;
}

EngineResults Engine::run(std::size_t count, const EncodeFunction& encode, base::Precision precision) const {
  EngineResults results;
  results.width = width_;
  results.encodings.resize(count);
  results.errors.resize(count);
  results.outputs.assign(count * width_, 0.0f);
  Request request;
  request.precision = precision == base::Precision::kAuto ? model_->info().precision : precision;
  request.results = &results;

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
  const base::Status unprepared = model_->info().check_prepared(request.precision);
  std::vector<std::size_t> to_queue;
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
  }
  if (to_queue.empty()) return results;

  std::unique_lock<std::mutex> lock(mutex_);
  for (std::size_t i : to_queue) {
    const std::size_t tokens = results.encodings[i]->ids.size();
    // Backpressure: wait for room, unless the queue is empty (a sequence
    // larger than the bound must still get through).
    space_ready_.wait(lock, [&] {
      return queued_tokens_ == 0 || queued_tokens_ + tokens <= options_.max_queued_tokens;
    });
    queue_.push_back(Item{&request, i});
    queued_tokens_ += tokens;
    stats_.peak_queued_tokens = std::max(stats_.peak_queued_tokens, queued_tokens_);
    ++request.pending;
    work_ready_.notify_one();
  }
  request.done.wait(lock, [&] { return request.pending == 0; });
  return results;
}

void Engine::worker_loop() {
  omp_set_num_threads(compute_threads_);
  std::vector<Item> round;
  std::vector<const Request*> callers;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      if (options_.batch_wait.count() > 0) {
        work_ready_.wait_for(lock, options_.batch_wait, [&] {
          return stopping_ || queued_tokens_ >= options_.batch_limits.token_budget;
        });
      }
      // Everything queued so far makes one round: it was waiting while the
      // previous round ran, so rounds grow with the load.
      round.assign(queue_.begin(), queue_.end());
      queue_.clear();
      queued_tokens_ = 0;
      callers.clear();
      for (const Item& item : round) {
        if (std::find(callers.begin(), callers.end(), item.request) == callers.end()) callers.push_back(item.request);
      }
      stats_.max_round_requests = std::max(stats_.max_round_requests, callers.size());
    }
    space_ready_.notify_all();
    run_round(round);
  }
}

base::Status Engine::run_model(const model::TokenBatch& batch, base::Precision precision, std::span<float> out) {
  try {
    return model_->run(batch, precision, out);
  } catch (const std::exception& e) {
    return base::internal_error(std::string("the model failed: ") + e.what());
  }
}

void Engine::run_round(std::vector<Item>& items) {
  // Length-sorted batches under the token budget, one precision at a time.
  std::vector<Item> group;
  std::vector<std::size_t> lengths;
  std::vector<float> out;
  model::TokenBatch batch, one;
  auto encoding_of = [](const Item& item) -> const text::Encoding& {
    return *item.request->results->encodings[item.index];
  };
  while (!items.empty()) {
    const base::Precision precision = items.front().request->precision;
    group.clear();
    std::erase_if(items, [&](const Item& item) {
      if (item.request->precision != precision) return false;
      group.push_back(item);
      return true;
    });
    lengths.clear();
    for (const Item& item : group) lengths.push_back(encoding_of(item).ids.size());
    for (const std::vector<std::size_t>& positions : plan_batches(lengths, options_.batch_limits)) {
      batch.clear();
      for (std::size_t p : positions) batch.add(encoding_of(group[p]).ids, encoding_of(group[p]).type_ids);
      out.assign(positions.size() * width_, 0.0f);
      const base::Status status = run_model(batch, precision, out);
      // Where each sequence's output or error goes. Written without the lock:
      // until pending drops, only this thread touches these slots.
      auto deliver = [&](std::size_t k, std::span<const float> values, const base::Status& error) {
        const Item& item = group[positions[k]];
        EngineResults& results = *item.request->results;
        if (error.ok()) {
          std::copy(values.begin(), values.end(), results.outputs.begin() + item.index * width_);
        } else {
          results.errors[item.index] = error;
        }
      };
      if (status.ok()) {
        for (std::size_t k = 0; k < positions.size(); ++k) {
          deliver(k, std::span<const float>(out).subspan(k * width_, width_), {});
        }
      } else if (positions.size() == 1) {
        deliver(0, {}, status);
      } else {
        // Isolate the failure: each sequence alone, so the others still get results.
        std::vector<float> alone(width_);
        for (std::size_t k = 0; k < positions.size(); ++k) {
          one.clear();
          one.add(encoding_of(group[positions[k]]).ids, encoding_of(group[positions[k]]).type_ids);
          const base::Status s = run_model(one, precision, alone);
          deliver(k, alone, s);
        }
      }
      if (options_.on_batch) options_.on_batch(positions.size(), batch.num_tokens());
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.batches;
      stats_.items += positions.size();
      stats_.max_batch_items = std::max(stats_.max_batch_items, positions.size());
      for (std::size_t p : positions) {
        Request& request = *group[p].request;
        // Notified under the lock: the caller cannot return (and destroy the
        // Request) before this thread lets go of it.
        if (--request.pending == 0) request.done.notify_all();
      }
    }
  }
}

}  // namespace winnow::inference
