#include "server/server.h"

#include <httplib.h>

#include "server/api.h"
#include "server/http_errors.h"
#include "server/routes.h"

namespace winnow::server {

Server::Server(const ServerOptions& options, store::Store& store, registry::ModelRegistry& registry)
    : options_(options), http_(std::make_unique<httplib::Server>()) {
  context_.store = &store;
  context_.registry = &registry;
  context_.services = pipeline::services_for(store, registry);
  context_.pipeline_limits = options.pipeline_limits;
  context_.limits = options.limits;
  context_.api_key = options.api_key;
  declare_metrics(context_.metrics);
  registry.observe_engine_batches([metrics = &context_.metrics](const std::string& model, std::size_t pairs,
                                                                 std::size_t tokens) {
    metrics->observe("winnow_engine_batch_pairs", {{"model", model}}, static_cast<double>(pairs));
    metrics->observe("winnow_engine_batch_tokens", {{"model", model}}, static_cast<double>(tokens));
  });

  const std::size_t threads = std::max<std::size_t>(options.threads, 2);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_read_timeout(options.read_timeout_seconds, 0);
  // Bodies are capped before they are read, by their declared length: JSON
  // routes at max_body_bytes, the NDJSON ingest route (which streams) at
  // max_ingest_bytes; the answer is a JSON 413 naming the limit. Bodies
  // without a length are capped as they arrive.
  http_->set_payload_max_length(std::max(options.limits.max_ingest_bytes, options.limits.max_body_bytes));
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("Content-Length")) return httplib::Server::HandlerResponse::Unhandled;
    const std::size_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    const bool ingest = req.method == "POST" && req.path.size() > 10 &&
                        req.path.compare(req.path.size() - 10, 10, "/documents") == 0;
    const std::size_t limit = ingest ? context_.limits.max_ingest_bytes : context_.limits.max_body_bytes;
    if (length <= limit) return httplib::Server::HandlerResponse::Unhandled;
    base::Status too_large = base::out_of_range((ingest ? "ingest body of " : "request body of ") +
                                                std::to_string(length) + " bytes is over the limit of " +
                                                std::to_string(limit) + (ingest ? ": split it into several requests" : ""));
    res.status = http_status(too_large.code());
    res.set_content(error_body(too_large).dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    base::Status status = res.status == 404   ? base::not_found("no such route")
                          : res.status == 413 ? base::out_of_range("request body too large")
                          : res.status == 405 ? base::invalid_argument("method not allowed on this route")
                                              : base::invalid_argument("bad request");
    res.set_content(error_body(status).dump(), "application/json");
  });

  api_ = std::make_unique<Api>(*http_, context_);
  add_system_routes(*api_);
  add_collection_routes(*api_);
  add_document_routes(*api_);
  add_retriever_routes(*api_);
  add_rerank_routes(*api_);
}

// Models loaded while the server ran keep reporting into its metrics; they
// score only through this server, which is stopped by now.
Server::~Server() { context_.registry->observe_engine_batches(nullptr); }

base::Status Server::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ <= 0) return base::failed_precondition("cannot listen on " + options_.host + ": no free port");
    return {};
  }
  if (!http_->bind_to_port(options_.host, options_.port)) {
    return base::failed_precondition("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                                     " (in use, or not an address of this machine)");
  }
  port_ = options_.port;
  return {};
}

base::Status Server::serve() {
  if (!http_->listen_after_bind()) return base::internal_error("the HTTP server stopped with an error");
  return {};
}

void Server::stop() { http_->stop(); }

}  // namespace winnow::server
