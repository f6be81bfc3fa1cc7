#include "server/api.h"

#include <strings.h>

#include "base/files.h"
#include "base/stopwatch.h"
#include "server/admission.h"
#include "server/http_errors.h"
#include "server/logging.h"

namespace winnow::server {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t begin = 0;
  while (true) {
    const std::size_t slash = path.find('/', begin);
    segments.emplace_back(path.substr(begin, slash - begin));
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  return segments;
}

Response to_response(const Reply& reply) {
  Response response;
  response.status = reply.status;
  response.headers = reply.headers;
  if (!reply.text.empty() || reply.body.is_null()) {
    response.body = reply.text;
    response.content_type = reply.content_type;
  } else {
    response.body = reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    response.content_type = "application/json";
  }
  return response;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

// An error the server made for `route` (not one its handler answered), in the route's shape.
Response shaped(const Route& route, Response response) {
  if (route.error_shape && response.error_status != base::StatusCode::kOk) route.error_shape(response);
  return response;
}

const char* kAllowedHeaders = "Authorization, Content-Type, X-API-Key, X-Request-Id";

}  // namespace

Response error_response(const base::Status& status) {
  Response response;
  response.status = http_status(status.code());
  response.body = error_body(status).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.error_code = error_code(status.code());
  response.error_message = status.message();
  response.error_status = status.code();
  return response;
}

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
  metrics.declare_histogram("winnow_embedder_batch_texts", "Texts per batch an embedding model ran, by model.",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  metrics.declare_histogram("winnow_embedder_batch_tokens", "Tokens per batch an embedding model ran, by model.",
                            {64, 256, 1024, 2048, 4096, 8192, 16384, 32768});
  declare_admission_metrics(metrics);
}

bool match_route(const std::vector<std::string>& segments, std::string_view raw_path, Params* params) {
  std::vector<std::string> parts = split_path(raw_path);
  if (parts.size() != segments.size()) return false;
  Params found;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& want = segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (parts[i].empty()) return false;
      found.emplace_back(want.substr(1, want.size() - 2), std::move(parts[i]));
    } else if (want != parts[i]) {
      return false;
    }
  }
  if (params) *params = std::move(found);
  return true;
}

void Api::add(const std::string& method, const std::string& route, Handler handler, Access access, Lane lane,
              bool streaming, bool scoring, ErrorShape error_shape) {
  routes_.push_back(
      {method, route, split_path(route), std::move(handler), access, lane, streaming, scoring, error_shape});
}

void Api::post_scoring(const std::string& route, Handler handler, ErrorShape error_shape) {
  add("POST", route, std::move(handler), Access::kKey, Lane::kWorkers, false, true, error_shape);
}

void Api::get(const std::string& route, Handler handler, Access access, Lane lane) {
  add("GET", route, std::move(handler), access, lane, false);
}

void Api::post(const std::string& route, Handler handler) {
  add("POST", route, std::move(handler), Access::kKey, Lane::kWorkers, false);
}

void Api::del(const std::string& route, Handler handler) {
  add("DELETE", route, std::move(handler), Access::kKey, Lane::kWorkers, false);
}

void Api::post_streaming(const std::string& route, Handler handler) {
  add("POST", route, std::move(handler), Access::kKey, Lane::kWorkers, true);
}

bool Api::authorized(const Request& request) const {
  if (!context_.api_keys.enabled()) return true;
  std::string_view authorization = request.header("Authorization");
  if (starts_with_nocase(authorization, "Bearer ")) {
    std::string_view key = authorization.substr(7);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    if (context_.api_keys.accepts(key)) return true;
  }
  if (request.has_header("X-API-Key")) return context_.api_keys.accepts(request.header("X-API-Key"));
  return false;
}

bool Api::origin_allowed(std::string_view origin) const {
  for (const std::string& allowed : context_.cors_origins) {
    if (allowed == "*" || allowed == origin) return true;
  }
  return false;
}

void Api::add_cors_headers(const Request& request, Response& response) const {
  if (context_.cors_origins.empty() || !request.has_header("Origin")) return;
  std::string_view origin = request.header("Origin");
  if (!origin_allowed(origin)) return;
  const bool any = std::find(context_.cors_origins.begin(), context_.cors_origins.end(), "*") !=
                   context_.cors_origins.end();
  response.headers.emplace_back("Access-Control-Allow-Origin", any ? "*" : std::string(origin));
  response.headers.emplace_back("Vary", "Origin");
  response.headers.emplace_back("Access-Control-Expose-Headers", "X-Request-Id");
}

// OPTIONS: the methods of the path, and CORS preflights. Public, as browsers
// send preflights without credentials.
std::optional<Response> Api::options_answer(const Request& request) const {
  std::string methods;
  for (const Route& route : routes_) {
    if (!match_route(route.segments, request.path, nullptr)) continue;
    if (methods.find(route.method) == std::string::npos) methods += route.method + ", ";
  }
  if (methods.empty()) return error_response(base::not_found("no such route: " + request.path));
  if (methods.find("GET") != std::string::npos) methods += "HEAD, ";
  methods += "OPTIONS";
  Response response;
  response.status = 204;
  response.content_type.clear();
  if (!request.has_header("Origin") || !request.has_header("Access-Control-Request-Method")) {
    response.headers.emplace_back("Allow", methods);
    return response;
  }
  std::string_view origin = request.header("Origin");
  if (!origin_allowed(origin)) {
    Response refused = error_response(base::permission_denied(
        "origin " + std::string(origin) + " is not allowed to call this server" +
        (context_.cors_origins.empty() ? " (CORS is off: see --cors-origin)" : " (see --cors-origin)")));
    return refused;
  }
  add_cors_headers(request, response);
  response.headers.emplace_back("Access-Control-Allow-Methods", methods);
  response.headers.emplace_back("Access-Control-Allow-Headers", kAllowedHeaders);
  response.headers.emplace_back("Access-Control-Max-Age", "600");
  return response;
}

