// Equality, ordering and printing of constant values.
#include "compiler/check/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace gov::check {

Value::Value() = default;
Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;
Value::~Value() = default;

bool operator==(const Value& a, const Value& b) {
  return a.kind == b.kind && a.boolean == b.boolean && a.number == b.number && a.text == b.text &&
         a.items == b.items && a.fields == b.fields;
}

bool operator<(const Value& a, const Value& b) {
  return std::tie(a.kind, a.boolean, a.number, a.text, a.items, a.fields) <
         std::tie(b.kind, b.boolean, b.number, b.text, b.items, b.fields);
}

void NormalizeSet(Value& set) {
  std::sort(set.items.begin(), set.items.end());
  set.items.erase(std::unique(set.items.begin(), set.items.end()), set.items.end());
}

namespace {

std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string ToSource(const Value& value) {
  switch (value.kind) {
    case TypeKind::kNone:
    case TypeKind::kError:
      return "none";
    case TypeKind::kBool:
      return value.boolean ? "true" : "false";
    case TypeKind::kInt:
      return std::to_string(value.number);
    case TypeKind::kDuration:
      return fmt::format("{}ms", value.number);
    case TypeKind::kSize:
      return fmt::format("{}B", value.number);
    case TypeKind::kString:
    case TypeKind::kPath:
    case TypeKind::kDigest:
      return Quote(value.text);
    case TypeKind::kGlob:
      return "g" + Quote(value.text);
    case TypeKind::kRegex:
      return "r" + Quote(value.text);
    case TypeKind::kList:
    case TypeKind::kSet: {
      std::string out = value.kind == TypeKind::kList ? "[" : "{";
      for (std::size_t i = 0; i < value.items.size(); ++i) out += (i ? ", " : "") + ToSource(value.items[i]);
      return out + (value.kind == TypeKind::kList ? "]" : "}");
    }
    case TypeKind::kMap:
    case TypeKind::kRecord: {
      std::string out = "{";
      for (std::size_t i = 0; i < value.fields.size(); ++i) {
        out += fmt::format("{}{} = {}", i ? ", " : " ", value.fields[i].first, ToSource(value.fields[i].second));
      }
      return out + (value.fields.empty() ? "}" : " }");
    }
  }
  return "none";
}

}  // namespace gov::check
