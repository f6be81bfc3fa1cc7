#include "server/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace winnow::server {
namespace {

struct LogState {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  LogFormat format = LogFormat::kText;
};

LogState& state() {
  static LogState* s = new LogState;  // never destroyed: logging works until the process ends
  return *s;
}

const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";
const char* kJsonPattern = "{\"ts\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v";

std::shared_ptr<spdlog::logger> sync_logger(LogFormat format) {
  auto logger = std::make_shared<spdlog::logger>("winnow", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern(format == LogFormat::kJson ? kJsonPattern : kTextPattern, spdlog::pattern_time_type::utc);
  return logger;
}

// Letters, digits and a few marks print bare; anything else JSON-quoted.
bool bare(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':' || c == '/' || c == '{' || c == '}' || c == '+' || c == ',';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

base::Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return base::invalid_argument("--log-format: must be text or json, got \"" + std::string(name) + "\"");
}

void setup_logging(LogFormat format) {
  spdlog::init_thread_pool(8192, 1);
  auto logger = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("winnow");
  logger->set_pattern(format == LogFormat::kJson ? kJsonPattern : kTextPattern, spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::info);
  std::lock_guard<std::mutex> lock(state().mutex);
  state().logger = std::move(logger);
  state().format = format;
}

void flush_logs() {
  LogFormat format;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (!state().logger) return;
    state().logger.reset();
    format = state().format;
  }
  spdlog::shutdown();  // drains the queue and joins the writer thread
  std::lock_guard<std::mutex> lock(state().mutex);
  state().logger = sync_logger(format);
}

std::string format_event(LogFormat format, std::string_view event, const nlohmann::ordered_json& fields) {
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json line = {{"event", event}};
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return text.substr(1);  // the pattern opened the object with ts and level
  }
  std::string text(event);
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    text += ' ';
    text += it.key();
    text += '=';
    const auto& value = it.value();
    if (value.is_string() && bare(value.get_ref<const std::string&>())) {
      text += value.get_ref<const std::string&>();
    } else {
      text += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return text;
}

void log_event(LogLevel level, std::string_view event, const nlohmann::ordered_json& fields) {
  std::shared_ptr<spdlog::logger> logger;
  LogFormat format;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (!state().logger) state().logger = sync_logger(state().format);
    logger = state().logger;
    format = state().format;
  }
  const std::string line = format_event(format, event, fields);
  const auto spd_level = level == LogLevel::kError  ? spdlog::level::err
                         : level == LogLevel::kWarn ? spdlog::level::warn
                                                    : spdlog::level::info;
  logger->log(spd_level, "{}", line);
}

}  // namespace winnow::server
