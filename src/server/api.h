// Route registration with the behaviour every route shares: authentication,
// JSON bodies with size limits, errors as {"error": {...}} with the status
// http_errors.h maps, exceptions caught, and per-route metrics.
#pragma once

#include <functional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/server_context.h"

namespace winnow::server {

struct Reply {
  int status = 200;
  nlohmann::json body;           // sent as JSON unless `text` is set
  std::string text;              // plain-text bodies (metrics)
  std::string content_type = "application/json";
};

using Handler = std::function<base::Result<Reply>(const httplib::Request& request)>;
using StreamingHandler =
    std::function<base::Result<Reply>(const httplib::Request& request, const httplib::ContentReader& reader)>;

class Api {
 public:
  Api(httplib::Server& http, ServerContext& context) : http_(http), context_(context) {}

  // `route` is the metrics label, e.g. "/v1/collections/{id}"; `pattern` the
  // regex httplib matches, e.g. R"(/v1/collections/([^/]+))".
  void get(const std::string& route, const std::string& pattern, Handler handler, bool public_route = false);
  void post(const std::string& route, const std::string& pattern, Handler handler);
  void del(const std::string& route, const std::string& pattern, Handler handler);
  // A POST whose body the handler reads as it arrives (NDJSON ingest).
  void post_streaming(const std::string& route, const std::string& pattern, StreamingHandler handler);

  ServerContext& context() { return context_; }

 private:
  void respond(const std::string& route, const httplib::Request& request, httplib::Response& response,
               const std::function<base::Result<Reply>()>& run, bool public_route);

  httplib::Server& http_;
  ServerContext& context_;
};

// The request body as a JSON object; errors name the line and column, and
// bodies above the limit are OutOfRange (413).
base::Result<nlohmann::json> json_body(const httplib::Request& request, const ServerContext& context);

// The n-th regex capture of the path, URL-decoded.
std::string path_param(const httplib::Request& request, std::size_t n);

// Declares the metrics routes and stages record (called once by Server).
void declare_metrics(Metrics& metrics);

}  // namespace winnow::server
