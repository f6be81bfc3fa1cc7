// Retries with exponential backoff for HTTP exchanges, and the Retry-After
// header that servers use to say how long to wait.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "net/http_client.h"

namespace winnow::net {

struct RetryPolicy {
  int max_retries = 3;                            // tries after the first one
  std::chrono::milliseconds base_delay{500};      // wait before the first retry; doubles each retry
  std::chrono::milliseconds max_delay{20'000};    // cap on one wait, Retry-After included
  // A Retry-After longer than max_delay: wait max_delay and retry (false),
  // or stop and report it (true: the caller has a budget to keep).
  bool give_up_on_long_retry_after = false;
};

// The wait before retry number `retry` (0 for the first): base_delay * 2^retry
// with +-20% jitter (so clients that failed together do not retry together),
// capped at max_delay.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry);

// A Retry-After value, either delta-seconds ("120") or an HTTP date ("Wed, 21
// Oct 2015 07:28:00 GMT"), as a wait from `now` (never negative). nullopt when
// it is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct RetriedResponse {
  HttpResponse response;  // the last answer (or failure)
  int tries = 0;          // exchanges made
  // Set when retrying stopped because the server asked, in Retry-After, for a
  // longer wait than max_delay (give_up_on_long_retry_after).
  std::optional<std::chrono::milliseconds> refused_wait;
};

// Performs `request` and retries while `retryable` says the answer is a
// transient failure, up to policy.max_retries times, sleeping
// backoff_delay() or the server's Retry-After (whichever is longer) between
// tries. Blocks the calling thread for the waits.
RetriedResponse perform_with_retries(const HttpClient& client, const HttpRequest& request, const RetryPolicy& policy,
                                     const std::function<bool(const HttpResponse&)>& retryable);

}  // namespace winnow::net
