// AST helpers: names of enum values and structural equality.
#include "compiler/ast/ast.h"

namespace gov::ast {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kDeny:
      return "deny";
    case Verdict::kAsk:
      return "ask";
  }
  return "deny";
}

std::string_view BinaryOpSpelling(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEq: return "==";
    case BinaryOp::kNe: return "!=";
    case BinaryOp::kLt: return "<";
    case BinaryOp::kLe: return "<=";
    case BinaryOp::kGt: return ">";
    case BinaryOp::kGe: return ">=";
    case BinaryOp::kIn: return "in";
    case BinaryOp::kNotIn: return "not in";
    case BinaryOp::kUnder: return "under";
    case BinaryOp::kMatches: return "matches";
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kCoalesce: return "??";
  }
  return "?";
}

namespace {

bool EqualPtr(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) return !a && !b;
  return Equal(*a, *b);
}

bool EqualList(const std::vector<ExprPtr>& a, const std::vector<ExprPtr>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!EqualPtr(a[i], b[i])) return false;
  }
  return true;
}

bool EqualType(const TypeExprPtr& a, const TypeExprPtr& b);

bool EqualTypeNode(const NamedTypeExpr& a, const NamedTypeExpr& b) {
  if (a.name != b.name || a.args.size() != b.args.size()) return false;
  for (std::size_t i = 0; i < a.args.size(); ++i) {
    if (!EqualType(a.args[i], b.args[i])) return false;
  }
  return true;
}

bool EqualTypeNode(const RecordTypeExpr& a, const RecordTypeExpr& b) {
  if (a.fields.size() != b.fields.size()) return false;
  for (std::size_t i = 0; i < a.fields.size(); ++i) {
    if (a.fields[i].name != b.fields[i].name || !EqualType(a.fields[i].type, b.fields[i].type)) return false;
  }
  return true;
}

bool EqualType(const TypeExprPtr& a, const TypeExprPtr& b) {
  if (!a || !b) return !a && !b;
  if (a->optional != b->optional || a->node.index() != b->node.index()) return false;
  return std::visit(
      [&](const auto& left) {
        using T = std::decay_t<decltype(left)>;
        return EqualTypeNode(left, std::get<T>(b->node));
      },
      a->node);
}

struct ExprEqual {
  const ExprNode& other;

  template <typename T>
  const T& Other() const {
    return std::get<T>(other);
  }
  bool operator()(const BoolLiteral& a) const { return a.value == Other<BoolLiteral>().value; }
  bool operator()(const IntLiteral& a) const { return a.value == Other<IntLiteral>().value; }
  bool operator()(const StringLiteral& a) const { return a.value == Other<StringLiteral>().value; }
  bool operator()(const PatternLiteral& a) const {
    return a.syntax == Other<PatternLiteral>().syntax && a.source == Other<PatternLiteral>().source;
  }
  bool operator()(const DurationLiteral& a) const { return a.millis == Other<DurationLiteral>().millis; }
  bool operator()(const SizeLiteral& a) const { return a.bytes == Other<SizeLiteral>().bytes; }
  bool operator()(const NoneLiteral&) const { return true; }
  bool operator()(const NameRef& a) const { return a.name == Other<NameRef>().name; }
  bool operator()(const Member& a) const {
    return a.field == Other<Member>().field && EqualPtr(a.object, Other<Member>().object);
  }
  bool operator()(const MethodCall& a) const {
    const auto& b = Other<MethodCall>();
    return a.method == b.method && EqualPtr(a.receiver, b.receiver) && EqualList(a.args, b.args);
  }
  bool operator()(const Call& a) const {
    const auto& b = Other<Call>();
    return a.callee == b.callee && EqualList(a.args, b.args);
  }
  bool operator()(const Index& a) const {
    const auto& b = Other<Index>();
    return EqualPtr(a.object, b.object) && EqualPtr(a.index, b.index);
  }
  bool operator()(const Unary& a) const {
    const auto& b = Other<Unary>();
    return a.op == b.op && EqualPtr(a.operand, b.operand);
  }
  bool operator()(const Binary& a) const {
    const auto& b = Other<Binary>();
    return a.op == b.op && EqualPtr(a.lhs, b.lhs) && EqualPtr(a.rhs, b.rhs);
  }
  bool operator()(const Logical& a) const {
    const auto& b = Other<Logical>();
    return a.op == b.op && EqualList(a.operands, b.operands);
  }
  bool operator()(const Quantified& a) const {
    const auto& b = Other<Quantified>();
    return a.quantifier == b.quantifier && a.var == b.var && EqualPtr(a.domain, b.domain) && EqualPtr(a.body, b.body);
  }
  bool operator()(const Conditional& a) const {
    const auto& b = Other<Conditional>();
    return EqualPtr(a.condition, b.condition) && EqualPtr(a.then_value, b.then_value) &&
           EqualPtr(a.else_value, b.else_value);
  }
  bool operator()(const Bind& a) const {
    const auto& b = Other<Bind>();
    return a.var == b.var && EqualPtr(a.value, b.value) && EqualPtr(a.body, b.body);
  }
  bool operator()(const ListLiteral& a) const { return EqualList(a.elements, Other<ListLiteral>().elements); }
  bool operator()(const SetLiteral& a) const { return EqualList(a.elements, Other<SetLiteral>().elements); }
  bool operator()(const RecordLiteral& a) const {
    const auto& b = Other<RecordLiteral>();
    if (a.fields.size() != b.fields.size()) return false;
    for (std::size_t i = 0; i < a.fields.size(); ++i) {
      if (a.fields[i].name != b.fields[i].name || !EqualPtr(a.fields[i].value, b.fields[i].value)) return false;
    }
    return true;
  }
};

