// The one place where Status codes become HTTP statuses, and the error body
// every route returns: {"error": {"code": "invalid_argument", "message": "..."}, "message": "..."}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::server {

int http_status(base::StatusCode code);

// "invalid_argument", "not_found", ...
std::string error_code(base::StatusCode code);

nlohmann::json error_body(const base::Status& status);

}  // namespace winnow::server
