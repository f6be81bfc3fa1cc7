#include "server/api.h"

#include "base/files.h"
#include "base/stopwatch.h"
#include "server/http_errors.h"

namespace winnow::server {
namespace {

void write(httplib::Response& response, const Reply& reply) {
  response.status = reply.status;
  if (!reply.text.empty() || reply.body.is_null()) {
    response.set_content(reply.text, reply.content_type.c_str());
  } else {
    response.set_content(reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "application/json");
  }
}

bool authorized(const httplib::Request& request, const std::string& api_key) {
  if (api_key.empty()) return true;
  std::string header = request.get_header_value("Authorization");
  if (header == "Bearer " + api_key) return true;
  return request.get_header_value("X-API-Key") == api_key;
}

}  // namespace

void declare_metrics(Metrics& metrics) {
  metrics.declare_counter("winnow_http_requests_total", "HTTP requests by route, method and status.");
  metrics.declare_histogram("winnow_http_request_duration_seconds", "HTTP request latency by route.",
                            latency_buckets());
  metrics.declare_histogram("winnow_pipeline_stage_duration_seconds", "Pipeline stage latency by stage_id.",
                            latency_buckets());
  metrics.declare_counter("winnow_documents_scored_total", "Documents scored by rerank models, by model.");
  metrics.declare_histogram("winnow_rerank_documents", "Documents per rerank call (the engine batches them).",
                            {1, 5, 10, 20, 50, 100, 200, 500, 1000, 5000});
  metrics.declare_histogram("winnow_engine_batch_pairs",
                            "Pairs per batch the cross-encoder ran, by model (concurrent requests share batches).",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  metrics.declare_histogram("winnow_engine_batch_tokens", "Tokens per batch the cross-encoder ran, by model.",
                            {64, 256, 1024, 2048, 4096, 8192, 16384, 32768});
  metrics.declare_counter("winnow_documents_ingested_total", "Documents stored by ingest, by collection.");
}

void Api::respond(const std::string& route, const httplib::Request& request, httplib::Response& response,
                  const std::function<base::Result<Reply>()>& run, bool public_route) {
  base::Stopwatch stopwatch;
  Reply reply;
  if (!public_route && !authorized(request, context_.api_key)) {
    base::Status denied = base::unauthenticated("missing or wrong API key: send Authorization: Bearer <key>");
    reply = {http_status(denied.code()), error_body(denied)};
  } else {
    try {
      base::Result<Reply> result = run();
      if (result.ok()) {
        reply = std::move(*result);
      } else {
        reply = {http_status(result.status().code()), error_body(result.status())};
      }
    } catch (const std::exception& e) {
      base::Status internal = base::internal_error(std::string("unexpected error: ") + e.what());
      reply = {500, error_body(internal)};
    }
  }
  write(response, reply);
  context_.metrics.increment("winnow_http_requests_total",
                             {{"route", route}, {"method", request.method}, {"status", std::to_string(reply.status)}});
  context_.metrics.observe("winnow_http_request_duration_seconds", {{"route", route}},
                           stopwatch.elapsed_ms() / 1000.0);
}

void Api::get(const std::string& route, const std::string& pattern, Handler handler, bool public_route) {
  http_.Get(pattern, [this, route, handler, public_route](const httplib::Request& req, httplib::Response& res) {
    respond(route, req, res, [&] { return handler(req); }, public_route);
  });
}

void Api::post(const std::string& route, const std::string& pattern, Handler handler) {
  http_.Post(pattern, [this, route, handler](const httplib::Request& req, httplib::Response& res) {
    respond(route, req, res, [&] { return handler(req); }, false);
  });
}

void Api::del(const std::string& route, const std::string& pattern, Handler handler) {
  http_.Delete(pattern, [this, route, handler](const httplib::Request& req, httplib::Response& res) {
    respond(route, req, res, [&] { return handler(req); }, false);
  });
}

void Api::post_streaming(const std::string& route, const std::string& pattern, StreamingHandler handler) {
  http_.Post(pattern, [this, route, handler](const httplib::Request& req, httplib::Response& res,
                                             const httplib::ContentReader& reader) {
    respond(route, req, res, [&] { return handler(req, reader); }, false);
  });
}

base::Result<nlohmann::json> json_body(const httplib::Request& request, const ServerContext& context) {
  if (request.body.size() > context.limits.max_body_bytes) {
    return base::out_of_range("request body of " + std::to_string(request.body.size()) +
                                    " bytes is over the limit of " + std::to_string(context.limits.max_body_bytes));
  }
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return base::invalid_argument("request body: expected a JSON object, got nothing");
  }
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json body, base::parse_json(request.body, "request body"));
  if (!body.is_object()) return base::invalid_argument("request body: expected a JSON object");
  return body;
}

std::string path_param(const httplib::Request& request, std::size_t n) {
  if (n >= request.matches.size()) return "";
  return httplib::detail::decode_url(request.matches[n].str(), false);
}

}  // namespace winnow::server
