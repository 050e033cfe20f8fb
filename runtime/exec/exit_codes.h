// govrun's documented exit codes (docs/govrun.md) and the failure type that
// carries one of them together with a one-line message.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gov::exec {

// A command line the tool cannot use: an unknown option, a missing value
// (EX_USAGE; the same for every gov tool, govc included).
inline constexpr int kExitUsage = 64;
// Denied by the policy, or an `ask` refused (EX_NOPERM).
inline constexpr int kExitDenied = 77;
// Configuration, policy, bundle, trust, --context or unenforceable obligation (EX_CONFIG).
inline constexpr int kExitConfig = 78;
// Lineage could not be written (EX_IOERR).
inline constexpr int kExitLineage = 74;
// Internal error (EX_SOFTWARE).
inline constexpr int kExitInternal = 70;
// The program was not found.
inline constexpr int kExitNotFound = 127;
// The program was found but cannot be executed (directory, permissions, format).
inline constexpr int kExitNotExecutable = 126;

// Why a step failed: the exit code govrun ends with and the message it prints.
struct Failure {
  int exit_code = kExitInternal;
  std::string message;
};

// A value or a Failure (ErrorOr with an exit code).
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : storage_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Outcome(Failure failure) : storage_(std::move(failure)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(storage_); }
  T& value() { return std::get<T>(storage_); }
  const T& value() const { return std::get<T>(storage_); }
  const Failure& failure() const { return std::get<Failure>(storage_); }

 private:
  std::variant<T, Failure> storage_;
};

}  // namespace gov::exec
