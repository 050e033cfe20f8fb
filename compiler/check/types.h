// The Gov type system: value types, optionality, records, and the built-in
// request model every policy sees.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gov::check {

enum class TypeKind : std::uint8_t {
  kError,  // a type error was already reported; suppresses follow-on errors
  kNone,   // the type of the literal `none` before it meets a context
  kBool,
  kInt,
  kString,
  kPath,
  kDuration,
  kSize,
  kDigest,
  kGlob,
  kRegex,
  kList,
  kSet,
  kMap,
  kRecord,
};

struct Type;

// A named field of a record type.
struct Field {
  std::string name;
  std::shared_ptr<const Type> type;
};

// A value type; `optional` marks `T?` (the value may be absent).
struct Type {
  TypeKind kind = TypeKind::kError;
  bool optional = false;
  // kList / kSet: element; kMap: key then value.
  std::vector<Type> args;
  // kRecord: the fields, in declaration order.
  std::shared_ptr<const std::vector<Field>> fields;
  // kRecord: a display name for built-in records (`program`, `user`, ...).
  std::string record_name;

  static Type Of(TypeKind kind) { return Type{kind, false, {}, nullptr, {}}; }
  static Type Error() { return Of(TypeKind::kError); }
  static Type ListOf(Type element);
  static Type SetOf(Type element);
  static Type MapOf(Type key, Type value);
  static Type Record(std::string name, std::vector<std::pair<std::string, Type>> fields);

  Type AsOptional() const;
  Type AsRequired() const;
  bool IsError() const { return kind == TypeKind::kError; }
  // The type of a record field, or nullptr.
  const Type* FieldType(std::string_view name) const;
  // True when any part is the error type.
  bool ContainsError() const;
};

bool operator==(const Type& a, const Type& b);
inline bool operator!=(const Type& a, const Type& b) { return !(a == b); }

// `list<string>`, `path?`, `{ name: string }`, ...
std::string ToString(const Type& type);

// The built-in request model: fields that every rule may read.
struct RequestModel {
  Type program;  // record { path: path, name: string, sha256: digest }: the file that runs
  Type invoked;  // record { path: path, name: string }: how the program was invoked
  Type user;     // record { name, uid, gid, groups }
  Type host;     // record { name }
  Type time;     // record { unix, hour, minute, weekday, date }
  Type parent;   // record { run_id, depth, program }? (optional)

  static const RequestModel& Get();
  // The type of a request name (`program`, `args`, `cwd`, ...) or nullopt.
  // `context` is not included: its type comes from the policy's declaration.
  std::optional<Type> Lookup(std::string_view name) const;
  static const std::vector<std::string_view>& Names();
};

}  // namespace gov::check
