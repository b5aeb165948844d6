// Status and Result<T>: how errors cross layer boundaries in Cairn. Functions that can fail for
// reasons outside the program's control (I/O, the network, bad input, timeouts) return one of
// these instead of throwing; both are [[nodiscard]] so an ignored error is a compile warning.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "core/runtime/assert.h"

namespace cairn {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed
  kNotFound,           // a file, key or endpoint does not exist
  kAlreadyExists,      // creating something that exists
  kIoError,            // the disk or the OS failed (EIO and friends)
  kCorruption,         // stored data fails its checksum or framing
  kNoSpace,            // ENOSPC
  kTimeout,            // a deadline passed before the operation completed
  kUnavailable,        // a peer or a quorum cannot be reached; retrying may help
  kCancelled,          // the operation was abandoned (its process died, its promise was dropped)
  kResourceExhausted,  // a bounded queue or limit is full
  kClosed,             // the channel, file or connection is closed
  kFailedPrecondition, // the system is not in a state where this is allowed
  kOutOfRange,         // an offset or index beyond the end
  kInternal,           // a bug detected at a boundary, reported rather than crashing a server
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  static Status invalid_argument(std::string message) { return {StatusCode::kInvalidArgument, std::move(message)}; }
  static Status not_found(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
  static Status already_exists(std::string message) { return {StatusCode::kAlreadyExists, std::move(message)}; }
  static Status io_error(std::string message) { return {StatusCode::kIoError, std::move(message)}; }
  static Status corruption(std::string message) { return {StatusCode::kCorruption, std::move(message)}; }
  static Status no_space(std::string message) { return {StatusCode::kNoSpace, std::move(message)}; }
  static Status timeout(std::string message) { return {StatusCode::kTimeout, std::move(message)}; }
  static Status unavailable(std::string message) { return {StatusCode::kUnavailable, std::move(message)}; }
  static Status cancelled(std::string message) { return {StatusCode::kCancelled, std::move(message)}; }
  static Status resource_exhausted(std::string message) { return {StatusCode::kResourceExhausted, std::move(message)}; }
  static Status closed(std::string message) { return {StatusCode::kClosed, std::move(message)}; }
  static Status failed_precondition(std::string message) { return {StatusCode::kFailedPrecondition, std::move(message)}; }
  static Status out_of_range(std::string message) { return {StatusCode::kOutOfRange, std::move(message)}; }
  static Status internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "IO_ERROR: read of wal/0001 failed: ..." or "OK".
  std::string to_string() const;

  // Returns a copy whose message is prefixed with `context: `, for adding where an error happened.
  Status with_context(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_ && a.message_ == b.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose, like std::expected
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    CAIRN_ASSERT(!status_.ok(), "a Result holding no value needs an error status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    CAIRN_ASSERT(ok(), "value() of a failed Result: " + status_.to_string());
    return *value_;
  }
  const T& value() const& {
    CAIRN_ASSERT(ok(), "value() of a failed Result: " + status_.to_string());
    return *value_;
  }
  T&& value() && {
    CAIRN_ASSERT(ok(), "value() of a failed Result: " + status_.to_string());
    return std::move(*value_);
  }
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

// For test failure messages and logs: "IO_ERROR: ...".
inline std::ostream& operator<<(std::ostream& out, const Status& status) { return out << status.to_string(); }

}  // namespace cairn

#define CAIRN_STATUS_CONCAT_INNER(a, b) a##b
#define CAIRN_STATUS_CONCAT(a, b) CAIRN_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expression` (a Status) is an error.
#define CAIRN_RETURN_IF_ERROR(expression)                 \
  do {                                                    \
    ::cairn::Status cairn_status_ = (expression);         \
    if (!cairn_status_.ok()) return cairn_status_;        \
  } while (false)

// CAIRN_ASSIGN_OR_RETURN(auto file, fs.open(...)): unwraps a Result or returns its Status.
#define CAIRN_ASSIGN_OR_RETURN(declaration, expression) \
  CAIRN_ASSIGN_OR_RETURN_IMPL(CAIRN_STATUS_CONCAT(cairn_result_, __LINE__), declaration, expression)
#define CAIRN_ASSIGN_OR_RETURN_IMPL(result, declaration, expression) \
  auto result = (expression);                                        \
  if (!result.ok()) return result.status();                          \
  declaration = std::move(result).value()
