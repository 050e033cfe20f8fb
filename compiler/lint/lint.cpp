// The lints of `govc lint`, run over the entry module of a checked program.
// Each lint reads the checker's facts (symbol uses, folded constant values,
// resolutions, compiled patterns) and the AST; none of them re-checks types.
// docs/lint.md gives each lint's exact definition and why it matters.
#include "compiler/lint/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gov::lint {

Level LevelFor(const Config& config, diagnostics::Kind kind) {
  auto it = config.levels.find(kind);
  if (it != config.levels.end()) return it->second;
  return diagnostics::Info(kind).default_severity == diagnostics::Severity::kError ? Level::kError
                                                                                    : Level::kWarning;
}

namespace {

using check::CheckedModule;
using check::Resolution;
using check::TypeKind;
using check::Value;
using diagnostics::Diagnostic;
using diagnostics::Kind;
using source::Span;

// Calls `fn` on `root` and every expression below it, parents before
// children, in source order. Iterative: nesting depth is user-controlled.
template <typename Fn>
void Walk(const ast::Expr& root, Fn&& fn) {
  std::vector<const ast::Expr*> stack{&root};
  std::vector<const ast::Expr*> children;
  while (!stack.empty()) {
    const ast::Expr* expr = stack.back();
    stack.pop_back();
    fn(*expr);
    children.clear();
    ast::ForEachChild(*expr, [&](const ast::Expr& child) { children.push_back(&child); });
    stack.insert(stack.end(), children.rbegin(), children.rend());
  }
}

// The operands of the top-level `and` chain of `condition`, looking through
// nested `and`s (parentheses); a condition that is no `and` is one conjunct.
std::vector<const ast::Expr*> Conjuncts(const ast::Expr& condition) {
  std::vector<const ast::Expr*> out;
  std::vector<const ast::Expr*> stack{&condition};
  while (!stack.empty()) {
    const ast::Expr* expr = stack.back();
    stack.pop_back();
    const auto* logical = std::get_if<ast::Logical>(&expr->node);
    if (logical != nullptr && logical->op == ast::LogicalOp::kAnd) {
      for (auto it = logical->operands.rbegin(); it != logical->operands.rend(); ++it) stack.push_back(it->get());
    } else {
      out.push_back(expr);
    }
  }
  return out;
}

// Structural hashes of expressions, consistent with ast::Equal (equal
// expressions hash equally), so pairwise lints compare only likely matches
// and stay near-linear on large policies. Iterative, memoized per node.
class ShapeHasher {
 public:
  std::size_t Of(const ast::Expr& root) {
    if (auto it = memo_.find(&root); it != memo_.end()) return it->second;
    // Post-order: a node is hashed once all its children are.
    std::vector<std::pair<const ast::Expr*, bool>> stack{{&root, false}};
    std::vector<const ast::Expr*> children;
    while (!stack.empty()) {
      auto [expr, expanded] = stack.back();
      stack.pop_back();
      if (memo_.count(expr)) continue;
      children.clear();
      ast::ForEachChild(*expr, [&](const ast::Expr& child) { children.push_back(&child); });
      if (!expanded) {
        stack.emplace_back(expr, true);
        for (const ast::Expr* child : children) {
          if (!memo_.count(child)) stack.emplace_back(child, false);
        }
        continue;
      }
      std::size_t hash = Mix(expr->node.index(), NodeKey(*expr));
      hash = Mix(hash, children.size());
      for (const ast::Expr* child : children) hash = Mix(hash, memo_.at(child));
      memo_.emplace(expr, hash);
    }
    return memo_.at(&root);
  }

 private:
  static std::size_t Mix(std::size_t seed, std::size_t value) {
    return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
  }
  static std::size_t Text(const std::string& text) { return std::hash<std::string>{}(text); }

  // What ast::Equal compares of the node itself, apart from its children.
  static std::size_t NodeKey(const ast::Expr& expr) {
    return std::visit(
        [](const auto& node) -> std::size_t {
          using T = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<T, ast::BoolLiteral>) return node.value ? 1 : 0;
          if constexpr (std::is_same_v<T, ast::IntLiteral>) return static_cast<std::size_t>(node.value);
          if constexpr (std::is_same_v<T, ast::StringLiteral>) return Text(node.value);
          if constexpr (std::is_same_v<T, ast::PatternLiteral>) {
            return Mix(static_cast<std::size_t>(node.syntax), Text(node.source));
          }
          if constexpr (std::is_same_v<T, ast::DurationLiteral>) return static_cast<std::size_t>(node.millis);
          if constexpr (std::is_same_v<T, ast::SizeLiteral>) return static_cast<std::size_t>(node.bytes);
          if constexpr (std::is_same_v<T, ast::NameRef>) return Text(node.name);
          if constexpr (std::is_same_v<T, ast::Member>) return Text(node.field);
          if constexpr (std::is_same_v<T, ast::MethodCall>) return Text(node.method);
          if constexpr (std::is_same_v<T, ast::Call>) return Text(node.callee);
          if constexpr (std::is_same_v<T, ast::Unary>) return static_cast<std::size_t>(node.op);
          if constexpr (std::is_same_v<T, ast::Binary>) return static_cast<std::size_t>(node.op);
          if constexpr (std::is_same_v<T, ast::Logical>) return static_cast<std::size_t>(node.op);
          if constexpr (std::is_same_v<T, ast::Quantified>) {
            return Mix(static_cast<std::size_t>(node.quantifier), Text(node.var));
          }
          if constexpr (std::is_same_v<T, ast::RecordLiteral>) {
            std::size_t key = 0;
            for (const ast::RecordLiteralField& field : node.fields) key = Mix(key, Text(field.name));
            return key;
          }
          return 0;
        },
        expr.node);
  }

