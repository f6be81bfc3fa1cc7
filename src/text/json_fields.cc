#include "text/json_fields.h"

namespace winnow::text {

namespace {

const nlohmann::json* find_field(const nlohmann::json& object, std::string_view field) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(field));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

base::Status field_error(std::string_view where, std::string_view field, std::string_view problem) {
  return base::invalid_argument(std::string(where) + ": field \"" + std::string(field) + "\" " +
                                std::string(problem));
}

base::Result<bool> get_bool(const nlohmann::json& object, std::string_view field, bool fallback,
                            std::string_view where) {
  const auto* value = find_field(object, field);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return field_error(where, field, "must be a boolean");
  return value->get<bool>();
}

base::Result<std::string> get_string(const nlohmann::json& object, std::string_view field,
                                     std::string_view fallback, std::string_view where) {
  const auto* value = find_field(object, field);
  if (value == nullptr) return std::string(fallback);
  if (!value->is_string()) return field_error(where, field, "must be a string");
  return value->get<std::string>();
}

base::Result<std::int64_t> get_int(const nlohmann::json& object, std::string_view field, std::int64_t fallback,
                                   std::string_view where) {
  const auto* value = find_field(object, field);
  if (value == nullptr) return fallback;
  if (value->is_number_integer()) return value->get<std::int64_t>();
  if (value->is_number_float()) {
    double d = value->get<double>();
    if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return static_cast<std::int64_t>(d);
    }
  }
  return field_error(where, field, "must be an integer");
}

base::Result<std::string> require_string(const nlohmann::json& object, std::string_view field,
                                         std::string_view where) {
  const auto* value = find_field(object, field);
  if (value == nullptr) return field_error(where, field, "is missing");
  if (!value->is_string()) return field_error(where, field, "must be a string");
  return value->get<std::string>();
}

base::Result<std::string> get_type(const nlohmann::json& object, std::string_view where) {
  if (!object.is_object()) return base::invalid_argument(std::string(where) + ": must be a JSON object");
  const auto* value = find_field(object, "type");
  if (value == nullptr) return base::invalid_argument(std::string(where) + ": has no \"type\"");
  if (!value->is_string()) return field_error(where, "type", "must be a string");
  return value->get<std::string>();
}

}  // namespace winnow::text
