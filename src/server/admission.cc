#include "server/admission.h"

#include <charconv>
#include <cmath>

#include "server/http_errors.h"

namespace winnow::server {
namespace {

using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

std::string ms_text(long long ms) { return std::to_string(ms) + " ms"; }

// Whole seconds to wait before trying again: at least 1.
long long retry_seconds(std::chrono::milliseconds estimated) {
  return std::max<long long>(1, (estimated.count() + 999) / 1000);
}

Response overloaded(const std::string& why, long long retry_after) {
  Response response = error_response(base::resource_exhausted(
      "server overloaded: " + why + "; retry after " + std::to_string(retry_after) + " s"));
  response.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return response;
}

// A timeout in milliseconds, from a header's text.
base::Result<std::chrono::milliseconds> parse_timeout_header(std::string_view text) {
  long long ms = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, ms);
  if (text.empty() || ec != std::errc() || ptr != end || ms < 1 || ms > kMaxTimeoutMs) {
    return base::invalid_argument("X-Request-Timeout: must be a whole number of milliseconds from 1 to " +
                                  std::to_string(kMaxTimeoutMs) + ", got \"" +
                                  std::string(text.substr(0, 32)) + "\"");
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

void declare_admission_metrics(Metrics& metrics) {
  metrics.declare_counter("winnow_requests_refused_total",
                          "Scoring requests refused with 429, by reason: concurrency (--max-concurrent-requests), "
                          "tokens (--max-queued-tokens, server-wide, before any work), queue_full (a model's queue, "
                          "--max-queued-tokens), queue_wait (--max-queue-ms).");
  metrics.declare_counter("winnow_deadlines_exceeded_total", "Scoring requests answered 504 past their deadline, by route.");
  metrics.declare_counter("winnow_requests_cancelled_total",
                          "Scoring requests whose client went away before the answer, by route.");
  metrics.declare_histogram("winnow_engine_queue_wait_seconds",
                            "How long a call's sequences waited in a model's queue, by model.",
                            {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  metrics.declare_counter("winnow_engine_dropped_sequences_total",
                          "Sequences dropped unrun because their request's deadline passed or it was cancelled, "
                          "by model.");
}

std::optional<Response> take_scoring_slot(ServerContext& context, Request& request) {
  const std::size_t limit = context.limits.max_concurrent_requests;
  if (limit == 0) return std::nullopt;
  std::atomic<std::size_t>& in_flight = context.scoring_in_flight;
  if (in_flight.fetch_add(1) >= limit) {
    in_flight.fetch_sub(1);
    context.metrics.increment("winnow_requests_refused_total", {{"reason", "concurrency"}});
    return overloaded(std::to_string(limit) + " scoring requests in flight, the most --max-concurrent-requests allows",
                      1);
  }
  request.scoring_slot = std::shared_ptr<void>(nullptr, [&in_flight](void*) { in_flight.fetch_sub(1); });
  return std::nullopt;
}

std::optional<Response> reserve_tokens(ServerContext& context, Request& request) {
  TokenBudget& budget = context.admitted_tokens;
  if (budget.capacity() == 0) return std::nullopt;
  const std::size_t estimate = estimate_tokens(request.body.size());
  if (!budget.try_reserve(estimate)) {
    context.metrics.increment("winnow_requests_refused_total", {{"reason", "tokens"}});
    return overloaded(std::to_string(budget.admitted()) + " tokens of scoring work admitted, room for " +
                          std::to_string(budget.capacity()) + " (--max-queued-tokens); this request brings about " +
                          std::to_string(estimate) + " (its body's length over " + std::to_string(kBytesPerToken) +
                          ")",
                      1);
  }
  request.token_reservation = std::make_shared<TokenReservation>(budget, estimate);
  return std::nullopt;
}

Admission::Admission(ServerContext& context, const Route& route, const Request& request)
    : context_(context), route_(route), request_(request) {
  // The earliest of the server's default and the header's (the body's
  // timeout_ms comes later, through tighten()): a client may shorten the
  // operator's deadline, never lengthen it.
  if (context.limits.request_timeout.count() > 0) {
    timeout_ = context.limits.request_timeout;
    timeout_source_ = "--request-timeout";
  }
  if (request.has_header("X-Request-Timeout")) {
    auto parsed = parse_timeout_header(request.header("X-Request-Timeout"));
    if (!parsed.ok()) {
      header_error_ = parsed.status();
    } else if (!timeout_ || *parsed < *timeout_) {
      timeout_ = *parsed;
      timeout_source_ = "X-Request-Timeout";
    }
  }
  base::CallOptions call;
  call.wait_for_room = false;  // a full queue is a 429, never a blocked thread
  if (context.limits.max_queue_wait.count() > 0) {
    call.max_queue_wait = context.limits.max_queue_wait;
    call.waiting_since = request.arrived;
  }
  if (timeout_) call.deadline = request.arrived + *timeout_;
  call.cancelled = request.cancelled;
  call.report = &report_;
  scope_.emplace(std::move(call));
}

std::optional<Response> Admission::refuse_early() {
  if (!header_error_.ok()) return error_response(header_error_);
  if (past_deadline()) return deadline_response();
  const auto limit = context_.limits.max_queue_wait;
  if (limit.count() > 0 && elapsed_ms(request_.arrived) > limit.count()) {
    count_refusal("queue_wait");
    return overloaded("the request waited " + ms_text(elapsed_ms(request_.arrived)) +
                          " for a handler thread, over --max-queue-ms " + ms_text(limit.count()),
                      1);
  }
  return std::nullopt;
}

void Admission::track(TokenReservation& reservation) {
  if (!reservation.held()) return;
  scope_->options().tokenized = [&reservation](std::size_t tokens) { reservation.correct(tokens); };
}

void Admission::tighten(std::chrono::milliseconds timeout) {
  if (timeout_ && *timeout_ <= timeout) return;
  timeout_ = timeout;
  timeout_source_ = "timeout_ms";
  scope_->options().deadline = request_.arrived + timeout;
}

bool Admission::past_deadline() const { return timeout_ && Clock::now() >= request_.arrived + *timeout_; }

Response Admission::deadline_response() const {
  context_.metrics.increment("winnow_deadlines_exceeded_total", {{"route", route_.pattern}});
  std::string message = "deadline exceeded: the request's deadline of " + ms_text(timeout_->count()) + " (" +
                        timeout_source_ + ") passed after " + ms_text(elapsed_ms(request_.arrived));
  if (report_.dropped > 0) {
    message += "; " + std::to_string(report_.dropped) + " of its sequences left the model's queue unrun";
  }
  return error_response(base::deadline_exceeded(std::move(message)));
}

void Admission::count_refusal(const std::string& reason) const {
  context_.metrics.increment("winnow_requests_refused_total", {{"reason", reason}});
}

void Admission::finish(Response& response) {
  if (response.status == 429 && report_.refusal != base::Refusal::kNone) {
    const long long retry = retry_seconds(report_.estimated_wait);
    const std::string estimate = "estimated wait " + ms_text(report_.estimated_wait.count());
    if (report_.refusal == base::Refusal::kQueueFull) {
      count_refusal("queue_full");
      response = overloaded("the model's queue is full (" + estimate + "; its size is --max-queued-tokens)", retry);
    } else {
      count_refusal("queue_wait");
      response = overloaded("the request would wait past --max-queue-ms " +
                                ms_text(context_.limits.max_queue_wait.count()) + " for the model (" + estimate + ")",
                            retry);
    }
    return;
  }
  if (request_.cancelled->load()) {
    context_.metrics.increment("winnow_requests_cancelled_total", {{"route", route_.pattern}});
    if (response.status == 503) {
      // Nobody reads it; the log says what happened.
      response = error_response(base::unavailable("the client closed the connection; its engine work was dropped"));
      response.status = 499;
    }
    return;
  }
  // Past the deadline, an answer is a 504 whatever the handler made of it
  // (a stage that runs no model may have run over it too); a client's own
  // mistake stays its 4xx.
  if (past_deadline() && (response.status < 400 || response.status == 504)) response = deadline_response();
}

base::Status apply_timeout_ms(const nlohmann::json& body, const Request& request) {
  auto it = body.find("timeout_ms");
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > kMaxTimeoutMs) {
    return base::invalid_argument("timeout_ms: must be a whole number of milliseconds from 1 to " +
                                  std::to_string(kMaxTimeoutMs) + ", got " + it->dump());
  }
  if (request.admission) request.admission->tighten(std::chrono::milliseconds(it->get<long long>()));
  return {};
}

}  // namespace winnow::server
