// Hover, go to definition and completion over a checked compilation.
#include "compiler/lsp/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "compiler/check/check.h"
#include "compiler/format/format.h"

namespace gov::lsp {

namespace {

using check::CheckedModule;
using check::Resolution;
using check::Symbol;
using check::SymbolKind;

constexpr std::size_t kMaxShownValue = 400;
constexpr std::size_t kMaxShownCondition = 600;

// Inclusive of the end: a cursor just after a name still points at it.
bool Contains(const source::Span& span, std::uint32_t offset) {
  return span.valid() && span.begin <= offset && offset <= span.end;
}

std::string Shorten(std::string text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + " …";
}

std::string CodeBlock(const std::string& code) {
  return "```gov\n" + code + "\n```";
}

// The innermost expression of `root` that contains `offset`, with its
// ancestors (outermost first); empty when `root` does not contain it.
std::vector<const ast::Expr*> ExprPath(const ast::Expr& root, std::uint32_t offset) {
  std::vector<const ast::Expr*> path;
  const ast::Expr* current = Contains(root.span, offset) ? &root : nullptr;
  while (current != nullptr) {
    path.push_back(current);
    const ast::Expr* next = nullptr;
    ast::ForEachChild(*current, [&](const ast::Expr& child) {
      if (next == nullptr && Contains(child.span, offset)) next = &child;
    });
    current = next;
  }
  return path;
}

// The expressions written directly in a declaration.
std::vector<const ast::Expr*> DeclExprs(const ast::Decl& decl) {
  std::vector<const ast::Expr*> out;
  auto obligations = [&](const std::vector<ast::Obligation>& list) {
    for (const ast::Obligation& o : list) {
      if (o.value) out.push_back(o.value.get());
    }
  };
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, ast::ConstDecl>) {
          if (node.value) out.push_back(node.value.get());
        } else if constexpr (std::is_same_v<T, ast::DefDecl>) {
          if (node.body) out.push_back(node.body.get());
        } else if constexpr (std::is_same_v<T, ast::Rule>) {
          if (node.condition) out.push_back(node.condition.get());
          obligations(node.obligations);
        } else if constexpr (std::is_same_v<T, ast::TestBlock>) {
          for (const ast::TestCase& test : node.cases) {
            for (const ast::ExprPtr& argv : test.argvs) out.push_back(argv.get());
            for (const ast::TestModifier& modifier : test.modifiers) {
              if (modifier.value) out.push_back(modifier.value.get());
            }
            obligations(test.obligations);
          }
        } else if constexpr (std::is_same_v<T, ast::DefaultDecl>) {
          obligations(node.obligations);
        }
      },
      decl.node);
  return out;
}

// What the cursor is in: a declaration and, inside it, an expression path.
struct Site {
  const ast::Decl* decl = nullptr;
  std::vector<const ast::Expr*> path;
};

Site FindSite(const ast::File& file, std::uint32_t offset) {
  Site site;
  for (const ast::Decl& decl : file.decls) {
    if (!Contains(decl.span, offset)) continue;
    site.decl = &decl;
    for (const ast::Expr* expr : DeclExprs(decl)) {
      site.path = ExprPath(*expr, offset);
      if (!site.path.empty()) break;
    }
    break;
  }
  return site;
}

const CheckedModule* EntryModule(const driver::Compilation& c) {
  if (c.program.entry < 0 || static_cast<std::size_t>(c.program.entry) >= c.program.modules.size()) return nullptr;
  return &c.program.Entry();
}

const Symbol* FindSymbol(const driver::Compilation& c, int module, const std::string& name) {
  if (module < 0 || static_cast<std::size_t>(module) >= c.program.modules.size()) return nullptr;
  const auto& symbols = c.program.modules[static_cast<std::size_t>(module)].symbols;
  auto it = symbols.find(name);
  return it == symbols.end() ? nullptr : &it->second;
}

const Resolution* ResolutionOf(const CheckedModule& m, const ast::Expr& expr) {
  if (expr.id >= m.resolutions.size()) return nullptr;
  const Resolution& r = m.resolutions[expr.id];
  return r.kind == Resolution::Kind::kNone ? nullptr : &r;
}

std::optional<check::Type> TypeOf(const CheckedModule& m, const ast::Expr& expr) {
  if (expr.id >= m.types.size() || m.types[expr.id].ContainsError()) return std::nullopt;
  return m.types[expr.id];
}

