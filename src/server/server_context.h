// What every route handler may use. Owned by Server; lives as long as it.
#pragma once

#include <cstddef>
#include <string>

#include "pipeline/stage.h"
#include "registry/model_registry.h"
#include "server/metrics.h"
#include "store/store.h"

namespace winnow::server {

struct ServerLimits {
  std::size_t max_body_bytes = 32u << 20;          // JSON requests; above: 413
  std::size_t max_ingest_bytes = std::size_t{4} << 30;  // one NDJSON ingest request; above: 413
  std::size_t max_rerank_documents = 10000;        // POST /v1/rerank; above: 400
  std::size_t max_query_bytes = 64u << 10;         // a rerank query; above: 400
};

struct ServerContext {
  store::Store* store = nullptr;
  registry::ModelRegistry* registry = nullptr;
  pipeline::PipelineServices services;  // the pipeline's view of store and models
  pipeline::PipelineLimits pipeline_limits;
  ServerLimits limits;
  Metrics metrics;
  std::string api_key;  // empty: no authentication
};

}  // namespace winnow::server
