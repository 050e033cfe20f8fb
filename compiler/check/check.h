// Name resolution and type checking of a policy and the modules it imports.
// Entry: Check(). Problems are reported as diagnostics; the result records
// every fact later phases (lint, lower) need, indexed by expression id.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/check/types.h"
#include "compiler/check/value.h"
#include "compiler/diagnostics/diagnostic.h"
#include "runtime/argparse/command.h"
#include "runtime/pattern/pattern.h"

namespace gov::check {

// One parsed file and where each of its imports points.
struct ParsedModule {
  const ast::File* ast = nullptr;
  // Parallel to the file's Import declarations in order: index of the
  // imported module in the module list, or -1 when it could not be loaded
  // (the loader has already reported why).
  std::vector<int> import_targets;
  bool is_entry = false;
};

enum class SymbolKind : std::uint8_t { kConst, kDef, kImport, kCommand };

// A module-level name: a constant, a function, an imported module, or a
// command (an argument grammar; its parse's record type is `type`).
struct Symbol {
  SymbolKind kind;
  std::string name;
  source::Span span;  // the name at its declaration
  const ast::ConstDecl* constant = nullptr;
  const ast::DefDecl* def = nullptr;
  const ast::Import* import = nullptr;
  int import_target = -1;  // module index for kImport
  Type type;               // const type, or def result type
  std::vector<Type> params;  // def parameter types
  std::optional<Value> value;  // a const's value once checked
  int uses = 0;
};

// What a name in an expression refers to.
struct Resolution {
  enum class Kind : std::uint8_t { kNone, kConst, kDef, kParam, kLocal, kRequest, kContext, kBuiltin, kCommand };
  Kind kind = Kind::kNone;
  int module = -1;      // module holding the const/def
  std::string name;     // symbol, request field or builtin name
  int slot = -1;        // parameter index
};

struct ContextFieldInfo {
  std::string name;
  Type type;
  source::Span span;
  int uses = 0;
};

// A compiled pattern literal or pattern constant.
struct CompiledPattern {
  std::uint32_t expr_id;
  source::Span span;
  ast::PatternSyntax syntax;
  std::string source;
  pattern::Dfa dfa;
};

// An obligation after checking: its canonical value.
struct CheckedObligation {
  std::string name;
  source::Span span;
  Value value;
};

// The facts about one checked file.
struct CheckedModule {
  const ast::File* ast = nullptr;
  source::FileId file = source::kNoFile;
  bool is_entry = false;
  std::string policy_name;
  std::optional<std::string> version;
  std::map<std::string, Symbol> symbols;
  std::vector<ContextFieldInfo> context;
  std::vector<const ast::Rule*> rules;
  std::vector<std::vector<CheckedObligation>> obligations;  // parallel to rules
  // Rules of the modules imported `with rules`, and those they include in
  // turn, in declaration order: they decide for this policy too, named
  // ALIAS.RULE (ALIAS.INNER.RULE for an included module's own inclusions).
  struct IncludedRule {
    int module;         // index of the module declaring the rule
    std::size_t index;  // the rule's index in that module's `rules`
    std::string name;   // the qualified name
  };
  std::vector<IncludedRule> included_rules;
  std::vector<const ast::TestBlock*> tests;
  // `default ask because "..."`: a rule named `default` asks about requests no
  // other rule decides (added by the lowering after the module's rules).
  bool default_ask = false;
  std::string default_reason;
  // `default with { ... }`: the obligations of allow and ask rules without a `with`.
  bool has_default_obligations = false;
  std::vector<CheckedObligation> default_obligations;
  // The checked `with { ... }` of each test case that has one.
  std::map<const ast::TestCase*, std::vector<CheckedObligation>> test_obligations;
  std::vector<Type> types;                     // by expression id
  std::vector<std::optional<Value>> values;    // by expression id: constant value when known
  std::vector<Resolution> resolutions;         // by expression id: for names and calls
  std::vector<CompiledPattern> patterns;
  // `command` declarations as the runtime reads them, by name.
  std::map<std::string, argparse::Command> commands;

  const ContextFieldInfo* FindContext(std::string_view name) const;
};

// All modules of one policy; the entry module is `modules[entry]`.
struct Program {
  std::vector<CheckedModule> modules;
  int entry = -1;

  const CheckedModule& Entry() const { return modules[static_cast<std::size_t>(entry)]; }
};

// Checks every module (imports first is not required: modules may be given in
// any order). Reports problems to `diagnostics`.
Program Check(const std::vector<ParsedModule>& modules, diagnostics::Collector& diagnostics);

// Names of the known obligations and their types, in canonical order.
struct ObligationSpec {
  std::string_view name;
  std::string_view type_text;  // for messages and docs
};
const std::vector<ObligationSpec>& KnownObligations();

}  // namespace gov::check