std::string ModuleFileName(const driver::Compilation& c, int module) {
  const source::FileId file = c.program.modules[static_cast<std::size_t>(module)].file;
  if (file >= c.sources.size()) return "";
  return std::filesystem::path(c.sources.file(file).path()).filename().string();
}

// The comment lines written directly above a declaration.
std::string DocComment(const driver::Compilation& c, int module, const source::Span& decl_span) {
  if (module < 0 || static_cast<std::size_t>(module) >= c.files.size()) return "";
  const ast::File& file = *c.files[static_cast<std::size_t>(module)];
  if (file.file_id >= c.sources.size()) return "";
  const source::SourceFile& source = c.sources.file(file.file_id);
  std::uint32_t expected_line = source.Locate(decl_span.begin).line;
  std::vector<std::string> lines;
  for (auto it = file.comments.rbegin(); it != file.comments.rend(); ++it) {
    if (it->span.end > decl_span.begin) continue;
    if (!it->own_line || source.Locate(it->span.end).line + 1 != expected_line) break;
    std::string text = it->text;
    if (text.rfind("//", 0) == 0) {
      text.erase(0, 2);
    } else if (text.rfind("/*", 0) == 0 && text.size() >= 4) {
      text = text.substr(2, text.size() - 4);
    }
    if (!text.empty() && text.front() == ' ') text.erase(0, 1);
    lines.push_back(text);
    expected_line = source.Locate(it->span.begin).line;
  }
  std::reverse(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

std::string Signature(const Symbol& symbol) {
  std::string params;
  for (std::size_t i = 0; i < symbol.params.size(); ++i) {
    std::string name = symbol.def != nullptr && i < symbol.def->params.size() ? symbol.def->params[i].name : "_";
    params += fmt::format("{}{}: {}", i == 0 ? "" : ", ", name, check::ToString(symbol.params[i]));
  }
  return fmt::format("def {}({}): {}", symbol.name, params, check::ToString(symbol.type));
}

std::string SymbolHover(const driver::Compilation& c, int module, const Symbol& symbol) {
  std::string code;
  source::Span decl_span = symbol.span;
  if (symbol.kind == SymbolKind::kDef) {
    code = Signature(symbol);
    if (symbol.def != nullptr) decl_span = symbol.def->span;
  } else if (symbol.kind == SymbolKind::kConst) {
    code = fmt::format("const {}: {}", symbol.name, check::ToString(symbol.type));
    if (symbol.constant != nullptr && symbol.constant->value) {
      code += " = " + Shorten(format::FormatExpr(*symbol.constant->value), kMaxShownValue);
      decl_span = symbol.constant->span;
    } else if (symbol.value) {
      code += " = " + Shorten(check::ToSource(*symbol.value), kMaxShownValue);
    }
  } else {
    code = fmt::format("import {}", symbol.import != nullptr ? symbol.import->target : symbol.name);
  }
  std::string out = CodeBlock(code);
  if (c.program.entry != module) out += fmt::format("\n\nfrom `{}`", ModuleFileName(c, module));
  std::string doc = DocComment(c, module, decl_span);
  if (!doc.empty()) out += "\n\n" + doc;
  return out;
}

std::string BuiltinHover(const std::string& name) {
  if (name == "len") {
    return CodeBlock("len(value: string | list | set | map): int") + "\n\nThe number of bytes or elements.";
  }
  return CodeBlock("path(text: string): path") + "\n\nThe string as a normalized path.";
}

std::string ObligationsText(const std::vector<check::CheckedObligation>& obligations) {
  std::string out;
  for (const check::CheckedObligation& o : obligations) {
    out += fmt::format("{}{} = {}", out.empty() ? "" : ", ", o.name, Shorten(check::ToSource(o.value), 120));
  }
  return "{ " + out + " }";
}

std::string RuleHover(const CheckedModule& m, const ast::Rule& rule) {
  std::string code = fmt::format("{} {}", ast::VerdictName(rule.verdict), rule.name);
  if (rule.condition) code += "\n  when " + Shorten(format::FormatExpr(*rule.condition), kMaxShownCondition);
  std::string out;
  if (rule.has_with) {
    std::string list;
    for (const ast::Obligation& o : rule.obligations) {
      list += fmt::format("{}{} = {}", list.empty() ? "" : ", ", o.name,
                          o.value ? Shorten(format::FormatExpr(*o.value), 120) : "any");
    }
    code += "\n  with { " + list + " }";
  } else if (rule.verdict != ast::Verdict::kDeny && m.has_default_obligations) {
    code += "\n  with " + ObligationsText(m.default_obligations) + "  // the policy's default";
  }
  if (rule.reason) code += "\n  because " + format::Quote(*rule.reason);
  out = CodeBlock(code);
  std::string_view effect = rule.verdict == ast::Verdict::kAllow
                                ? "allows the request unless a `deny` or `ask` rule matches"
                            : rule.verdict == ast::Verdict::kDeny ? "denies the request whenever it matches"
                                                                  : "asks for approval unless a `deny` rule matches";
  out += fmt::format("\n\nWhen its condition holds, this rule {}.", effect);
  return out;
}

// A rule a test names: the rule, the module declaring it (an included
// rule's own module), and where the test names it.
struct NamedRule {
  const ast::Rule* rule = nullptr;
  const CheckedModule* module = nullptr;
  source::Span at;
};

// The rule `name` of module `m`, its own or one it imports `with rules` (`org.rule`).
std::optional<NamedRule> FindRule(const driver::Compilation& c, const CheckedModule& m, const std::string& name,
                                  source::Span at) {
  for (const ast::Rule* rule : m.rules) {
    if (rule->name == name) return NamedRule{rule, &m, at};
  }
  for (const CheckedModule::IncludedRule& included : m.included_rules) {
    if (included.name != name) continue;
    const CheckedModule& owner = c.program.modules[static_cast<std::size_t>(included.module)];
    return NamedRule{owner.rules[included.index], &owner, at};
  }
  return std::nullopt;
}

// The rule named after `by`/`not by` at `offset` in a test block.
std::optional<NamedRule> RuleNamedInTest(const driver::Compilation& c, const CheckedModule& m,
                                         const ast::TestBlock& block, std::uint32_t offset) {
  for (const ast::TestCase& test : block.cases) {
    for (std::size_t i = 0; i < test.by_spans.size() && i < test.by_rules.size(); ++i) {
      if (Contains(test.by_spans[i], offset)) return FindRule(c, m, test.by_rules[i], test.by_spans[i]);
    }
    for (std::size_t i = 0; i < test.not_by_spans.size() && i < test.not_by_rules.size(); ++i) {
      if (Contains(test.not_by_spans[i], offset)) return FindRule(c, m, test.not_by_rules[i], test.not_by_spans[i]);
    }
  }
  return std::nullopt;
}

int ImportTarget(const driver::Compilation& c, const ast::Import& import) {
  const auto& module = c.modules[static_cast<std::size_t>(c.entry)];
  std::size_t n = 0;
  for (const ast::Decl& decl : c.EntryFile().decls) {
    const auto* other = std::get_if<ast::Import>(&decl.node);
    if (other == nullptr) continue;
    if (other == &import) return n < module.import_targets.size() ? module.import_targets[n] : -1;
    ++n;
  }
  return -1;
}

std::string ModuleHover(const driver::Compilation& c, int target, const std::string& name) {
  std::string out = CodeBlock("import " + name);
  if (target < 0) return out;
  out += fmt::format("\n\n`{}`", ModuleFileName(c, target));
  const ast::File& file = *c.files[static_cast<std::size_t>(target)];
  for (const ast::Decl& decl : file.decls) {
    if (const auto* header = std::get_if<ast::PolicyHeader>(&decl.node)) {
      std::string doc = DocComment(c, target, header->span);
      if (!doc.empty()) out += "\n\n" + doc;
    }
  }
  return out;
}

std::optional<std::string> ExprHover(const driver::Compilation& c, const CheckedModule& m, const ast::Expr& expr,
                                     std::uint32_t offset) {
  const Resolution* r = ResolutionOf(m, expr);
  std::optional<check::Type> type = TypeOf(m, expr);
  std::string type_text = type ? check::ToString(*type) : "";
  if (const auto* name = std::get_if<ast::NameRef>(&expr.node)) {
    if (r != nullptr) {
      switch (r->kind) {
        case Resolution::Kind::kConst:
        case Resolution::Kind::kDef:
          if (const Symbol* s = FindSymbol(c, r->module, r->name)) return SymbolHover(c, r->module, *s);
          break;
        case Resolution::Kind::kParam:
          return CodeBlock(fmt::format("(parameter) {}: {}", name->name, type_text));
        case Resolution::Kind::kLocal:
          return CodeBlock(fmt::format("(variable) {}: {}", name->name, type_text));
        case Resolution::Kind::kRequest:
          return CodeBlock(fmt::format("(request) {}: {}", name->name, type_text)) +
                 "\n\nA field of the request being decided (docs/request.md).";
        case Resolution::Kind::kContext:
          return CodeBlock(fmt::format("(request) context: {}", type_text));
        default:
          break;
      }
    }
    auto it = m.symbols.find(name->name);
    if (it != m.symbols.end() && it->second.kind == SymbolKind::kImport) {
      return ModuleHover(c, it->second.import_target, it->second.import ? it->second.import->target : name->name);
    }
  }
  if (const auto* member = std::get_if<ast::Member>(&expr.node)) {
    if (r != nullptr && r->kind == Resolution::Kind::kConst) {
      if (const Symbol* s = FindSymbol(c, r->module, r->name)) return SymbolHover(c, r->module, *s);
    }
    if (Contains(member->field_span, offset) && type) {
      std::string out = CodeBlock(fmt::format("(field) {}: {}", member->field, type_text));
      return out;
    }
  }
  if (const auto* call = std::get_if<ast::Call>(&expr.node); call != nullptr && Contains(call->callee_span, offset)) {
    if (r != nullptr && r->kind == Resolution::Kind::kDef) {
      if (const Symbol* s = FindSymbol(c, r->module, r->name)) return SymbolHover(c, r->module, *s);
    }
    if (r != nullptr && r->kind == Resolution::Kind::kBuiltin) return BuiltinHover(r->name);
  }
  if (const auto* call = std::get_if<ast::MethodCall>(&expr.node);
      call != nullptr && Contains(call->method_span, offset)) {
    if (r != nullptr && r->kind == Resolution::Kind::kDef) {
      if (const Symbol* s = FindSymbol(c, r->module, r->name)) return SymbolHover(c, r->module, *s);
    }
    if (type) return CodeBlock(fmt::format("(method) {}(…): {}", call->method, type_text));
  }
  if (!type) return std::nullopt;
  std::string out = CodeBlock(type_text);
  if (expr.id < m.values.size() && m.values[expr.id]) {
    out += "\n\nconstant: `" + Shorten(check::ToSource(*m.values[expr.id]), kMaxShownValue) + "`";
  }
  return out;
}

}  // namespace

std::optional<Hover> HoverAt(const driver::Compilation& c, std::uint32_t offset) {
  const CheckedModule* m = EntryModule(c);
  if (m == nullptr) return std::nullopt;
  Site site = FindSite(c.EntryFile(), offset);
  if (site.decl == nullptr) return std::nullopt;
  if (!site.path.empty()) {
    const ast::Expr& expr = *site.path.back();
    std::optional<std::string> text = ExprHover(c, *m, expr, offset);
    if (!text) return std::nullopt;
    source::Span span = expr.span;
    if (const auto* method = std::get_if<ast::MethodCall>(&expr.node);
        method && Contains(method->method_span, offset)) {
      span = method->method_span;
    } else if (const auto* call = std::get_if<ast::Call>(&expr.node); call && Contains(call->callee_span, offset)) {
      span = call->callee_span;
    } else if (const auto* member = std::get_if<ast::Member>(&expr.node);
               member && Contains(member->field_span, offset)) {
      span = member->field_span;
    }
    return Hover{*text, span};
  }
  const ast::DeclNode& node = site.decl->node;
  if (const auto* rule = std::get_if<ast::Rule>(&node)) return Hover{RuleHover(*m, *rule), rule->name_span};
  if (const auto* block = std::get_if<ast::TestBlock>(&node)) {
    if (auto named = RuleNamedInTest(c, *m, *block, offset)) {
      return Hover{RuleHover(*named->module, *named->rule), named->at};
    }
    return std::nullopt;
  }
  if (const auto* constant = std::get_if<ast::ConstDecl>(&node);
      constant != nullptr && Contains(constant->name_span, offset)) {
    if (const Symbol* s = FindSymbol(c, c.program.entry, constant->name)) {
      return Hover{SymbolHover(c, c.program.entry, *s), constant->name_span};
    }
  }
  if (const auto* def = std::get_if<ast::DefDecl>(&node)) {
    if (Contains(def->name_span, offset)) {
      if (const Symbol* s = FindSymbol(c, c.program.entry, def->name)) {
        return Hover{SymbolHover(c, c.program.entry, *s), def->name_span};
      }
    }
  }
  if (const auto* import = std::get_if<ast::Import>(&node)) {
    return Hover{ModuleHover(c, ImportTarget(c, *import), import->target), import->target_span};
  }
  if (const auto* context = std::get_if<ast::ContextDecl>(&node)) {
    for (const ast::ContextField& field : context->fields) {
      if (!Contains(field.name_span, offset)) continue;
      if (const check::ContextFieldInfo* info = m->FindContext(field.name)) {
        return Hover{CodeBlock(fmt::format("context.{}: {}", field.name, check::ToString(info->type))),
                     field.name_span};
      }
    }
  }
  return std::nullopt;
}

std::optional<source::Span> DefinitionAt(const driver::Compilation& c, std::uint32_t offset) {
  const CheckedModule* m = EntryModule(c);
  if (m == nullptr) return std::nullopt;
  Site site = FindSite(c.EntryFile(), offset);
  if (site.decl == nullptr) return std::nullopt;
  auto module_start = [&](int target) -> std::optional<source::Span> {
    if (target < 0 || static_cast<std::size_t>(target) >= c.program.modules.size()) return std::nullopt;
    return source::Span{c.program.modules[static_cast<std::size_t>(target)].file, 0, 0};
  };
  auto symbol_span = [&](int module, const std::string& name) -> std::optional<source::Span> {
    if (const Symbol* s = FindSymbol(c, module, name)) return s->span;
    return std::nullopt;
  };
  if (site.path.empty()) {
    if (const auto* import = std::get_if<ast::Import>(&site.decl->node)) return module_start(ImportTarget(c, *import));
    if (const auto* block = std::get_if<ast::TestBlock>(&site.decl->node)) {
      if (auto named = RuleNamedInTest(c, *m, *block, offset)) return named->rule->name_span;
    }
    return std::nullopt;
  }
  const ast::Expr& expr = *site.path.back();
  const Resolution* r = ResolutionOf(*m, expr);
  if (const auto* name = std::get_if<ast::NameRef>(&expr.node)) {
    if (r != nullptr) {
      switch (r->kind) {
        case Resolution::Kind::kConst:
        case Resolution::Kind::kDef:
          return symbol_span(r->module, r->name);
        case Resolution::Kind::kParam:
          if (const auto* def = std::get_if<ast::DefDecl>(&site.decl->node)) {
            if (r->slot >= 0 && static_cast<std::size_t>(r->slot) < def->params.size()) {
              return def->params[static_cast<std::size_t>(r->slot)].name_span;
            }
          }
          return std::nullopt;
        case Resolution::Kind::kLocal:
          for (auto it = site.path.rbegin(); it != site.path.rend(); ++it) {
            const auto* quantified = std::get_if<ast::Quantified>(&(*it)->node);
            if (quantified != nullptr && quantified->var == name->name && !Contains(quantified->domain->span, offset)) {
              return quantified->var_span;
            }
          }
          return std::nullopt;
        default:
          break;
      }
    }
    auto it = m->symbols.find(name->name);
    if (it != m->symbols.end() && it->second.kind == SymbolKind::kImport) return module_start(it->second.import_target);
    return std::nullopt;
  }
  if (const auto* member = std::get_if<ast::Member>(&expr.node)) {
    if (r != nullptr && r->kind == Resolution::Kind::kConst) return symbol_span(r->module, r->name);
    const auto* object = std::get_if<ast::NameRef>(&member->object->node);
    if (object != nullptr && object->name == "context") {
      if (const check::ContextFieldInfo* info = m->FindContext(member->field)) return info->span;
    }
    return std::nullopt;
  }
  if (std::holds_alternative<ast::Call>(expr.node) || std::holds_alternative<ast::MethodCall>(expr.node)) {
    if (r != nullptr && r->kind == Resolution::Kind::kDef) return symbol_span(r->module, r->name);
  }
  return std::nullopt;
}

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::vector<std::string> StandardModuleNames() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(driver::StdlibDir(), error)) {
    if (entry.path().extension() == ".gov") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void AddModuleSymbols(std::vector<Completion>& out, const CheckedModule& module) {
  for (const auto& [name, symbol] : module.symbols) {
    if (symbol.kind == SymbolKind::kDef) {
      out.push_back({name, CompletionKind::kFunction, Signature(symbol)});
    } else if (symbol.kind == SymbolKind::kConst) {
      out.push_back({name, CompletionKind::kConstant, check::ToString(symbol.type)});
    }
  }
}

void AddRecordFields(std::vector<Completion>& out, const check::Type& type) {
  if (type.kind != check::TypeKind::kRecord || !type.fields) return;
  for (const check::Field& field : *type.fields) {
    out.push_back({field.name, CompletionKind::kField, field.type ? check::ToString(*field.type) : ""});
  }
}

}  // namespace

