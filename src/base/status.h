// Status and Result<T>: the one error type of Winnow.
//
// Every fallible function returns a Status or a Result<T>. Codes are named as
// Abseil names them; server/ maps them to HTTP statuses in one place. Messages
// are written for the user: they name the file, line, field or item at fault.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace winnow::base {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kOutOfRange,
  kResourceExhausted,
  // The disk (or a quota) is full: a write failed with ENOSPC / EDQUOT /
  // SQLITE_FULL. Not ResourceExhausted, which asks the client to back off and
  // retry: space comes back only when someone frees it.
  kOutOfSpace,
  kDeadlineExceeded,
  kUnavailable,
  kUnauthenticated,
  kPermissionDenied,
  kUnimplemented,
  kDataLoss,
  kInternal,
};

// "InvalidArgument", "NotFound", ...
std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same error with "context: " in front of the message, e.g. the file name.
  Status with_context(std::string_view context) const;

  // "NotFound: config.json: no such file"
  std::string to_string() const;

  // Marks an error as deliberately ignored.
  void ignore_error() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status invalid_argument(std::string message);
Status not_found(std::string message);
Status already_exists(std::string message);
Status failed_precondition(std::string message);
Status out_of_range(std::string message);
Status resource_exhausted(std::string message);
Status out_of_space(std::string message);
Status deadline_exceeded(std::string message);
Status unavailable(std::string message);
Status unauthenticated(std::string message);
Status permission_denied(std::string message);
Status unimplemented(std::string message);
Status data_loss(std::string message);
Status internal_error(std::string message);

// A value or the error that prevented it. Constructing a Result from an OK
// Status is a programming error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace winnow::base

#define WINNOW_CONCAT_INNER_(a, b) a##b
#define WINNOW_CONCAT_(a, b) WINNOW_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is an error.
#define WINNOW_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::winnow::base::Status winnow_status_ = (expr);   \
    if (!winnow_status_.ok()) return winnow_status_;  \
  } while (false)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define WINNOW_ASSIGN_OR_RETURN(lhs, expr) \
  WINNOW_ASSIGN_OR_RETURN_IMPL_(WINNOW_CONCAT_(winnow_result_, __LINE__), lhs, expr)
#define WINNOW_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                  \
  if (!result.ok()) return result.status();              \
  lhs = std::move(result).value()