  std::unordered_map<const ast::Expr*, std::size_t> memo_;
};

// A conjunct that limits an expression to a constant set of values:
// `subject == constant` or `subject in constant_list_or_set`.
struct Constraint {
  const ast::Expr* conjunct;
  const ast::Expr* subject;
  std::vector<Value> allowed;  // sorted, unique
  std::string description;    // "`\"a\"`" or "one of `{\"a\", \"b\"}`", as written
};

class Linter {
 public:
  Linter(const check::Program& program, const source::SourceManager& sources)
      : program_(program), sources_(sources), m_(program.Entry()) {}

  std::vector<Diagnostic> Run() {
    UnusedSymbols();
    UnusedContextFields();
    DuplicateRuleNames();
    for (const ast::Rule* rule : m_.rules) ConditionValue(*rule);
    ShadowedAllows();
    for (const ast::Rule* rule : m_.rules) ProgramByNameOnly(*rule);
    UntestedRules();
    EmptyPatterns();
    LiteralPaths();
    for (const ast::Rule* rule : m_.rules) MissingReason(*rule);
    IncludedDefaults();
    UnconfinedReads();
    if (m_.ast != nullptr) {
      for (const ast::Decl& decl : m_.ast->decls) {
        const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node);
        if (defaults == nullptr || !defaults->has_verdict || defaults->verdict != ast::Verdict::kAsk ||
            defaults->reason) {
          continue;
        }
        Report(Kind::kReasonMissing, defaults->span, "`default ask` gives no reason").help =
            "add `because \"...\"`: the person asked sees it (`ask by default (REASON)`)";
      }
    }
    return std::move(findings_);
  }

 private:
  Diagnostic& Report(Kind kind, Span span, std::string message) {
    findings_.push_back(
        Diagnostic{kind, diagnostics::Info(kind).default_severity, span, std::move(message), {}, {}});
    return findings_.back();
  }

  std::string_view Text(const Span& span) const {
    if (!span.valid() || span.file >= sources_.size()) return {};
    return sources_.file(span.file).Slice(span);
  }

  // The folded value of an entry-module expression, or nullptr.
  const Value* ValueOf(const ast::Expr& expr) const { return ValueIn(m_, expr); }
  static const Value* ValueIn(const CheckedModule& module, const ast::Expr& expr) {
    if (expr.id >= module.values.size() || !module.values[expr.id]) return nullptr;
    return &*module.values[expr.id];
  }
  static const Resolution* ResolutionIn(const CheckedModule& module, const ast::Expr& expr) {
    if (expr.id >= module.resolutions.size()) return nullptr;
    return &module.resolutions[expr.id];
  }
  // True when the expression type-checked as plain `bool`.
  bool IsBool(const ast::Expr& expr) const {
    if (expr.id >= m_.types.size()) return false;
    const check::Type& type = m_.types[expr.id];
    return type.kind == TypeKind::kBool && !type.optional;
  }
  // The constant truth of a rule condition, if the checker folded it.
  std::optional<bool> ConstantCondition(const ast::Rule& rule) const {
    if (!IsBool(*rule.condition)) return std::nullopt;
    const Value* value = ValueOf(*rule.condition);
    if (value == nullptr || value->kind != TypeKind::kBool) return std::nullopt;
    return value->boolean;
  }

  // ------------------------------------------------------------ GOV3001..GOV3003

  void UnusedSymbols() {
    for (const auto& [name, symbol] : m_.symbols) {
      if (symbol.uses > 0) continue;
      switch (symbol.kind) {
        case check::SymbolKind::kConst:
          Report(Kind::kUnusedConst, symbol.span, fmt::format("constant `{}` is never used", name)).help =
              "remove it if it is no longer needed";
          break;
        case check::SymbolKind::kDef:
          Report(Kind::kUnusedDef, symbol.span, fmt::format("function `{}` is never called", name)).help =
              "remove it if it is no longer needed";
          break;
        case check::SymbolKind::kCommand:
          Report(Kind::kUnusedDef, symbol.span, fmt::format("command `{}` never parses anything", name)).help =
              "remove it if it is no longer needed";
          break;
        case check::SymbolKind::kImport: {
          // A module that could not be loaded was already reported as an
          // error; one imported `with rules` is used by its rules.
          if (symbol.import == nullptr || symbol.import_target < 0 || symbol.import->with_rules) break;
          const ast::Import& import = *symbol.import;
          std::string what = fmt::format("{} `{}`", import.is_file ? "file" : "module", import.target);
          Report(Kind::kUnusedImport, symbol.span,
                 import.alias.empty() ? fmt::format("{} is imported but never used", what)
                                      : fmt::format("{} is imported as `{}` but never used", what, name))
              .help = "remove the import";
          break;
        }
      }
    }
  }

  // ------------------------------------------------------------ GOV3004

  // A field counts as used when an expression of the module (a rule
  // condition, an obligation, a function body or a constant) reads it as
  // `context.NAME` or uses `context` as a whole. Values that tests give to
  // a field do not count: they read nothing.
  void UnusedContextFields() {
    if (m_.context.empty() || m_.ast == nullptr) return;
    std::set<std::string> read;
    bool whole_context = false;
    auto scan = [&](const ast::Expr& root) {
      std::set<const ast::Expr*> field_objects;
      Walk(root, [&](const ast::Expr& expr) {
        if (const auto* member = std::get_if<ast::Member>(&expr.node)) {
          if (IsContextRef(*member->object)) {
            read.insert(member->field);
            field_objects.insert(member->object.get());
          }
        } else if (IsContextRef(expr) && !field_objects.count(&expr)) {
          whole_context = true;
        }
      });
    };
    ForEachRoot(scan);
    if (whole_context) return;
    for (const check::ContextFieldInfo& field : m_.context) {
      if (read.count(field.name)) continue;
      Report(Kind::kUnusedContextField, field.span, fmt::format("context field `{}` is never read", field.name))
          .help = fmt::format("remove it from the `context` block, or read it in a rule as `context.{}`", field.name);
    }
  }

  bool IsContextRef(const ast::Expr& expr) const {
    if (!std::holds_alternative<ast::NameRef>(expr.node)) return false;
    const Resolution* resolution = ResolutionIn(m_, expr);
    return resolution != nullptr && resolution->kind == Resolution::Kind::kContext;
  }

  // ------------------------------------------------------------ GOV3005

  void DuplicateRuleNames() {
    std::map<std::string, const ast::Rule*> first;
    for (const ast::Rule* rule : m_.rules) {
      auto [it, inserted] = first.emplace(rule->name, rule);
      if (inserted) continue;
      Diagnostic& d = Report(Kind::kDuplicateRuleName, rule->name_span,
                             fmt::format("rule name `{}` is already used by an earlier rule", rule->name));
      d.notes.push_back({it->second->name_span, fmt::format("the first rule named `{}` is here", rule->name)});
      d.help = "give each rule its own name: tests and decision records refer to rules by name";
    }
  }

  // ------------------------------------------------------------ GOV3006, GOV3007, GOV3012

  void ConditionValue(const ast::Rule& rule) {
    std::optional<bool> constant = ConstantCondition(rule);
    if (constant && !*constant) {
      Diagnostic& d = Report(Kind::kConditionNeverTrue, rule.condition->span,
                             fmt::format("the condition of rule `{}` is always false, so the rule never fires",
                                         rule.name));
      std::vector<const ast::Expr*> conjuncts = Conjuncts(*rule.condition);
      if (conjuncts.size() > 1) {
        for (const ast::Expr* conjunct : conjuncts) {
          const Value* value = ValueOf(*conjunct);
          if (value != nullptr && value->kind == TypeKind::kBool && !value->boolean) {
            d.notes.push_back({conjunct->span, "this part is always false"});
            break;
          }
        }
      }
      return;
    }
    if (constant && *constant) {
      if (rule.verdict == ast::Verdict::kAllow) {
        Report(Kind::kAllowAlwaysTrue, rule.condition->span,
               fmt::format("the condition of allow rule `{}` is always true, so it allows every command", rule.name))
            .help = "narrow the condition to the programs it is meant for, e.g. `program.path == \"/usr/bin/git\"`";
      } else if (rule.verdict == ast::Verdict::kAsk) {
        Report(Kind::kAskAlwaysTrue, rule.condition->span,
               fmt::format("the condition of ask rule `{}` is always true, so every command is asked", rule.name))
            .help = "narrow the condition to the commands that need a person's approval";
      }
      return;
    }
    if (IsBool(*rule.condition)) Contradictions(rule);
  }

  // `x == c1 and x == c2` (c1 != c2), `x == c and x in S` (c not in S),
  // `x in S1 and x in S2` (disjoint), more such tests on one `x` that leave
  // no value together, and `x in S` with S empty.
  void Contradictions(const ast::Rule& rule) {
    // The constraints on one expression and the values they all allow.
    struct Group {
      std::vector<Constraint> members;
      std::vector<Value> allowed;  // sorted, unique
    };
    std::vector<Group> groups;
    // Groups by the shape of their subject: only these can be on the same expression.
    std::unordered_map<std::size_t, std::vector<std::size_t>> by_shape;
    for (const ast::Expr* conjunct : Conjuncts(*rule.condition)) {
      std::optional<Constraint> constraint = ConstraintOf(*conjunct);
      if (!constraint) continue;
      if (constraint->allowed.empty()) {
        const auto& binary = std::get<ast::Binary>(conjunct->node);
        Report(Kind::kConditionNeverTrue, conjunct->span,
               fmt::format("rule `{}` never fires: `{}` is empty, so nothing is in it", rule.name,
                           Text(binary.rhs->span)));
        return;
      }
      std::vector<std::size_t>& same_shape = by_shape[shapes_.Of(*constraint->subject)];
      auto found = std::find_if(same_shape.begin(), same_shape.end(), [&](std::size_t index) {
        return ast::Equal(*groups[index].members.front().subject, *constraint->subject);
      });
      if (found == same_shape.end()) {
        same_shape.push_back(groups.size());
        std::vector<Value> allowed = constraint->allowed;
        groups.push_back(Group{{std::move(*constraint)}, std::move(allowed)});
        continue;
      }
      Group& group = groups[*found];
      std::vector<Value> remaining;
      std::set_intersection(group.allowed.begin(), group.allowed.end(), constraint->allowed.begin(),
                            constraint->allowed.end(), std::back_inserter(remaining));
      if (remaining.empty()) {
        ReportContradiction(rule, group.members, *constraint);
        return;
      }
      group.allowed = std::move(remaining);
      group.members.push_back(std::move(*constraint));
    }
  }

  void ReportContradiction(const ast::Rule& rule, const std::vector<Constraint>& earlier, const Constraint& last) {
    std::string_view subject = Text(last.subject->span);
    // One earlier test that rules out every value `last` allows, if there is one.
    auto disjoint = std::find_if(earlier.begin(), earlier.end(), [&](const Constraint& c) {
      return std::none_of(last.allowed.begin(), last.allowed.end(), [&](const Value& v) {
        return std::binary_search(c.allowed.begin(), c.allowed.end(), v);
      });
    });
    if (disjoint != earlier.end()) {
      Diagnostic& d = Report(Kind::kConditionNeverTrue, last.conjunct->span,
                             fmt::format("rule `{}` never fires: `{}` cannot be {} and also {}", rule.name, subject,
                                         disjoint->description, last.description));
      d.notes.push_back({disjoint->conjunct->span, fmt::format("here `{}` must be {}", subject, disjoint->description)});
      return;
    }
    Diagnostic& d = Report(Kind::kConditionNeverTrue, last.conjunct->span,
                           fmt::format("rule `{}` never fires: no value of `{}` passes this test and the earlier "
                                       "ones",
                                       rule.name, subject));
    constexpr std::size_t kMaxNotes = 5;
    for (const Constraint& c : earlier) {
      if (d.notes.size() == kMaxNotes) {
        d.notes.push_back({Span{}, fmt::format("and {} more tests of `{}`", earlier.size() - kMaxNotes, subject)});
        break;
      }
      d.notes.push_back({c.conjunct->span, fmt::format("here `{}` must be {}", subject, c.description)});
    }
  }

  // The constraint a conjunct puts on a non-constant expression; its
  // allowed values sorted and unique.
  std::optional<Constraint> ConstraintOf(const ast::Expr& conjunct) const {
    const auto* binary = std::get_if<ast::Binary>(&conjunct.node);
    if (binary == nullptr) return std::nullopt;
    const Value* lhs = ValueOf(*binary->lhs);
    const Value* rhs = ValueOf(*binary->rhs);
    if (binary->op == ast::BinaryOp::kEq && (lhs == nullptr) != (rhs == nullptr)) {
      const ast::Expr& subject = lhs == nullptr ? *binary->lhs : *binary->rhs;
      const ast::Expr& constant = lhs == nullptr ? *binary->rhs : *binary->lhs;
      return Constraint{&conjunct, &subject, {lhs == nullptr ? *rhs : *lhs},
                        fmt::format("`{}`", Text(constant.span))};
    }
    if (binary->op == ast::BinaryOp::kIn && lhs == nullptr && rhs != nullptr &&
        (rhs->kind == TypeKind::kList || rhs->kind == TypeKind::kSet)) {
      Constraint constraint{&conjunct, binary->lhs.get(), rhs->items, fmt::format("one of `{}`", Text(binary->rhs->span))};
      std::sort(constraint.allowed.begin(), constraint.allowed.end());
      constraint.allowed.erase(std::unique(constraint.allowed.begin(), constraint.allowed.end()),
                               constraint.allowed.end());
      return constraint;
    }
    return std::nullopt;
  }

  // ------------------------------------------------------------ GOV3008

  // An allow is shadowed by a deny that is always true, or whose top-level
  // conjuncts are all (structurally) among the allow's conjuncts: whenever
  // the allow matches, the deny matches too, and any matching deny wins.
  void ShadowedAllows() {
    // The denies that can fire, with their conjuncts' shapes; each indexed by
    // the shape of its rarest conjunct, which a covered allow must contain.
    // Allows then meet only the denies they probably contain.
    struct DenyShape {
      const ast::Rule* rule;
      bool always = false;
      std::vector<const ast::Expr*> conjuncts;
      std::vector<std::size_t> shapes;
    };
    std::vector<DenyShape> denies;
    std::unordered_map<std::size_t, std::size_t> frequency;
    for (const ast::Rule* deny : m_.rules) {
      if (deny->verdict != ast::Verdict::kDeny || !IsBool(*deny->condition)) continue;
      std::optional<bool> constant = ConstantCondition(*deny);
      if (constant && !*constant) continue;
      DenyShape shape{deny, constant.has_value(), Conjuncts(*deny->condition), {}};
      for (const ast::Expr* conjunct : shape.conjuncts) shape.shapes.push_back(shapes_.Of(*conjunct));
      for (std::size_t hash : std::set<std::size_t>(shape.shapes.begin(), shape.shapes.end())) ++frequency[hash];
      denies.push_back(std::move(shape));
    }
    if (denies.empty()) return;
    std::unordered_map<std::size_t, std::vector<std::size_t>> by_rarest_shape;
    std::vector<std::size_t> always_true;
    for (std::size_t index = 0; index < denies.size(); ++index) {
      const DenyShape& deny = denies[index];
      if (deny.always) {
        always_true.push_back(index);
        continue;
      }
      std::size_t rarest = *std::min_element(deny.shapes.begin(), deny.shapes.end(), [&](std::size_t a, std::size_t b) {
        return frequency[a] < frequency[b];
      });
      by_rarest_shape[rarest].push_back(index);
    }
    for (const ast::Rule* allow : m_.rules) {
      if (allow->verdict != ast::Verdict::kAllow || !IsBool(*allow->condition)) continue;
      std::optional<bool> allow_constant = ConstantCondition(*allow);
      if (allow_constant && !*allow_constant) continue;  // GOV3006 already says it never fires
      std::unordered_map<std::size_t, std::vector<const ast::Expr*>> allow_conjuncts;
      for (const ast::Expr* conjunct : Conjuncts(*allow->condition)) {
        allow_conjuncts[shapes_.Of(*conjunct)].push_back(conjunct);
      }
      auto contains = [&](std::size_t shape, const ast::Expr& expr) {
        auto it = allow_conjuncts.find(shape);
        if (it == allow_conjuncts.end()) return false;
        return std::any_of(it->second.begin(), it->second.end(),
                           [&](const ast::Expr* a) { return ast::Equal(*a, expr); });
      };
      // Deny indices in source order.
      std::set<std::size_t> shadows(always_true.begin(), always_true.end());
      for (const auto& [shape, conjuncts] : allow_conjuncts) {
        auto it = by_rarest_shape.find(shape);
        if (it == by_rarest_shape.end()) continue;
        for (std::size_t index : it->second) {
          const DenyShape& deny = denies[index];
          bool covers = true;
          for (std::size_t i = 0; i < deny.conjuncts.size() && covers; ++i) {
            covers = contains(deny.shapes[i], *deny.conjuncts[i]);
          }
          if (covers) shadows.insert(index);
        }
      }
      if (shadows.empty()) continue;
      const ast::Rule& first = *denies[*shadows.begin()].rule;
      Diagnostic& d = Report(Kind::kAllowShadowedByDeny, allow->name_span,
                             fmt::format("allow rule `{}` can never decide: deny rule `{}` matches whenever it does",
                                         allow->name, first.name));
      constexpr std::size_t kMaxNotes = 3;
      for (std::size_t index : shadows) {
        if (d.notes.size() == kMaxNotes) {
          d.notes.push_back({Span{}, fmt::format("{} more deny rules also match whenever `{}` does",
                                                 shadows.size() - kMaxNotes, allow->name)});
          break;
        }
        const DenyShape& deny = denies[index];
        d.notes.push_back({deny.rule->name_span,
                           deny.always ? fmt::format("`{}` matches every command", deny.rule->name)
                                       : fmt::format("every test of `{}` is also a test of `{}`", deny.rule->name,
                                                     allow->name)});
      }
      d.help = "a matching deny always wins; narrow the deny, or remove the allow";
    }
  }

  // ------------------------------------------------------------ GOV3009

  // What a condition reads of `program` and `invoked`, following calls into functions.
  struct ProgramReads {
    const ast::Expr* first_name = nullptr;  // the first `program.name` / `invoked.name` in the rule itself
    std::string name_field;                 // "program.name" or "invoked.name", the first one read
    bool name = false;
    // `program.path`, `program.sha256`, `invoked.path` (a link in a directory
    // only root writes was placed by root), or either record as a whole
    bool identity = false;
  };

  // The request record `program` or `invoked` (both name the program), or nullptr.
  const ast::NameRef* ProgramRef(const CheckedModule& module, const ast::Expr& expr) const {
    const auto* ref = std::get_if<ast::NameRef>(&expr.node);
    if (ref == nullptr || (ref->name != "program" && ref->name != "invoked")) return nullptr;
    const Resolution* resolution = ResolutionIn(module, expr);
    return resolution != nullptr && resolution->kind == Resolution::Kind::kRequest ? ref : nullptr;
  }
  bool IsProgramRef(const CheckedModule& module, const ast::Expr& expr) const {
    return ProgramRef(module, expr) != nullptr;
  }

  ProgramReads ReadsOfProgram(const ast::Expr& condition) const {
    ProgramReads reads;
    std::set<std::pair<int, std::string>> visited_defs;
    std::vector<std::pair<const CheckedModule*, const ast::Expr*>> roots{{&m_, &condition}};
    while (!roots.empty()) {
      const CheckedModule* module = roots.back().first;
      const ast::Expr* root = roots.back().second;
      roots.pop_back();
      std::set<const ast::Expr*> field_objects;
      Walk(*root, [&](const ast::Expr& expr) {
        if (const auto* member = std::get_if<ast::Member>(&expr.node)) {
          if (const ast::NameRef* ref = ProgramRef(*module, *member->object)) {
            field_objects.insert(member->object.get());
            if (member->field == "name") {
              if (!reads.name) reads.name_field = ref->name + ".name";
              reads.name = true;
              if (reads.first_name == nullptr && module == &m_) {
                reads.first_name = &expr;
                reads.name_field = ref->name + ".name";
              }
            } else if (member->field == "path" || member->field == "sha256") {
              reads.identity = true;
            }
          }
        } else if (IsProgramRef(*module, expr) && !field_objects.count(&expr)) {
          reads.identity = true;  // passed on whole: assume the callee checks it
        }
        const Resolution* resolution = ResolutionIn(*module, expr);
        if (resolution != nullptr && resolution->kind == Resolution::Kind::kDef && resolution->module >= 0 &&
            static_cast<std::size_t>(resolution->module) < program_.modules.size() &&
            visited_defs.emplace(resolution->module, resolution->name).second) {
          const CheckedModule& callee = program_.modules[static_cast<std::size_t>(resolution->module)];
          auto it = callee.symbols.find(resolution->name);
          if (it != callee.symbols.end() && it->second.def != nullptr && it->second.def->body) {
            roots.emplace_back(&callee, it->second.def->body.get());
          }
        }
      });
    }
    return reads;
  }

  // The first program name a rule compares `program.name` with, for messages.
  std::string ComparedName(const ast::Expr& condition) const {
    std::string found;
    Walk(condition, [&](const ast::Expr& expr) {
      const auto* binary = std::get_if<ast::Binary>(&expr.node);
      if (!found.empty() || binary == nullptr ||
          (binary->op != ast::BinaryOp::kEq && binary->op != ast::BinaryOp::kIn)) {
        return;
      }
      auto is_name = [&](const ast::Expr& side) {
        const auto* member = std::get_if<ast::Member>(&side.node);
        return member != nullptr && member->field == "name" && IsProgramRef(m_, *member->object);
      };
      const ast::Expr* other = is_name(*binary->lhs) ? binary->rhs.get()
                               : binary->op == ast::BinaryOp::kEq && is_name(*binary->rhs) ? binary->lhs.get()
                                                                                          : nullptr;
      if (other == nullptr) return;
      // Prefer the first name as written over the first of the sorted set.
      const ast::Expr* first = other;
      if (const auto* set = std::get_if<ast::SetLiteral>(&other->node); set != nullptr && !set->elements.empty()) {
        first = set->elements.front().get();
      } else if (const auto* list = std::get_if<ast::ListLiteral>(&other->node);
                 list != nullptr && !list->elements.empty()) {
        first = list->elements.front().get();
      }
      if (const auto* literal = std::get_if<ast::StringLiteral>(&first->node)) {
        found = literal->value;
      } else if (const Value* value = ValueOf(*other)) {
        if (value->kind == TypeKind::kString) found = value->text;
        if ((value->kind == TypeKind::kSet || value->kind == TypeKind::kList) && !value->items.empty()) {
          found = value->items.front().text;
        }
      }
    });
    return found;
  }

  void ProgramByNameOnly(const ast::Rule& rule) {
    if (rule.verdict != ast::Verdict::kAllow || !IsBool(*rule.condition)) return;
    if (ConstantCondition(rule)) return;  // GOV3006 / GOV3007 say more
    ProgramReads reads = ReadsOfProgram(*rule.condition);
    if (!reads.name || reads.identity) return;
    std::string name = ComparedName(*rule.condition);
    bool printable = !name.empty() && name.size() <= 40 &&
                     std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c != '`' && c != '"'; });
    Span span = reads.first_name != nullptr ? reads.first_name->span : rule.name_span;
    Diagnostic& d = Report(Kind::kProgramByNameOnly, span,
                           printable ? fmt::format("allow rule `{}` identifies the program only by `{}`: any binary "
                                                   "named `{}` anywhere would match",
                                                   rule.name, reads.name_field, name)
                                     : fmt::format("allow rule `{}` identifies the program only by `{}`: any binary "
                                                   "with that name anywhere would match",
                                                   rule.name, reads.name_field));
    std::string example = printable ? name : "tool";
    const std::string record = reads.name_field == "invoked.name" ? "invoked" : "program";
    d.help = fmt::format(
        "identify the program by where it is installed, e.g. `{}.path == \"/usr/bin/{}\"` or "
        "`{}.path under \"/usr/bin\"`",
        record, example, record);
    if (reads.first_name == nullptr) {
      d.notes.push_back(
          {rule.condition->span, fmt::format("`{}` is read by a function this condition calls", reads.name_field)});
    }
  }

  // ------------------------------------------------------------ GOV3010

  // A rule is exercised when a test case of the module names it after `by`.
  // A module without any test case gets one finding, on its header.
  void UntestedRules() {
    if (m_.rules.empty()) return;
    std::set<std::string> named;
    std::size_t cases = 0;
    for (const ast::TestBlock* block : m_.tests) {
      for (const ast::TestCase& test : block->cases) {
        ++cases;
        named.insert(test.by_rules.begin(), test.by_rules.end());
      }
    }
    if (cases == 0) {
      const ast::PolicyHeader* header = nullptr;
      if (m_.ast != nullptr) {
        for (const ast::Decl& decl : m_.ast->decls) {
          if ((header = std::get_if<ast::PolicyHeader>(&decl.node)) != nullptr) break;
        }
      }
      Span span = header != nullptr ? header->span : Span{m_.file, 0, 0};
      std::string_view rule_name = m_.rules.front()->name;
      std::string policy = m_.policy_name.empty() ? "this policy" : fmt::format("policy `{}`", m_.policy_name);
      Report(Kind::kRuleNotTested, span,
             fmt::format("{} has no tests, so no test exercises its {} rule{}", policy, m_.rules.size(),
                         m_.rules.size() == 1 ? "" : "s"))
          .help = fmt::format("add a test block, e.g. `test \"{}\" {{ exec [\"/usr/bin/...\"] => {} by {} }}`",
                              rule_name, ast::VerdictName(m_.rules.front()->verdict), rule_name);
      return;
    }
    for (const ast::Rule* rule : m_.rules) {
      if (named.count(rule->name)) continue;
      Report(Kind::kRuleNotTested, rule->name_span, fmt::format("no test exercises rule `{}`", rule->name)).help =
          fmt::format("add a test case that ends in `=> {} by {}`", ast::VerdictName(rule->verdict), rule->name);
    }
  }

  // ------------------------------------------------------------ GOV3011

  void EmptyPatterns() {
    std::set<std::uint32_t> seen;
    for (const check::CompiledPattern& pattern : m_.patterns) {
      if (!pattern.dfa.MatchesNothing() || !seen.insert(pattern.expr_id).second) continue;
      std::string_view kind = pattern.syntax == ast::PatternSyntax::kGlob ? "glob" : "regex";
      Report(Kind::kPatternMatchesNothing, pattern.span,
             fmt::format("{} `{}` can never match: no string is in its language", kind, Text(pattern.span)))
          .help = fmt::format("every test with this {} is false; check it for a class or range that excludes "
                              "every character",
                              kind);
    }
  }

  // ------------------------------------------------------------ GOV3013

  // A path literal is normalized, never expanded: `~/.ssh` names a
  // directory called `~`, `/home/*/x` one called `*`, `$HOME/x` one called
  // `$HOME`. Such a path compares equal to (or contains) no path a request
  // has, so `under "~/.ssh"` is silently never true.
  void LiteralPaths() {
    if (m_.ast == nullptr) return;
    std::set<std::uint32_t> seen;
    auto scan = [&](const ast::Expr& root) {
      Walk(root, [&](const ast::Expr& expr) {
        const auto* literal = std::get_if<ast::StringLiteral>(&expr.node);
        if (literal == nullptr || expr.id >= m_.types.size() || m_.types[expr.id].kind != TypeKind::kPath) return;
        if (!seen.insert(expr.id).second) return;
        const std::string& text = literal->value;
        std::string problem;
        std::string help;
        if (!text.empty() && text.front() == '~') {
          problem = "`~` is not expanded";
          help = "write the absolute path; a user's home is `env[\"HOME\"]`, which the caller controls";
        } else if (text.find('$') != std::string::npos) {
          problem = "`$` is not expanded";
          help = "write the absolute path, or join a value with `/`: `path(env[\"HOME\"] ?? \"/nonexistent\") / \"x\"`";
        } else if (text.find_first_of("*?[") != std::string::npos) {
          problem = "a wildcard in a path is an ordinary character";
          help = "match with a glob instead: `program.path matches g\"...\"` (patterns: docs/patterns.md)";
        } else {
          return;
        }
        Report(
            Kind::kPathTakenLiterally, expr.span,
            fmt::format("path `{}` is taken literally: {}, so no real path equals it or lies under it", text, problem))
            .help = std::move(help);
      });
    };
    ForEachRoot(scan);
  }

  // Calls `fn` on every expression root of the module that governs a
  // decision: rule conditions, obligations (the rules' and `default with`),
  // function bodies and constants — not test cases.
  template <typename Fn>
  void ForEachRoot(Fn&& fn) const {
    for (const ast::Decl& decl : m_.ast->decls) {
      if (const auto* rule = std::get_if<ast::Rule>(&decl.node)) {
        fn(*rule->condition);
        for (const ast::Obligation& obligation : rule->obligations) fn(*obligation.value);
      } else if (const auto* def = std::get_if<ast::DefDecl>(&decl.node)) {
        fn(*def->body);
      } else if (const auto* constant = std::get_if<ast::ConstDecl>(&decl.node)) {
        fn(*constant->value);
      } else if (const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node)) {
        for (const ast::Obligation& obligation : defaults->obligations) fn(*obligation.value);
      }
    }
  }

  // ------------------------------------------------------------ GOV3014

  // govrun shows the reason when it denies or asks (`govrun: deny by RULE
  // (REASON)`, the approval question); without one the person sees a rule
  // name only.
  void MissingReason(const ast::Rule& rule) {
    if (rule.verdict == ast::Verdict::kAllow || rule.reason) return;
    Report(Kind::kReasonMissing, rule.name_span,
           fmt::format("{} rule `{}` gives no reason", ast::VerdictName(rule.verdict), rule.name))
        .help = fmt::format("add `because \"...\"` after the condition: govrun prints it when it {} a command",
                            rule.verdict == ast::Verdict::kDeny ? "denies" : "asks about");
  }

  // ------------------------------------------------------------ GOV3015

  // Only the entry policy's `default` decides requests no rule decides
  // (docs/language.md "Composing policies"): a module included `with
  // rules` that says `default ask` is silently overruled by the includer's
  // default deny (an includer that asks by default asks for it too).
  void IncludedDefaults() {
    if (m_.ast == nullptr) return;
    for (const ast::Decl& decl : m_.ast->decls) {
      const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node);
      if (defaults != nullptr && defaults->has_verdict && defaults->verdict == ast::Verdict::kAsk) return;
    }
    for (const auto& [alias, symbol] : m_.symbols) {
      if (symbol.kind != check::SymbolKind::kImport || symbol.import == nullptr || !symbol.import->with_rules ||
          symbol.import_target < 0) {
        continue;
      }
      // The modules this import includes: its target, and the modules of
      // the included rules named through it (ALIAS.…).
      std::set<int> included = {symbol.import_target};
      for (const CheckedModule::IncludedRule& rule : m_.included_rules) {
        if (rule.name.starts_with(alias + ".")) included.insert(rule.module);
      }
      for (const int index : included) {
        const CheckedModule& module = program_.modules[static_cast<std::size_t>(index)];
        if (module.ast == nullptr) continue;
        for (const ast::Decl& decl : module.ast->decls) {
          const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node);
          if (defaults == nullptr || !defaults->has_verdict || defaults->verdict != ast::Verdict::kAsk) continue;
          Report(Kind::kIncludedDefaultIgnored, symbol.import->with_span,
                 fmt::format("policy `{}` says `default ask`, which does not apply here: a request no rule decides "
                             "is denied by this policy's default",
                             module.policy_name))
              .help = "to ask about requests no rule decides, write `default ask because \"...\"` in this policy";
        }
      }
    }
  }

  // ------------------------------------------------------------ GOV3016

  // Without a `read` obligation an allowed program, and everything it
  // starts, reads every file its user can: `grep -r . $HOME` prints SSH
  // keys and tokens in dotfiles (issue 17 §6b). The environment needs no
  // lint: govrun passes an allow-list without an `env` obligation.
  void UnconfinedReads() {
    if (m_.ast == nullptr) return;
    bool defaults_read = false;
    for (const ast::Decl& decl : m_.ast->decls) {
      if (const auto* defaults = std::get_if<ast::DefaultDecl>(&decl.node)) {
        for (const ast::Obligation& obligation : defaults->obligations) defaults_read |= obligation.name == "read";
      }
    }
    for (const ast::Rule* rule : m_.rules) {
      if (rule->verdict != ast::Verdict::kAllow) continue;
      const bool reads = rule->has_with ? std::any_of(rule->obligations.begin(), rule->obligations.end(),
                                                      [](const ast::Obligation& o) { return o.name == "read"; })
                                        : defaults_read;
      if (reads) continue;
      Report(Kind::kReadsUnconfined, rule->name_span,
             fmt::format("allow rule `{}` lets the program read every file its user can (SSH keys, tokens in "
                         "dotfiles, other repositories)",
                         rule->name))
          .help = rule->has_with
                      ? "add `read = [...]` to its `with`: Landlock then confines what it, and everything it starts, "
                        "can read"
                      : "add `read = [...]` to the policy's `default with` (or a `with` to this rule): Landlock then "
                        "confines what it, and everything it starts, can read";
    }
  }

  const check::Program& program_;
  const source::SourceManager& sources_;
  const CheckedModule& m_;
  ShapeHasher shapes_;
  std::vector<Diagnostic> findings_;
};

}  // namespace

void Lint(const check::Program& program, const source::SourceManager& sources, const Config& config,
          diagnostics::Collector& diagnostics) {
  if (program.entry < 0 || static_cast<std::size_t>(program.entry) >= program.modules.size()) return;
  if (program.Entry().ast == nullptr) return;
  std::vector<Diagnostic> findings = Linter(program, sources).Run();
  std::stable_sort(findings.begin(), findings.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.span.file, a.span.begin, a.span.end, diagnostics::Info(a.kind).code) <
           std::tie(b.span.file, b.span.begin, b.span.end, diagnostics::Info(b.kind).code);
  });
  for (Diagnostic& finding : findings) {
    Level level = LevelFor(config, finding.kind);
    if (level == Level::kOff) continue;
    finding.severity = level == Level::kError ? diagnostics::Severity::kError : diagnostics::Severity::kWarning;
    diagnostics.Add(std::move(finding));
  }
}

}  // namespace gov::lint
