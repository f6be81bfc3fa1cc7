// A small HTTP client over libcurl, shared by the Hub downloader and the
// remote rerank clients. It moves bytes and reports what happened; what a
// status code or a failure means to the user is decided by the caller, which
// knows the repo, the file or the API it was talking to.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace winnow::net {

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";                // GET, HEAD, POST (anything else is sent as a custom verb)
  std::string url;
  std::vector<std::string> headers;          // "Name: value"
  std::string body;                          // sent with POST
  bool follow_redirects = false;             // libcurl drops Authorization when a redirect changes host
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{0};      // the whole exchange; 0 = no limit
  std::chrono::seconds stall_timeout{0};     // give up when no byte arrives for this long; 0 = never

  // Receives the body of a 2xx response as it arrives; `head` already holds the
  // status and headers. Returning false aborts the transfer (HttpFailure::kAborted).
  // Unset: the body is collected in HttpResponse::body. Bodies of other statuses
  // always go to HttpResponse::body (first 1 MiB), for error messages.
  std::function<bool(const HttpResponse& head, std::string_view chunk)> on_body;
};

// Why no complete response arrived.
enum class HttpFailure {
  kNone,
  kTimeout,      // connect_timeout, timeout or stall_timeout ran out
  kConnect,      // refused, unreachable, or the host name did not resolve
  kInterrupted,  // the connection broke or closed mid-exchange (partial body, empty reply, reset)
  kAborted,      // on_body returned false
  kOther,        // TLS, protocol and other libcurl errors
};

struct HttpResponse {
  HttpFailure failure = HttpFailure::kNone;
  std::string failure_message;   // libcurl's explanation when failure != kNone
  long status = 0;               // of the last response received (0 if none)
  std::vector<std::pair<std::string, std::string>> headers;  // of the last response, in order
  std::string body;
  std::string url;               // the URL that answered (after redirects)
  std::uint64_t body_bytes = 0;  // body bytes received, including those passed to on_body

  bool complete() const { return failure == HttpFailure::kNone; }
  bool success() const { return complete() && status >= 200 && status < 300; }
  // The first header of that name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

// "winnow/<version> libcurl/<version>"
const std::string& user_agent();

// "scheme://host[:port]" of a URL (lower-cased scheme and host), or "" when it has none.
std::string url_origin(std::string_view url);

// Percent-encodes everything but RFC 3986's unreserved characters, and '/' when keep_slashes.
std::string url_encode(std::string_view text, bool keep_slashes);

// Thread-safe: each perform() takes an easy handle from a small pool (so
// keep-alive connections are reused across calls) and gives it back after.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one exchange. Never throws; a transport failure is reported in
  // HttpResponse::failure, an HTTP error status in HttpResponse::status.
  HttpResponse perform(const HttpRequest& request) const;

 private:
  void* acquire() const;
  void release(void* handle) const;

  mutable std::mutex mu_;
  mutable std::vector<void*> idle_;  // CURL* easy handles
};

}  // namespace winnow::net
