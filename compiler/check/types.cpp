// Type construction, equality, printing and the request model.
#include "compiler/check/types.h"

#include <fmt/format.h>

namespace gov::check {

Type Type::ListOf(Type element) {
  Type t = Of(TypeKind::kList);
  t.args.push_back(std::move(element));
  return t;
}

Type Type::SetOf(Type element) {
  Type t = Of(TypeKind::kSet);
  t.args.push_back(std::move(element));
  return t;
}

Type Type::MapOf(Type key, Type value) {
  Type t = Of(TypeKind::kMap);
  t.args.push_back(std::move(key));
  t.args.push_back(std::move(value));
  return t;
}

Type Type::Record(std::string name, std::vector<std::pair<std::string, Type>> fields) {
  Type t = Of(TypeKind::kRecord);
  auto list = std::make_shared<std::vector<Field>>();
  for (auto& [field_name, field_type] : fields) {
    list->push_back(Field{std::move(field_name), std::make_shared<const Type>(std::move(field_type))});
  }
  t.fields = std::move(list);
  t.record_name = std::move(name);
  return t;
}

Type Type::AsOptional() const {
  Type t = *this;
  if (t.kind != TypeKind::kError && t.kind != TypeKind::kNone) t.optional = true;
  return t;
}

Type Type::AsRequired() const {
  Type t = *this;
  t.optional = false;
  return t;
}

const Type* Type::FieldType(std::string_view name) const {
  if (kind != TypeKind::kRecord || !fields) return nullptr;
  for (const Field& field : *fields) {
    if (field.name == name) return field.type.get();
  }
  return nullptr;
}

bool Type::ContainsError() const {
  if (kind == TypeKind::kError) return true;
  for (const Type& arg : args) {
    if (arg.ContainsError()) return true;
  }
  if (fields) {
    for (const Field& field : *fields) {
      if (field.type->ContainsError()) return true;
    }
  }
  return false;
}

bool operator==(const Type& a, const Type& b) {
  if (a.kind != b.kind || a.optional != b.optional || a.args != b.args) return false;
  if (a.kind != TypeKind::kRecord) return true;
  if (a.fields == b.fields) return true;
  if (!a.fields || !b.fields || a.fields->size() != b.fields->size()) return false;
  for (std::size_t i = 0; i < a.fields->size(); ++i) {
    if ((*a.fields)[i].name != (*b.fields)[i].name || *(*a.fields)[i].type != *(*b.fields)[i].type) return false;
  }
  return true;
}

std::string ToString(const Type& type) {
  std::string base;
  switch (type.kind) {
    case TypeKind::kError: return "<error>";
    case TypeKind::kNone: return "none";
    case TypeKind::kBool: base = "bool"; break;
    case TypeKind::kInt: base = "int"; break;
    case TypeKind::kString: base = "string"; break;
    case TypeKind::kPath: base = "path"; break;
    case TypeKind::kDuration: base = "duration"; break;
    case TypeKind::kSize: base = "size"; break;
    case TypeKind::kDigest: base = "digest"; break;
    case TypeKind::kGlob: base = "glob"; break;
    case TypeKind::kRegex: base = "regex"; break;
    case TypeKind::kList: base = fmt::format("list<{}>", ToString(type.args[0])); break;
    case TypeKind::kSet: base = fmt::format("set<{}>", ToString(type.args[0])); break;
    case TypeKind::kMap: base = fmt::format("map<{}, {}>", ToString(type.args[0]), ToString(type.args[1])); break;
    case TypeKind::kRecord: {
      if (!type.record_name.empty()) {
        base = type.record_name;
        break;
      }
      base = "{";
      for (std::size_t i = 0; type.fields && i < type.fields->size(); ++i) {
        base += fmt::format("{}{}: {}", i == 0 ? " " : ", ", (*type.fields)[i].name, ToString(*(*type.fields)[i].type));
      }
      base += base.size() > 1 ? " }" : "}";
      break;
    }
  }
  return type.optional ? base + "?" : base;
}

const RequestModel& RequestModel::Get() {
  static const RequestModel model = [] {
    RequestModel m;
    Type string = Type::Of(TypeKind::kString);
    Type integer = Type::Of(TypeKind::kInt);
    Type path = Type::Of(TypeKind::kPath);
    m.program = Type::Record("program", {{"path", path},
                                         {"name", string},
                                         {"sha256", Type::Of(TypeKind::kDigest)},
                                         {"written_in_session", Type::Of(TypeKind::kBool)}});
    m.invoked = Type::Record("invoked", {{"path", path}, {"name", string}});
    m.user = Type::Record("user",
                          {{"name", string}, {"uid", integer}, {"gid", integer}, {"groups", Type::SetOf(string)}});
    m.host = Type::Record("host", {{"name", string}});
    m.time = Type::Record("time", {{"unix", integer},
                                   {"hour", integer},
                                   {"minute", integer},
                                   {"weekday", string},
                                   {"date", string}});
    m.parent = Type::Record("parent", {{"run_id", string}, {"depth", integer}, {"program", path}}).AsOptional();
    return m;
  }();
  return model;
}

const std::vector<std::string_view>& RequestModel::Names() {
  static const std::vector<std::string_view> names = {"program", "invoked", "args", "argv0",  "env",    "cwd",
                                                      "user",    "host",    "time", "parent", "context"};
  return names;
}

std::optional<Type> RequestModel::Lookup(std::string_view name) const {
  if (name == "program") return program;
  if (name == "invoked") return invoked;
  if (name == "args") return Type::ListOf(Type::Of(TypeKind::kString));
  if (name == "argv0") return Type::Of(TypeKind::kString);
  if (name == "env") return Type::MapOf(Type::Of(TypeKind::kString), Type::Of(TypeKind::kString));
  if (name == "cwd") return Type::Of(TypeKind::kPath);
  if (name == "user") return user;
  if (name == "host") return host;
  if (name == "time") return time;
  if (name == "parent") return parent;
  return std::nullopt;
}

}  // namespace gov::check
