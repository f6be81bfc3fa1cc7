// The server's log: one line per event on standard error, as readable text
// (the default) or one JSON object per line (--log-format json). Lines are
// written by a background thread so that a slow reader of standard error
// never stalls a request; when 8192 lines wait, the oldest are dropped.
//
//   text: 2025-01-31T09:12:03.412Z info request request_id=4f0c... method=POST route=/v1/rerank status=200 ms=12.4
//   json: {"ts":"2025-01-31T09:12:03.412Z","level":"info","event":"request","request_id":"4f0c...",...}
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::server {

enum class LogFormat { kText, kJson };

base::Result<LogFormat> parse_log_format(std::string_view name);

// Installs the process's logger. Call once, before the server starts; until
// then events are written synchronously as text.
void setup_logging(LogFormat format);
// Writes every waiting line (before the process exits).
void flush_logs();

enum class LogLevel { kInfo, kWarn, kError };
// One event, e.g. "request" with its fields. Thread-safe.
void log_event(LogLevel level, std::string_view event, const nlohmann::ordered_json& fields);

// The line log_event writes after the timestamp and level, for tests.
std::string format_event(LogFormat format, std::string_view event, const nlohmann::ordered_json& fields);

}  // namespace winnow::server
