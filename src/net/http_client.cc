#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#ifndef WINNOW_VERSION
#define WINNOW_VERSION "dev"
#endif

namespace winnow::net {

namespace {

constexpr std::size_t kMaxIdleHandles = 8;
constexpr std::size_t kMaxErrorBody = 1 << 20;
constexpr long kReceiveBuffer = 512 * 1024;  // bigger reads than libcurl's 16 KiB default: fewer callbacks

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// State shared with libcurl's callbacks during one perform().
struct Exchange {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool aborted_by_sink = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  std::string_view line = trim(std::string_view(data, n));
  HttpResponse& response = *exchange->response;
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (a redirect hop or a 100 Continue): forget the previous one's headers.
    response.headers.clear();
    response.status = 0;
    if (auto space = line.find(' '); space != std::string_view::npos) {
      response.status = std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
    return n;
  }
  if (auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    response.headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  HttpResponse& response = *exchange->response;
  response.body_bytes += n;
  const bool success = response.status >= 200 && response.status < 300;
  if (success && exchange->request->on_body) {
    if (!exchange->request->on_body(response, std::string_view(data, n))) {
      exchange->aborted_by_sink = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    return n;
  }
  if (success || response.body.size() < kMaxErrorBody) {
    response.body.append(data, success ? n : std::min(n, kMaxErrorBody - response.body.size()));
  }
  return n;
}

HttpFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_OK: return HttpFailure::kNone;
    case CURLE_OPERATION_TIMEDOUT: return HttpFailure::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HttpFailure::kConnect;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return HttpFailure::kInterrupted;
    default: return HttpFailure::kOther;
  }
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

const std::string& user_agent() {
  static const std::string agent = [] {
    global_init_once();
    std::string s = "winnow/" WINNOW_VERSION;
    if (const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW)) {
      s += " libcurl/";
      s += info->version;
    }
    return s;
  }();
  return agent;
}

std::string url_origin(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  const auto host_begin = scheme_end + 3;
  auto host_end = url.find_first_of("/?#", host_begin);
  if (host_end == std::string_view::npos) host_end = url.size();
  std::string origin(url.substr(0, host_end));
  // Drop user info ("user:pass@host") and normalize case: hosts and schemes are case-insensitive.
  if (auto at = origin.find('@', host_begin); at != std::string::npos) origin.erase(host_begin, at + 1 - host_begin);
  std::transform(origin.begin(), origin.end(), origin.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return origin;
}

std::string url_encode(std::string_view text, bool keep_slashes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

HttpClient::HttpClient() { global_init_once(); }

HttpClient::~HttpClient() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::acquire() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpClient::release(void* handle) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

HttpResponse HttpClient::perform(const HttpRequest& request) const {
  HttpResponse response;
  CURL* curl = static_cast<CURL*>(acquire());
  if (curl == nullptr) {
    response.failure = HttpFailure::kOther;
    response.failure_message = "libcurl could not create a handle";
    return response;
  }
  // Options do not carry over between calls; the connection cache does.
  curl_easy_reset(curl);

  Exchange exchange{&request, &response};
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  if (request.method == "POST") headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required for timeouts in multi-threaded programs
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  if (request.stall_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout.count()));
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    response.failure = exchange.aborted_by_sink ? HttpFailure::kAborted : classify(code);
    response.failure_message = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
    while (!response.failure_message.empty() && response.failure_message.back() == '\n') {
      response.failure_message.pop_back();
    }
  }
  char* effective = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective != nullptr) {
    response.url = effective;
  } else {
    response.url = request.url;
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  release(curl);
  return response;
}

}  // namespace winnow::net
