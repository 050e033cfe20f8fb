// Compile-time constant values: what constants, obligations and test-case
// fields evaluate to, and what the linter folds rule conditions into.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/check/types.h"

namespace gov::check {

// A constant of any Gov type. Sets are kept sorted and without duplicates.
struct Value {
  TypeKind kind = TypeKind::kNone;  // kNone: absent (`none`)
  bool boolean = false;
  std::int64_t number = 0;  // int, duration (ms), size (bytes)
  std::string text;         // string, path (normalized), digest, glob/regex source
  std::vector<Value> items;  // list, set
  std::vector<std::pair<std::string, Value>> fields;  // record, map (sorted by key)

  // Special members are defined out of line, where Value is complete (clang
  // rejects instantiating vector<pair<string, Value>> inside Value itself).
  Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;
  ~Value();

  static Value None() { return Value{}; }
  static Value Bool(bool b) {
    Value v;
    v.kind = TypeKind::kBool;
    v.boolean = b;
    return v;
  }
  static Value Number(TypeKind kind, std::int64_t n) {
    Value v;
    v.kind = kind;
    v.number = n;
    return v;
  }
  static Value Text(TypeKind kind, std::string s) {
    Value v;
    v.kind = kind;
    v.text = std::move(s);
    return v;
  }
  bool IsNone() const { return kind == TypeKind::kNone; }
};

bool operator==(const Value& a, const Value& b);
inline bool operator!=(const Value& a, const Value& b) { return !(a == b); }
// Total order within one kind (used for sets and `<`).
bool operator<(const Value& a, const Value& b);
// Sorts and deduplicates set items.
void NormalizeSet(Value& set);
// Gov source spelling of a value (`"x"`, `10m`, `["a", "b"]`), for messages.
std::string ToSource(const Value& value);

}  // namespace gov::check
