// Admission control and deadlines for the routes that run models (rerank and
// pipeline executions; Route::scoring): the server says no at once instead
// of letting a request wait on a thread.
//
// - --max-concurrent-requests: scoring requests in flight (from the head's
//   arrival until the answer), checked on the I/O thread; beyond: 429.
// - The engines refuse a request whose pairs find the model's queue full
//   (--max-queued-tokens) or would wait past --max-queue-ms counted from the
//   request's arrival (waiting for a handler thread counts): 429 with
//   Retry-After from the engine's estimated wait.
// - --max-queued-tokens, server-wide: the tokens of scoring work admitted and
//   not finished. A request reserves an estimate from its body's length on
//   the I/O thread before any worker parses or tokenizes it; one that does
//   not fit (while other work is admitted) is answered 429 there, so a storm
//   of retries costs no tokenizing. The engine corrects the reservation to
//   the real count once it tokenized the request and to 0 once its call
//   returned (CallOptions::tokenized): what follows the scoring (building
//   the answer) holds no tokens. Every model's queue still checks its own
//   bound exactly.
// - A deadline from the body's timeout_ms, the X-Request-Timeout header
//   (milliseconds) or --request-timeout, the earliest: past it the request
//   answers 504 and its pairs leave the engine's queue. A client that
//   disconnects cancels its engine work the same way.
//
// Each scoring request's handler runs inside an Admission, which hands these
// rules to every engine call of the handler's thread (base::CallScope)
// and turns the engine's refusals into answers that name the flag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "base/call_context.h"
#include "server/api.h"

namespace winnow::server {

// The most a timeout may be: one day.
inline constexpr long long kMaxTimeoutMs = 86'400'000;

class Admission {
 public:
  // The request's deadline from X-Request-Timeout or limits.request_timeout.
  Admission(ServerContext& context, const Route& route, const Request& request);
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // An answer without running the handler: a bad X-Request-Timeout (400),
  // the deadline passed while the request waited for a thread (504), or it
  // waited for one longer than --max-queue-ms (429).
  std::optional<Response> refuse_early();
  // The body's timeout_ms: the deadline becomes the earlier of the two.
  void tighten(std::chrono::milliseconds timeout);
  // From now on the engine's calls correct `reservation` to their real token
  // count while they run, and to 0 after (one thread's calls run one after
  // another). `reservation` must outlive the Admission.
  void track(TokenReservation& reservation);
  // Rewrites the handler's answer where an engine refused the request, its
  // deadline passed or its client left, and counts it in the metrics.
  void finish(Response& response);

 private:
  bool past_deadline() const;
  Response deadline_response() const;
  void count_refusal(const std::string& reason) const;

  ServerContext& context_;
  const Route& route_;
  const Request& request_;
  base::Status header_error_;
  std::optional<std::chrono::milliseconds> timeout_;
  std::string timeout_source_;  // "timeout_ms", "X-Request-Timeout", "--request-timeout"
  base::CallReport report_;
  std::optional<base::CallScope> scope_;
};

// Counts a scoring request against --max-concurrent-requests from the I/O
// thread: a slot the request holds until it is destroyed, or the 429 answer
// when none is free.
std::optional<Response> take_scoring_slot(ServerContext& context, Request& request);

// Reserves a scoring request's estimated tokens under --max-queued-tokens
// from the I/O thread once its body arrived (kept in
// Request::token_reservation), or the 429 answer when they do not fit.
std::optional<Response> reserve_tokens(ServerContext& context, Request& request);

// Reads "timeout_ms" from a body (absent or null: nothing) and tightens the
// request's deadline; InvalidArgument naming the field when it is not a whole
// number of milliseconds from 1 to kMaxTimeoutMs.
base::Status apply_timeout_ms(const nlohmann::json& body, const Request& request);

// Declares the admission metrics (called by declare_metrics).
void declare_admission_metrics(Metrics& metrics);

}  // namespace winnow::server
