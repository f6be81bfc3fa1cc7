// What a route handler sees of an HTTP request: method, raw target, path
// parameters and query parameters (both percent-decoded), headers, and the
// body, whole or (ingest) as a stream that is still arriving. Free of the
// transport's types, so handlers and their tests need no HTTP library.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "server/token_budget.h"

namespace winnow::server {

class Admission;
class BodyStream;

using Params = std::vector<std::pair<std::string, std::string>>;

class Request {
 public:
  std::string method;       // as sent: "GET"
  std::string target;       // as sent, not decoded: "/v1/collections/a%2Fb?limit=5"
  std::string path;         // the target before '?', not decoded: routes match on it
  std::string id;           // X-Request-Id as sent when sane, else generated; echoed on the answer
  std::string peer;         // "127.0.0.1:53412"
  Params headers;           // names as sent; look them up with header()
  Params path_params;       // {"id", "a/b"}: decoded after the route matched
  Params query_params;      // decoded, in order, repeated names kept
  std::string body;         // buffered routes: the whole body (up to its limit)
  BodyStream* stream = nullptr;  // streaming routes: the body as it arrives (owned by the transport)
  // When the head arrived: deadlines and --max-queue-ms count from it.
  std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();
  // Set by the transport when the client goes away before its answer.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
  // Scoring routes: the request's place under --max-concurrent-requests,
  // given back when the request is destroyed (admission.h).
  std::shared_ptr<void> scoring_slot;
  // Scoring routes: the request's estimated (then real) tokens under
  // --max-queued-tokens, taken on the I/O thread, given back when the
  // handler ends or the request is destroyed unrun (admission.h).
  mutable std::shared_ptr<TokenReservation> token_reservation;
  // Scoring routes, while the handler runs: its deadline and admission rules.
  mutable Admission* admission = nullptr;

  // The first header of that name (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The path parameter of the route's pattern ("{id}" -> "id"), "" when absent.
  const std::string& path_param(std::string_view name) const;
  // The first query parameter of that name.
  std::optional<std::string> query(std::string_view name) const;

  // Adds a field to this request's log line (model, documents, tokens,
  // precision, ...). Handlers call it without knowing how logs are written.
  // Not thread-safe: one handler runs a request at a time.
  void annotate(const std::string& key, nlohmann::ordered_json value) const { log_fields_[key] = std::move(value); }
  const nlohmann::ordered_json& log_fields() const { return log_fields_; }

 private:
  mutable nlohmann::ordered_json log_fields_ = nlohmann::ordered_json::object();
};

// Percent-decodes one path segment or query component; `plus_is_space` for
// query strings (application/x-www-form-urlencoded). InvalidArgument on a
// malformed escape ("%4", "%zz") or a decoded NUL byte, naming `what`.
base::Result<std::string> percent_decode(std::string_view text, bool plus_is_space, std::string_view what);

// "a=1&b=x%20y&flag" -> {{"a","1"},{"b","x y"},{"flag",""}}.
base::Result<Params> parse_query(std::string_view query);

// True for an X-Request-Id worth echoing: 1 to 128 characters of letters,
// digits and -_.:/+= (nothing a log or header could be confused by).
bool sane_request_id(std::string_view id);
// 32 random hex digits.
std::string generate_request_id();

}  // namespace winnow::server
