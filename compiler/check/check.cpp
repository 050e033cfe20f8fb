// The type checker: declares module symbols, resolves names, infers and
// checks types bottom-up with an expected type flowing down (so string
// literals become paths, patterns and digests where those are needed),
// folds constants, and validates rules, obligations and tests.
#include "compiler/check/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "compiler/diagnostics/suggest.h"
#include "runtime/ir/capabilities.h"
#include "runtime/ir/env_names.h"
#include "runtime/support/path.h"

namespace gov::check {

const ContextFieldInfo* CheckedModule::FindContext(std::string_view name) const {
  for (const ContextFieldInfo& field : context) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

const std::vector<ObligationSpec>& KnownObligations() {
  static const std::vector<ObligationSpec> specs = {
      {"timeout", "duration"},  {"memory", "size"},
      {"processes", "int"},     {"network", "none | loopback | any"},
      {"read", "list<path>"},   {"write", "list<path>"},
      {"create", "list<path>"}, {"tmp", "private"},
      {"env", "list<string>"},  {"capabilities", "list<string>"},
  };
  return specs;
}

namespace {

using diagnostics::Kind;
using source::Span;

// A checked expression: its type and, when known at compile time, its value.
struct Typed {
  Type type;
  std::optional<Value> value;
};

Type Bool() { return Type::Of(TypeKind::kBool); }
Type Int() { return Type::Of(TypeKind::kInt); }
Type String() { return Type::Of(TypeKind::kString); }
Type PathType() { return Type::Of(TypeKind::kPath); }

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsStringLiteral(const ast::Expr& expr) { return std::holds_alternative<ast::StringLiteral>(expr.node); }

// Literals whose type depends on where they are used: strings (paths,
// patterns, digests), `none`, and collection literals (element type).
bool IsLiteralLike(const ast::Expr& expr) {
  return std::holds_alternative<ast::StringLiteral>(expr.node) || std::holds_alternative<ast::NoneLiteral>(expr.node) ||
         std::holds_alternative<ast::ListLiteral>(expr.node) || std::holds_alternative<ast::SetLiteral>(expr.node) ||
         std::holds_alternative<ast::RecordLiteral>(expr.node);
}

// Same type ignoring optionality.
bool SameBase(const Type& a, const Type& b) { return a.AsRequired() == b.AsRequired(); }

// Checked arithmetic on int64.
std::optional<std::int64_t> Arith(ast::BinaryOp op, std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  switch (op) {
    case ast::BinaryOp::kAdd:
      if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
      return out;
    case ast::BinaryOp::kSub:
      if (__builtin_sub_overflow(a, b, &out)) return std::nullopt;
      return out;
    case ast::BinaryOp::kMul:
      if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
      return out;
    case ast::BinaryOp::kDiv:
      if (b == 0 || (a == INT64_MIN && b == -1)) return std::nullopt;
      return a / b;
    case ast::BinaryOp::kMod:
      if (b == 0 || (a == INT64_MIN && b == -1)) return std::nullopt;
      return a % b;
    default:
      return std::nullopt;
  }
}

class ModuleChecker {
 public:
  ModuleChecker(Program& program, int index, const ParsedModule& parsed, diagnostics::Collector& diagnostics)
      : program_(program), index_(index), parsed_(parsed), m_(program.modules[static_cast<std::size_t>(index)]),
        diagnostics_(diagnostics) {}

  void Run() {
    const ast::File& file = *parsed_.ast;
    m_.ast = &file;
    m_.file = file.file_id;
    m_.is_entry = parsed_.is_entry;
    m_.types.assign(file.expr_count, Type::Error());
    m_.values.assign(file.expr_count, std::nullopt);
    m_.resolutions.assign(file.expr_count, Resolution{});
    Declare();
    CheckIncludedContext();
    for (auto& [name, symbol] : m_.symbols) {
      if (symbol.kind == SymbolKind::kConst) EnsureConst(symbol);
    }
    for (auto& [name, symbol] : m_.symbols) {
      if (symbol.kind == SymbolKind::kDef) CheckDefBody(symbol);
    }
    ReportRecursion();
    if (defaults_ != nullptr) CheckDefaults(*defaults_);
    for (const ast::Rule* rule : m_.rules) CheckRule(*rule);
    for (const ast::TestBlock* test : m_.tests) CheckTest(*test);
  }

 private:
  // ---------------------------------------------------------------- declarations

  using Diagnostic = diagnostics::Diagnostic;
  Diagnostic& Emit(Kind kind, Span span, std::string message) { return diagnostics_.Emit(kind, span, std::move(message)); }

  void DeclareName(Symbol symbol) {
    if (std::find(RequestModel::Names().begin(), RequestModel::Names().end(), symbol.name) !=
        RequestModel::Names().end()) {
      Emit(Kind::kShadowedName, symbol.span,
           fmt::format("`{}` is a request field and cannot be redeclared", symbol.name))
          .help = "choose another name";
      return;
    }
    auto [it, inserted] = m_.symbols.emplace(symbol.name, symbol);
    if (!inserted) {
      Emit(Kind::kDuplicateDeclaration, symbol.span, fmt::format("`{}` is declared more than once", symbol.name))
          .notes.push_back({it->second.span, "first declared here"});
    }
  }

  void Declare() {
    const ast::File& file = *parsed_.ast;
    const ast::PolicyHeader* header = nullptr;
    std::size_t import_index = 0;
    const ast::ContextDecl* context = nullptr;
    for (const ast::Decl& decl : file.decls) {
      if (const auto* h = std::get_if<ast::PolicyHeader>(&decl.node)) {
        if (header != nullptr) {
          Emit(Kind::kDuplicatePolicyHeader, h->span, "a file has exactly one `policy` header")
              .notes.push_back({header->span, "the first header is here"});
          continue;
        }
        header = h;
        m_.policy_name = h->name;
        m_.version = h->version;
        if (h->version && !ValidVersion(*h->version)) {
          Emit(Kind::kInvalidLiteral, h->span,
               fmt::format("policy version `{}` is not of the form MAJOR.MINOR.PATCH", *h->version));
        }
      } else if (const auto* import = std::get_if<ast::Import>(&decl.node)) {
        int target = import_index < parsed_.import_targets.size() ? parsed_.import_targets[import_index] : -1;
        ++import_index;
        Symbol symbol{SymbolKind::kImport, ImportAlias(*import), import->target_span};
        symbol.import = import;
        symbol.import_target = target;
        if (import->with_rules && !import->is_file) {
          Emit(Kind::kStdlibWithRules, import->with_span,
               fmt::format("`{}` cannot be imported `with rules`: the standard library's rules are its test harness",
                           import->target))
              .help = "import it without `with rules` and write rules that call its functions";
        } else if (import->with_rules && target >= 0) {
          Include(ImportAlias(*import), target);
        }
        DeclareName(std::move(symbol));
      } else if (const auto* constant = std::get_if<ast::ConstDecl>(&decl.node)) {
        Symbol symbol{SymbolKind::kConst, constant->name, constant->name_span};
        symbol.constant = constant;
        symbol.type = ResolveType(*constant->type);
        DeclareName(std::move(symbol));
      } else if (const auto* def = std::get_if<ast::DefDecl>(&decl.node)) {
        if (def->name == "len" || def->name == "path") {
          Emit(Kind::kShadowedName, def->name_span, fmt::format("`{}` is a built-in function", def->name))
              .help = "choose another name";
          continue;
        }
        Symbol symbol{SymbolKind::kDef, def->name, def->name_span};
        symbol.def = def;
        symbol.type = ResolveType(*def->result);
        std::set<std::string> seen;
        for (const ast::Param& param : def->params) {
          symbol.params.push_back(ResolveType(*param.type));
          if (!seen.insert(param.name).second) {
            Emit(Kind::kDuplicateDeclaration, param.name_span,
                 fmt::format("parameter `{}` is declared more than once", param.name));
          }
        }
        DeclareName(std::move(symbol));
      } else if (const auto* ctx = std::get_if<ast::ContextDecl>(&decl.node)) {
        if (context != nullptr) {
          Emit(Kind::kDuplicateDeclaration, ctx->span, "a policy has at most one `context` block")
              .notes.push_back({context->span, "the first `context` block is here"});
          continue;
        }
        context = ctx;
        for (const ast::ContextField& field : ctx->fields) {
          if (const ContextFieldInfo* previous = m_.FindContext(field.name)) {
            Emit(Kind::kDuplicateDeclaration, field.name_span,
                 fmt::format("context field `{}` is declared more than once", field.name))
                .notes.push_back({previous->span, "first declared here"});
            continue;
          }
          Type type = ResolveType(*field.type);
          bool scalar = type.kind == TypeKind::kBool || type.kind == TypeKind::kInt || type.kind == TypeKind::kString ||
                        type.kind == TypeKind::kPath || type.kind == TypeKind::kDuration ||
                        type.kind == TypeKind::kSize || type.kind == TypeKind::kDigest || type.IsError();
          if (!scalar) {
            Emit(Kind::kTypeMismatch, field.type->span,
                 fmt::format("context field `{}` is `{}`; context values are scalars given on the command line",
                             field.name, ToString(type)))
                .help = "use bool, int, string, path, duration, size or digest, optionally with `?`";
            type = Type::Error();
          }
          m_.context.push_back(ContextFieldInfo{field.name, type, field.name_span, 0});
        }
      } else if (const auto* command = std::get_if<ast::CommandDecl>(&decl.node)) {
        Symbol symbol{SymbolKind::kCommand, command->name, command->name_span};
        auto [built, type] = BuildCommand(*command);
        symbol.type = std::move(type);
        if (m_.symbols.count(command->name) == 0) m_.commands[command->name] = std::move(built);
        DeclareName(std::move(symbol));
      } else if (const auto* rule = std::get_if<ast::Rule>(&decl.node)) {
        m_.rules.push_back(rule);
      } else if (const auto* test = std::get_if<ast::TestBlock>(&decl.node)) {
        m_.tests.push_back(test);
      } else if (const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node)) {
        const ast::DefaultDecl*& first = defaults->has_with ? defaults_ : default_verdict_;
        if (first != nullptr) {
          Emit(Kind::kDuplicateDeclaration, defaults->span,
               defaults->has_with ? "a policy has at most one `default with { ... }`"
                                  : "a policy has at most one default verdict")
              .notes.push_back({first->span, "the first one is here"});
          continue;
        }
        first = defaults;
        if (defaults->has_verdict && defaults->verdict == ast::Verdict::kAllow) {
          Emit(Kind::kDefaultAllow, defaults->verdict_span,
               "the default verdict cannot be `allow`: a request no rule decides must not run unreviewed")
              .help =
              "write `default ask because \"...\"` to put such requests to a person, or leave the default "
              "(deny)";
        } else if (defaults->has_verdict && defaults->verdict == ast::Verdict::kAsk) {
          m_.default_ask = true;
          m_.default_reason = defaults->reason.value_or("");
        }
      }
    }
    if (header == nullptr && !file.had_errors) {
      Emit(Kind::kMissingPolicyHeader, Span{file.file_id, 0, 0}, "policy file has no `policy` header")
          .help = "add `policy NAME version \"1.0.0\"` as the first line";
    }
    // The context record type, seen by `context.field`.
    std::vector<std::pair<std::string, Type>> fields;
    for (const ContextFieldInfo& field : m_.context) fields.emplace_back(field.name, field.type);
    context_type_ = Type::Record("context", std::move(fields));
  }

  // Semantic version MAJOR.MINOR.PATCH without leading zeros, optionally
  // followed by `-prerelease` and/or `+build` of [0-9A-Za-z.-] characters.
  static bool ValidVersion(const std::string& version) {
    std::size_t i = 0;
    for (int part = 0; part < 3; ++part) {
      std::size_t start = i;
      while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i]))) ++i;
      if (i == start || (i - start > 1 && version[start] == '0')) return false;
      if (part < 2) {
        if (i >= version.size() || version[i] != '.') return false;
        ++i;
      }
    }
    if (i == version.size()) return true;
    if (version[i] != '-' && version[i] != '+') return false;
    std::string_view suffix = std::string_view(version).substr(i + 1);
    return !suffix.empty() && suffix.back() != '.' && suffix.back() != '-' &&
           std::all_of(suffix.begin(), suffix.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
           });
  }

  static std::string ImportAlias(const ast::Import& import) {
    if (!import.alias.empty()) return import.alias;
    if (import.is_file) {
      std::string base = paths::BaseName(import.target);
      std::size_t dot = base.rfind('.');
      return dot == std::string::npos ? base : base.substr(0, dot);
    }
    std::size_t dot = import.target.rfind('.');
    return dot == std::string::npos ? import.target : import.target.substr(dot + 1);
  }

  // ---------------------------------------------------------------- types

  Type ResolveType(const ast::TypeExpr& type) {
    Type out = Type::Error();
    if (const auto* named = std::get_if<ast::NamedTypeExpr>(&type.node)) {
      struct Simple {
        std::string_view name;
        TypeKind kind;
      };
      static constexpr Simple kSimple[] = {
          {"bool", TypeKind::kBool},         {"int", TypeKind::kInt},   {"string", TypeKind::kString},
          {"path", TypeKind::kPath},         {"duration", TypeKind::kDuration}, {"size", TypeKind::kSize},
          {"digest", TypeKind::kDigest},     {"glob", TypeKind::kGlob}, {"regex", TypeKind::kRegex},
      };
      std::size_t want_args = 0;
      bool known = false;
      for (const Simple& simple : kSimple) {
        if (simple.name == named->name) {
          out = Type::Of(simple.kind);
          known = true;
        }
      }
      if (named->name == "list" || named->name == "set") want_args = 1, known = true;
      if (named->name == "map") want_args = 2, known = true;
      if (!known) {
        Emit(Kind::kUnknownType, type.span, fmt::format("unknown type `{}`", named->name)).help =
            "types are bool, int, string, path, duration, size, digest, glob, regex, list<T>, set<T>, "
            "map<string, T>, { field: T, ... } and T?";
        return Type::Error();
      }
      if (named->args.size() != want_args) {
        Emit(Kind::kUnknownType, type.span,
             want_args == 0 ? fmt::format("`{}` takes no type arguments", named->name)
                            : fmt::format("`{}` takes {} type argument{}", named->name, want_args,
                                          want_args == 1 ? "" : "s"));
        return Type::Error();
      }
      std::vector<Type> args;
      for (const ast::TypeExprPtr& arg : named->args) {
        Type a = ResolveType(*arg);
        if (a.optional) {
          Emit(Kind::kUnknownType, arg->span, "collections hold values, not optional values");
          a = Type::Error();
        }
        args.push_back(std::move(a));
      }
      if (named->name == "list") out = Type::ListOf(args[0]);
      if (named->name == "set") out = Type::SetOf(args[0]);
      if (named->name == "map") {
        if (args[0].kind != TypeKind::kString && !args[0].IsError()) {
          Emit(Kind::kUnknownType, named->args[0]->span, "map keys are strings: write `map<string, T>`");
        }
        out = Type::MapOf(String(), args[1]);
      }
    } else if (const auto* record = std::get_if<ast::RecordTypeExpr>(&type.node)) {
      std::vector<std::pair<std::string, Type>> fields;
      std::set<std::string> seen;
      for (const ast::RecordTypeFieldExpr& field : record->fields) {
        if (!seen.insert(field.name).second) {
          Emit(Kind::kDuplicateDeclaration, field.name_span, fmt::format("field `{}` appears twice", field.name));
        }
        fields.emplace_back(field.name, ResolveType(*field.type));
      }
      out = Type::Record("", std::move(fields));
    }
    return type.optional ? out.AsOptional() : out;
  }

  // ---------------------------------------------------------------- constants and defs

  void EnsureConst(Symbol& symbol) {
    if (const_state_[symbol.name] == 2) return;
    if (const_state_[symbol.name] == 1) {
      if (!cycle_reported_.count(symbol.name)) {
        cycle_reported_.insert(symbol.name);
        Emit(Kind::kRecursiveDefinition, symbol.span,
             fmt::format("constant `{}` is defined in terms of itself", symbol.name));
      }
      symbol.type = Type::Error();
      return;
    }
    const_state_[symbol.name] = 1;
    Typed typed = CheckExpr(*symbol.constant->value, &symbol.type);
    bool assignable = ExpectAssignable(*symbol.constant->value, typed.type, symbol.type);
    if (!assignable) {
      // Uses of a constant whose value is in error stay silent (the error is reported once).
      symbol.type = Type::Error();
    } else {
      if (!typed.value) {
        Emit(Kind::kNotConstant, symbol.constant->value->span,
             fmt::format("the value of constant `{}` depends on the request", symbol.name))
            .help = "constants are computed when the policy is compiled; use a `def` for request-dependent values";
        symbol.type = Type::Error();
      }
      symbol.value = typed.value;
    }
    const_state_[symbol.name] = 2;
  }

  void CheckDefBody(Symbol& symbol) {
    const ast::DefDecl& def = *symbol.def;
    locals_.clear();
    current_def_ = &symbol;
    for (std::size_t i = 0; i < def.params.size(); ++i) {
      if (std::find(RequestModel::Names().begin(), RequestModel::Names().end(), def.params[i].name) !=
          RequestModel::Names().end()) {
        Emit(Kind::kShadowedName, def.params[i].name_span,
             fmt::format("parameter `{}` would hide the request field of that name", def.params[i].name));
      }
      if (auto it = m_.symbols.find(def.params[i].name); it != m_.symbols.end()) {
        Emit(Kind::kShadowedName, def.params[i].name_span,
             fmt::format("parameter `{}` would hide the module-level `{}`", def.params[i].name, def.params[i].name))
            .notes.push_back({it->second.span, "declared here"});
      }
      locals_.push_back(Local{def.params[i].name, symbol.params[i], static_cast<int>(i), true});
    }
    Typed body = CheckExpr(*def.body, &symbol.type);
    ExpectAssignable(*def.body, body.type, symbol.type);
    locals_.clear();
    current_def_ = nullptr;
  }

  void ReportRecursion() {
    // Depth-first search over the call graph; report each cycle once.
    std::map<std::string, int> state;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
      state[name] = 1;
      for (const auto& [callee, span] : calls_[name]) {
        if (state[callee] == 1) {
          Emit(Kind::kRecursiveDefinition, span,
               fmt::format("`{}` calls `{}`, which leads back to `{}`", name, callee, callee))
              .help = "Gov functions may not recurse, so that every decision terminates";
        } else if (state[callee] == 0) {
          visit(callee);
        }
      }
      state[name] = 2;
    };
    for (const auto& [name, symbol] : m_.symbols) {
      if (symbol.kind == SymbolKind::kDef && state[name] == 0) visit(name);
    }
  }

  // ---------------------------------------------------------------- rules

  void CheckRule(const ast::Rule& rule) {
    locals_.clear();
    Type want = Bool();
    Typed condition = CheckExpr(*rule.condition, &want);
    ExpectCondition(*rule.condition, condition.type, "a rule condition");
    // Obligations limit a command that runs: an allowed one, or an asked
    // one once approved. A denied command does not run.
    if (!rule.obligations.empty() && rule.verdict == ast::Verdict::kDeny) {
      Emit(Kind::kObligationOnDeny, rule.obligations.front().span, "`deny` rules cannot carry obligations").help =
          "obligations limit what a command that runs may do; move them to an `allow` or `ask` rule";
    }
    m_.obligations.push_back(CheckObligations(rule.obligations));
  }

  // `default with { ... }`: checked like a rule's obligations.
  void CheckDefaults(const ast::DefaultDecl& defaults) {
    locals_.clear();
    m_.has_default_obligations = true;
    m_.default_obligations = CheckObligations(defaults.obligations);
  }

  // The obligations of a `with { ... }` (a rule's, a test case's, the
  // default's): each checked, none given twice.
  std::vector<CheckedObligation> CheckObligations(const std::vector<ast::Obligation>& given) {
    std::vector<CheckedObligation> checked;
    std::map<std::string, Span> seen;
    for (const ast::Obligation& obligation : given) {
      auto [it, inserted] = seen.emplace(obligation.name, obligation.name_span);
      if (!inserted) {
        Emit(Kind::kDuplicateObligation, obligation.name_span,
             fmt::format("obligation `{}` is given twice", obligation.name))
            .notes.push_back({it->second, "first given here"});
        continue;
      }
      if (auto value = CheckObligation(obligation)) {
        checked.push_back(CheckedObligation{obligation.name, obligation.span, std::move(*value)});
      }
    }
    return checked;
  }

  std::optional<Value> CheckObligation(const ast::Obligation& obligation) {
    const std::string& name = obligation.name;
    if (name == "network") {
      const ast::Expr& value = *obligation.value;
      if (std::holds_alternative<ast::NoneLiteral>(value.node)) return Value::Text(TypeKind::kString, "none");
      if (const auto* ref = std::get_if<ast::NameRef>(&value.node)) {
        if (ref->name == "loopback" || ref->name == "any") return Value::Text(TypeKind::kString, ref->name);
      }
      Emit(Kind::kTypeMismatch, value.span, "`network` is `none`, `loopback` or `any`");
      return std::nullopt;
    }
    if (name == "tmp") {
      if (const auto* ref = std::get_if<ast::NameRef>(&obligation.value->node);
          ref != nullptr && ref->name == "private") {
        return Value::Text(TypeKind::kString, "private");
      }
      Emit(Kind::kTypeMismatch, obligation.value->span, "`tmp` is `private`").help =
          "`tmp = private` gives the command a temporary directory of its own; leave it out to share /tmp";
      return std::nullopt;
    }
    Type want;
    if (name == "timeout") want = Type::Of(TypeKind::kDuration);
    else if (name == "memory") want = Type::Of(TypeKind::kSize);
    else if (name == "processes") want = Int();
    else if (name == "read" || name == "write" || name == "create")
      want = Type::ListOf(PathType());
    else if (name == "env" || name == "capabilities") want = Type::ListOf(String());
    else {
      std::string known;
      for (const ObligationSpec& spec : KnownObligations()) known += (known.empty() ? "" : ", ") + std::string(spec.name);
      Emit(Kind::kUnknownObligation, obligation.name_span, fmt::format("unknown obligation `{}`", name)).help =
          fmt::format("known obligations: {}", known);
      return std::nullopt;
    }
    Typed typed = CheckExpr(*obligation.value, &want);
    if (!ExpectAssignable(*obligation.value, typed.type, want)) return std::nullopt;
    if (!typed.value) {
      Emit(Kind::kNotConstant, obligation.value->span,
           fmt::format("the value of obligation `{}` must be known when the policy is compiled", name));
      return std::nullopt;
    }
    const Value& v = *typed.value;
    if ((name == "timeout" || name == "memory" || name == "processes") && v.number <= 0) {
      Emit(Kind::kInvalidLiteral, obligation.value->span, fmt::format("`{}` must be greater than zero", name));
      return std::nullopt;
    }
    if (name == "read" || name == "write" || name == "create") {
      for (const Value& item : v.items) {
        if (item.text.empty() || item.text.front() != '/') {
          Emit(Kind::kInvalidLiteral, obligation.value->span,
               fmt::format("`{}` paths must be absolute, `{}` is not", name, item.text));
          return std::nullopt;
        }
      }
    }
    if (name == "env") {
      for (const Value& item : v.items) {
        if (ir::IsEnvEntry(item.text)) continue;
        Diagnostic& d =
            Emit(Kind::kInvalidLiteral, obligation.value->span,
                 fmt::format("`{}` is neither an environment variable name nor a prefix pattern `NAME*`", item.text));
        if (item.text == "*") {
          d.help = "`*` alone would pass every variable, LD_PRELOAD included; list the names or prefixes to pass";
        } else if (item.text.find('*') != std::string::npos) {
          d.help = "a `*` may only end an entry: `LC_*` passes every variable whose name starts with `LC_`";
        }
        return std::nullopt;
      }
    }
    if (name == "capabilities" && !CheckCapabilities(*obligation.value, v)) return std::nullopt;
    return typed.value;
  }

  // Every name in a `capabilities` list must be one <linux/capability.h>
  // defines, spelled lower-case without `CAP_` (runtime/ir/capabilities.h).
  // Reports each unknown name, at its element when the list is a literal,
  // with the closest known spelling.
  bool CheckCapabilities(const ast::Expr& expr, const Value& value) {
    const auto* literal = std::get_if<ast::ListLiteral>(&expr.node);
    bool ok = true;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
      const std::string& name = value.items[i].text;
      if (ir::CapabilityNumber(name)) continue;
      ok = false;
      const Span span =
          literal != nullptr && literal->elements.size() == value.items.size() ? literal->elements[i]->span : expr.span;
      Diagnostic& d = Emit(Kind::kUnknownCapability, span, fmt::format("`{}` is not a Linux capability", name));
      if (auto closest = ClosestCapability(name)) {
        d.help = fmt::format("did you mean `{}`? capabilities are spelled lower-case without `CAP_`", *closest);
        if (literal != nullptr && span == literal->elements[i]->span &&
            std::holds_alternative<ast::StringLiteral>(literal->elements[i]->node)) {
          d.fix = diagnostics::Fix{span, fmt::format("\"{}\"", *closest)};
        }
      } else {
        d.help = "capabilities are spelled lower-case without `CAP_`, e.g. `net_bind_service`, `chown`";
      }
    }
    return ok;
  }

  // The known capability closest to `name` once it is lower-cased and
  // stripped of a `cap_` prefix, when close enough to be a typo.
  static std::optional<std::string> ClosestCapability(std::string_view name) {
    std::string key(name);
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key.rfind("cap_", 0) == 0) key.erase(0, 4);
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(1, key.size() / 3) + 1;
    for (const ir::Capability& capability : ir::Capabilities()) {
      const std::size_t distance = diagnostics::EditDistance(key, capability.name);
      if (distance < best_distance) {
        best_distance = distance;
        best = std::string(capability.name);
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- tests

  void CheckTest(const ast::TestBlock& block) {
    for (const ast::TestCase& test : block.cases) CheckTestCase(test);
  }

  void CheckTestCase(const ast::TestCase& test) {
    locals_.clear();
    for (const ast::ExprPtr& command : test.argvs) {
      Type argv_type = Type::ListOf(String());
      Typed argv = CheckExpr(*command, &argv_type);
      if (!ExpectAssignable(*command, argv.type, argv_type)) continue;
      if (!argv.value) {
        Emit(Kind::kNotConstant, command->span, "a test's command line must be constant");
      } else if (argv.value->items.empty()) {
        Emit(Kind::kInvalidTestCase, command->span, "a test's command line needs at least the program path");
      } else if (argv.value->items[0].text.empty() || argv.value->items[0].text.front() != '/') {
        Emit(
            Kind::kInvalidTestCase, command->span,
            fmt::format("the program `{}` must be an absolute path, as govrun resolves it", argv.value->items[0].text));
      }
    }
    std::set<std::string> seen;
    for (const ast::TestModifier& modifier : test.modifiers) {
      if (!seen.insert(modifier.kind).second) {
        Emit(Kind::kInvalidTestCase, modifier.kind_span, fmt::format("`{}` is given twice", modifier.kind));
        continue;
      }
      CheckModifier(modifier);
    }
    for (const ast::ExprPtr& command : test.argvs) CheckArgv0(test, *command);
    if (!seen.count("context")) {
      for (const ContextFieldInfo& field : m_.context) {
        if (!field.type.optional && !field.type.IsError()) {
          Emit(Kind::kMissingContextValue, test.span,
               fmt::format("context field `{}` is required but this test gives no `context`", field.name));
          break;
        }
      }
    }
    for (std::size_t i = 0; i < test.not_by_rules.size(); ++i) {
      const std::string& name = test.not_by_rules[i];
      if (FindRule(name) == nullptr && !WasDropped(name) && !IsDefaultRule(name)) {
        SuggestRule(Emit(Kind::kUnknownRuleInTest, test.not_by_spans[i], fmt::format("no rule named `{}`", name)), name,
                    test.not_by_spans[i]);
      } else if (std::find(test.by_rules.begin(), test.by_rules.end(), name) != test.by_rules.end()) {
        Emit(Kind::kInvalidTestCase, test.not_by_spans[i],
             fmt::format("`{}` is named both after `by` and after `not by`", name));
      }
    }
    if (test.has_with) CheckTestObligations(test);
    for (std::size_t i = 0; i < test.by_rules.size(); ++i) {
      const ast::Rule* rule = FindRule(test.by_rules[i]);
      if (rule == nullptr && WasDropped(test.by_rules[i])) continue;
      if (rule == nullptr && IsDefaultRule(test.by_rules[i])) {
        if (test.expected != ast::Verdict::kAsk) {
          Emit(Kind::kTestVerdictMismatch, test.by_spans[i],
               fmt::format("`default` asks (`default ask`), so it cannot decide `{}`", ast::VerdictName(test.expected)))
              .notes.push_back({default_verdict_->span, "the default is declared here"});
        }
        continue;
      }
      if (rule == nullptr) {
        SuggestRule(
            Emit(Kind::kUnknownRuleInTest, test.by_spans[i], fmt::format("no rule named `{}`", test.by_rules[i])),
            test.by_rules[i], test.by_spans[i]);
        continue;
      }
      if (rule->verdict != test.expected) {
        Emit(Kind::kTestVerdictMismatch, test.by_spans[i],
             fmt::format("`{}` is {} `{}` rule, so it cannot decide `{}`", rule->name,
                         rule->verdict == ast::Verdict::kAsk ? "an" : rule->verdict == ast::Verdict::kAllow ? "an" : "a",
                         ast::VerdictName(rule->verdict),
                         ast::VerdictName(test.expected)))
            .notes.push_back({rule->name_span, "the rule is declared here"});
      }
    }
  }

  // `with { ... }` of a test case: the obligations govrun would enforce when
  // the case's command runs, checked like a rule's.
  void CheckTestObligations(const ast::TestCase& test) {
    if (test.expected == ast::Verdict::kDeny) {
      Emit(Kind::kObligationOnDeny, test.with_span, "a denied command runs under no obligations").help =
          "`with { ... }` states the obligations of a command that runs: expect `allow` or `ask`";
      return;
    }
    m_.test_obligations[&test] = CheckObligations(test.obligations);
  }

  // The folded value of a test case's modifier `kind`, or nullptr when it is
  // not given or not valid.
  const Value* ModifierValue(const ast::TestCase& test, std::string_view kind) const {
    for (const ast::TestModifier& modifier : test.modifiers) {
      if (modifier.kind != kind) continue;
      const std::optional<Value>& value = m_.values[modifier.value->id];
      return value ? &*value : nullptr;
    }
    return nullptr;
  }

  // `argv0` must be a name govrun could have been given for the program the
  // case names: govrun sets `invoked.path` from `argv0` (a PATH search for a
  // name without a slash, else the name against the working directory), so
  // a case that could never arise from a real command is an error.
  void CheckArgv0(const ast::TestCase& test, const ast::Expr& command) {
    const ast::TestModifier* modifier = nullptr;
    for (const ast::TestModifier& m : test.modifiers) {
      if (m.kind == "argv0") modifier = &m;
    }
    const Value* argv0 = ModifierValue(test, "argv0");
    const std::optional<Value>& argv = m_.values[command.id];
    if (modifier == nullptr || argv0 == nullptr || argv0->text.empty() || !argv || argv->items.empty() ||
        argv->items[0].text.empty() || argv->items[0].text.front() != '/') {
      return;
    }
    const std::string invoked = paths::Normalize(argv->items[0].text);
    const std::string& name = argv0->text;
    if (name.find('/') != std::string::npos) {
      const Value* cwd = ModifierValue(test, "cwd");
      const std::string base = cwd != nullptr ? cwd->text : "/";
      const std::string named = paths::Join(base, name);
      if (named != invoked) {
        Emit(Kind::kInvalidTestCase, modifier->value->span,
             name.front() == '/'
                 ? fmt::format("`argv0` \"{}\" names `{}`, not the program `{}`", name, named, invoked)
                 : fmt::format("`argv0` \"{}\" names `{}` in the working directory `{}`, not the program `{}`", name,
                               named, base, invoked));
      }
      return;
    }
    if (paths::BaseName(invoked) != name) {
      Emit(Kind::kInvalidTestCase, modifier->value->span,
           fmt::format("govrun finds `argv0` \"{}\" by a PATH search as `DIR/{}`, which cannot be the program `{}`",
                       name, name, invoked));
      return;
    }
    // The PATH govrun searches is the request's: the test's `env` PATH, or
    // govrun's default when the test sets none.
    std::string path_env(paths::kDefaultSearchPath);
    std::string where = "govrun's default PATH";
    for (const ast::TestModifier& m : test.modifiers) {
      const auto* record = m.kind == "env" ? std::get_if<ast::RecordLiteral>(&m.value->node) : nullptr;
      if (record == nullptr) continue;
      for (const ast::RecordLiteralField& field : record->fields) {
        const std::optional<Value>& value = m_.values[field.value->id];
        if (field.name == "PATH" && value) {
          path_env = value->text;
          where = "the test's `env` PATH";
        }
      }
    }
    const std::string dir = paths::DirName(invoked);
    for (const std::string& entry : paths::SearchDirs(path_env)) {
      if (paths::Normalize(entry) == dir) return;
    }
    Emit(Kind::kInvalidTestCase, modifier->value->span,
         fmt::format("govrun finds `argv0` \"{}\" by searching {} (`{}`), which does not contain `{}`", name, where,
                     path_env, dir))
        .help = fmt::format("write the program's path, `argv0 \"{}\"`, or set `PATH` in `env`", invoked);
  }

  // True for `default` when the policy declares `default ask`: the rule the
  // lowering adds for requests no other rule decides.
  bool IsDefaultRule(const std::string& name) const { return name == "default" && m_.default_ask; }

  // "did you mean `r`?" with its fix for a misspelt rule name at `span` in a test.
  void SuggestRule(Diagnostic& d, const std::string& name, Span span) const {
    std::vector<std::string> names;
    for (const ast::Rule* rule : m_.rules) names.push_back(rule->name);
    if (m_.default_ask) names.push_back("default");
    // An included rule named without its module: the qualified name.
    for (const CheckedModule::IncludedRule& included : m_.included_rules) {
      names.push_back(included.name);
      const std::size_t dot = included.name.rfind('.');
      if (included.name.compare(dot + 1, std::string::npos, name) == 0) {
        d.help = fmt::format("an included rule is named by its module: `{}`", included.name);
        d.fix = diagnostics::Fix{span, included.name};
        return;
      }
    }
    if (auto closest = diagnostics::ClosestName(name, names)) {
      d.help = fmt::format("did you mean `{}`?", *closest);
      d.fix = diagnostics::Fix{span, *closest};
    }
  }

  const ast::Rule* FindRule(const std::string& name) const {
    for (const ast::Rule* rule : m_.rules) {
      if (rule->name == name) return rule;
    }
    for (const CheckedModule::IncludedRule& included : m_.included_rules) {
      if (included.name == name) {
        return program_.modules[static_cast<std::size_t>(included.module)].rules[included.index];
      }
    }
    return nullptr;
  }

  // Rules that join this policy read its request: every context field a
  // module imported `with rules` declares must be declared here too, with
  // the same type (its own inclusions were held to this already).
  void CheckIncludedContext() {
    for (const auto& [name, symbol] : m_.symbols) {
      if (symbol.kind != SymbolKind::kImport || symbol.import == nullptr || !symbol.import->with_rules ||
          symbol.import_target < 0) {
        continue;
      }
      const CheckedModule& included = program_.modules[static_cast<std::size_t>(symbol.import_target)];
      for (const ContextFieldInfo& field : included.context) {
        const ContextFieldInfo* own = m_.FindContext(field.name);
        if (own != nullptr && own->type == field.type) continue;
        Emit(Kind::kUnknownContextField, symbol.import->target_span,
             fmt::format("`{}` is imported with rules and declares context field `{}: {}`, which this policy {}",
                         name, field.name, ToString(field.type),
                         own == nullptr ? "does not declare" : "declares as `" + ToString(own->type) + "`"))
            .notes.push_back({field.span, "declared here"});
      }
    }
  }

  // The rules of module `target` (imported `with rules` as `alias`, and
  // checked before this one) and those it includes join this module's —
  // each rule once, under the name it first arrived by (a module included
  // along two paths does not decide twice).
  void Include(const std::string& alias, int target) {
    auto add = [&](int module, std::size_t index, std::string name) {
      for (const CheckedModule::IncludedRule& known : m_.included_rules) {
        if (known.module == module && known.index == index) return;
      }
      m_.included_rules.push_back({module, index, std::move(name)});
    };
    const CheckedModule& included = program_.modules[static_cast<std::size_t>(target)];
    for (std::size_t i = 0; i < included.rules.size(); ++i) add(target, i, alias + "." + included.rules[i]->name);
    for (const CheckedModule::IncludedRule& inner : included.included_rules) {
      add(inner.module, inner.index, alias + "." + inner.name);
    }
  }

  void CheckModifier(const ast::TestModifier& modifier) {
    const std::string& kind = modifier.kind;
    const ast::Expr& value = *modifier.value;
    const RequestModel& model = RequestModel::Get();
    if (kind == "cwd" || kind == "host" || kind == "sha256" || kind == "time" || kind == "via" || kind == "argv0") {
      Type want = kind == "cwd" || kind == "via" ? PathType()
                  : kind == "sha256"             ? Type::Of(TypeKind::kDigest)
                                                 : String();
      if (kind == "time" && std::holds_alternative<ast::IntLiteral>(value.node)) want = Int();
      Typed typed = CheckExpr(value, &want);
      if (!ExpectAssignable(value, typed.type, want)) return;
      if (!typed.value) {
        Emit(Kind::kNotConstant, value.span, fmt::format("test `{}` must be constant", kind));
        return;
      }
      if (kind == "cwd" && typed.value->text.front() != '/') {
        Emit(Kind::kInvalidTestCase, value.span, "`cwd` must be an absolute path");
      }
      if (kind == "via" && typed.value->text.front() != '/') {
        Emit(Kind::kInvalidTestCase, value.span,
             fmt::format("`via` names the file that runs, as govrun resolves it: an absolute path, not `{}`",
                         typed.value->text));
      }
      if (kind == "argv0" && typed.value->text.empty()) {
        Emit(Kind::kInvalidTestCase, value.span, "`argv0` must not be empty: govrun needs a program name");
      }
      if (kind == "time" && want.kind == TypeKind::kString && !ValidTimestamp(typed.value->text)) {
        Emit(Kind::kInvalidTestCase, value.span,
             fmt::format("`{}` is not a UTC time like \"2026-11-28T09:30:00Z\"", typed.value->text));
      }
      return;
    }
    if (kind == "written_in_session") {
      const Type want = Type::Of(TypeKind::kBool);
      Typed typed = CheckExpr(value, &want);
      if (!ExpectAssignable(value, typed.type, want)) return;
      if (!typed.value) Emit(Kind::kNotConstant, value.span, "test `written_in_session` must be constant");
      return;
    }
    Type want;
    if (kind == "context") want = context_type_;
    else if (kind == "env") want = Type::MapOf(String(), String());
    else if (kind == "user") want = model.user;
    else want = model.parent.AsRequired();
    const auto* record = std::get_if<ast::RecordLiteral>(&value.node);
    if (record == nullptr) {
      Emit(Kind::kTypeMismatch, value.span, fmt::format("`{}` takes `{{ name = value, ... }}`", kind));
      return;
    }
    std::set<std::string> names;
    for (const ast::RecordLiteralField& field : record->fields) {
      if (!names.insert(field.name).second) {
        Emit(Kind::kInvalidTestCase, field.name_span, fmt::format("`{}` is given twice", field.name));
        continue;
      }
      Type field_type = String();
      if (kind != "env") {
        const Type* declared = want.FieldType(field.name);
        if (declared == nullptr) {
          if (kind == "context") {
            Emit(Kind::kUnknownContextField, field.name_span,
                 fmt::format("the policy's `context` declares no field `{}`", field.name));
          } else {
            Emit(Kind::kUnknownField, field.name_span, fmt::format("`{}` has no field `{}`", kind, field.name));
          }
          continue;
        }
        field_type = *declared;
        if (kind == "context") {
          for (ContextFieldInfo& info : m_.context) {
            if (info.name == field.name) ++info.uses;
          }
        }
      }
      Typed typed = CheckExpr(*field.value, &field_type);
      if (!ExpectAssignable(*field.value, typed.type, field_type)) continue;
      if (!typed.value) Emit(Kind::kNotConstant, field.value->span, "test values must be constant");
    }
    if (kind == "context") {
      for (const ContextFieldInfo& field : m_.context) {
        if (!field.type.optional && !field.type.IsError() && !names.count(field.name)) {
          Emit(Kind::kMissingContextValue, value.span,
               fmt::format("context field `{}` is required but has no value here", field.name));
        }
      }
    }
  }

  static bool ValidTimestamp(const std::string& text) {
    // YYYY-MM-DDTHH:MM:SSZ
    if (text.size() != 20) return false;
    static constexpr const char* kShape = "dddd-dd-ddTdd:dd:ddZ";
    for (std::size_t i = 0; i < 20; ++i) {
      if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(text[i])) : text[i] != kShape[i]) return false;
    }
    int month = std::stoi(text.substr(5, 2));
    int day = std::stoi(text.substr(8, 2));
    int hour = std::stoi(text.substr(11, 2));
    int minute = std::stoi(text.substr(14, 2));
    int second = std::stoi(text.substr(17, 2));
    return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour < 24 && minute < 60 && second < 60;
  }

  // ---------------------------------------------------------------- expectations

  // Reports unless `actual` fits where `expected` is wanted. Returns whether it fits.
  bool ExpectAssignable(const ast::Expr& expr, const Type& actual, const Type& expected) {
    if (actual.ContainsError() || expected.ContainsError()) return false;
    if (actual == expected) return true;
    if (expected.optional && (actual.kind == TypeKind::kNone || actual == expected.AsRequired())) return true;
    if (actual.optional && actual.AsRequired() == expected) {
      Emit(Kind::kOptionalMisuse, expr.span,
           fmt::format("this value is `{}` and may be absent, but `{}` is needed", ToString(actual), ToString(expected)))
          .help = "give a default with `??`, e.g. `x ?? \"\"`, or test it with `== none`";
      return false;
    }
    Diagnostic& d = Emit(Kind::kTypeMismatch, expr.span,
                         fmt::format("expected `{}`, found `{}`", ToString(expected), ToString(actual)));
    // `timeout = 600`: a number where a duration or size is expected needs its unit.
    const auto* number = std::get_if<ast::IntLiteral>(&expr.node);
    if (number != nullptr && actual.kind == TypeKind::kInt && expected.kind == TypeKind::kDuration) {
      d.help = fmt::format("add a unit: `{0}s`, `{0}m` (units ms, s, m, h, d)", number->value);
    } else if (number != nullptr && actual.kind == TypeKind::kInt && expected.kind == TypeKind::kSize) {
      d.help =
          fmt::format("add a unit: `{0}MiB`, `{0}GiB` (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", number->value);
    }
    return false;
  }

  void ExpectCondition(const ast::Expr& expr, const Type& type, std::string_view what) {
    if (type.ContainsError()) return;
    if (type.kind == TypeKind::kBool && type.optional) {
      Emit(Kind::kOptionalMisuse, expr.span, fmt::format("{} must be `bool`, this is `bool?` and may be absent", what))
          .help = "compare explicitly: `x == true`";
    } else if (type.kind != TypeKind::kBool) {
      Emit(Kind::kTypeMismatch, expr.span, fmt::format("{} must be `bool`, found `{}`", what, ToString(type)));
    }
  }

  // ---------------------------------------------------------------- expressions

  struct Local {
    std::string name;
    Type type;
    int slot;
    bool is_param;
  };

  Typed Record(const ast::Expr& expr, Typed typed) {
    m_.types[expr.id] = typed.type;
    m_.values[expr.id] = typed.value;
    return typed;
  }

  Typed CheckExpr(const ast::Expr& expr, const Type* expected) {
    return Record(expr, std::visit([&](const auto& node) { return CheckNode(expr, node, expected); }, expr.node));
  }

  Typed CheckNode(const ast::Expr&, const ast::BoolLiteral& node, const Type*) {
    return {Bool(), Value::Bool(node.value)};
  }
  Typed CheckNode(const ast::Expr&, const ast::IntLiteral& node, const Type*) {
    if (node.reported_invalid) return {Type::Error(), std::nullopt};
    return {Int(), Value::Number(TypeKind::kInt, node.value)};
  }
  Typed CheckNode(const ast::Expr&, const ast::DurationLiteral& node, const Type*) {
    return {Type::Of(TypeKind::kDuration), Value::Number(TypeKind::kDuration, node.millis)};
  }
  Typed CheckNode(const ast::Expr&, const ast::SizeLiteral& node, const Type*) {
    return {Type::Of(TypeKind::kSize), Value::Number(TypeKind::kSize, node.bytes)};
  }
  Typed CheckNode(const ast::Expr&, const ast::NoneLiteral&, const Type* expected) {
    if (expected != nullptr && expected->optional) return {*expected, Value::None()};
    return {Type::Of(TypeKind::kNone), Value::None()};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::StringLiteral& node, const Type* expected) {
    TypeKind want = expected != nullptr ? expected->kind : TypeKind::kString;
    switch (want) {
      case TypeKind::kPath: {
        if (node.value.empty() || node.value.find('\0') != std::string::npos) {
          Emit(Kind::kInvalidLiteral, expr.span, "a path cannot be empty or contain NUL");
          return {Type::Error(), std::nullopt};
        }
        return {PathType(), Value::Text(TypeKind::kPath, paths::Normalize(node.value))};
      }
      case TypeKind::kDigest: {
        std::string_view text = node.value;
        if (text.rfind("sha256:", 0) != 0 || text.size() != 7 + 64 || !IsLowerHex(text.substr(7))) {
          Emit(Kind::kInvalidLiteral, expr.span,
               "a digest is `sha256:` followed by 64 lower-case hexadecimal digits");
          return {Type::Error(), std::nullopt};
        }
        return {Type::Of(TypeKind::kDigest), Value::Text(TypeKind::kDigest, node.value)};
      }
      case TypeKind::kGlob:
      case TypeKind::kRegex: {
        ast::PatternSyntax syntax = want == TypeKind::kGlob ? ast::PatternSyntax::kGlob : ast::PatternSyntax::kRegex;
        if (!CompilePattern(expr, syntax, node.value, 1)) return {Type::Error(), std::nullopt};
        return {Type::Of(want), Value::Text(want, node.value)};
      }
      default:
        return {String(), Value::Text(TypeKind::kString, node.value)};
    }
  }

  bool CompilePattern(const ast::Expr& expr, ast::PatternSyntax syntax, const std::string& source, std::uint32_t prefix) {
    pattern::CompileResult result = pattern::Compile(
        syntax == ast::PatternSyntax::kGlob ? pattern::Syntax::kGlob : pattern::Syntax::kRegex, source);
    if (result.error || !result.dfa) {
      Span span = expr.span;
      std::string message = result.error ? result.error->message : "pattern could not be compiled";
      if (result.error && prefix == 2) {
        std::uint32_t begin = expr.span.begin + prefix + static_cast<std::uint32_t>(result.error->offset);
        span = Span{expr.span.file, begin,
                    std::min(expr.span.end, begin + std::max<std::uint32_t>(1, static_cast<std::uint32_t>(result.error->length)))};
      }
      Emit(Kind::kInvalidPattern, span,
           fmt::format("invalid {} pattern: {}", syntax == ast::PatternSyntax::kGlob ? "glob" : "regex", message));
      return false;
    }
    m_.patterns.push_back(CompiledPattern{expr.id, expr.span, syntax, source, std::move(*result.dfa)});
    return true;
  }

  Typed CheckNode(const ast::Expr& expr, const ast::PatternLiteral& node, const Type*) {
    TypeKind kind = node.syntax == ast::PatternSyntax::kGlob ? TypeKind::kGlob : TypeKind::kRegex;
    if (!CompilePattern(expr, node.syntax, node.source, 2)) return {Type::Error(), std::nullopt};
    return {Type::Of(kind), Value::Text(kind, node.source)};
  }

  const Local* FindLocal(const std::string& name) const {
    for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
      if (it->name == name) return &*it;
    }
    return nullptr;
  }

  Typed CheckNode(const ast::Expr& expr, const ast::NameRef& node, const Type*) {
    Resolution& resolution = m_.resolutions[expr.id];
    if (const Local* local = FindLocal(node.name)) {
      resolution = Resolution{local->is_param ? Resolution::Kind::kParam : Resolution::Kind::kLocal, index_, node.name,
                              local->slot};
      return {local->type, std::nullopt};
    }
    auto it = m_.symbols.find(node.name);
    if (it != m_.symbols.end()) {
      Symbol& symbol = it->second;
      ++symbol.uses;
      switch (symbol.kind) {
        case SymbolKind::kConst:
          EnsureConst(symbol);
          resolution = Resolution{Resolution::Kind::kConst, index_, node.name, -1};
          return {symbol.type, symbol.value};
        case SymbolKind::kDef:
          Emit(Kind::kTypeMismatch, expr.span, fmt::format("`{}` is a function: call it with `{}(...)`", node.name,
                                                           node.name));
          return {Type::Error(), std::nullopt};
        case SymbolKind::kImport:
          Emit(Kind::kTypeMismatch, expr.span,
               fmt::format("`{}` is an imported module: use one of its names, e.g. `{}.NAME`", node.name, node.name));
          return {Type::Error(), std::nullopt};
        case SymbolKind::kCommand:
          Emit(Kind::kTypeMismatch, expr.span,
               fmt::format("`{}` is a command: parse an argument list with `{}(args) as {}: ...`", node.name, node.name,
                           node.name.substr(0, 1)));
          return {Type::Error(), std::nullopt};
      }
    }
    if (node.name == "context") {
      resolution = Resolution{Resolution::Kind::kContext, index_, "context", -1};
      return {context_type_, std::nullopt};
    }
    if (auto type = RequestModel::Get().Lookup(node.name)) {
      resolution = Resolution{Resolution::Kind::kRequest, index_, node.name, -1};
      return {*type, std::nullopt};
    }
    if (WasDropped(node.name)) return {Type::Error(), std::nullopt};
    Diagnostic& d = Emit(Kind::kUnknownName, expr.span, fmt::format("`{}` is not declared", node.name));
    if (auto suggestion = Suggest(node.name)) {
      d.help = fmt::format("did you mean `{}`?", *suggestion);
      d.fix = diagnostics::Fix{expr.span, *suggestion};
    }
    return {Type::Error(), std::nullopt};
  }

  // True when a declaration of `name` was lost to a syntax error (already reported).
  bool WasDropped(const std::string& name) const {
    const std::vector<std::string>& dropped = parsed_.ast->dropped_names;
    return std::find(dropped.begin(), dropped.end(), name) != dropped.end();
  }

  // The closest known name by edit distance, when close enough to be a typo.
  std::optional<std::string> Suggest(const std::string& name) const {
    std::vector<std::string> candidates;
    for (const auto& [symbol_name, symbol] : m_.symbols) candidates.push_back(symbol_name);
    for (std::string_view request : RequestModel::Names()) candidates.emplace_back(request);
    for (const Local& local : locals_) candidates.push_back(local.name);
    for (const char* builtin : {"len", "path"}) candidates.emplace_back(builtin);
    return diagnostics::ClosestName(name, candidates);
  }

  // The imported module `name` refers to, if it is an import alias (and not shadowed).
  CheckedModule* ImportedModule(const ast::Expr& expr, int* module_index) {
    const auto* ref = std::get_if<ast::NameRef>(&expr.node);
    if (ref == nullptr || FindLocal(ref->name) != nullptr) return nullptr;
    auto it = m_.symbols.find(ref->name);
    if (it == m_.symbols.end() || it->second.kind != SymbolKind::kImport) return nullptr;
    ++it->second.uses;
    *module_index = it->second.import_target;
    if (it->second.import_target < 0) return nullptr;
    return &program_.modules[static_cast<std::size_t>(it->second.import_target)];
  }

  bool IsImportAlias(const ast::Expr& expr) const {
    const auto* ref = std::get_if<ast::NameRef>(&expr.node);
    if (ref == nullptr || FindLocal(ref->name) != nullptr) return false;
    auto it = m_.symbols.find(ref->name);
    return it != m_.symbols.end() && it->second.kind == SymbolKind::kImport;
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Member& node, const Type*) {
    if (IsImportAlias(*node.object)) {
      int target = -1;
      CheckedModule* module = ImportedModule(*node.object, &target);
      if (module == nullptr) return {Type::Error(), std::nullopt};  // the import failure was reported
      auto it = module->symbols.find(node.field);
      if (it == module->symbols.end() || it->second.kind != SymbolKind::kConst) {
        Emit(Kind::kUnknownName, node.field_span,
             fmt::format("module `{}` has no constant `{}`", std::get<ast::NameRef>(node.object->node).name, node.field));
        return {Type::Error(), std::nullopt};
      }
      ++it->second.uses;
      m_.resolutions[expr.id] = Resolution{Resolution::Kind::kConst, target, node.field, -1};
      return {it->second.type, it->second.value};
    }
    Typed object = CheckExpr(*node.object, nullptr);
    if (object.type.IsError()) return {Type::Error(), std::nullopt};
    bool optional = object.type.optional;
    if (object.type.kind == TypeKind::kRecord) {
      const Type* field = object.type.FieldType(node.field);
      if (field == nullptr && object.type.record_name == "context" && parsed_.ast->dropped_context) {
        return {Type::Error(), std::nullopt};
      }
      if (field == nullptr) {
        std::string fields;
        std::vector<std::string> names;
        for (const Field& f : *object.type.fields) {
          fields += (fields.empty() ? "" : ", ") + ("`" + f.name + "`");
          names.push_back(f.name);
        }
        Diagnostic& d = Emit(Kind::kUnknownField, node.field_span,
                             fmt::format("`{}` has no field `{}`", ToString(object.type.AsRequired()), node.field));
        d.help = fields.empty() ? "it has no fields" : fmt::format("its fields are {}", fields);
        if (auto closest = diagnostics::ClosestName(node.field, names)) {
          d.help = fmt::format("did you mean `{}`? {}", *closest, d.help);
          d.fix = diagnostics::Fix{node.field_span, *closest};
        }
        return {Type::Error(), std::nullopt};
      }
      if (object.type.record_name == "context") {
        for (ContextFieldInfo& info : m_.context) {
          if (info.name == node.field) ++info.uses;
        }
      }
      Type type = optional ? field->AsOptional() : *field;
      std::optional<Value> value;
      if (object.value) {
        if (object.value->IsNone()) {
          value = Value::None();
        } else {
          for (const auto& [name, field_value] : object.value->fields) {
            if (name == node.field) value = field_value;
          }
        }
      }
      return {type, value};
    }
    if (object.type.kind == TypeKind::kPath && (node.field == "name" || node.field == "parent" || node.field == "ext")) {
      Type type = node.field == "parent" ? PathType() : String();
      if (optional) type = type.AsOptional();
      std::optional<Value> value;
      if (object.value) {
        if (object.value->IsNone()) value = Value::None();
        else if (node.field == "name") value = Value::Text(TypeKind::kString, paths::BaseName(object.value->text));
        else if (node.field == "parent") value = Value::Text(TypeKind::kPath, paths::DirName(object.value->text));
        else value = Value::Text(TypeKind::kString, paths::Extension(object.value->text));
      }
      return {type, value};
    }
    Diagnostic& d = Emit(Kind::kUnknownField, node.field_span,
                         fmt::format("`{}` has no field `{}`", ToString(object.type), node.field));
    if (object.type.kind == TypeKind::kPath) d.help = "paths have the fields `name`, `parent` and `ext`";
    return {Type::Error(), std::nullopt};
  }

  // Checks call arguments against parameter types; returns their values.
  std::optional<std::vector<Value>> CheckArguments(const std::vector<ast::ExprPtr>& args, const std::vector<Type>& params,
                                                   Span call_span, std::string_view callee, bool* ok) {
    *ok = true;
    if (args.size() != params.size()) {
      Emit(Kind::kWrongArgumentCount, call_span,
           fmt::format("`{}` takes {} argument{}, {} given", callee, params.size(), params.size() == 1 ? "" : "s",
                       args.size()));
      for (const ast::ExprPtr& arg : args) CheckExpr(*arg, nullptr);
      *ok = false;
      return std::nullopt;
    }
    std::vector<Value> values;
    bool all_constant = true;
    for (std::size_t i = 0; i < args.size(); ++i) {
      Typed typed = CheckExpr(*args[i], &params[i]);
      if (!ExpectAssignable(*args[i], typed.type, params[i])) *ok = false;
      if (typed.value) values.push_back(*typed.value);
      else all_constant = false;
    }
    if (!all_constant) return std::nullopt;
    return values;
  }

  Typed CallDef(const ast::Expr& expr, Symbol& symbol, int module, const std::vector<ast::ExprPtr>& args,
                Span callee_span) {
    ++symbol.uses;
    if (module == index_ && current_def_ != nullptr) calls_[current_def_->name].emplace_back(symbol.name, callee_span);
    bool ok = true;
    CheckArguments(args, symbol.params, expr.span, symbol.name, &ok);
    m_.resolutions[expr.id] = Resolution{Resolution::Kind::kDef, module, symbol.name, -1};
    if (!ok) return {Type::Error(), std::nullopt};
    return {symbol.type, std::nullopt};
  }

  // `C(list)`: the parse of a string list under command C, absent when the
  // program would refuse the list.
  Typed CallCommand(const ast::Expr& expr, Symbol& symbol, int module, const std::vector<ast::ExprPtr>& args) {
    ++symbol.uses;
    bool ok = true;
    CheckArguments(args, {Type::ListOf(String())}, expr.span, symbol.name, &ok);
    m_.resolutions[expr.id] = Resolution{Resolution::Kind::kCommand, module, symbol.name, -1};
    if (!ok || symbol.type.ContainsError()) return {Type::Error(), std::nullopt};
    return {symbol.type.AsOptional(), std::nullopt};
  }

  // ---------------------------------------------------------------- commands

  // The runtime value type and the Gov type of one value in a command.
  struct CommandValue {
    argparse::ValueSpec spec;
    Type element;
    bool list = false;
    bool optional = false;
    bool ok = false;
  };

  CommandValue ResolveCommandValue(const ast::CommandValueType& value) {
    CommandValue out;
    if (value.is_enum) {
      out.spec.type = argparse::ValueType::kEnum;
      out.spec.choices = value.choices;
      out.element = String();
      out.optional = value.optional;
      std::set<std::string> seen;
      for (const std::string& choice : value.choices) {
        if (!seen.insert(choice).second) {
          Emit(Kind::kInvalidCommand, value.span, fmt::format("choice \"{}\" is listed twice", choice));
          return out;
        }
      }
      out.ok = !value.choices.empty();
      return out;
    }
    if (value.type == nullptr) return out;
    // `assignment` (or `list<assignment>`): NAME=VALUE words (env's), kept
    // as written — strings to the policy.
    const auto is_assignment = [](const ast::TypeExpr& type) {
      const auto* named = std::get_if<ast::NamedTypeExpr>(&type.node);
      return named != nullptr && named->name == "assignment" && named->args.empty() && !type.optional;
    };
    const auto* named = std::get_if<ast::NamedTypeExpr>(&value.type->node);
    const bool listed = named != nullptr && named->name == "list" && named->args.size() == 1 &&
                        named->args[0] != nullptr && is_assignment(*named->args[0]);
    if (listed || (named != nullptr && named->name == "assignment" && named->args.empty())) {
      out.spec.type = argparse::ValueType::kAssignment;
      out.element = String();
      out.list = listed;
      out.optional = value.type->optional;
      out.ok = true;
      return out;
    }
    Type type = ResolveType(*value.type);
    if (type.ContainsError()) return out;
    out.optional = type.optional;
    if (type.kind == TypeKind::kList) {
      out.list = true;
      type = type.args[0];
      if (type.optional) {
        Emit(Kind::kInvalidCommand, value.span, "list elements cannot be absent");
        return out;
      }
    }
    switch (type.kind) {
      case TypeKind::kString:
        out.spec.type = argparse::ValueType::kString;
        break;
      case TypeKind::kPath:
        out.spec.type = argparse::ValueType::kPath;
        break;
      case TypeKind::kInt:
        out.spec.type = argparse::ValueType::kInt;
        break;
      default:
        Emit(Kind::kInvalidCommand, value.span,
             fmt::format("a command's values are `string`, `path`, `int`, `assignment` or `enum {{...}}`, found `{}`",
                         ToString(type)))
            .help = "other values stay strings: match them with `matches` or compare them";
        return out;
    }
    out.element = type.AsRequired();
    out.ok = true;
    return out;
  }

  // Adds `spelling` (`-f`, `--force`) to `field`; false (reported) when it is neither.
  bool AddSpelling(const std::string& spelling, Span span, argparse::CommandField& field) {
    const bool is_short = spelling.size() == 2 && spelling[0] == '-' && spelling[1] != '-';
    const bool is_long = spelling.size() > 2 && spelling.starts_with("--") && spelling.find('=') == std::string::npos;
    if (is_short) {
      field.shorts.push_back(spelling[1]);
    } else if (is_long) {
      field.longs.push_back(spelling.substr(2));
    } else {
      Emit(Kind::kInvalidCommand, span, fmt::format("\"{}\" is not an option spelling", spelling)).help =
          "write a short option as \"-x\" and a long one as \"--name\" (without `=`)";
      return false;
    }
    return true;
  }

  // One scope's items into `scope` and the record fields of its parse.
  void BuildScope(const std::vector<ast::CommandItem>& items, const std::string& record_name,
                  argparse::CommandScope& scope, std::vector<std::pair<std::string, Type>>& fields,
                  argparse::Command* command, bool& ok) {
    const ast::CommandItem* style = nullptr;
    const ast::CommandItem* options_first = nullptr;
    const ast::CommandItem* options_persistent = nullptr;
    std::map<std::string, Span> names;
    const auto declare = [&](const std::string& name, Span span) {
      auto [it, inserted] = names.emplace(name, span);
      if (!inserted) {
        Emit(Kind::kInvalidCommand, span, fmt::format("`{}` is declared twice in `{}`", name, record_name))
            .notes.push_back({it->second, "first declared here"});
        ok = false;
      }
    };
    // An item a scope holds at most once: `first` keeps the first, a repeat is reported.
    const auto once = [&](const ast::CommandItem& item, const ast::CommandItem*& first, const char* message) {
      if (first != nullptr) {
        Emit(Kind::kInvalidCommand, item.span, message).notes.push_back({first->span, "the first is here"});
        ok = false;
      } else {
        first = &item;
      }
    };
    for (const ast::CommandItem& item : items) {
      switch (item.kind) {
        case ast::CommandItem::Kind::kStyle:
          if (style != nullptr) {
            Emit(Kind::kInvalidCommand, item.span, "a command has one `style`")
                .notes.push_back({style->span, "the first `style` is here"});
            ok = false;
          }
          style = &item;
          if (item.name == "gnu") {
            scope.style = argparse::Style::kGnu;
          } else if (item.name == "posix") {
            scope.style = argparse::Style::kPosix;
          } else if (item.name == "cobra") {
            scope.style = argparse::Style::kCobra;
          } else {
            Emit(Kind::kInvalidCommand, item.name_span, fmt::format("unknown style `{}`", item.name)).help =
                "`gnu`: options anywhere, `-rf` clusters, `--opt=value`, abbreviations (getopt_long); `posix`: "
                "options end at the first operand; `cobra`: Go's pflag (kubectl, docker, helm): no abbreviations, "
                "`-n=VALUE`, top-level options also after the subcommand";
            ok = false;
          }
          break;
        case ast::CommandItem::Kind::kOptionsFirst:
          once(item, options_first, "`options first` is written once per scope");
          scope.options_first = true;
          break;
        case ast::CommandItem::Kind::kOptionsPersistent:
          once(item, options_persistent, "`options persistent` is written once");
          scope.options_persistent = true;
          break;
        case ast::CommandItem::Kind::kFlag:
        case ast::CommandItem::Kind::kOption: {
          declare(item.name, item.name_span);
          argparse::CommandField field;
          field.name = item.name;
          for (std::size_t i = 0; i < item.spellings.size(); ++i) {
            ok = AddSpelling(item.spellings[i], item.spelling_spans[i], field) && ok;
          }
          if (item.kind == ast::CommandItem::Kind::kFlag) {
            field.role = argparse::FieldRole::kFlag;
            fields.emplace_back(item.name, Bool());
          } else {
            field.role = argparse::FieldRole::kOption;
            const auto has_modifier = [&](const char* word) {
              return std::find(item.modifiers.begin(), item.modifiers.end(), word) != item.modifiers.end();
            };
            const bool value_optional = has_modifier("optional");
            field.value = value_optional ? argparse::Value::kOptional : argparse::Value::kRequired;
            field.ends_options = has_modifier("ends");
            CommandValue value = ResolveCommandValue(item.value);
            if (value.ok && value.optional) {
              Emit(Kind::kInvalidCommand, item.value.span,
                   "an option is absent when it is not given: declare its value type without `?`");
              value.ok = false;
            }
            if (value.ok && value_optional && value.spec.type == argparse::ValueType::kInt) {
              Emit(Kind::kInvalidCommand, item.value.span,
                   "an option given without its optional value reads as \"\", which is not an `int`")
                  .help = "declare it `string value optional` and match its text";
              value.ok = false;
            }
            ok = value.ok && ok;
            field.repeatable = value.list;
            field.type = value.spec;
            fields.emplace_back(item.name, value.list ? Type::ListOf(value.element) : value.element.AsOptional());
          }
          scope.fields.push_back(std::move(field));
          break;
        }
        case ast::CommandItem::Kind::kOperands:
          for (const ast::OperandGroup& group : item.groups) {
            declare(group.name, group.name_span);
            argparse::CommandField field;
            field.name = group.name;
            field.role = argparse::FieldRole::kOperands;
            CommandValue value = ResolveCommandValue(group.value);
            if (value.ok && value.list) {
              Emit(Kind::kInvalidCommand, group.value.span,
                   "operand groups count with `?`, `*` and `+`, not with `list<...>`")
                  .help = "`files: path*` (any number), `files: path+` (at least one)";
              value.ok = false;
            }
            if (value.ok && value.optional && group.count != 0) {
              Emit(Kind::kInvalidCommand, group.span, "an operand group has one count: `?`, `*` or `+`");
              value.ok = false;
            }
            ok = value.ok && ok;
            field.type = value.spec;
            Type type = value.element;
            if (group.count == '*' || group.count == '+') {
              field.min_count = group.count == '+' ? 1 : 0;
              field.max_count = argparse::kUnbounded;
              type = Type::ListOf(value.element);
            } else if (value.optional) {
              field.min_count = 0;
              type = type.AsOptional();
            }
            fields.emplace_back(group.name, type);
            scope.fields.push_back(std::move(field));
          }
          break;
        case ast::CommandItem::Kind::kSubcommand: {
          if (command == nullptr) {
            ok = false;  // reported by the parser
            break;
          }
          declare(item.name, item.name_span);
          argparse::CommandScope sub;
          // The name the command line gives it (`api-resources`), else the field's.
          sub.name = item.spellings.empty() ? item.name : item.spellings.front();
          // A cobra command's subcommands read options as it does (pflag
          // throughout); gnu and posix are each scope's own.
          if (scope.style == argparse::Style::kCobra) sub.style = argparse::Style::kCobra;
          std::vector<std::pair<std::string, Type>> sub_fields;
          BuildScope(item.items, record_name + " " + item.name, sub, sub_fields, nullptr, ok);
          command->subcommands.push_back(std::move(sub));
          fields.emplace_back(item.name,
                              Type::Record(record_name + " " + item.name, std::move(sub_fields)).AsOptional());
          break;
        }
      }
    }
    if (options_first != nullptr && scope.style != argparse::Style::kCobra) {
      Emit(Kind::kInvalidCommand, options_first->span, "`options first` is for `style cobra`").help =
          scope.style == argparse::Style::kPosix
              ? "the posix style always ends options at the first operand: remove `options first`"
              : "write `style posix` for a program whose options end at the first operand";
      ok = false;
      scope.options_first = false;
    }
    if (options_persistent != nullptr) {
      const char* problem =
          command == nullptr                       ? "`options persistent` is for the top level of a command"
          : scope.style == argparse::Style::kCobra ? "a cobra command's top-level options are persistent already"
          : command->subcommands.empty() ? "`options persistent` needs subcommands: they read the top-level options too"
                                         : nullptr;
      if (problem != nullptr) {
        Emit(Kind::kInvalidCommand, options_persistent->span, problem).help =
            "`options persistent`, at the top of a gnu or posix command with subcommands, reads its options "
            "after the subcommand's name as well (pip's general options)";
        ok = false;
        scope.options_persistent = false;
      }
    }
  }

  // A `command` declaration as the runtime's table and the record type of
  // its parse (an error type when the declaration is malformed).
  std::pair<argparse::Command, Type> BuildCommand(const ast::CommandDecl& decl) {
    argparse::Command command;
    command.name = decl.name;
    std::vector<std::pair<std::string, Type>> fields;
    bool ok = true;
    BuildScope(decl.items, decl.name, command.top, fields, &command, ok);
    if (!command.subcommands.empty()) {
      for (const auto& [name, type] : fields) {
        if (name == "subcommand") {
          Emit(Kind::kInvalidCommand, decl.name_span,
               "`subcommand` names the chosen subcommand: no field of a command with subcommands may be called so");
          ok = false;
        }
      }
      fields.emplace_back("subcommand", String().AsOptional());
    }
    if (ok) {
      if (std::string problem = argparse::ValidateCommand(command); !problem.empty()) {
        Emit(Kind::kInvalidCommand, decl.name_span, problem);
        ok = false;
      }
    }
    if (!ok) return {std::move(command), Type::Error()};
    return {std::move(command), Type::Record(decl.name, std::move(fields))};
  }

  // `value as name: body`: body with `name` bound to value's present value.
  Typed CheckNode(const ast::Expr& expr, const ast::Bind& node, const Type*) {
    Typed value = CheckExpr(*node.value, nullptr);
    const Type bound = value.type.ContainsError() ? Type::Error() : value.type.AsRequired();
    Typed body = CheckBoundBody(expr, node.var, node.var_span, bound, *node.body);
    ExpectCondition(*node.body, body.type, "the body of `as`");
    if (value.type.ContainsError() || body.type.kind != TypeKind::kBool || body.type.optional) {
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> folded;
    if (value.value && value.value->IsNone()) folded = Value::Bool(false);
    return {Bool(), folded};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Call& node, const Type*) {
    auto it = m_.symbols.find(node.callee);
    if (FindLocal(node.callee) == nullptr && it != m_.symbols.end() && it->second.kind == SymbolKind::kDef) {
      return CallDef(expr, it->second, index_, node.args, node.callee_span);
    }
    if (FindLocal(node.callee) == nullptr && it != m_.symbols.end() && it->second.kind == SymbolKind::kCommand) {
      return CallCommand(expr, it->second, index_, node.args);
    }
    if (node.callee == "len" || node.callee == "path") {
      m_.resolutions[expr.id] = Resolution{Resolution::Kind::kBuiltin, -1, node.callee, -1};
      if (node.args.size() != 1) {
        Emit(Kind::kWrongArgumentCount, expr.span,
             fmt::format("`{}` takes 1 argument, {} given", node.callee, node.args.size()));
        for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
        return {Type::Error(), std::nullopt};
      }
      Typed arg = CheckExpr(*node.args[0], nullptr);
      if (arg.type.ContainsError()) return {Type::Error(), std::nullopt};
      if (node.callee == "path") {
        if (arg.type.kind != TypeKind::kString) {
          Emit(Kind::kTypeMismatch, node.args[0]->span,
               fmt::format("`path` converts a `string`, found `{}`", ToString(arg.type)));
          return {Type::Error(), std::nullopt};
        }
        std::optional<Value> value;
        if (arg.value) {
          value = arg.value->IsNone() ? Value::None() : Value::Text(TypeKind::kPath, paths::Normalize(arg.value->text));
        }
        return {arg.type.optional ? PathType().AsOptional() : PathType(), value};
      }
      return Length(*node.args[0], arg);
    }
    if (WasDropped(node.callee)) {
      for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
      return {Type::Error(), std::nullopt};
    }
    Diagnostic& d = Emit(Kind::kUnknownName, node.callee_span, fmt::format("no function named `{}`", node.callee));
    if (auto suggestion = Suggest(node.callee)) {
      d.help = fmt::format("did you mean `{}`?", *suggestion);
      d.fix = diagnostics::Fix{node.callee_span, *suggestion};
    }
    for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
    return {Type::Error(), std::nullopt};
  }

  Typed Length(const ast::Expr& arg_expr, const Typed& arg) {
    TypeKind kind = arg.type.kind;
    if (kind != TypeKind::kString && kind != TypeKind::kList && kind != TypeKind::kSet && kind != TypeKind::kMap) {
      Emit(Kind::kTypeMismatch, arg_expr.span,
           fmt::format("`len` takes a string, list, set or map, found `{}`", ToString(arg.type)));
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (arg.value) {
      if (arg.value->IsNone()) value = Value::None();
      else if (kind == TypeKind::kString) value = Value::Number(TypeKind::kInt, static_cast<std::int64_t>(arg.value->text.size()));
      else if (kind == TypeKind::kMap) value = Value::Number(TypeKind::kInt, static_cast<std::int64_t>(arg.value->fields.size()));
      else value = Value::Number(TypeKind::kInt, static_cast<std::int64_t>(arg.value->items.size()));
    }
    return {arg.type.optional ? Int().AsOptional() : Int(), value};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::MethodCall& node, const Type*) {
    if (IsImportAlias(*node.receiver)) {
      int target = -1;
      CheckedModule* module = ImportedModule(*node.receiver, &target);
      if (module == nullptr) {
        for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
        return {Type::Error(), std::nullopt};
      }
      auto it = module->symbols.find(node.method);
      if (it != module->symbols.end() && it->second.kind == SymbolKind::kCommand) {
        return CallCommand(expr, it->second, target, node.args);
      }
      if (it == module->symbols.end() || it->second.kind != SymbolKind::kDef) {
        Emit(Kind::kUnknownName, node.method_span,
             fmt::format("module `{}` has no function `{}`", std::get<ast::NameRef>(node.receiver->node).name,
                         node.method));
        for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
        return {Type::Error(), std::nullopt};
      }
      return CallDef(expr, it->second, target, node.args, node.method_span);
    }
    Typed receiver = CheckExpr(*node.receiver, nullptr);
    if (receiver.type.ContainsError()) {
      for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
      return {Type::Error(), std::nullopt};
    }
    const std::string& method = node.method;
    TypeKind kind = receiver.type.kind;
    bool optional = receiver.type.optional;
    bool ok = true;
    if (kind == TypeKind::kString &&
        (method == "starts_with" || method == "ends_with" || method == "contains")) {
      auto args = CheckArguments(node.args, {String()}, expr.span, method, &ok);
      if (!ok) return {Type::Error(), std::nullopt};
      std::optional<Value> value;
      if (receiver.value && args) {
        const std::string& s = receiver.value->text;
        const std::string& a = (*args)[0].text;
        bool result = false;
        if (!receiver.value->IsNone()) {
          if (method == "starts_with") result = s.rfind(a, 0) == 0;
          else if (method == "ends_with") result = s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0;
          else result = s.find(a) != std::string::npos;
        }
        value = Value::Bool(result);
      }
      // A predicate on an absent value is false, so the result is plain bool.
      return {Bool(), value};
    }
    if (kind == TypeKind::kString && (method == "lower" || method == "upper")) {
      CheckArguments(node.args, {}, expr.span, method, &ok);
      if (!ok) return {Type::Error(), std::nullopt};
      std::optional<Value> value;
      if (receiver.value) {
        value = *receiver.value;
        for (char& c : value->text) {
          c = method == "lower" ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
      }
      return {optional ? String().AsOptional() : String(), value};
    }
    if (method == "len" &&
        (kind == TypeKind::kString || kind == TypeKind::kList || kind == TypeKind::kSet || kind == TypeKind::kMap)) {
      CheckArguments(node.args, {}, expr.span, method, &ok);
      if (!ok) return {Type::Error(), std::nullopt};
      return Length(*node.receiver, receiver);
    }
    for (const ast::ExprPtr& arg : node.args) CheckExpr(*arg, nullptr);
    Diagnostic& d = Emit(Kind::kUnknownMethod, node.method_span,
                         fmt::format("`{}` has no method `{}`", ToString(receiver.type), method));
    if (kind == TypeKind::kString) d.help = "string methods: starts_with, ends_with, contains, lower, upper, len";
    else if (kind == TypeKind::kPath) d.help = "test paths with `under` and `matches`; fields: name, parent, ext";
    else if (kind == TypeKind::kList || kind == TypeKind::kSet) d.help = "use `x in collection`, `any`/`all` and `len()`";
    return {Type::Error(), std::nullopt};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Index& node, const Type*) {
    Typed object = CheckExpr(*node.object, nullptr);
    if (object.type.ContainsError()) {
      CheckExpr(*node.index, nullptr);
      return {Type::Error(), std::nullopt};
    }
    Type key;
    Type element;
    if (object.type.kind == TypeKind::kList) {
      key = Int();
      element = object.type.args[0];
    } else if (object.type.kind == TypeKind::kMap) {
      key = String();
      element = object.type.args[1];
    } else {
      CheckExpr(*node.index, nullptr);
      Emit(Kind::kInvalidOperands, expr.span, fmt::format("`{}` cannot be indexed", ToString(object.type))).help =
          "lists take `[int]`, maps take `[string]`";
      return {Type::Error(), std::nullopt};
    }
    Typed index = CheckExpr(*node.index, &key);
    if (!ExpectAssignable(*node.index, index.type, key)) return {Type::Error(), std::nullopt};
    std::optional<Value> value;
    if (object.value && index.value) {
      value = Value::None();
      if (!object.value->IsNone()) {
        if (object.type.kind == TypeKind::kList) {
          std::int64_t i = index.value->number;
          if (i >= 0 && static_cast<std::uint64_t>(i) < object.value->items.size()) {
            value = object.value->items[static_cast<std::size_t>(i)];
          }
        } else {
          for (const auto& [k, v] : object.value->fields) {
            if (k == index.value->text) value = v;
          }
        }
      }
    }
    // Indexing never fails: a missing element is `none`.
    return {element.AsOptional(), value};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Unary& node, const Type*) {
    if (node.op == ast::UnaryOp::kNot) {
      Type want = Bool();
      Typed operand = CheckExpr(*node.operand, &want);
      ExpectCondition(*node.operand, operand.type, "the operand of `not`");
      if (operand.type.kind != TypeKind::kBool || operand.type.optional) return {Type::Error(), std::nullopt};
      std::optional<Value> value;
      if (operand.value) value = Value::Bool(!operand.value->boolean);
      return {Bool(), value};
    }
    Typed operand = CheckExpr(*node.operand, nullptr);
    if (operand.type.ContainsError()) return {Type::Error(), std::nullopt};
    bool numeric = operand.type.kind == TypeKind::kInt || operand.type.kind == TypeKind::kDuration ||
                   operand.type.kind == TypeKind::kSize;
    if (numeric && operand.type.optional) {
      Emit(Kind::kOptionalMisuse, node.operand->span,
           fmt::format("`{}` may be absent; give a default with `??` before negating", ToString(operand.type)));
      return {Type::Error(), std::nullopt};
    }
    if (!numeric) {
      Emit(Kind::kInvalidOperands, expr.span, fmt::format("cannot negate `{}`", ToString(operand.type)));
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (operand.value) {
      if (operand.value->number == INT64_MIN) {
        Emit(Kind::kNumberOutOfRange, expr.span, "negation overflows a 64-bit integer");
        return {Type::Error(), std::nullopt};
      }
      value = Value::Number(operand.type.kind, -operand.value->number);
    }
    return {operand.type, value};
  }

  // Checks both operands of a comparison so that a string literal on either
  // side takes the type of the other side (path, digest, glob, ...).
  std::pair<Typed, Typed> CheckOperands(const ast::Binary& node, const Type* lhs_expected = nullptr) {
    bool lhs_literal = IsLiteralLike(*node.lhs);
    bool rhs_literal = IsLiteralLike(*node.rhs);
    if (lhs_literal && !rhs_literal) {
      Typed rhs = CheckExpr(*node.rhs, nullptr);
      Type want = rhs.type.optional ? rhs.type : rhs.type;
      Typed lhs = CheckExpr(*node.lhs, rhs.type.ContainsError() ? nullptr : &want);
      return {lhs, rhs};
    }
    Typed lhs = CheckExpr(*node.lhs, lhs_expected);
    Type want = lhs.type;
    Typed rhs = CheckExpr(*node.rhs, lhs.type.ContainsError() ? nullptr : &want);
    return {lhs, rhs};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Binary& node, const Type* expected) {
    switch (node.op) {
      case ast::BinaryOp::kEq:
      case ast::BinaryOp::kNe:
        return CheckEquality(expr, node);
      case ast::BinaryOp::kLt:
      case ast::BinaryOp::kLe:
      case ast::BinaryOp::kGt:
      case ast::BinaryOp::kGe:
        return CheckOrdering(expr, node);
      case ast::BinaryOp::kIn:
      case ast::BinaryOp::kNotIn:
        return CheckMembership(expr, node);
      case ast::BinaryOp::kUnder:
        return CheckUnder(expr, node);
      case ast::BinaryOp::kMatches:
        return CheckMatches(expr, node);
      case ast::BinaryOp::kCoalesce:
        return CheckCoalesce(expr, node, expected);
      default:
        return CheckArithmetic(expr, node, expected);
    }
  }

  Typed CheckEquality(const ast::Expr& expr, const ast::Binary& node) {
    auto [lhs, rhs] = CheckOperands(node);
    if (lhs.type.ContainsError() || rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    bool lhs_none = lhs.type.kind == TypeKind::kNone || std::holds_alternative<ast::NoneLiteral>(node.lhs->node);
    bool rhs_none = rhs.type.kind == TypeKind::kNone || std::holds_alternative<ast::NoneLiteral>(node.rhs->node);
    if (lhs_none || rhs_none) {
      const Type& other = lhs_none ? rhs.type : lhs.type;
      const ast::Expr& other_expr = lhs_none ? *node.rhs : *node.lhs;
      if (!other.optional && other.kind != TypeKind::kNone) {
        Emit(Kind::kComparisonMismatch, expr.span,
             fmt::format("`{}` is never absent, so comparing it with `none` is always {}", ToString(other),
                         node.op == ast::BinaryOp::kEq ? "false" : "true"))
            .notes.push_back({other_expr.span, fmt::format("this is `{}`", ToString(other))});
        return {Type::Error(), std::nullopt};
      }
    } else if (!SameBase(lhs.type, rhs.type)) {
      ReportMismatch(expr, node, lhs.type, rhs.type);
      return {Type::Error(), std::nullopt};
    } else if (lhs.type.kind == TypeKind::kRecord || lhs.type.kind == TypeKind::kMap ||
               lhs.type.kind == TypeKind::kGlob || lhs.type.kind == TypeKind::kRegex) {
      Emit(Kind::kInvalidOperands, node.op_span,
           fmt::format("`{}` values cannot be compared with `{}`", ToString(lhs.type.AsRequired()),
                       ast::BinaryOpSpelling(node.op)))
          .help = "compare their fields or elements instead";
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (lhs.value && rhs.value) {
      bool equal = *lhs.value == *rhs.value;
      value = Value::Bool(node.op == ast::BinaryOp::kEq ? equal : !equal);
    }
    return {Bool(), value};
  }

  void ReportMismatch(const ast::Expr& expr, const ast::Binary& node, const Type& lhs, const Type& rhs) {
    Diagnostic& d = Emit(Kind::kComparisonMismatch, expr.span,
                         fmt::format("`{}` compared with `{}`", ToString(lhs), ToString(rhs)));
    d.notes.push_back({node.lhs->span, fmt::format("this is `{}`", ToString(lhs))});
    d.notes.push_back({node.rhs->span, fmt::format("this is `{}`", ToString(rhs))});
    bool list_vs_element = (lhs.kind == TypeKind::kList || lhs.kind == TypeKind::kSet) && SameBase(lhs.args[0], rhs);
    if (list_vs_element) {
      d.help = "to test an element, index it (`x[0] == ...`) or test membership (`... in x`)";
    }
  }

  static bool Orderable(TypeKind kind) {
    return kind == TypeKind::kInt || kind == TypeKind::kDuration || kind == TypeKind::kSize || kind == TypeKind::kString;
  }

  Typed CheckOrdering(const ast::Expr& expr, const ast::Binary& node) {
    auto [lhs, rhs] = CheckOperands(node);
    if (lhs.type.ContainsError() || rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (!SameBase(lhs.type, rhs.type)) {
      ReportMismatch(expr, node, lhs.type, rhs.type);
      return {Type::Error(), std::nullopt};
    }
    if (!Orderable(lhs.type.kind)) {
      Emit(Kind::kInvalidOperands, node.op_span,
           fmt::format("`{}` values cannot be ordered with `{}`", ToString(lhs.type.AsRequired()),
                       ast::BinaryOpSpelling(node.op)))
          .help = "ordering applies to int, duration, size and string";
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (lhs.value && rhs.value) {
      bool result = false;
      if (!lhs.value->IsNone() && !rhs.value->IsNone()) {
        const Value& a = *lhs.value;
        const Value& b = *rhs.value;
        bool is_text = lhs.type.kind == TypeKind::kString;
        int cmp = is_text ? a.text.compare(b.text) : (a.number < b.number ? -1 : a.number > b.number ? 1 : 0);
        switch (node.op) {
          case ast::BinaryOp::kLt: result = cmp < 0; break;
          case ast::BinaryOp::kLe: result = cmp <= 0; break;
          case ast::BinaryOp::kGt: result = cmp > 0; break;
          default: result = cmp >= 0; break;
        }
      }
      value = Value::Bool(result);
    }
    return {Bool(), value};
  }

  Typed CheckMembership(const ast::Expr& expr, const ast::Binary& node) {
    // Usually the collection decides what the element must be, so it is
    // checked first; a literal collection instead takes the left side's type
    // (`program.path in {"/usr/bin/git"}` is a set of paths).
    std::optional<Typed> lhs_first;
    Type rhs_want;
    const Type* rhs_expected = nullptr;
    if (IsLiteralLike(*node.rhs) && !IsLiteralLike(*node.lhs)) {
      lhs_first = CheckExpr(*node.lhs, nullptr);
      if (!lhs_first->type.IsError() && lhs_first->type.kind != TypeKind::kNone) {
        rhs_want = Type::SetOf(lhs_first->type.AsRequired());
        rhs_expected = &rhs_want;
      }
    }
    Typed rhs = CheckExpr(*node.rhs, rhs_expected);
    if (rhs.type.ContainsError()) {
      if (!lhs_first) CheckExpr(*node.lhs, nullptr);
      return {Type::Error(), std::nullopt};
    }
    Type element;
    if (rhs.type.kind == TypeKind::kList || rhs.type.kind == TypeKind::kSet) {
      element = rhs.type.args[0];
    } else if (rhs.type.kind == TypeKind::kMap) {
      element = String();
    } else {
      if (!lhs_first) CheckExpr(*node.lhs, nullptr);
      Diagnostic& d = Emit(Kind::kInvalidOperands, node.rhs->span,
                           fmt::format("`{}` needs a list, set or map on its right, found `{}`",
                                       ast::BinaryOpSpelling(node.op), ToString(rhs.type)));
      if (rhs.type.kind == TypeKind::kString) d.help = "to find a substring, use `s.contains(\"...\")`";
      return {Type::Error(), std::nullopt};
    }
    if (rhs.type.optional) {
      if (!lhs_first) CheckExpr(*node.lhs, nullptr);
      Emit(Kind::kOptionalMisuse, node.rhs->span,
           fmt::format("`{}` may be absent; give a default with `??`", ToString(rhs.type)));
      return {Type::Error(), std::nullopt};
    }
    Typed lhs = lhs_first ? *lhs_first : CheckExpr(*node.lhs, &element);
    if (lhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (!SameBase(lhs.type, element)) {
      Diagnostic& d = Emit(Kind::kComparisonMismatch, expr.span,
                           fmt::format("`{}` cannot be in a collection of `{}`", ToString(lhs.type), ToString(element)));
      d.notes.push_back({node.lhs->span, fmt::format("this is `{}`", ToString(lhs.type))});
      d.notes.push_back({node.rhs->span, fmt::format("this is `{}`", ToString(rhs.type))});
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (lhs.value && rhs.value) {
      bool found = false;
      if (!lhs.value->IsNone()) {
        if (rhs.type.kind == TypeKind::kMap) {
          for (const auto& [k, v] : rhs.value->fields) found = found || k == lhs.value->text;
        } else {
          found = std::find(rhs.value->items.begin(), rhs.value->items.end(), *lhs.value) != rhs.value->items.end();
        }
        if (node.op == ast::BinaryOp::kNotIn) found = !found;
      }
      // Membership tests on an absent value are false, for `in` and `not in` alike.
      value = Value::Bool(found);
    }
    return {Bool(), value};
  }

  Typed CheckUnder(const ast::Expr& expr, const ast::Binary& node) {
    Type path = PathType();
    Typed lhs = CheckExpr(*node.lhs, &path);
    Typed rhs = CheckExpr(*node.rhs, &path);
    if (lhs.type.ContainsError() || rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (lhs.type.kind != TypeKind::kPath) {
      Diagnostic& d = Emit(Kind::kInvalidOperands, node.lhs->span,
                           fmt::format("`under` tests a `path`, found `{}`", ToString(lhs.type)));
      if (lhs.type.kind == TypeKind::kString) d.help = "make it a path: `path(x)`, or relative to cwd: `cwd / x`";
      return {Type::Error(), std::nullopt};
    }
    if (rhs.type.kind == TypeKind::kPath && rhs.type.optional) {
      Emit(Kind::kOptionalMisuse, node.rhs->span, "the right side of `under` may be absent; give a default with `??`");
      return {Type::Error(), std::nullopt};
    }
    if (rhs.type.kind != TypeKind::kPath) {
      Emit(Kind::kInvalidOperands, node.rhs->span,
           fmt::format("the right side of `under` is a `path`, found `{}`", ToString(rhs.type)));
      return {Type::Error(), std::nullopt};
    }
    (void)expr;
    std::optional<Value> value;
    if (lhs.value && rhs.value) {
      value = Value::Bool(!lhs.value->IsNone() && paths::Under(lhs.value->text, rhs.value->text));
    }
    return {Bool(), value};
  }

  Typed CheckMatches(const ast::Expr& expr, const ast::Binary& node) {
    Typed lhs = CheckExpr(*node.lhs, nullptr);
    Typed rhs = CheckExpr(*node.rhs, nullptr);
    if (lhs.type.ContainsError() || rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (lhs.type.kind != TypeKind::kString && lhs.type.kind != TypeKind::kPath) {
      Emit(Kind::kInvalidOperands, node.lhs->span,
           fmt::format("`matches` tests a `string` or `path`, found `{}`", ToString(lhs.type)));
      return {Type::Error(), std::nullopt};
    }
    if ((rhs.type.kind != TypeKind::kGlob && rhs.type.kind != TypeKind::kRegex) || rhs.type.optional) {
      Diagnostic& d = Emit(Kind::kInvalidOperands, node.rhs->span,
                           fmt::format("`matches` needs a `glob` or `regex` pattern, found `{}`", ToString(rhs.type)));
      if (rhs.type.kind == TypeKind::kString) d.help = "write a glob as `g\"*.txt\"` or a regex as `r\"[a-z]+\"`";
      return {Type::Error(), std::nullopt};
    }
    if (!rhs.value) {
      Emit(Kind::kNotConstant, node.rhs->span, "patterns are compiled with the policy and must be constant");
      return {Type::Error(), std::nullopt};
    }
    (void)expr;
    std::optional<Value> value;
    if (lhs.value) {
      bool result = false;
      if (!lhs.value->IsNone()) {
        pattern::CompileResult compiled = pattern::Compile(
            rhs.type.kind == TypeKind::kGlob ? pattern::Syntax::kGlob : pattern::Syntax::kRegex, rhs.value->text);
        result = compiled.dfa && compiled.dfa->Matches(lhs.value->text);
      }
      value = Value::Bool(result);
    }
    return {Bool(), value};
  }

  Typed CheckCoalesce(const ast::Expr& expr, const ast::Binary& node, const Type* expected) {
    Type lhs_want;
    const Type* lhs_expected = nullptr;
    if (expected != nullptr) {
      lhs_want = expected->AsOptional();
      lhs_expected = &lhs_want;
    }
    Typed lhs = CheckExpr(*node.lhs, lhs_expected);
    if (lhs.type.ContainsError()) {
      CheckExpr(*node.rhs, nullptr);
      return {Type::Error(), std::nullopt};
    }
    if (!lhs.type.optional) {
      CheckExpr(*node.rhs, nullptr);
      Emit(Kind::kOptionalMisuse, node.lhs->span,
           fmt::format("`??` gives a default for an optional value, but this `{}` is never absent", ToString(lhs.type)));
      return {Type::Error(), std::nullopt};
    }
    Type want = lhs.type.AsRequired();
    Typed rhs = CheckExpr(*node.rhs, &want);
    if (rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (!SameBase(rhs.type, want)) {
      Emit(Kind::kTypeMismatch, node.rhs->span,
           fmt::format("the default must be `{}`, found `{}`", ToString(want), ToString(rhs.type)));
      return {Type::Error(), std::nullopt};
    }
    (void)expr;
    std::optional<Value> value;
    if (lhs.value && !lhs.value->IsNone()) value = lhs.value;
    else if (lhs.value && rhs.value) value = rhs.value;
    return {rhs.type, value};
  }

  Typed CheckArithmetic(const ast::Expr& expr, const ast::Binary& node, const Type* expected) {
    (void)expected;
    // `"/etc" / name`: a string literal divided by something is a path.
    Type path_want = PathType();
    bool literal_path = node.op == ast::BinaryOp::kDiv && IsStringLiteral(*node.lhs);
    Typed lhs = CheckExpr(*node.lhs, literal_path ? &path_want : nullptr);
    Type rhs_want = lhs.type.kind == TypeKind::kPath ? String() : lhs.type.AsRequired();
    Typed rhs = CheckExpr(*node.rhs, lhs.type.ContainsError() ? nullptr : &rhs_want);
    if (lhs.type.ContainsError() || rhs.type.ContainsError()) return {Type::Error(), std::nullopt};
    if (lhs.type.optional || rhs.type.optional) {
      const ast::Expr& culprit = lhs.type.optional ? *node.lhs : *node.rhs;
      Emit(Kind::kOptionalMisuse, culprit.span,
           fmt::format("`{}` may be absent; arithmetic needs a value", ToString(lhs.type.optional ? lhs.type : rhs.type)))
          .help = "give a default with `??`";
      return {Type::Error(), std::nullopt};
    }
    TypeKind a = lhs.type.kind;
    TypeKind b = rhs.type.kind;
    Type result = Type::Error();
    ast::BinaryOp op = node.op;
    if (op == ast::BinaryOp::kDiv && a == TypeKind::kPath && (b == TypeKind::kString || b == TypeKind::kPath)) {
      result = PathType();
    } else if (op == ast::BinaryOp::kAdd && a == TypeKind::kString && b == TypeKind::kString) {
      result = String();
    } else if (a == TypeKind::kInt && b == TypeKind::kInt) {
      result = Int();
    } else if ((a == TypeKind::kDuration || a == TypeKind::kSize) && b == a &&
               (op == ast::BinaryOp::kAdd || op == ast::BinaryOp::kSub)) {
      result = lhs.type;
    } else if ((a == TypeKind::kDuration || a == TypeKind::kSize) && b == TypeKind::kInt &&
               (op == ast::BinaryOp::kMul || op == ast::BinaryOp::kDiv)) {
      result = lhs.type;
    }
    if (result.IsError()) {
      Diagnostic& d = Emit(Kind::kInvalidOperands, node.op_span,
                           fmt::format("`{}` cannot combine `{}` and `{}`", ast::BinaryOpSpelling(op),
                                       ToString(lhs.type), ToString(rhs.type)));
      if (op == ast::BinaryOp::kDiv && a == TypeKind::kString) d.help = "`/` joins paths: start from a `path`, e.g. `cwd / x`";
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (lhs.value && rhs.value) {
      if (result.kind == TypeKind::kPath) {
        value = Value::Text(TypeKind::kPath, paths::Join(lhs.value->text, rhs.value->text));
      } else if (result.kind == TypeKind::kString) {
        value = Value::Text(TypeKind::kString, lhs.value->text + rhs.value->text);
      } else {
        auto n = Arith(op, lhs.value->number, rhs.value->number);
        if (!n) {
          Emit(Kind::kNumberOutOfRange, expr.span,
               rhs.value->number == 0 && (op == ast::BinaryOp::kDiv || op == ast::BinaryOp::kMod)
                   ? std::string("division by zero")
                   : std::string("constant arithmetic overflows a 64-bit integer"));
          return {Type::Error(), std::nullopt};
        }
        value = Value::Number(result.kind, *n);
      }
    }
    return {result, value};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Logical& node, const Type*) {
    bool has_false = false;
    bool has_true = false;
    bool all_known = true;
    bool ok = true;
    Type want = Bool();
    for (const ast::ExprPtr& operand : node.operands) {
      Typed typed = CheckExpr(*operand, &want);
      ExpectCondition(*operand, typed.type, node.op == ast::LogicalOp::kAnd ? "an operand of `and`" : "an operand of `or`");
      if (typed.type.kind != TypeKind::kBool || typed.type.optional) ok = false;
      if (typed.value) {
        (typed.value->boolean ? has_true : has_false) = true;
      } else {
        all_known = false;
      }
    }
    (void)expr;
    if (!ok) return {Type::Error(), std::nullopt};
    std::optional<Value> value;
    if (node.op == ast::LogicalOp::kAnd) {
      if (has_false) value = Value::Bool(false);
      else if (all_known) value = Value::Bool(true);
    } else {
      if (has_true) value = Value::Bool(true);
      else if (all_known) value = Value::Bool(false);
    }
    return {Bool(), value};
  }

  // Checks `body` (a condition) with the local `var` of type `type` in
  // scope, resolving `expr` (the quantifier or `as`) to it.
  Typed CheckBoundBody(const ast::Expr& expr, const std::string& var, Span var_span, const Type& type,
                       const ast::Expr& body_expr) {
    if (std::find(RequestModel::Names().begin(), RequestModel::Names().end(), var) != RequestModel::Names().end() ||
        m_.symbols.count(var) > 0 || FindLocal(var) != nullptr) {
      Emit(Kind::kShadowedName, var_span, fmt::format("`{}` would hide another name of the same spelling", var))
          .help = "choose another variable name";
    }
    locals_.push_back(Local{var, type, -1, false});
    Type want = Bool();
    Typed body = CheckExpr(body_expr, &want);
    locals_.pop_back();
    m_.resolutions[expr.id] = Resolution{Resolution::Kind::kLocal, index_, var, -1};
    return body;
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Quantified& node, const Type*) {
    Typed domain = CheckExpr(*node.domain, nullptr);
    Type element = Type::Error();
    if (!domain.type.ContainsError()) {
      bool collection = domain.type.kind == TypeKind::kList || domain.type.kind == TypeKind::kSet ||
                        domain.type.kind == TypeKind::kMap;
      if (collection && domain.type.optional) {
        Emit(Kind::kOptionalMisuse, node.domain->span,
             fmt::format("`{}` may be absent; give a default with `??`", ToString(domain.type)));
      } else if (domain.type.kind == TypeKind::kList || domain.type.kind == TypeKind::kSet) {
        element = domain.type.args[0];
      } else if (domain.type.kind == TypeKind::kMap) {
        element = String();
      } else {
        Emit(Kind::kInvalidOperands, node.domain->span,
             fmt::format("`{}` ranges over a list, set or map, found `{}`",
                         node.quantifier == ast::Quantifier::kAny ? "any" : "all", ToString(domain.type)));
      }
    }
    Typed body = CheckBoundBody(expr, node.var, node.var_span, element, *node.body);
    ExpectCondition(*node.body, body.type, "the body of a quantifier");
    if (element.IsError() || body.type.kind != TypeKind::kBool || body.type.optional) return {Type::Error(), std::nullopt};
    std::optional<Value> value;
    // Only a constant domain can fold: empty decides without the body; a
    // non-empty one with a constant body takes the body's value.
    if (domain.value && domain.value->items.empty() && domain.value->fields.empty()) {
      value = Value::Bool(node.quantifier == ast::Quantifier::kAll);
    } else if (domain.value && body.value) {
      value = body.value;
    }
    return {Bool(), value};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::Conditional& node, const Type* expected) {
    Type want = Bool();
    Typed condition = CheckExpr(*node.condition, &want);
    ExpectCondition(*node.condition, condition.type, "an `if` condition");
    Typed then_value = CheckExpr(*node.then_value, expected);
    Typed else_value = CheckExpr(*node.else_value, then_value.type.ContainsError() ? expected : &then_value.type);
    if (condition.type.kind != TypeKind::kBool || then_value.type.ContainsError() || else_value.type.ContainsError()) {
      return {Type::Error(), std::nullopt};
    }
    Type result;
    if (then_value.type == else_value.type) {
      result = then_value.type;
    } else if (then_value.type.kind == TypeKind::kNone) {
      result = else_value.type.AsOptional();
    } else if (else_value.type.kind == TypeKind::kNone || SameBase(then_value.type, else_value.type)) {
      result = then_value.type.AsOptional();
    } else {
      Emit(Kind::kTypeMismatch, expr.span,
           fmt::format("the branches of `if` differ: `{}` and `{}`", ToString(then_value.type),
                       ToString(else_value.type)));
      return {Type::Error(), std::nullopt};
    }
    std::optional<Value> value;
    if (condition.value) value = condition.value->boolean ? then_value.value : else_value.value;
    return {result, value};
  }

  Typed CheckCollection(const ast::Expr& expr, const std::vector<ast::ExprPtr>& elements, const Type* expected,
                        bool is_set) {
    Type element = Type::Error();
    const Type* element_expected = nullptr;
    if (expected != nullptr && expected->ContainsError()) {
      // The declared type was already reported; check the elements for their own errors only.
      for (const ast::ExprPtr& e : elements) CheckExpr(*e, nullptr);
      return {Type::Error(), std::nullopt};
    }
    if (expected != nullptr && (expected->kind == TypeKind::kList || expected->kind == TypeKind::kSet)) {
      element = expected->args[0];
      element_expected = &element;
    }
    if (elements.empty()) {
      if (element_expected == nullptr) {
        Emit(Kind::kEmptyCollectionType, expr.span,
             fmt::format("the element type of an empty {} is unknown here", is_set ? "set" : "list"))
            .help = "declare it in a typed constant, e.g. `const none_yet: list<string> = []`";
        return {Type::Error(), std::nullopt};
      }
    }
    Value value;
    value.kind = is_set ? TypeKind::kSet : TypeKind::kList;
    bool all_constant = true;
    bool ok = true;
    for (const ast::ExprPtr& e : elements) {
      Typed typed = CheckExpr(*e, element_expected);
      if (typed.type.ContainsError()) {
        ok = false;
        continue;
      }
      if (typed.type.optional || typed.type.kind == TypeKind::kNone) {
        Emit(Kind::kOptionalMisuse, e->span, "collections hold values; this one may be absent");
        ok = false;
        continue;
      }
      if (element_expected == nullptr) {
        element = typed.type;
        element_expected = &element;
      } else if (!SameBase(typed.type, element)) {
        Emit(Kind::kTypeMismatch, e->span,
             fmt::format("elements must all be `{}`, this one is `{}`", ToString(element), ToString(typed.type)));
        ok = false;
        continue;
      }
      if (typed.value) value.items.push_back(std::move(*typed.value));
      else all_constant = false;
    }
    if (!ok || element.IsError()) return {Type::Error(), std::nullopt};
    if (element.kind == TypeKind::kRecord && is_set) {
      Emit(Kind::kTypeMismatch, expr.span, "sets hold scalar values, not records");
      return {Type::Error(), std::nullopt};
    }
    if (is_set) NormalizeSet(value);
    Type type = is_set ? Type::SetOf(element) : Type::ListOf(element);
    if (!all_constant) return {type, std::nullopt};
    return {type, value};
  }

  Typed CheckNode(const ast::Expr& expr, const ast::ListLiteral& node, const Type* expected) {
    return CheckCollection(expr, node.elements, expected, false);
  }
  Typed CheckNode(const ast::Expr& expr, const ast::SetLiteral& node, const Type* expected) {
    return CheckCollection(expr, node.elements, expected, true);
  }

  Typed CheckNode(const ast::Expr& expr, const ast::RecordLiteral& node, const Type* expected) {
    if (node.fields.empty() && expected != nullptr &&
        (expected->kind == TypeKind::kSet || expected->kind == TypeKind::kList)) {
      // `{}` where a set is expected is the empty set.
      return CheckCollection(expr, {}, expected, expected->kind == TypeKind::kSet);
    }
    if (expected != nullptr && expected->kind == TypeKind::kMap) {
      Value value;
      value.kind = TypeKind::kMap;
      bool all_constant = true;
      bool ok = true;
      const Type& element = expected->args[1];
      std::set<std::string> keys;
      for (const ast::RecordLiteralField& field : node.fields) {
        if (!keys.insert(field.name).second) {
          Emit(Kind::kDuplicateDeclaration, field.name_span, fmt::format("key `{}` is given twice", field.name));
          ok = false;
        }
        Typed typed = CheckExpr(*field.value, &element);
        if (!ExpectAssignable(*field.value, typed.type, element)) ok = false;
        if (typed.value) value.fields.emplace_back(field.name, *typed.value);
        else all_constant = false;
      }
      if (!ok) return {Type::Error(), std::nullopt};
      std::sort(value.fields.begin(), value.fields.end());
      if (!all_constant) return {expected->AsRequired(), std::nullopt};
      return {expected->AsRequired(), value};
    }
    if (expected == nullptr || expected->kind != TypeKind::kRecord) {
      for (const ast::RecordLiteralField& field : node.fields) CheckExpr(*field.value, nullptr);
      Emit(Kind::kTypeMismatch, expr.span,
           expected == nullptr ? std::string("a record literal needs a declared record type here")
                               : fmt::format("expected `{}`, found a record literal", ToString(*expected)));
      return {Type::Error(), std::nullopt};
    }
    Value value;
    value.kind = TypeKind::kRecord;
    bool all_constant = true;
    bool ok = true;
    std::set<std::string> given;
    for (const ast::RecordLiteralField& field : node.fields) {
      const Type* field_type = expected->FieldType(field.name);
      if (field_type == nullptr) {
        CheckExpr(*field.value, nullptr);
        Emit(Kind::kUnknownField, field.name_span,
             fmt::format("`{}` has no field `{}`", ToString(expected->AsRequired()), field.name));
        ok = false;
        continue;
      }
      if (!given.insert(field.name).second) {
        Emit(Kind::kDuplicateDeclaration, field.name_span, fmt::format("field `{}` is given twice", field.name));
        ok = false;
        continue;
      }
      Typed typed = CheckExpr(*field.value, field_type);
      if (!ExpectAssignable(*field.value, typed.type, *field_type)) ok = false;
      if (typed.value) value.fields.emplace_back(field.name, *typed.value);
      else all_constant = false;
    }
    for (const Field& field : *expected->fields) {
      if (!given.count(field.name)) {
        if (field.type->optional) {
          value.fields.emplace_back(field.name, Value::None());
        } else {
          Emit(Kind::kTypeMismatch, expr.span, fmt::format("field `{}` is missing", field.name));
          ok = false;
        }
      }
    }
    if (!ok) return {Type::Error(), std::nullopt};
    std::sort(value.fields.begin(), value.fields.end());
    if (!all_constant) return {expected->AsRequired(), std::nullopt};
    return {expected->AsRequired(), value};
  }

  Program& program_;
  int index_;
  const ParsedModule& parsed_;
  CheckedModule& m_;
  diagnostics::Collector& diagnostics_;
  Type context_type_;
  const ast::DefaultDecl* defaults_ = nullptr;         // the module's `default with`, if any
  const ast::DefaultDecl* default_verdict_ = nullptr;  // its `default VERDICT`, if any
  std::vector<Local> locals_;
  Symbol* current_def_ = nullptr;
  std::map<std::string, int> const_state_;
  std::set<std::string> cycle_reported_;
  std::map<std::string, std::vector<std::pair<std::string, Span>>> calls_;
};

}  // namespace

Program Check(const std::vector<ParsedModule>& modules, diagnostics::Collector& diagnostics) {
  Program program;
  program.modules.resize(modules.size());
  // Check imported modules before their importers.
  std::vector<int> state(modules.size(), 0);
  std::vector<int> order;
  std::function<void(int)> visit = [&](int i) {
    state[static_cast<std::size_t>(i)] = 1;
    for (int target : modules[static_cast<std::size_t>(i)].import_targets) {
      if (target >= 0 && state[static_cast<std::size_t>(target)] == 0) visit(target);
    }
    state[static_cast<std::size_t>(i)] = 2;
    order.push_back(i);
  };
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (state[i] == 0) visit(static_cast<int>(i));
    if (modules[i].is_entry) program.entry = static_cast<int>(i);
  }
  for (int i : order) ModuleChecker(program, i, modules[static_cast<std::size_t>(i)], diagnostics).Run();
  return program;
}

}  // namespace gov::check