bool SameObligations(const std::vector<Obligation>& a, const std::vector<Obligation>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || !EqualPtr(a[i].value, b[i].value)) return false;
  }
  return true;
}

bool SameValueType(const CommandValueType& a, const CommandValueType& b) {
  return a.is_enum == b.is_enum && a.choices == b.choices && a.optional == b.optional &&
         (a.is_enum || EqualType(a.type, b.type));
}

bool SameCommandItems(const std::vector<CommandItem>& a, const std::vector<CommandItem>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const CommandItem& x = a[i];
    const CommandItem& y = b[i];
    if (x.kind != y.kind || x.name != y.name || x.spellings != y.spellings || x.modifiers != y.modifiers ||
        x.groups.size() != y.groups.size() || !SameCommandItems(x.items, y.items)) {
      return false;
    }
    if (x.kind == CommandItem::Kind::kOption && !SameValueType(x.value, y.value)) return false;
    for (std::size_t k = 0; k < x.groups.size(); ++k) {
      if (x.groups[k].name != y.groups[k].name || x.groups[k].count != y.groups[k].count ||
          !SameValueType(x.groups[k].value, y.groups[k].value)) {
        return false;
      }
    }
  }
  return true;
}

struct DeclEqual {
  const DeclNode& other;

  template <typename T>
  const T& Other() const {
    return std::get<T>(other);
  }
  bool operator()(const PolicyHeader& a) const {
    const auto& b = Other<PolicyHeader>();
    return a.name == b.name && a.version == b.version;
  }
  bool operator()(const Import& a) const {
    const auto& b = Other<Import>();
    return a.is_file == b.is_file && a.target == b.target && a.alias == b.alias;
  }
  bool operator()(const ConstDecl& a) const {
    const auto& b = Other<ConstDecl>();
    return a.name == b.name && EqualType(a.type, b.type) && EqualPtr(a.value, b.value);
  }
  bool operator()(const ContextDecl& a) const {
    const auto& b = Other<ContextDecl>();
    if (a.fields.size() != b.fields.size()) return false;
    for (std::size_t i = 0; i < a.fields.size(); ++i) {
      if (a.fields[i].name != b.fields[i].name || !EqualType(a.fields[i].type, b.fields[i].type)) return false;
    }
    return true;
  }
  bool operator()(const DefDecl& a) const {
    const auto& b = Other<DefDecl>();
    if (a.name != b.name || a.params.size() != b.params.size() || !EqualType(a.result, b.result) ||
        !EqualPtr(a.body, b.body)) {
      return false;
    }
    for (std::size_t i = 0; i < a.params.size(); ++i) {
      if (a.params[i].name != b.params[i].name || !EqualType(a.params[i].type, b.params[i].type)) return false;
    }
    return true;
  }
  bool operator()(const Rule& a) const {
    const auto& b = Other<Rule>();
    if (a.verdict != b.verdict || a.name != b.name || a.reason != b.reason || a.has_with != b.has_with ||
        !EqualPtr(a.condition, b.condition) ||
        a.obligations.size() != b.obligations.size()) {
      return false;
    }
    return SameObligations(a.obligations, b.obligations);
  }
  bool operator()(const DefaultDecl& a) const {
    const auto& b = Other<DefaultDecl>();
    if (a.has_with != b.has_with || a.has_verdict != b.has_verdict || a.verdict != b.verdict || a.reason != b.reason ||
        a.obligations.size() != b.obligations.size()) {
      return false;
    }
    return SameObligations(a.obligations, b.obligations);
  }
  bool operator()(const CommandDecl& a) const {
    const auto& b = Other<CommandDecl>();
    return a.name == b.name && SameCommandItems(a.items, b.items);
  }
  bool operator()(const TestBlock& a) const {
    const auto& b = Other<TestBlock>();
    if (a.name != b.name || a.cases.size() != b.cases.size()) return false;
    for (std::size_t i = 0; i < a.cases.size(); ++i) {
      const TestCase& x = a.cases[i];
      const TestCase& y = b.cases[i];
      if (x.expected != y.expected || x.by_rules != y.by_rules || x.by_and_others != y.by_and_others ||
          x.not_by_rules != y.not_by_rules || x.has_with != y.has_with || x.argvs.size() != y.argvs.size() ||
          x.modifiers.size() != y.modifiers.size() || x.obligations.size() != y.obligations.size()) {
        return false;
      }
      for (std::size_t k = 0; k < x.argvs.size(); ++k) {
        if (!EqualPtr(x.argvs[k], y.argvs[k])) return false;
      }
      if (!SameObligations(x.obligations, y.obligations)) return false;
      for (std::size_t k = 0; k < x.modifiers.size(); ++k) {
        if (x.modifiers[k].kind != y.modifiers[k].kind || !EqualPtr(x.modifiers[k].value, y.modifiers[k].value)) {
          return false;
        }
      }
    }
    return true;
  }
};

}  // namespace

bool Equal(const Expr& a, const Expr& b) {
  if (a.node.index() != b.node.index()) return false;
  return std::visit(ExprEqual{b.node}, a.node);
}

bool Equal(const File& a, const File& b) {
  if (a.decls.size() != b.decls.size()) return false;
  for (std::size_t i = 0; i < a.decls.size(); ++i) {
    if (a.decls[i].node.index() != b.decls[i].node.index()) return false;
    if (!std::visit(DeclEqual{b.decls[i].node}, a.decls[i].node)) return false;
  }
  return true;
}

}  // namespace gov::ast
