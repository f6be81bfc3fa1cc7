// Retries with exponential backoff for the HTTP clients of this room, and the
// Retry-After header that servers use to say how long to wait.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace winnow::rerankers {

struct RetryPolicy {
  int max_retries = 3;                            // tries after the first one
  std::chrono::milliseconds base_delay{500};      // wait before the first retry; doubles each retry
  std::chrono::milliseconds max_delay{20'000};    // cap on one wait, Retry-After included
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

}  // namespace winnow::rerankers
