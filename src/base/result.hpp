// Result values for expected failures.
//
// Contract: expected failures (a bad row, an SMTP 4xx, SQLITE_BUSY, a file
// that vanished) are returned as values, never thrown. Exceptions are kept
// for start-up errors and programming errors. `Error` is cheap to copy; a
// `Result<T>` holds either a T or an Error. Both are [[nodiscard]] so a
// caller cannot drop a failure by accident. A part whose failures carry more
// than a message (a report problem's code and values) names its own error
// type: `Result<T, E>`. Thread-safety: plain values.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace stockwatch {

enum class ErrorCode {
  kOk = 0,
  kInvalidInput,   // the input (a report, a config) is wrong; not retryable
  kNotFound,       // a file or a row that should be there is not
  kIo,             // the operating system refused (errno in the message)
  kPermission,     // permission denied (EACCES, EPERM)
  kBusy,           // a lock or a busy resource; retry later
  kTransient,      // a temporary failure (SMTP 4xx, connection refused)
  kPermanent,      // a permanent failure (SMTP 5xx)
  kCancelled,      // stopped on request (shutdown)
  kCorrupt,        // stored data is not what it should be
  kInternal,       // a bug or an unexpected library error
};

const char* to_string(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error() = default;
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] ErrorCode code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }
  [[nodiscard]] bool ok() const { return code_ == ErrorCode::kOk; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A success-or-error value for operations that return nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status ok_status() { return Status(); }

  [[nodiscard]] bool ok() const { return error_.ok(); }
  [[nodiscard]] const Error& error() const { return error_; }
  [[nodiscard]] ErrorCode code() const { return error_.code(); }
  [[nodiscard]] const std::string& message() const { return error_.message(); }

 private:
  Error error_;
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {          // NOLINT: implicit by design
    if constexpr (std::is_same_v<E, Error>) {
      assert(!std::get<Error>(v_).ok() && "a Result error must not be kOk");
    }
  }

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const E& error() const { return std::get<E>(v_); }
  // Only for E = Error.
  [[nodiscard]] Status status() const { return ok() ? Status() : Status(error()); }

 private:
  std::variant<T, E> v_;
};

// Turns the current errno (or the given one) into an Error: "<what>: <strerror>".
Error errno_error(const std::string& what, int err);
Error errno_error(const std::string& what);

}  // namespace stockwatch
