#include "inference/scorer.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "base/cpu_features.h"

namespace winnow::inference {

namespace {

// Requests at least this large are tokenized on all cores; smaller ones on
// the caller's thread alone, so that many concurrent callers do not each
// start a team of OpenMP threads next to the worker's.
constexpr std::size_t kParallelTokenizePairs = 64;

}  // namespace

double relevance_score(float logit) { return 1.0 / (1.0 + std::exp(-static_cast<double>(logit))); }

base::Result<std::size_t> resolve_max_length(std::optional<std::size_t> requested,
                                             std::optional<std::size_t> tokenizer_max_length,
                                             std::size_t model_max_tokens) {
  if (requested) {
    if (*requested == 0) return base::invalid_argument("max_length must be at least 1");
    if (*requested > model_max_tokens) {
      return base::invalid_argument("max_length " + std::to_string(*requested) + " exceeds the model's limit of " +
                                    std::to_string(model_max_tokens) + " tokens (its position embeddings)");
    }
    return *requested;
  }
  if (tokenizer_max_length && *tokenizer_max_length > 0 && *tokenizer_max_length < model_max_tokens) {
    return *tokenizer_max_length;
  }
  return model_max_tokens;
}

base::Result<base::Precision> resolve_precision(base::Precision requested) {
  WINNOW_RETURN_IF_ERROR(kernels::check_cpu_dispatch());
  if (requested != base::Precision::kAuto) {
    WINNOW_RETURN_IF_ERROR(kernels::check_precision_supported(requested));
    return requested;
  }
  const base::CpuFeatures& cpu = base::cpu_features();
  if (cpu.avx512_vnni) return base::Precision::kInt8;
  if (cpu.avx512_bf16) return base::Precision::kBf16;
  return base::Precision::kFp32;
}

// One caller's pairs while they are being scored. Lives on the caller's
// stack; `pending` and `done` are used under the Scorer's mutex.
struct Scorer::Request {
  base::Precision precision = base::Precision::kFp32;
  std::vector<std::optional<text::Encoding>> encodings;
  std::vector<base::Status> errors;
  std::vector<float> logits;
  std::size_t pending = 0;
  std::condition_variable done;
};

base::Result<std::unique_ptr<Scorer>> Scorer::create(std::shared_ptr<const text::Tokenizer> tokenizer,
                                                     std::shared_ptr<const model::CrossEncoder> model,
                                                     const ScorerOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(std::size_t max_length,
                          resolve_max_length(options.max_length, tokenizer->model_max_length(),
                                             model->info().max_tokens));
  std::size_t specials = tokenizer->special_tokens_count(/*pair=*/true);
  if (max_length <= specials) {
    return base::invalid_argument("max_length " + std::to_string(max_length) + " leaves no room for text: a pair takes " +
                                  std::to_string(specials) + " special tokens");
  }
  std::vector<base::Precision> wanted = options.extra_precisions;
  wanted.push_back(options.precision);
  for (base::Precision p : wanted) {
    if (p != base::Precision::kAuto) WINNOW_RETURN_IF_ERROR(model->info().check_prepared(p));
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(tokenizer), std::move(model), options, max_length));
}

base::Result<std::unique_ptr<Scorer>> Scorer::load(const std::filesystem::path& model_dir,
                                                   const ScorerOptions& options) {
  model::LoadOptions load;
  load.precisions.clear();
  std::vector<base::Precision> requested{options.precision};
  requested.insert(requested.end(), options.extra_precisions.begin(), options.extra_precisions.end());
  for (base::Precision p : requested) {
    WINNOW_ASSIGN_OR_RETURN(base::Precision resolved, resolve_precision(p));
    if (std::find(load.precisions.begin(), load.precisions.end(), resolved) == load.precisions.end()) {
      load.precisions.push_back(resolved);
    }
  }
  WINNOW_ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::load_dir(model_dir));
  WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<model::CrossEncoder> model, model::CrossEncoder::load(model_dir, load));
  ScorerOptions resolved = options;
  resolved.precision = load.precisions.front();
  resolved.extra_precisions.assign(load.precisions.begin() + 1, load.precisions.end());
  return create(std::make_shared<const text::Tokenizer>(std::move(tokenizer)),
                std::shared_ptr<const model::CrossEncoder>(std::move(model)), resolved);
}

Scorer::Scorer(std::shared_ptr<const text::Tokenizer> tokenizer, std::shared_ptr<const model::CrossEncoder> model,
               const ScorerOptions& options, std::size_t max_length)
    : tokenizer_(std::move(tokenizer)),
      model_(std::move(model)),
      options_(options),
      max_length_(max_length),
      compute_threads_(omp_get_max_threads()) {
  worker_ = std::thread([this] { worker_loop(); });
}

Scorer::~Scorer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  worker_.join();
}

Scorer::Stats Scorer::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

std::vector<base::Result<PairScore>> Scorer::score_pairs(std::span<const PairText> pairs) const {
  return score_pairs(pairs, base::Precision::kAuto);
}

