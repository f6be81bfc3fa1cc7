// What every route handler may use. Owned by Server; lives as long as it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/stage.h"
#include "registry/model_registry.h"
#include "server/api_keys.h"
#include "server/metrics.h"
#include "server/token_budget.h"
#include "store/store.h"

namespace winnow::server {

struct ServerLimits {
  std::size_t max_body_bytes = 32u << 20;          // JSON requests; above: 413
  std::size_t max_ingest_bytes = std::size_t{4} << 30;  // one NDJSON ingest request; above: 413
  std::size_t max_rerank_documents = 10000;        // POST /v1/rerank (--max-client-batch-size); above: 400
  std::size_t max_concurrent_requests = 512;       // scoring requests in flight; above: 429
  std::size_t max_admitted_tokens = 1 << 16;       // scoring tokens admitted (--max-queued-tokens); above: 429. 0: none
  std::chrono::milliseconds max_queue_wait{0};     // a request's estimated wait for a model; above: 429. 0: no limit
  std::chrono::milliseconds request_timeout{0};    // default deadline of scoring requests; 0: none
  std::size_t max_query_bytes = 64u << 10;         // a rerank query; above: 400
};

// What GET /ready reports. Written by the server and `winnow serve`, read by
// the readiness route on the I/O thread: never waits for a model load.
class Readiness {
 public:
  void set_store_open(bool open) { store_open_ = open; }
  void set_draining() { draining_ = true; }
  // The load_at_start models still loading ("" when none or all loaded).
  void set_models_loading(std::vector<std::string> names) {
    std::lock_guard<std::mutex> lock(mutex_);
    models_loading_ = std::move(names);
  }
  bool store_open() const { return store_open_; }
  bool draining() const { return draining_; }
  std::vector<std::string> models_loading() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return models_loading_;
  }

 private:
  std::atomic<bool> store_open_{false};
  std::atomic<bool> draining_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> models_loading_;
};

struct ServerContext {
  store::Store* store = nullptr;
  registry::ModelRegistry* registry = nullptr;
  pipeline::PipelineServices services;  // the pipeline's view of store and models
  pipeline::PipelineLimits pipeline_limits;
  ServerLimits limits;
  Metrics metrics;
  ApiKeys api_keys;                       // none: no authentication
  std::vector<std::string> cors_origins;  // none: CORS off; "*": any origin
  Readiness readiness;
  // The model TEI's POST /rerank uses when the request names none (TEI
  // serves one model); empty: such requests are refused.
  std::string default_reranker;
  std::atomic<std::size_t> scoring_in_flight{0};  // under limits.max_concurrent_requests
  TokenBudget admitted_tokens;                    // under limits.max_admitted_tokens (Server sets its capacity)
};

}  // namespace winnow::server
