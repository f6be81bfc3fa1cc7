#include "server/server.h"

#include "server/api.h"
#include "server/routes.h"
#include "server/worker_pool.h"

namespace winnow::server {

Server::Server(const ServerOptions& options, store::Store& store, registry::ModelRegistry& registry)
    : options_(options) {
  context_.store = &store;
  context_.registry = &registry;
  context_.services = pipeline::services_for(store, registry);
  context_.pipeline_limits = options.pipeline_limits;
  context_.limits = options.limits;
  context_.admitted_tokens.set_capacity(options.limits.max_admitted_tokens);
  context_.cors_origins = options.cors_origins;
  context_.default_reranker = options.default_reranker;
  context_.readiness.set_store_open(true);  // opened by the caller before the server exists
  std::vector<std::string> startup_models;
  for (const registry::ModelEntry& entry : registry.entries()) {
    if (entry.load_at_start) startup_models.push_back(entry.name);
  }
  context_.readiness.set_models_loading(std::move(startup_models));
  declare_metrics(context_.metrics);
  Metrics* metrics = &context_.metrics;
  registry::ModelRegistry::EngineObserver observer;
  observer.batch = [metrics](const std::string& model, registry::ModelKind kind, std::size_t items,
                             std::size_t tokens) {
    const bool reranker = kind == registry::ModelKind::kReranker;
    metrics->observe(reranker ? "winnow_engine_batch_pairs" : "winnow_embedder_batch_texts", {{"model", model}},
                     static_cast<double>(items));
    metrics->observe(reranker ? "winnow_engine_batch_tokens" : "winnow_embedder_batch_tokens", {{"model", model}},
                     static_cast<double>(tokens));
  };
  observer.queue_wait = [metrics](const std::string& model, double seconds) {
    metrics->observe("winnow_engine_queue_wait_seconds", {{"model", model}}, seconds);
  };
  observer.dropped = [metrics](const std::string& model, std::size_t sequences) {
    metrics->increment("winnow_engine_dropped_sequences_total", {{"model", model}}, static_cast<double>(sequences));
  };
  registry.observe_engines(std::move(observer));

  api_ = std::make_unique<Api>(context_);
  add_all_routes(*api_);
  transport_ = std::make_unique<HttpTransport>(options.transport, *api_);
}

// Models loaded while the server ran keep reporting into its metrics; they
// score only through this server, which is stopped by now.
Server::~Server() {
  transport_.reset();
  context_.registry->observe_engines({});
}

base::Status Server::bind() {
  WINNOW_RETURN_IF_ERROR(context_.api_keys.configure(options_.api_keys, options_.api_key_file));
  return transport_->bind();
}

void Server::start() { transport_->start(); }

void Server::startup_models_loaded() { context_.readiness.set_models_loading({}); }

DrainOutcome Server::wait() { return transport_->wait(); }

void Server::drain(std::chrono::milliseconds deadline) {
  context_.readiness.set_draining();
  transport_->drain(deadline);
}

base::Status Server::reload_api_keys() { return context_.api_keys.reload(); }

}  // namespace winnow::server
