#include "server/http_errors.h"

#include <cctype>

namespace winnow::server {

int http_status(base::StatusCode code) {
  using base::StatusCode;
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kFailedPrecondition: return 400;
    case StatusCode::kOutOfRange: return 413;  // a body over a size limit, or a document too long with truncation off
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kOutOfSpace: return 507;  // Insufficient Storage: retrying will not help until space is freed
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string error_code(base::StatusCode code) {
  // "FailedPrecondition" -> "failed_precondition"
  std::string out;
  for (char c : base::status_code_name(code)) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

nlohmann::json error_body(const base::Status& status) {
  // "message" at the top level too: clients of Cohere's and OpenAI-style APIs
  // (the Vercel AI SDK's Cohere provider, ...) read it there.
  return {{"error", {{"code", error_code(status.code())}, {"message", status.message()}}},
          {"message", status.message()}};
}

}  // namespace winnow::server
