// Reading typed fields of tokenizer.json objects with errors that name the
// file, the component and the field ("tokenizer.json: normalizer "Strip":
// field "strip_left" must be a boolean").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::text {

// `where` prefixes every message, e.g. `tokenizer.json: normalizer "Strip"`.
base::Status field_error(std::string_view where, std::string_view field, std::string_view problem);

// The field's value, `fallback` when it is absent or null, an error when it has another type.
base::Result<bool> get_bool(const nlohmann::json& object, std::string_view field, bool fallback,
                            std::string_view where);
base::Result<std::string> get_string(const nlohmann::json& object, std::string_view field,
                                     std::string_view fallback, std::string_view where);
base::Result<std::int64_t> get_int(const nlohmann::json& object, std::string_view field, std::int64_t fallback,
                                   std::string_view where);
// Like get_string, but an absent or null field is an error.
base::Result<std::string> require_string(const nlohmann::json& object, std::string_view field,
                                         std::string_view where);
// The object's "type" string; an error when the object has none.
base::Result<std::string> get_type(const nlohmann::json& object, std::string_view where);

}  // namespace winnow::text