Dispatch Api::route(Request& request) const {
  Dispatch dispatch;
  if (request.path.empty() || request.path.front() != '/') {
    dispatch.answer = error_response(base::invalid_argument("request target must be a path starting with /"));
    return dispatch;
  }
  if (request.method == "OPTIONS") {
    dispatch.answer = options_answer(request);
    return dispatch;
  }
  const std::string& method = request.method == "HEAD" ? std::string("GET") : request.method;
  const Route* found = nullptr;
  Params raw_params;
  std::string allowed;
  for (const Route& route : routes_) {
    Params params;
    if (!match_route(route.segments, request.path, &params)) continue;
    if (route.method == method) {
      found = &route;
      raw_params = std::move(params);
      break;
    }
    if (allowed.find(route.method) == std::string::npos) allowed += route.method + ", ";
  }
  if (!found) {
    if (allowed.empty()) {
      dispatch.answer = error_response(base::not_found("no such route: " + request.method + " " + request.path));
    } else {
      if (allowed.find("GET") != std::string::npos) allowed += "HEAD, ";
      allowed += "OPTIONS";
      Response response = error_response(
          base::invalid_argument("method " + request.method + " not allowed on " + request.path + " (allowed: " +
                                 allowed + ")"));
      response.status = 405;
      response.headers.emplace_back("Allow", allowed);
      dispatch.answer = std::move(response);
    }
    return dispatch;
  }
  for (auto& [name, raw] : raw_params) {
    base::Result<std::string> decoded = percent_decode(raw, false, "path parameter " + name);
    if (!decoded.ok()) {
      dispatch.answer = shaped(*found, error_response(decoded.status()));
      return dispatch;
    }
    request.path_params.emplace_back(name, std::move(*decoded));
  }
  if (const std::size_t question = request.target.find('?'); question != std::string::npos) {
    base::Result<Params> query = parse_query(std::string_view(request.target).substr(question + 1));
    if (!query.ok()) {
      dispatch.answer = shaped(*found, error_response(query.status()));
      return dispatch;
    }
    request.query_params = std::move(*query);
  }
  if (found->access == Access::kKey && !authorized(request)) {
    Response denied =
        error_response(base::unauthenticated("missing or wrong API key: send Authorization: Bearer <key>"));
    denied.headers.emplace_back("WWW-Authenticate", "Bearer");
    record(*found, request, denied.status, 0);
    dispatch.answer = shaped(*found, std::move(denied));
    return dispatch;
  }
  if (found->scoring) {
    if (std::optional<Response> refused = take_scoring_slot(context_, request)) {
      record(*found, request, refused->status, 0);
      dispatch.answer = shaped(*found, std::move(*refused));
      return dispatch;
    }
  }
  dispatch.route = found;
  dispatch.body_limit = found->streaming ? context_.limits.max_ingest_bytes : context_.limits.max_body_bytes;
  return dispatch;
}

std::optional<Response> Api::admit(const Route& route, Request& request) const {
  if (!route.scoring) return std::nullopt;
  std::optional<Response> refused = reserve_tokens(context_, request);
  if (!refused) return std::nullopt;
  record(route, request, refused->status, 0);
  return shaped(route, std::move(*refused));
}

Response Api::run(const Route& route, const Request& request) const {
  base::Stopwatch stopwatch;
  // Given back when the handler ends, however it ends (the request itself
  // may live on while a slow client reads the answer).
  std::shared_ptr<TokenReservation> tokens = std::move(request.token_reservation);
  Response response;
  std::optional<Admission> admission;  // scoring routes: its CallScope lives on this thread while the handler runs
  std::optional<Response> refused;
  if (route.scoring) {
    admission.emplace(context_, route, request);
    refused = admission->refuse_early();
    if (tokens) admission->track(*tokens);
    request.admission = &*admission;
  }
  if (refused) {
    response = std::move(*refused);
  } else {
    try {
      base::Result<Reply> result = route.handler(request);
      response = result.ok() ? to_response(*result) : error_response(result.status());
    } catch (const std::exception& e) {
      response = error_response(base::internal_error(std::string("unexpected error: ") + e.what()));
    } catch (...) {
      response = error_response(base::internal_error("unexpected error (not a std::exception)"));
    }
  }
  if (admission) {
    admission->finish(response);
    request.admission = nullptr;
  }
  response = shaped(route, std::move(response));
  if (response.status >= 500) {
    log_event(LogLevel::kError, "handler_error",
              {{"request_id", request.id}, {"route", route.pattern}, {"status", response.status},
               {"error", response.error_message}});
  }
  record(route, request, response.status, stopwatch.elapsed_ms() / 1000.0);
  return response;
}

void Api::record(const Route& route, const Request& request, int status, double seconds) const {
  context_.metrics.increment("winnow_http_requests_total",
                             {{"route", route.pattern}, {"method", request.method}, {"status", std::to_string(status)}});
  context_.metrics.observe("winnow_http_request_duration_seconds", {{"route", route.pattern}}, seconds);
}

base::Result<nlohmann::json> json_body(const Request& request, const ServerContext& context) {
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

}  // namespace winnow::server
