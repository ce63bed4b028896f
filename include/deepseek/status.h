// deepseek/status.h: the error type of the public C++ API (standard library only).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace deepseek {

// Error categories; the C ABI's ds_status uses the same numbering.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument = 1,  // a bad value passed by the caller
  kNotFound = 2,         // a missing file, tensor, token or key
  kInvalidFormat = 3,    // a file that is malformed or inconsistent
  kUnsupported = 4,      // well-formed input this build cannot run
  kOutOfMemory = 5,      // a memory limit would be exceeded
  kCancelled = 6,        // the caller cancelled the operation
  kInternal = 7,         // a bug in the library
};

// A status code plus a human-readable message naming the file, field or tensor at fault.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  // True when the operation succeeded.
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // The error message (empty when ok()).
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or an error Status. Access value() only when ok().
template <typename T>
class Result {
 public:
  Result(T value) : data_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {}   // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(data_); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace deepseek
