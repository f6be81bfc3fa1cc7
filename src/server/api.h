// Route registration with the behaviour every route shares: routing on the
// raw path, then decoding of path and query parameters; authentication;
// CORS; JSON bodies with size limits; errors as {"error": {...}} with the
// status http_errors.h maps; a last-resort catch of exceptions; and
// per-route metrics. The transport (http_transport.h) asks route() which
// handler a request goes to once its head arrived, and run() to answer it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/request.h"
#include "server/server_context.h"

namespace winnow::server {

struct Reply {
  int status = 200;
  nlohmann::json body;           // sent as JSON unless `text` is set
  std::string text;              // plain-text bodies (metrics)
  std::string content_type = "application/json";
  Params headers;                // extra headers (TEI's /rerank: the score cache's counts)
};

using Handler = std::function<base::Result<Reply>(const Request& request)>;

// Who may call a route: with a key (when keys are configured) or anyone.
enum class Access { kKey, kPublic };
// Where a route's handler runs: on the worker pool (it may block: scoring,
// SQLite), or on the I/O thread for handlers that never block, so that they
// answer even when every worker is busy (liveness, readiness, metrics).
enum class Lane { kWorkers, kInline };

// What the transport sends back.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Params headers;            // extra headers (CORS, Allow, WWW-Authenticate)
  std::string error_code;    // "invalid_argument" when the body is an error, for the log
  std::string error_message;
  base::StatusCode error_status = base::StatusCode::kOk;  // the error's kind (kOk: not made by error_response)
};

// Rewrites the body of an error answer (made by error_response: its status
// and headers stay) in the shape of the API a route mimics, for the errors
// the server makes before or around the route's handler: a missing API key,
// admission's 429s, a passed deadline. TEI's /rerank has one (rerank_routes.cc).
using ErrorShape = void (*)(Response& error);

// A JSON error answer.
Response error_response(const base::Status& status);

struct Route {
  std::string method;
  std::string pattern;                // "/v1/collections/{id}": matched on raw path segments; the metrics label
  std::vector<std::string> segments;  // the pattern split at '/'
  Handler handler;
  Access access = Access::kKey;
  Lane lane = Lane::kWorkers;
  bool streaming = false;             // the handler reads Request::stream while the body arrives
  bool scoring = false;               // runs models: under admission control and deadlines (admission.h)
  ErrorShape error_shape = nullptr;   // null: Winnow's error body
};

// The transport's plan for a request whose head arrived.
struct Dispatch {
  const Route* route = nullptr;       // null when `answer` is set
  std::optional<Response> answer;     // answered at the head: 400, 401, 404, 405, OPTIONS
  std::size_t body_limit = 0;         // bytes the body may have
};

class Api {
 public:
  explicit Api(ServerContext& context) : context_(context) {}

  void get(const std::string& route, Handler handler, Access access = Access::kKey, Lane lane = Lane::kWorkers);
  void post(const std::string& route, Handler handler);
  void del(const std::string& route, Handler handler);
  // A POST whose body the handler reads from Request::stream as it arrives (NDJSON ingest).
  void post_streaming(const std::string& route, Handler handler);
  // A POST that runs models (rerank, pipeline executions): admission control
  // and deadlines apply (admission.h). `error_shape`: see ErrorShape.
  void post_scoring(const std::string& route, Handler handler, ErrorShape error_shape = nullptr);

  ServerContext& context() { return context_; }
  // Every route registered, in registration order.
  const std::vector<Route>& routes() const { return routes_; }

  // Matches method and raw path (a HEAD as a GET), decodes the path and
  // query parameters into `request`, checks the API key, answers OPTIONS and
  // CORS preflights, and refuses a scoring request over
  // --max-concurrent-requests. Never blocks: the transport calls it on its I/O thread.
  Dispatch route(Request& request) const;
  // Scoring routes, once the body arrived: reserves the request's estimated
  // tokens under --max-queued-tokens, or answers 429 (admission.h). Never
  // blocks: the transport calls it on its I/O thread before a worker runs
  // the handler.
  std::optional<Response> admit(const Route& route, Request& request) const;
  // Runs the route's handler and turns its result into a response: errors
  // as JSON, an exception that escapes the handler as a 500 (logged with the
  // request id). Records the route's metrics. Thread-safe.
  Response run(const Route& route, const Request& request) const;
  // Adds the CORS headers a request from an allowed Origin gets.
  void add_cors_headers(const Request& request, Response& response) const;

 private:
  void add(const std::string& method, const std::string& route, Handler handler, Access access, Lane lane,
           bool streaming, bool scoring = false, ErrorShape error_shape = nullptr);
  bool authorized(const Request& request) const;
  bool origin_allowed(std::string_view origin) const;
  std::optional<Response> options_answer(const Request& request) const;
  void record(const Route& route, const Request& request, int status, double seconds) const;

  ServerContext& context_;
  std::vector<Route> routes_;
};

// `raw_path` ("/v1/collections/a%2Fb") against `segments` of a pattern
// ({"", "v1", "collections", "{id}"}): each {name} takes one non-empty raw
// segment, so an encoded '/' never splits one. The raw values in `params`.
bool match_route(const std::vector<std::string>& segments, std::string_view raw_path, Params* params);

// The request body as a JSON object; errors name the line and column, and
// bodies above the limit are OutOfRange (413).
base::Result<nlohmann::json> json_body(const Request& request, const ServerContext& context);

// Declares the metrics routes and stages record (called once by Server).
void declare_metrics(Metrics& metrics);

}  // namespace winnow::server
