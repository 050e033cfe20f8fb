// ErrorOr<T>: the tool-failure channel. A value or an Error with a message;
// never thrown. Problems in a user's policy are diagnostics, not Errors.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gov {

// A failure of the tool itself (I/O, resource limits, internal faults).
struct Error {
  std::string message;
};

// Holds either a T or an Error. Check with `ok()` before reading `value()`.
template <typename T>
class [[nodiscard]] ErrorOr {
 public:
  ErrorOr(T value) : storage_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  ErrorOr(Error error) : storage_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(storage_); }
  const T& value() const& { return std::get<T>(storage_); }
  T& value() & { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  const Error& error() const { return std::get<Error>(storage_); }

 private:
  std::variant<T, Error> storage_;
};

// ErrorOr<void>: success or an Error.
template <>
class [[nodiscard]] ErrorOr<void> {
 public:
  ErrorOr() = default;
  ErrorOr(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace gov

// Returns the Error of `expr` from the enclosing function if it failed.
#define GOV_RETURN_IF_ERROR(expr)              \
  do {                                         \
    auto gov_status_ = (expr);                 \
    if (!gov_status_.ok()) {                   \
      return gov_status_.error();              \
    }                                          \
  } while (false)

#define GOV_CONCAT_INNER_(a, b) a##b
#define GOV_CONCAT_(a, b) GOV_CONCAT_INNER_(a, b)
#define GOV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) {                                 \
    return tmp.error();                            \
  }                                                \
  lhs = std::move(tmp).value()

// Declares or assigns `lhs` from a successful ErrorOr, else returns its Error.
#define GOV_ASSIGN_OR_RETURN(lhs, expr) \
  GOV_ASSIGN_OR_RETURN_IMPL_(GOV_CONCAT_(gov_or_, __LINE__), lhs, expr)