std::vector<Completion> CompletionsAt(const driver::Compilation* c, std::string_view line_prefix) {
  std::vector<Completion> out;
  const CheckedModule* m = c != nullptr ? EntryModule(*c) : nullptr;
  std::size_t word_start = line_prefix.size();
  while (word_start > 0 && IsWordChar(line_prefix[word_start - 1])) --word_start;
  const std::string_view before = line_prefix.substr(0, word_start);

  // `import std.` and `import std.sh`
  std::size_t dotted_start = word_start;
  while (dotted_start > 0 && (IsWordChar(line_prefix[dotted_start - 1]) || line_prefix[dotted_start - 1] == '.')) {
    --dotted_start;
  }
  std::string_view dotted = line_prefix.substr(dotted_start);
  std::string_view head = line_prefix.substr(0, dotted_start);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.remove_suffix(1);
  const bool after_import = head.size() >= 6 && head.substr(head.size() - 6) == "import" &&
                            (head.size() == 6 || !IsWordChar(head[head.size() - 7]));
  if (after_import || dotted.rfind("std.", 0) == 0) {
    if (dotted.rfind("std.", 0) == 0) {
      for (const std::string& name : StandardModuleNames()) {
        out.push_back({name, CompletionKind::kModule, "std." + name});
      }
    } else if (after_import) {
      out.push_back({"std", CompletionKind::kModule, "the standard library"});
    }
    return out;
  }

  if (!before.empty() && before.back() == '.') {
    std::size_t receiver_start = before.size() - 1;
    while (receiver_start > 0 && IsWordChar(before[receiver_start - 1])) --receiver_start;
    const std::string receiver(before.substr(receiver_start, before.size() - 1 - receiver_start));
    const bool chained = receiver_start > 0 && before[receiver_start - 1] == '.';
    if (m != nullptr && !chained) {
      auto it = m->symbols.find(receiver);
      if (it != m->symbols.end() && it->second.kind == SymbolKind::kImport) {
        if (it->second.import_target >= 0) {
          AddModuleSymbols(out, c->program.modules[static_cast<std::size_t>(it->second.import_target)]);
        }
        return out;
      }
      if (receiver == "context") {
        for (const check::ContextFieldInfo& field : m->context) {
          out.push_back({field.name, CompletionKind::kField, check::ToString(field.type)});
        }
        return out;
      }
    }
    if (!chained) {
      if (auto type = check::RequestModel::Get().Lookup(receiver); type && type->kind == check::TypeKind::kRecord) {
        AddRecordFields(out, *type);
        return out;
      }
    }
    // Anything else: the methods of strings and collections, the fields of paths.
    for (const char* method : {"starts_with", "ends_with", "contains", "lower", "upper", "len"}) {
      out.push_back({method, CompletionKind::kMethod, "method"});
    }
    for (const char* field : {"name", "parent", "ext"}) out.push_back({field, CompletionKind::kField, "path field"});
    return out;
  }

  for (std::string_view name : check::RequestModel::Names()) {
    std::optional<check::Type> type = check::RequestModel::Get().Lookup(name);
    out.push_back({std::string(name), CompletionKind::kVariable,
                   type ? "request: " + check::ToString(*type) : std::string("request: the policy's context")});
  }
  out.push_back({"len", CompletionKind::kFunction, "len(value): int"});
  out.push_back({"path", CompletionKind::kFunction, "path(text: string): path"});
  if (m != nullptr) {
    AddModuleSymbols(out, *m);
    for (const auto& [name, symbol] : m->symbols) {
      if (symbol.kind == SymbolKind::kImport) {
        out.push_back({name, CompletionKind::kModule, symbol.import ? "import " + symbol.import->target : ""});
      }
    }
  }
  for (const char* keyword :
       {"allow", "deny",    "ask",     "when", "because", "with", "const", "def",   "import", "context",
        "test",  "policy",  "default", "exec", "any",     "all",  "in",    "not",   "and",    "or",
        "under", "matches", "if",      "then", "else",    "none", "true",  "false", "command"}) {
    out.push_back({keyword, CompletionKind::kKeyword, "keyword"});
  }
  return out;
}

}  // namespace gov::lsp
