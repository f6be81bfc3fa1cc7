#include "net/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <thread>

namespace winnow::net {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry) {
  const double base = static_cast<double>(policy.base_delay.count());
  const double cap = static_cast<double>(policy.max_delay.count());
  double delay = base;
  for (int i = 0; i < retry && delay < cap; ++i) delay *= 2;
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  delay = std::min(delay * jitter(rng), cap);
  return std::chrono::milliseconds(static_cast<long long>(delay));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));  // absurd: "a long time"
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  // libcurl parses the three date formats HTTP allows (RFC 9110 section 5.6.7).
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(when) - now;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(wait));
}

RetriedResponse perform_with_retries(const HttpClient& client, const HttpRequest& request, const RetryPolicy& policy,
                                     const std::function<bool(const HttpResponse&)>& retryable) {
  RetriedResponse out;
  for (int retry = 0;; ++retry) {
    out.response = client.perform(request);
    out.tries = retry + 1;
    if (!retryable(out.response) || retry >= policy.max_retries) return out;
    std::chrono::milliseconds delay = backoff_delay(policy, retry);
    if (auto header = out.response.header("Retry-After")) {
      if (auto wait = parse_retry_after(*header)) {
        if (*wait > policy.max_delay && policy.give_up_on_long_retry_after) {
          out.refused_wait = *wait;
          return out;
        }
        delay = std::max(delay, std::min(*wait, policy.max_delay));
      }
    }
    std::this_thread::sleep_for(delay);
  }
}

}  // namespace winnow::net
