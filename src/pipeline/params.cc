#include "pipeline/params.h"

#include <cmath>
#include <sstream>

#include "pipeline/template.h"

namespace winnow::pipeline {
namespace {

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

}  // namespace

Params::Params(const nlohmann::json& parameters, std::string where, bool templates_pending)
    : parameters_(parameters), where_(std::move(where)), templates_pending_(templates_pending) {}

base::Status Params::error(const std::string& name, const std::string& message) const {
  return base::invalid_argument(where_ + ": parameter \"" + name + "\" " + message);
}

const nlohmann::json* Params::find(const std::string& name) {
  seen_.insert(name);
  if (!parameters_.is_object()) return nullptr;
  auto it = parameters_.find(name);
  return it == parameters_.end() ? nullptr : &*it;
}

bool Params::has(const std::string& name) const {
  return parameters_.is_object() && parameters_.contains(name);
}

bool Params::is_pending(const std::string& name) const {
  return templates_pending_ && has(name) && has_templates(parameters_.at(name));
}

base::Result<std::string> Params::string(const std::string& name, std::optional<std::string> fallback) {
  const nlohmann::json* value = find(name);
  if (value == nullptr) {
    if (fallback) return *fallback;
    return error(name, "is required");
  }
  if (!value->is_string()) return error(name, "must be a string, got " + describe(*value));
  return value->get<std::string>();
}

base::Result<std::int64_t> Params::integer(const std::string& name, std::optional<std::int64_t> fallback,
                                           std::int64_t min, std::int64_t max) {
  const nlohmann::json* value = find(name);
  if (value == nullptr) {
    if (fallback) return *fallback;
    return error(name, "is required");
  }
  if (is_pending(name)) return fallback.value_or(min);
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  std::int64_t n = 0;
  if (value->is_number_integer() || value->is_number_unsigned()) {
    if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return error(name, "must be " + range + ", got " + describe(*value));
    }
    n = value->get<std::int64_t>();
  } else if (value->is_number_float() && std::floor(value->get<double>()) == value->get<double>() &&
             std::abs(value->get<double>()) < 9e15) {
    n = static_cast<std::int64_t>(value->get<double>());
  } else {
    return error(name, "must be " + range + ", got " + describe(*value));
  }
  if (n < min || n > max) return error(name, "must be " + range + ", got " + std::to_string(n));
  return n;
}

base::Result<double> Params::number(const std::string& name, std::optional<double> fallback, double min, double max) {
  const nlohmann::json* value = find(name);
  if (value == nullptr) {
    if (fallback) return *fallback;
    return error(name, "is required");
  }
  if (is_pending(name)) return fallback.value_or(min);
  if (!value->is_number()) return error(name, "must be a number, got " + describe(*value));
  double x = value->get<double>();
  if (!(x >= min && x <= max)) {
    std::ostringstream range;
    range << "must be a number from " << min << " to " << max << ", got " << x;
    return error(name, range.str());
  }
  return x;
}

base::Result<std::vector<std::string>> Params::strings(const std::string& name, std::vector<std::string> fallback) {
  const nlohmann::json* value = find(name);
  if (value == nullptr) return fallback;
  if (is_pending(name)) return fallback;
  if (value->is_string()) return std::vector<std::string>{value->get<std::string>()};
  if (value->is_array() && !value->empty()) {
    std::vector<std::string> out;
    for (const auto& item : *value) {
      if (!item.is_string()) return error(name, "must be a string or a non-empty array of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  return error(name, "must be a string or a non-empty array of strings, got " + describe(*value));
}

base::Result<nlohmann::json> Params::json(const std::string& name, bool required) {
  const nlohmann::json* value = find(name);
  if (value == nullptr) {
    if (required) return error(name, "is required");
    return nlohmann::json(nullptr);
  }
  return *value;
}

base::Status Params::check_no_unknown() const {
  if (!parameters_.is_object()) return {};
  for (auto it = parameters_.begin(); it != parameters_.end(); ++it) {
    if (seen_.count(it.key()) == 0) {
      std::string known;
      for (const std::string& s : seen_) known += (known.empty() ? "" : ", ") + s;
      return base::invalid_argument(where_ + ": unknown parameter \"" + it.key() + "\" (known: " + known + ")");
    }
  }
  return {};
}

}  // namespace winnow::pipeline