std::vector<base::Result<PairScore>> Scorer::score_pairs(std::span<const PairText> pairs,
                                                         base::Precision precision) const {
  const std::size_t n = pairs.size();
  Request request;
  request.precision = precision == base::Precision::kAuto ? model_->default_precision() : precision;
  request.encodings.resize(n);
  request.errors.resize(n);
  request.logits.assign(n, 0.0f);

  // Tokenizers are const and thread-safe.
  const auto count = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(dynamic, 4) if (n >= kParallelTokenizePairs)
  for (std::int64_t i = 0; i < count; ++i) {
    auto encoding = tokenizer_->encode_pair(pairs[i].query, pairs[i].document, max_length_, options_.truncation);
    if (encoding.ok()) {
      request.encodings[i] = std::move(encoding).value();
    } else {
      request.errors[i] = encoding.status();
    }
  }

  // What the model would refuse is refused here, per pair, so that one bad
  // pair never fails another caller's pairs batched with it.
  const base::Status unprepared = model_->info().check_prepared(request.precision);
  std::vector<std::size_t> to_queue;
  model::TokenBatch single;
  for (std::size_t i = 0; i < n; ++i) {
    if (!request.errors[i].ok()) continue;
    if (!unprepared.ok()) {
      request.errors[i] = unprepared;
      continue;
    }
    single.clear();
    single.add(request.encodings[i]->ids, request.encodings[i]->type_ids);
    base::Status valid = model_->validate(single);
    if (!valid.ok()) {
      request.errors[i] = valid;
      continue;
    }
    to_queue.push_back(i);
  }

  if (!to_queue.empty()) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (std::size_t i : to_queue) {
      const std::size_t tokens = request.encodings[i]->ids.size();
      // Backpressure: wait for room, unless the queue is empty (a pair larger
      // than the bound must still get through).
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
  }

  std::vector<base::Result<PairScore>> results;
  results.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!request.errors[i].ok()) {
      results.emplace_back(request.errors[i]);
    } else {
      results.emplace_back(
          PairScore{request.logits[i], request.encodings[i]->ids.size(), request.encodings[i]->truncated});
    }
  }
  return results;
}

void Scorer::worker_loop() {
  // The thread count the Scorer was created under (omp_set_num_threads is per thread).
  omp_set_num_threads(compute_threads_);
  std::vector<Item> round;
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
      std::vector<const Request*> callers;
      for (const Item& item : round) {
        if (std::find(callers.begin(), callers.end(), item.request) == callers.end()) callers.push_back(item.request);
      }
      stats_.max_round_requests = std::max(stats_.max_round_requests, callers.size());
    }
    space_ready_.notify_all();
    run_round(round);
  }
}

void Scorer::run_round(std::vector<Item>& items) {
  // Length-sorted batches under the token budget, one precision at a time.
  std::vector<Item> group;
  std::vector<std::size_t> lengths;
  model::TokenBatch batch;
  while (!items.empty()) {
    const base::Precision precision = items.front().request->precision;
    group.clear();
    std::erase_if(items, [&](const Item& item) {
      if (item.request->precision != precision) return false;
      group.push_back(item);
      return true;
    });
    lengths.clear();
    for (const Item& item : group) lengths.push_back(item.request->encodings[item.index]->ids.size());
    for (const std::vector<std::size_t>& positions : plan_batches(lengths, options_.batch_limits)) {
      batch.clear();
      for (std::size_t p : positions) {
        const text::Encoding& e = *group[p].request->encodings[group[p].index];
        batch.add(e.ids, e.type_ids);
      }
      // Errors are the pairs' results; no exception leaves this thread.
      base::Result<std::vector<float>> logits = base::internal_error("not run");
      try {
        logits = model_->score(batch, precision);
      } catch (const std::exception& e) {
        logits = base::internal_error(std::string("scoring failed: ") + e.what());
      }
      if (!logits.ok() && positions.size() > 1) {
        // Isolate the failure: each pair alone, so the others still get scores.
        std::vector<float> alone(positions.size());
        std::vector<base::Status> errors(positions.size());
        for (std::size_t k = 0; k < positions.size(); ++k) {
          const text::Encoding& e = *group[positions[k]].request->encodings[group[positions[k]].index];
          model::TokenBatch one;
          one.add(e.ids, e.type_ids);
          base::Result<std::vector<float>> r = base::internal_error("not run");
          try {
            r = model_->score(one, precision);
          } catch (const std::exception& ex) {
            r = base::internal_error(std::string("scoring failed: ") + ex.what());
          }
          if (r.ok()) {
            alone[k] = (*r)[0];
          } else {
            errors[k] = r.status();
          }
        }
        for (std::size_t k = 0; k < positions.size(); ++k) {
          Request& request = *group[positions[k]].request;
          request.logits[group[positions[k]].index] = alone[k];
          request.errors[group[positions[k]].index] = errors[k];
        }
      } else {
        for (std::size_t k = 0; k < positions.size(); ++k) {
          Request& request = *group[positions[k]].request;
          if (logits.ok()) {
            request.logits[group[positions[k]].index] = (*logits)[k];
          } else {
            request.errors[group[positions[k]].index] = logits.status();
          }
        }
      }
      if (options_.on_batch) options_.on_batch(positions.size(), batch.num_tokens());
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.batches;
      stats_.pairs += positions.size();
      stats_.max_batch_pairs = std::max(stats_.max_batch_pairs, positions.size());
      for (std::size_t p : positions) {
        Request& request = *group[p].request;
        // Notified under the lock: the caller cannot return (and destroy the
        // Request) before this thread lets go of it.
        if (--request.pending == 0) request.done.notify_all();
      }
    }
  }
}

base::Result<std::vector<PairScore>> Scorer::score(std::string_view query,
                                                   std::span<const std::string> documents) const {
  return score(query, documents, base::Precision::kAuto);
}

base::Result<std::vector<PairScore>> Scorer::score(std::string_view query, std::span<const std::string> documents,
                                                   base::Precision precision) const {
  std::vector<PairText> pairs;
  pairs.reserve(documents.size());
  for (const std::string& document : documents) pairs.push_back({query, document});
  std::vector<base::Result<PairScore>> results = score_pairs(pairs, precision);
  std::vector<PairScore> scores;
  scores.reserve(results.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) return results[i].status().with_context("document " + std::to_string(i));
    scores.push_back(*results[i]);
  }
  return scores;
}

}  // namespace winnow::inference
