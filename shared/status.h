// Status and Result<T>: how every fallible operation in clawback reports failure.
//
// A Status is either OK or carries a Code and a message a user can act on
// ("path must be absolute: etc/nginx"). Result<T> holds a T or a non-OK Status.
// Both are cheap to move, copyable, and thread-compatible (no internal sharing).
// Never drop one on the floor: callers either handle it or return it upward.
//
// Code <-> HTTP status (both directions) lives in shared/http_status.h, Code ->
// CLI exit code in controller/cli/exit_codes.h; nothing else translates codes.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace clawback {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,     // bad input from the caller: 400
    kUnauthenticated,     // no or bad credentials: 401
    kPermissionDenied,    // known caller, not allowed: 403
    kNotFound,            // 404 (also used to hide what a caller may not see)
    kConflict,            // state does not allow it (e.g. target not running): 409
    kAlreadyExists,       // 409
    kFailedPrecondition,  // 409
    kResourceExhausted,   // disk full, rate limited, too many: 429
    kUnavailable,         // peer unreachable: 503
    kDeadlineExceeded,    // stalled: 504
    kCanceled,            // canceled by a user: 409
    kCorruption,          // checksum mismatch, truncated or corrupt stream: 422
    kIoError,             // local I/O failed: 500
    kInternal,            // a bug: 500. Stays the last code (CodeFromName iterates up to it).
  };

  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status Canceled(std::string m) { return {Code::kCanceled, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    return Status(code_, std::string(context) + ": " + message_);
  }

  // "invalid_argument", "not_found", ...: stable names for logs and JSON.
  static std::string_view CodeName(Code code);
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an OK status has no value");
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;  // OK iff value_ is set
};

}  // namespace clawback

// Propagates a non-OK Status from an expression returning Status.
#define CLAWBACK_RETURN_IF_ERROR(expr)               \
  do {                                               \
    ::clawback::Status _st = (expr);                 \
    if (!_st.ok()) return _st;                       \
  } while (0)
