// The decision space of lowered policies: IR → formulas, and the search that
// turns satisfying assignments into concrete requests (space.h).
#include "compiler/analysis/space.h"

#include <fmt/format.h>
#include <z3.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "compiler/analysis/language.h"
#include "runtime/interp/interp.h"
#include "runtime/pattern/pattern.h"
#include "runtime/support/path.h"

namespace gov::analysis {
namespace {

using ir::Field;
using ir::Kind;
using ir::Node;
using ir::Op;

constexpr std::uint32_t kElement = 0xfffffffeu;  // the element a quantifier over args binds

const char* const kWeekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// A string-valued expression as the model sees it.
struct StrExpr {
  enum class Kind : std::uint8_t { kUnsupported, kConst, kAbsent, kTerm } kind = Kind::kUnsupported;
  std::string text;           // kConst
  std::uint32_t term = 0;     // kTerm: a term id or kElement
  Transform transform;        // how the term is read
  bool parent = false;        // DirName of the term
  std::string transform_key;  // canonical spelling of transform/parent

  static StrExpr Unsupported() { return {}; }
  static StrExpr Const(std::string text) {
    StrExpr e;
    e.kind = Kind::kConst;
    e.text = std::move(text);
    return e;
  }
  bool Plain() const { return kind == Kind::kTerm && transform_key.empty(); }
};

// A test of one string: node ⇔ present ∧ value ∈ lang (kMember), its
// negation (kNotMember), ¬present (kAbsent), present (kPresent), or a constant.
struct Predicate {
  enum class Shape : std::uint8_t { kMember, kNotMember, kAbsent, kPresent, kTrue, kFalse } shape = Shape::kFalse;
  std::uint32_t term = 0;
  Lang lang;
  std::string key;
};

struct Binding {
  enum class Kind : std::uint8_t { kNone, kStr, kInt, kElement } kind = Kind::kNone;
  std::string text;
  std::int64_t number = 0;
};

// A request string the model reasons about.
struct StrTerm {
  std::string name;
  Z3_ast present = nullptr;
  std::uint32_t domain = 0;  // leaf of the values it can take
  bool normalized = false;   // values are normalized absolute paths
  bool weekday = false;      // one of kWeekdays: decided in Z3 through `weekday_index`
  std::vector<std::uint32_t> atoms;
  std::vector<std::string> preferred;
};

struct TheoryAtom {
  std::uint32_t term;
  Lang lang;
  Z3_ast var;
};

// `any`/`all` over args whose body is a language of the element.
struct ListAtom {
  bool any;
  Lang body;
  Z3_ast var;
};

}  // namespace

struct Space::Impl {
  Limits limits;
  std::vector<const ir::Policy*> policies;
  Z3_context ctx = nullptr;
  Z3_solver solver = nullptr;
  Z3_model model = nullptr;
  std::string z3_error;

  Languages languages;
  std::uint32_t any_text = 0;     // leaf: no NUL
  std::uint32_t some_text = 0;    // leaf: not empty, no NUL
  std::uint32_t path_domain = 0;  // leaf: normalized absolute path without NUL
  std::uint32_t digest_domain = 0;

  std::vector<StrTerm> terms;
  std::map<std::string, std::uint32_t> term_ids;
  std::vector<TheoryAtom> atoms;
  std::map<std::string, std::uint32_t> atom_ids;
  std::vector<ListAtom> list_atoms;
  std::vector<Z3_ast> opaque;
  std::set<std::string> opaque_kinds;
  std::map<std::string, Z3_ast> bools;  // named Z3 booleans (env keys, groups, presences, flags)
  std::map<std::string, Z3_ast> ints;   // named Z3 integers
  std::map<std::string, std::uint32_t> automata_by_key;
  std::vector<std::vector<Z3_ast>> matches;                          // per policy, per rule
  std::map<std::string, std::pair<ir::ContextField, bool>> context;  // name → declaration, optional everywhere

  // Translation state.
  const ir::Policy* policy = nullptr;
  std::size_t policy_index = 0;
  std::vector<Binding> bindings;
  std::map<std::string, std::pair<pattern::Dfa, bool>> dfa_cache;
  std::size_t budget_hits = 0;
  std::size_t query_count = 0;

  ~Impl() {
    if (ctx != nullptr) {
      if (model != nullptr) Z3_model_dec_ref(ctx, model);
      if (solver != nullptr) Z3_solver_dec_ref(ctx, solver);
      Z3_del_context(ctx);
    }
  }

  // ---- Z3 helpers ----------------------------------------------------------------------------
  Z3_ast True() const { return Z3_mk_true(ctx); }
  Z3_ast False() const { return Z3_mk_false(ctx); }
  Z3_ast And(const std::vector<Z3_ast>& parts) const {
    if (parts.empty()) return True();
    if (parts.size() == 1) return parts[0];
    return Z3_mk_and(ctx, static_cast<unsigned>(parts.size()), parts.data());
  }
  Z3_ast Or(const std::vector<Z3_ast>& parts) const {
    if (parts.empty()) return False();
    if (parts.size() == 1) return parts[0];
    return Z3_mk_or(ctx, static_cast<unsigned>(parts.size()), parts.data());
  }
  Z3_ast Not(Z3_ast a) const { return Z3_mk_not(ctx, a); }
  Z3_ast Int(std::int64_t v) const { return Z3_mk_int64(ctx, v, Z3_mk_int_sort(ctx)); }
  Z3_ast FreshBool(const char* prefix) const { return Z3_mk_fresh_const(ctx, prefix, Z3_mk_bool_sort(ctx)); }
  void Assert(Z3_ast a) const { Z3_solver_assert(ctx, solver, a); }

  Z3_ast NamedBool(const std::string& name) {
    auto it = bools.find(name);
    if (it != bools.end()) return it->second;
    Z3_ast v = FreshBool(name.c_str());
    bools.emplace(name, v);
    return v;
  }
  Z3_ast NamedInt(const std::string& name, std::int64_t min, std::int64_t max) {
    auto it = ints.find(name);
    if (it != ints.end()) return it->second;
    Z3_ast v = Z3_mk_fresh_const(ctx, name.c_str(), Z3_mk_int_sort(ctx));
    Assert(Z3_mk_ge(ctx, v, Int(min)));
    Assert(Z3_mk_le(ctx, v, Int(max)));
    ints.emplace(name, v);
    return v;
  }

  bool ModelBool(Z3_ast a) const {
    Z3_ast out = nullptr;
    if (!Z3_model_eval(ctx, model, a, true, &out) || out == nullptr) return false;
    return Z3_get_bool_value(ctx, out) == Z3_L_TRUE;
  }
  // The model's value of an integer; `fallback` when the model leaves it free.
  std::int64_t ModelInt(Z3_ast a, std::int64_t fallback) const {
    Z3_ast out = nullptr;
    if (!Z3_model_eval(ctx, model, a, false, &out) || out == nullptr || !Z3_is_numeral_ast(ctx, out)) return fallback;
    std::int64_t v = fallback;
    if (!Z3_get_numeral_int64(ctx, out, &v)) return fallback;
    return v;
  }

  // ---- Request model -------------------------------------------------------------------------
  Z3_ast ArgCount() { return NamedInt("args.count", 0, limits.max_args); }
  Z3_ast TimeUnix() { return NamedInt("time.unix", 0, request::kMaxJsonTimeUnix); }
  Z3_ast ParentPresent() { return NamedBool("parent.present"); }
  Z3_ast WeekdayIndex() {
    auto it = ints.find("time.weekday");
    if (it != ints.end()) return it->second;
    Z3_ast days = Z3_mk_div(ctx, TimeUnix(), Int(86400));
    // 1970-01-01 was a Thursday (index 3 with Monday 0).
    Z3_ast index = Z3_mk_mod(ctx, Z3_mk_add(ctx, 2, std::array<Z3_ast, 2>{days, Int(3)}.data()), Int(7));
    ints.emplace("time.weekday", index);
    return index;
  }

  std::uint32_t Term(const std::string& name, Z3_ast present, std::uint32_t domain, bool normalized,
                     std::vector<std::string> preferred = {}) {
    auto it = term_ids.find(name);
    if (it != term_ids.end()) return it->second;
    StrTerm t;
    t.name = name;
    t.present = present;
    t.domain = domain;
    t.normalized = normalized;
    t.preferred = std::move(preferred);
    terms.push_back(std::move(t));
    const auto id = static_cast<std::uint32_t>(terms.size() - 1);
    term_ids.emplace(name, id);
    return id;
  }

  std::uint32_t ArgTerm(std::int64_t index) {
    Z3_ast present = Z3_mk_gt(ctx, ArgCount(), Int(index));
    return Term("args[" + std::to_string(index) + "]", present, any_text, false, {"x"});
  }

  // The context field `number` of the current policy: its term (strings),
  // or Z3 value (ints, bools), and presence.
  Z3_ast ContextPresent(const ir::ContextField& field) {
    const std::string name = "context." + field.name;
    auto it = bools.find(name + "?");
    if (it != bools.end()) return it->second;
    Z3_ast present = NamedBool(name + "?");
    if (!context.at(field.name).second) Assert(present);
    return present;
  }

  StrExpr TermExpr(std::uint32_t term) {
    StrExpr e;
    e.kind = StrExpr::Kind::kTerm;
    e.term = term;
    return e;
  }

  StrExpr FieldStr(const Node& n) {
    const Field field = static_cast<Field>(n.imm);
    switch (field) {
      case Field::kProgramPath:
      case Field::kProgramName: {
        StrExpr e = TermExpr(Term("program.path", True(), path_domain, true, {"/usr/bin/true"}));
        if (field == Field::kProgramName) {
          e.transform.base_name = true;
          e.transform_key = "name";
        }
        return e;
      }
      case Field::kInvokedPath:
      case Field::kInvokedName: {
        StrExpr e = TermExpr(Term("invoked.path", True(), path_domain, true));
        if (field == Field::kInvokedName) {
          e.transform.base_name = true;
          e.transform_key = "name";
        }
        return e;
      }
      case Field::kProgramSha256:
        return TermExpr(Term("program.sha256", True(), digest_domain, false, {"sha256:" + std::string(64, '0')}));
      case Field::kArgv0:
        // Never empty: a request's empty argv0 means "the invoked path" (request.h).
        return TermExpr(Term("argv0", True(), some_text, false));
      case Field::kCwd:
        return TermExpr(Term("cwd", True(), path_domain, true, {"/"}));
      case Field::kUserName:
        return TermExpr(Term("user.name", True(), any_text, false, {"user"}));
      case Field::kHostName:
        return TermExpr(Term("host.name", True(), any_text, false, {"localhost"}));
      case Field::kParentRunId:
        return TermExpr(Term("parent.run_id", ParentPresent(), any_text, false, {"run-1"}));
      case Field::kParentProgram:
        return TermExpr(Term("parent.program", ParentPresent(), path_domain, true, {"/usr/bin/make"}));
      case Field::kTimeWeekday: {
        std::uint32_t id = Term("time.weekday", True(), any_text, false);
        terms[id].weekday = true;
        return TermExpr(id);
      }
      case Field::kContext: {
        if (n.a >= policy->context.size()) return StrExpr::Unsupported();
        const ir::ContextField& f = policy->context[n.a];
        if (f.kind != Kind::kStr) return StrExpr::Unsupported();
        const bool path = f.spelling == ir::ContextField::Spelling::kPath;
        const bool digest = f.spelling == ir::ContextField::Spelling::kDigest;
        return TermExpr(Term("context." + f.name, ContextPresent(f),
                             path ? path_domain : (digest ? digest_domain : any_text), path, {path ? "/" : "x"}));
      }
      default:
        return StrExpr::Unsupported();
    }
  }

  // ---- Strings ------------------------------------------------------------------------------
  StrExpr Str(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    switch (n.op) {
      case Op::kConstStr:
        return StrExpr::Const(policy->strings[n.a]);
      case Op::kNone: {
        StrExpr e;
        e.kind = StrExpr::Kind::kAbsent;
        return e;
      }
      case Op::kLocal: {
        const Binding& b = bindings[n.a];
        if (b.kind == Binding::Kind::kStr) return StrExpr::Const(b.text);
        if (b.kind == Binding::Kind::kElement) return TermExpr(kElement);
        return StrExpr::Unsupported();
      }
      case Op::kField:
        return FieldStr(n);
      case Op::kIndex: {
        const Node& list = policy->nodes[n.a];
        const Node& at = policy->nodes[n.b];
        if (list.op != Op::kField || static_cast<Field>(list.imm) != Field::kArgs || at.op != Op::kConstInt) {
          return StrExpr::Unsupported();
        }
        if (at.imm < 0) {
          StrExpr e;
          e.kind = StrExpr::Kind::kAbsent;
          return e;
        }
        if (at.imm >= limits.max_args - 1) return StrExpr::Unsupported();  // beyond the modelled lists
        return TermExpr(ArgTerm(at.imm));
      }
      case Op::kMapGet: {
        const Node& map = policy->nodes[n.a];
        StrExpr key = Str(n.b);
        if (map.op != Op::kField || static_cast<Field>(map.imm) != Field::kEnv || key.kind != StrExpr::Kind::kConst) {
          return StrExpr::Unsupported();
        }
        return TermExpr(Term("env[" + key.text + "]", EnvPresent(key.text), any_text, false, {"x"}));
      }
      case Op::kLower:
      case Op::kUpper: {
        StrExpr e = Str(n.a);
        const bool upper = n.op == Op::kUpper;
        auto map = [upper](std::uint8_t c) -> std::uint8_t {
          if (upper && c >= 'a' && c <= 'z') return static_cast<std::uint8_t>(c - 'a' + 'A');
          if (!upper && c >= 'A' && c <= 'Z') return static_cast<std::uint8_t>(c - 'A' + 'a');
          return c;
        };
        if (e.kind == StrExpr::Kind::kConst) {
          for (char& c : e.text) c = static_cast<char>(map(static_cast<std::uint8_t>(c)));
          return e;
        }
        if (e.kind != StrExpr::Kind::kTerm || e.parent) return StrExpr::Unsupported();
        for (auto& b : e.transform.bytes) b = map(b);
        e.transform_key += upper ? "upper;" : "lower;";
        return e;
      }
      case Op::kPathName:
      case Op::kPathParent:
      case Op::kToPath: {
        StrExpr e = Str(n.a);
        if (e.kind == StrExpr::Kind::kConst) {
          if (n.op == Op::kPathName) return StrExpr::Const(paths::BaseName(e.text));
          if (n.op == Op::kPathParent) return StrExpr::Const(paths::DirName(e.text));
          return StrExpr::Const(paths::Normalize(e.text));
        }
        if (!e.Plain() || e.term == kElement || !terms[e.term].normalized) return StrExpr::Unsupported();
        if (n.op == Op::kPathName) {
          e.transform.base_name = true;
          e.transform_key = "name";
        } else if (n.op == Op::kPathParent) {
          e.parent = true;
          e.transform_key = "parent";
        }
        return e;
      }
      case Op::kPathExt: {
        StrExpr e = Str(n.a);
        if (e.kind == StrExpr::Kind::kConst) return StrExpr::Const(paths::Extension(e.text));
        return StrExpr::Unsupported();
      }
      case Op::kConcat: {
        StrExpr a = Str(n.a);
        StrExpr b = Str(n.b);
        if (a.kind == StrExpr::Kind::kConst && b.kind == StrExpr::Kind::kConst) return StrExpr::Const(a.text + b.text);
        return StrExpr::Unsupported();
      }
      case Op::kPathJoin: {
        StrExpr a = Str(n.a);
        StrExpr b = Str(n.b);
        if (a.kind == StrExpr::Kind::kConst && b.kind == StrExpr::Kind::kConst) {
          return StrExpr::Const(paths::Join(a.text, b.text));
        }
        if (b.kind == StrExpr::Kind::kConst && !b.text.empty() && b.text[0] == '/')
          return StrExpr::Const(paths::Normalize(b.text));
        return StrExpr::Unsupported();
      }
      default:
        return StrExpr::Unsupported();
    }
  }

  Z3_ast EnvPresent(const std::string& key) {
    const std::string name = "env?" + key;
    auto it = bools.find(name);
    if (it != bools.end()) return it->second;
    Z3_ast v = NamedBool(name);
    // A variable name holds neither `=` nor NUL, and is not empty.
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos) Assert(Not(v));
    return v;
  }

  // ---- Languages of predicates --------------------------------------------------------------
  std::uint32_t AutomatonId(const std::string& key, const std::function<analysis::Automaton()>& make) {
    auto it = automata_by_key.find(key);
    if (it != automata_by_key.end()) return it->second;
    std::uint32_t id = languages.AddAutomaton(make());
    automata_by_key.emplace(key, id);
    return id;
  }

  // The language "the subject, read as `e` says, is in automaton `id`".
  Lang LeafFor(const StrExpr& e, std::uint32_t automaton) { return Lang::Leaf(languages.Leaf(automaton, e.transform)); }

  std::optional<Predicate> Member(const StrExpr& subject, Lang lang, const std::string& key, bool negate = false) {
    Predicate p;
    p.shape = negate ? Predicate::Shape::kNotMember : Predicate::Shape::kMember;
    p.term = subject.term;
    p.lang = std::move(lang);
    p.key = subject.transform_key + "|" + key;
    return p;
  }

  static Predicate Constant(bool value) {
    Predicate p;
    p.shape = value ? Predicate::Shape::kTrue : Predicate::Shape::kFalse;
    return p;
  }

  // Strings of `texts` as a language of `subject` (the parent reading: paths
  // whose parent directory is one of them).
  std::optional<Lang> SetLang(const StrExpr& subject, std::vector<std::string> texts, std::string& key) {
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    key = "set";
    for (const std::string& t : texts) key += ":" + std::to_string(t.size()) + ":" + t;
    if (subject.parent) {
      std::vector<Lang> parts;
      for (const std::string& t : texts) {
        if (t.empty() || t[0] != '/' || paths::Normalize(t) != t) continue;  // never a DirName of a normalized path
        parts.push_back(Lang::Leaf(languages.Leaf(AutomatonId("parent:" + t, [&] { return Automaton::ParentIs(t); }))));
      }
      return Lang::Or(std::move(parts));
    }
    return LeafFor(subject, AutomatonId(key, [&] { return Automaton::Set(texts); }));
  }

  const pattern::Dfa* PatternDfa(std::uint32_t index) {
    const std::string& bytes = policy->patterns[index].dfa;
    auto it = dfa_cache.find(bytes);
    if (it == dfa_cache.end()) {
      std::optional<pattern::Dfa> dfa = pattern::Dfa::Deserialize(bytes);
      it = dfa_cache.emplace(bytes, std::make_pair(dfa ? *dfa : pattern::Dfa(), dfa.has_value())).first;
    }
    return it->second.second ? &it->second.first : nullptr;
  }

  // Node `index` (Bool) as a test of one string, when it is one.
  std::optional<Predicate> StringPredicate(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    switch (n.op) {
      case Op::kIsNone: {
        if (policy->nodes[n.a].kind != Kind::kStr) return std::nullopt;
        StrExpr s = Str(n.a);
        if (s.kind == StrExpr::Kind::kAbsent) return Constant(true);
        if (s.kind == StrExpr::Kind::kConst) return Constant(false);
        if (s.kind != StrExpr::Kind::kTerm) return std::nullopt;
        Predicate p;
        p.shape = Predicate::Shape::kAbsent;
        p.term = s.term;
        return p;
      }
      case Op::kEq:
      case Op::kNe: {
        if (policy->nodes[n.a].kind != Kind::kStr) return std::nullopt;
        StrExpr a = Str(n.a);
        StrExpr b = Str(n.b);
        if (a.kind != StrExpr::Kind::kTerm) std::swap(a, b);
        const bool ne = n.op == Op::kNe;
        if (a.kind == StrExpr::Kind::kConst || a.kind == StrExpr::Kind::kAbsent) {
          if (b.kind != StrExpr::Kind::kConst && b.kind != StrExpr::Kind::kAbsent) return std::nullopt;
          bool equal = a.kind == b.kind && a.text == b.text;
          return Constant(equal != ne);
        }
        if (a.kind != StrExpr::Kind::kTerm) return std::nullopt;
        if (b.kind == StrExpr::Kind::kAbsent) {
          Predicate p;
          p.shape = ne ? Predicate::Shape::kPresent : Predicate::Shape::kAbsent;
          p.term = a.term;
          return p;
        }
        if (b.kind != StrExpr::Kind::kConst) return std::nullopt;
        std::string key;
        std::optional<Lang> lang = SetLang(a, {b.text}, key);
        if (!lang) return std::nullopt;
        return Member(a, *lang, key, ne);
      }
      case Op::kIn: {
        if (policy->nodes[n.a].kind != Kind::kStr) return std::nullopt;
        const Node& list = policy->nodes[n.b];
        if (list.op != Op::kConstList) return std::nullopt;
        StrExpr a = Str(n.a);
        if (a.kind == StrExpr::Kind::kAbsent) return Constant(false);
        const std::vector<std::string>& items = policy->str_lists[list.a];
        if (a.kind == StrExpr::Kind::kConst) {
          return Constant(std::find(items.begin(), items.end(), a.text) != items.end());
        }
        if (a.kind != StrExpr::Kind::kTerm) return std::nullopt;
        std::string key;
        std::optional<Lang> lang = SetLang(a, items, key);
        if (!lang) return std::nullopt;
        return Member(a, *lang, key);
      }
      case Op::kStartsWith:
      case Op::kEndsWith:
      case Op::kContains: {
        StrExpr a = Str(n.a);
        StrExpr b = Str(n.b);
        if (a.kind == StrExpr::Kind::kAbsent || b.kind == StrExpr::Kind::kAbsent) return Constant(false);
        const char* name = n.op == Op::kStartsWith ? "prefix" : (n.op == Op::kEndsWith ? "suffix" : "contains");
        if (a.kind == StrExpr::Kind::kConst && b.kind == StrExpr::Kind::kConst) {
          if (n.op == Op::kStartsWith) return Constant(a.text.rfind(b.text, 0) == 0);
          if (n.op == Op::kEndsWith) {
            return Constant(a.text.size() >= b.text.size() &&
                            a.text.compare(a.text.size() - b.text.size(), b.text.size(), b.text) == 0);
          }
          return Constant(a.text.find(b.text) != std::string::npos);
        }
        if (a.kind == StrExpr::Kind::kTerm && !a.parent && b.kind == StrExpr::Kind::kConst) {
          const std::string key = std::string(name) + ":" + b.text;
          std::uint32_t id = AutomatonId(key, [&] {
            if (n.op == Op::kStartsWith) return Automaton::Prefix(b.text);
            if (n.op == Op::kEndsWith) return Automaton::Suffix(b.text);
            return Automaton::Contains(b.text);
          });
          return Member(a, LeafFor(a, id), key);
        }
        if (a.kind == StrExpr::Kind::kConst && b.kind == StrExpr::Kind::kTerm && !b.parent && a.text.size() <= 256) {
          // The subject is a prefix / suffix / substring of a constant: finitely many strings.
          std::vector<std::string> pieces;
          for (std::size_t i = 0; i <= a.text.size(); ++i) {
            for (std::size_t j = i; j <= a.text.size(); ++j) {
              if ((n.op == Op::kStartsWith && i != 0) || (n.op == Op::kEndsWith && j != a.text.size())) continue;
              pieces.push_back(a.text.substr(i, j - i));
            }
          }
          std::string key;
          std::optional<Lang> lang = SetLang(b, pieces, key);
          if (!lang) return std::nullopt;
          return Member(b, *lang, key);
        }
        return std::nullopt;
      }
      case Op::kMatches: {
        StrExpr a = Str(n.a);
        if (a.kind == StrExpr::Kind::kAbsent) return Constant(false);
        const pattern::Dfa* dfa = PatternDfa(static_cast<std::uint32_t>(n.imm));
        if (dfa == nullptr) return std::nullopt;
        if (a.kind == StrExpr::Kind::kConst) return Constant(dfa->Matches(a.text));
        if (a.kind != StrExpr::Kind::kTerm || a.parent) return std::nullopt;
        const std::string key = "dfa:" + policy->patterns[static_cast<std::size_t>(n.imm)].dfa;
        std::uint32_t id = AutomatonId(key, [&] { return Automaton::FromDfa(*dfa); });
        return Member(a, LeafFor(a, id), key);
      }
      case Op::kUnder: {
        StrExpr a = Str(n.a);
        StrExpr b = Str(n.b);
        if (a.kind == StrExpr::Kind::kAbsent || b.kind == StrExpr::Kind::kAbsent) return Constant(false);
        if (a.kind == StrExpr::Kind::kConst && b.kind == StrExpr::Kind::kConst)
          return Constant(paths::Under(a.text, b.text));
        if (a.Plain() && a.term != kElement && terms[a.term].normalized && b.kind == StrExpr::Kind::kConst) {
          const std::string dir = paths::Normalize(b.text);
          if (dir[0] != '/') return Member(a, Lang::False(), "false");
          const std::string key = "under:" + dir;
          return Member(a, LeafFor(a, AutomatonId(key, [&] { return Automaton::Under(dir); })), key);
        }
        if (b.Plain() && b.term != kElement && terms[b.term].normalized && a.kind == StrExpr::Kind::kConst) {
          const std::string path = paths::Normalize(a.text);
          if (path[0] != '/') return Member(b, Lang::False(), "false");
          std::vector<std::string> ancestors{"/"};
          for (std::size_t i = 1; i <= path.size(); ++i) {
            if (i == path.size() || path[i] == '/') ancestors.push_back(path.substr(0, i));
          }
          std::string key;
          std::optional<Lang> lang = SetLang(b, ancestors, key);
          if (!lang) return std::nullopt;
          return Member(b, *lang, key);
        }
        return std::nullopt;
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        // len(string) compared with a constant.
        const Node& left = policy->nodes[n.a];
        const Node& right = policy->nodes[n.b];
        if (left.op != Op::kLen || right.op != Op::kConstInt || policy->nodes[left.a].kind != Kind::kStr) {
          return std::nullopt;
        }
        StrExpr s = Str(left.a);
        if (s.kind != StrExpr::Kind::kTerm || s.parent || s.transform.base_name) return std::nullopt;
        std::int64_t min = 0;
        std::int64_t max = -1;
        const std::int64_t c = right.imm;
        if (n.op == Op::kLt) max = c - 1;
        if (n.op == Op::kLe) max = c;
        if (n.op == Op::kGt) min = c + 1;
        if (n.op == Op::kGe) min = c;
        if (max > 4096 || min > 4096) return std::nullopt;
        if (max >= 0 && min > max) return Member(s, Lang::False(), "false");
        if (max < -1) return Member(s, Lang::False(), "false");
        min = std::max<std::int64_t>(min, 0);
        const std::string key = "len:" + std::to_string(min) + ":" + std::to_string(max);
        return Member(s, LeafFor(s, AutomatonId(key, [&] { return Automaton::Length(min, max); })), key);
      }
      default:
        return std::nullopt;
    }
  }

  // ---- Integers ------------------------------------------------------------------------------
  struct IntExpr {
    Z3_ast value = nullptr;  // null: not modelled
    Z3_ast present = nullptr;
    bool reads_count = false;              // depends on len(args)
    bool is_count = false;                 // is len(args) itself
    std::optional<std::int64_t> constant;  // a constant's value
  };

  IntExpr IntOf(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    switch (n.op) {
      case Op::kConstInt:
        return {Int(n.imm), True(), false, false, n.imm};
      case Op::kNone:
        return {Int(0), False()};
      case Op::kLocal: {
        const Binding& b = bindings[n.a];
        if (b.kind == Binding::Kind::kInt) return {Int(b.number), True(), false, false, b.number};
        return {};
      }
      case Op::kField:
        switch (static_cast<Field>(n.imm)) {
          case Field::kUserUid:
            return {NamedInt("user.uid", 0, 4294967295LL), True()};
          case Field::kUserGid:
            return {NamedInt("user.gid", 0, 4294967295LL), True()};
          case Field::kTimeUnix:
            return {TimeUnix(), True()};
          case Field::kTimeHour:
            return {Z3_mk_mod(ctx, Z3_mk_div(ctx, TimeUnix(), Int(3600)), Int(24)), True()};
          case Field::kTimeMinute:
            return {Z3_mk_mod(ctx, Z3_mk_div(ctx, TimeUnix(), Int(60)), Int(60)), True()};
          case Field::kParentDepth:
            return {NamedInt("parent.depth", 0, 1000000), ParentPresent()};
          case Field::kContext: {
            if (n.a >= policy->context.size()) return {};
            const ir::ContextField& f = policy->context[n.a];
            if (f.kind != Kind::kInt) return {};
            return {NamedInt("context." + f.name, INT64_MIN, INT64_MAX), ContextPresent(f)};
          }
          default:
            return {};
        }
      case Op::kLen: {
        const Node& list = policy->nodes[n.a];
        if (list.op == Op::kField && static_cast<Field>(list.imm) == Field::kArgs)
          return {ArgCount(), True(), true, true};
        return {};
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul: {
        IntExpr a = IntOf(n.a);
        IntExpr b = IntOf(n.b);
        if (a.value == nullptr || b.value == nullptr) return {};
        std::array<Z3_ast, 2> args{a.value, b.value};
        Z3_ast v = n.op == Op::kAdd
                       ? Z3_mk_add(ctx, 2, args.data())
                       : (n.op == Op::kSub ? Z3_mk_sub(ctx, 2, args.data()) : Z3_mk_mul(ctx, 2, args.data()));
        return {v, And({a.present, b.present}), a.reads_count || b.reads_count};
      }
      case Op::kNeg: {
        IntExpr a = IntOf(n.a);
        if (a.value == nullptr) return {};
        return {Z3_mk_unary_minus(ctx, a.value), a.present, a.reads_count};
      }
      case Op::kCoalesce: {
        IntExpr a = IntOf(n.a);
        IntExpr b = IntOf(n.b);
        if (a.value == nullptr || b.value == nullptr) return {};
        return {Z3_mk_ite(ctx, a.present, a.value, b.value), Or({a.present, b.present}),
                a.reads_count || b.reads_count};
      }
      default:
        return {};
    }
  }

  // ---- Structure ----------------------------------------------------------------------------
  // A digest of what node `index` computes, equal across the policies for
  // equal computations (constants by value, patterns by automaton, grammars
  // by content, quantifier variables by binding): an expression both
  // versions of a policy contain gets one atom.
  std::vector<std::uint8_t> has_local;  // per node of the current policy: reads a free variable
  std::vector<std::vector<std::uint32_t>> free_slots;
  std::vector<std::string> closed_keys;     // memo for nodes without variables
  std::vector<std::uint32_t> local_labels;  // slot → enclosing quantifier depth (0: not bound here)
  std::uint32_t quantifier_depth = 0;
  std::vector<const argparse::Command*> commands_seen;

  static void Mix(std::uint64_t& h1, std::uint64_t& h2, std::string_view bytes) {
    for (unsigned char c : bytes) {
      h1 = (h1 ^ c) * 0x100000001b3ULL;
      h2 = (h2 + c + 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;
      h2 ^= h2 >> 29;
    }
    h1 = (h1 ^ 0xff) * 0x100000001b3ULL;  // separator
  }

  std::uint32_t CommandId(const argparse::Command& command) {
    for (std::size_t i = 0; i < commands_seen.size(); ++i) {
      if (*commands_seen[i] == command) return static_cast<std::uint32_t>(i);
    }
    commands_seen.push_back(&command);
    return static_cast<std::uint32_t>(commands_seen.size() - 1);
  }

  // Which quantifier variables each node reads without binding them: a node
  // with none is closed (its key is memoized, the interpreter can evaluate it).
  void PrepareStructure() {
    has_local.assign(policy->nodes.size(), 0);
    free_slots.assign(policy->nodes.size(), {});
    closed_keys.assign(policy->nodes.size(), std::string());
    local_labels.assign(policy->local_slots, 0);
    quantifier_depth = 0;
    for (std::size_t i = 0; i < policy->nodes.size(); ++i) {
      const Node& n = policy->nodes[i];
      std::vector<std::uint32_t>& slots = free_slots[i];
      auto take = [&](std::uint32_t operand) {
        if (operand == ir::kNoNode || operand >= i) return;
        slots.insert(slots.end(), free_slots[operand].begin(), free_slots[operand].end());
      };
      if (n.op == Op::kLocal) {
        slots.push_back(n.a);
      } else if (n.op == Op::kAnd || n.op == Op::kOr) {
        for (std::uint32_t k = 0; k < n.b; ++k) take(policy->operands[n.a + k]);
      } else if (n.op == Op::kAny || n.op == Op::kAll) {
        take(n.b);
        slots.erase(std::remove(slots.begin(), slots.end(), static_cast<std::uint32_t>(n.imm)), slots.end());
        take(n.a);
      } else if (n.op != Op::kConstStr && n.op != Op::kConstList && n.op != Op::kConstMap && n.op != Op::kField) {
        take(n.a);
        take(n.b);
        if (n.op != Op::kArgField) take(n.c);
      }
      std::sort(slots.begin(), slots.end());
      slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
      has_local[i] = slots.empty() ? 0 : 1;
    }
  }

  std::string StructKey(std::uint32_t index) {
    if (has_local[index] == 0 && !closed_keys[index].empty()) return closed_keys[index];
    const Node& n = policy->nodes[index];
    std::uint64_t h1 = 0xcbf29ce484222325ULL;
    std::uint64_t h2 = 0x84222325cbf29ce4ULL;
    const std::string head =
        fmt::format("{}:{}:{}", static_cast<int>(n.op), static_cast<int>(n.kind), n.optional ? 1 : 0);
    Mix(h1, h2, head);
    auto child = [&](std::uint32_t operand) { Mix(h1, h2, operand == ir::kNoNode ? "-" : StructKey(operand)); };
    switch (n.op) {
      case Op::kConstBool:
      case Op::kConstInt:
        Mix(h1, h2, std::to_string(n.imm));
        break;
      case Op::kConstStr:
        Mix(h1, h2, policy->strings[n.a]);
        break;
      case Op::kConstList:
        if (n.kind == Kind::kStrList) {
          for (const std::string& item : policy->str_lists[n.a]) Mix(h1, h2, item);
        } else {
          for (std::int64_t item : policy->int_lists[n.a]) Mix(h1, h2, std::to_string(item));
        }
        break;
      case Op::kConstMap:
        for (const auto& [k, v] : policy->maps[n.a]) {
          Mix(h1, h2, k);
          Mix(h1, h2, v);
        }
        break;
      case Op::kNone:
        break;
      case Op::kField:
        Mix(h1, h2, std::to_string(n.imm));
        if (static_cast<Field>(n.imm) == Field::kContext && n.a < policy->context.size())
          Mix(h1, h2, policy->context[n.a].name);
        break;
      case Op::kLocal: {
        const Binding& b = bindings[n.a];
        if (local_labels[n.a] != 0) {
          Mix(h1, h2, "q" + std::to_string(quantifier_depth - local_labels[n.a]));
        } else if (b.kind == Binding::Kind::kStr) {
          Mix(h1, h2, "s" + b.text);
        } else if (b.kind == Binding::Kind::kInt) {
          Mix(h1, h2, "i" + std::to_string(b.number));
        } else {
          Mix(h1, h2, b.kind == Binding::Kind::kElement ? "element" : "free");
        }
        break;
      }
      case Op::kAnd:
      case Op::kOr:
        for (std::uint32_t k = 0; k < n.b; ++k) child(policy->operands[n.a + k]);
        break;
      case Op::kAny:
      case Op::kAll: {
        child(n.a);
        const std::uint32_t slot = static_cast<std::uint32_t>(n.imm);
        const std::uint32_t saved = local_labels[slot];
        local_labels[slot] = ++quantifier_depth;
        child(n.b);
        --quantifier_depth;
        local_labels[slot] = saved;
        break;
      }
      case Op::kMatches:
        Mix(h1, h2, policy->patterns[static_cast<std::size_t>(n.imm)].dfa);
        child(n.a);
        break;
      case Op::kArgParses:
      case Op::kArgField:
      case Op::kArgSubcommand:
        Mix(h1, h2, std::to_string(CommandId(policy->commands[static_cast<std::size_t>(n.imm)])));
        child(n.a);
        child(n.b);
        if (n.op == Op::kArgField) Mix(h1, h2, std::to_string(n.c));
        break;
      default:
        Mix(h1, h2, std::to_string(n.imm));
        child(n.a);
        child(n.b);
        child(n.c);
        break;
    }
    std::string key(16, '\0');
    std::memcpy(key.data(), &h1, 8);
    std::memcpy(key.data() + 8, &h2, 8);
    if (has_local[index] == 0) closed_keys[index] = key;
    return key;
  }

  // ---- Booleans ------------------------------------------------------------------------------
  std::map<std::string, Z3_ast> opaque_by_key;
  struct OpaqueNode {
    std::size_t policy;
    std::uint32_t node;
    bool evaluable;
  };
  std::vector<OpaqueNode> opaque_nodes;  // parallel to `opaque`
  std::vector<int> observed;             // per opaque atom: -1 unseen, else its value on the last request
  std::vector<std::uint32_t> realized_terms;  // the terms the last request's strings were solved from
  std::vector<interp::PreparedPolicy> prepared;
  Z3_ast short_args = nullptr;

  Z3_ast Opaque(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    const std::string key = StructKey(index);
    auto it = opaque_by_key.find(key);
    if (it != opaque_by_key.end()) return it->second;
    opaque_kinds.insert(OpName(n.op));
    Z3_ast v = FreshBool("opaque");
    opaque.push_back(v);
    // A closed node the interpreter evaluates on each request found (the
    // search then prefers assignments agreeing with what it saw).
    opaque_nodes.push_back({policy_index, index, has_local[index] == 0 && n.kind == Kind::kBool && !n.optional});
    opaque_by_key.emplace(key, v);
    return v;
  }

  static std::string OpName(Op op) {
    switch (op) {
      case Op::kArgParses:
      case Op::kArgField:
      case Op::kArgSubcommand:
        return "argument grammars";
      case Op::kAny:
      case Op::kAll:
        return "quantifiers over computed lists";
      case Op::kUnder:
        return "`under` on computed paths";
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        return "ordering of strings";
      default:
        return "tests of computed values";
    }
  }

  // Whether node `index` reads argument grammars (checked before a string
  // test is modelled: grammar values are never modelled).
  Z3_ast PredicateFormula(const Predicate& p) {
    switch (p.shape) {
      case Predicate::Shape::kTrue:
        return True();
      case Predicate::Shape::kFalse:
        return False();
      case Predicate::Shape::kAbsent:
        return Not(terms[p.term].present);
      case Predicate::Shape::kPresent:
        return terms[p.term].present;
      default:
        break;
    }
    StrTerm& t = terms[p.term];
    Z3_ast value;
    if (t.weekday) {
      std::vector<Z3_ast> days;
      for (int d = 0; d < 7; ++d) {
        if (languages.Meets({{p.lang, true}}, kWeekdays[d])) days.push_back(Z3_mk_eq(ctx, WeekdayIndex(), Int(d)));
      }
      value = Or(days);
    } else {
      const std::string key = t.name + "#" + p.key;
      auto it = atom_ids.find(key);
      if (it == atom_ids.end()) {
        atoms.push_back({p.term, p.lang, FreshBool("atom")});
        it = atom_ids.emplace(key, static_cast<std::uint32_t>(atoms.size() - 1)).first;
        t.atoms.push_back(it->second);
      }
      value = atoms[it->second].var;
    }
    Z3_ast member = And({t.present, value});
    return p.shape == Predicate::Shape::kNotMember ? Not(member) : member;
  }

  // The body of a quantifier over args as a language of the element; nullopt
  // when it reads anything else.
  std::optional<Lang> BodyLang(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    switch (n.op) {
      case Op::kConstBool:
        return n.imm != 0 ? Lang::True() : Lang::False();
      case Op::kAnd:
      case Op::kOr: {
        std::vector<Lang> parts;
        for (std::uint32_t k = 0; k < n.b; ++k) {
          std::optional<Lang> part = BodyLang(policy->operands[n.a + k]);
          if (!part) return std::nullopt;
          parts.push_back(std::move(*part));
        }
        return n.op == Op::kAnd ? Lang::And(std::move(parts)) : Lang::Or(std::move(parts));
      }
      case Op::kNot: {
        std::optional<Lang> part = BodyLang(n.a);
        if (!part) return std::nullopt;
        return Lang::Not(std::move(*part));
      }
      case Op::kIf: {
        std::optional<Lang> c = BodyLang(n.a);
        std::optional<Lang> t = BodyLang(n.b);
        std::optional<Lang> e = BodyLang(n.c);
        if (!c || !t || !e || n.kind != Kind::kBool || n.optional) return std::nullopt;
        Lang nc = Lang::Not(*c);
        return Lang::Or({Lang::And({std::move(*c), std::move(*t)}), Lang::And({std::move(nc), std::move(*e)})});
      }
      case Op::kAny:
      case Op::kAll: {
        const Node& list = policy->nodes[n.a];
        if (list.op != Op::kConstList) return std::nullopt;
        std::vector<Lang> parts;
        for (const Binding& b : ConstElements(list)) {
          Binding saved = bindings[static_cast<std::size_t>(n.imm)];
          bindings[static_cast<std::size_t>(n.imm)] = b;
          std::optional<Lang> part = BodyLang(n.b);
          bindings[static_cast<std::size_t>(n.imm)] = saved;
          if (!part) return std::nullopt;
          parts.push_back(std::move(*part));
        }
        return n.op == Op::kAny ? Lang::Or(std::move(parts)) : Lang::And(std::move(parts));
      }
      default: {
        std::optional<Predicate> p = StringPredicate(index);
        if (!p) return std::nullopt;
        switch (p->shape) {
          case Predicate::Shape::kTrue:
            return Lang::True();
          case Predicate::Shape::kFalse:
            return Lang::False();
          default:
            break;
        }
        if (p->term != kElement) return std::nullopt;
        if (p->shape == Predicate::Shape::kAbsent) return Lang::False();
        if (p->shape == Predicate::Shape::kPresent) return Lang::True();
        return p->shape == Predicate::Shape::kMember ? p->lang : Lang::Not(p->lang);
      }
    }
  }

  std::vector<Binding> ConstElements(const Node& list) {
    std::vector<Binding> out;
    if (list.kind == Kind::kStrList) {
      for (const std::string& s : policy->str_lists[list.a]) out.push_back({Binding::Kind::kStr, s, 0});
    } else if (list.kind == Kind::kIntList) {
      for (std::int64_t v : policy->int_lists[list.a]) out.push_back({Binding::Kind::kInt, "", v});
    }
    return out;
  }

  Z3_ast Compare(Op op, Z3_ast a, Z3_ast b) const {
    switch (op) {
      case Op::kLt:
        return Z3_mk_lt(ctx, a, b);
      case Op::kLe:
        return Z3_mk_le(ctx, a, b);
      case Op::kGt:
        return Z3_mk_gt(ctx, a, b);
      default:
        return Z3_mk_ge(ctx, a, b);
    }
  }

  Z3_ast BoolOf(std::uint32_t index) {
    const Node& n = policy->nodes[index];
    switch (n.op) {
      case Op::kConstBool:
        return n.imm != 0 ? True() : False();
      case Op::kAnd:
      case Op::kOr: {
        std::vector<Z3_ast> parts;
        for (std::uint32_t k = 0; k < n.b; ++k) parts.push_back(BoolOf(policy->operands[n.a + k]));
        return n.op == Op::kAnd ? And(parts) : Or(parts);
      }
      case Op::kNot:
        return Not(BoolOf(n.a));
      case Op::kIf:
        if (n.kind == Kind::kBool && !n.optional) return Z3_mk_ite(ctx, BoolOf(n.a), BoolOf(n.b), BoolOf(n.c));
        return Opaque(index);
      case Op::kField: {
        const Field field = static_cast<Field>(n.imm);
        if (field == Field::kProgramWrittenInSession) return NamedBool("program.written_in_session");
        if (field == Field::kContext && n.a < policy->context.size() && !n.optional) {
          return NamedBool("context." + policy->context[n.a].name);
        }
        return Opaque(index);
      }
      case Op::kAny:
      case Op::kAll: {
        const bool any = n.op == Op::kAny;
        const Node& list = policy->nodes[n.a];
        if (list.op == Op::kConstList) {
          std::vector<Z3_ast> parts;
          for (const Binding& b : ConstElements(list)) {
            Binding saved = bindings[static_cast<std::size_t>(n.imm)];
            bindings[static_cast<std::size_t>(n.imm)] = b;
            parts.push_back(BoolOf(n.b));
            bindings[static_cast<std::size_t>(n.imm)] = saved;
          }
          return any ? Or(parts) : And(parts);
        }
        if (list.op == Op::kField && static_cast<Field>(list.imm) == Field::kArgs) {
          Binding saved = bindings[static_cast<std::size_t>(n.imm)];
          bindings[static_cast<std::size_t>(n.imm)] = {Binding::Kind::kElement, "", 0};
          std::optional<Lang> body = BodyLang(n.b);
          bindings[static_cast<std::size_t>(n.imm)] = saved;
          if (body) return ListFormula(any, std::move(*body), StructKey(index));
        }
        return Opaque(index);
      }
      case Op::kIn: {
        const Node& list = policy->nodes[n.b];
        if (list.op == Op::kField && policy->nodes[n.a].kind == Kind::kStr) {
          StrExpr item = Str(n.a);
          const Field field = static_cast<Field>(list.imm);
          if (item.kind == StrExpr::Kind::kConst && field == Field::kUserGroups) {
            Z3_ast v = NamedBool("group?" + item.text);
            if (item.text.empty() || item.text.find('\0') != std::string::npos) Assert(Not(v));
            return v;
          }
          if (item.kind == StrExpr::Kind::kConst && field == Field::kArgs) {
            const std::string key = "set:" + std::to_string(item.text.size()) + ":" + item.text;
            return ListFormula(
                true, Lang::Leaf(languages.Leaf(AutomatonId(key, [&] { return Automaton::Set({item.text}); }))),
                "in-args:" + key);
          }
          return Opaque(index);
        }
        if (policy->nodes[n.a].kind == Kind::kInt && list.op == Op::kConstList) {
          IntExpr a = IntOf(n.a);
          if (a.value == nullptr) return Opaque(index);
          std::vector<Z3_ast> parts;
          for (std::int64_t v : policy->int_lists[list.a]) parts.push_back(Z3_mk_eq(ctx, a.value, Int(v)));
          return And({a.present, Or(parts)});
        }
        break;
      }
      case Op::kHasKey: {
        const Node& map = policy->nodes[n.b];
        StrExpr key = Str(n.a);
        if (map.op == Op::kField && static_cast<Field>(map.imm) == Field::kEnv && key.kind == StrExpr::Kind::kConst) {
          return EnvPresent(key.text);
        }
        return Opaque(index);
      }
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        const Kind kind = policy->nodes[n.a].kind;
        if (kind == Kind::kInt) {
          if (std::optional<Predicate> p = StringPredicate(index)) return PredicateFormula(*p);
          IntExpr a = IntOf(n.a);
          IntExpr b = IntOf(n.b);
          if (a.value == nullptr || b.value == nullptr) return Opaque(index);
          // Lists are modelled up to max_args elements: exact for `len(args)`
          // against a constant below that (longer lists compare alike), left
          // to the interpreter otherwise.
          if (a.reads_count || b.reads_count) {
            const bool bounded = (a.is_count && b.constant && *b.constant < limits.max_args - 1) ||
                                 (b.is_count && a.constant && *a.constant < limits.max_args - 1);
            if (!bounded) return Opaque(index);
          }
          if (n.op == Op::kEq || n.op == Op::kNe) {
            Z3_ast both_absent = And({Not(a.present), Not(b.present)});
            Z3_ast equal = Or({both_absent, And({a.present, b.present, Z3_mk_eq(ctx, a.value, b.value)})});
            return n.op == Op::kEq ? equal : Not(equal);
          }
          return And({a.present, b.present, Compare(n.op, a.value, b.value)});
        }
        if (kind == Kind::kBool && (n.op == Op::kEq || n.op == Op::kNe) && !policy->nodes[n.a].optional &&
            !policy->nodes[n.b].optional) {
          Z3_ast equal = Z3_mk_iff(ctx, BoolOf(n.a), BoolOf(n.b));
          return n.op == Op::kEq ? equal : Not(equal);
        }
        break;
      }
      case Op::kIsNone: {
        const Node& a = policy->nodes[n.a];
        if (a.kind == Kind::kInt) {
          IntExpr e = IntOf(n.a);
          if (e.value != nullptr) return Not(e.present);
          return Opaque(index);
        }
        break;
      }
      default:
        break;
    }
    if (std::optional<Predicate> p = StringPredicate(index)) {
      if (p->term == kElement) return Opaque(index);
      return PredicateFormula(*p);
    }
    return Opaque(index);
  }

  std::map<std::string, Z3_ast> list_by_key;

  Z3_ast ListFormula(bool any, Lang body, const std::string& key) {
    auto it = list_by_key.find(key);
    if (it != list_by_key.end()) return it->second;
    Z3_ast v = FreshBool(any ? "any" : "all");
    list_by_key.emplace(key, v);
    list_atoms.push_back({any, std::move(body), v});
    // A witness element needs an element.
    Z3_ast needs = any ? v : Not(v);
    Assert(Z3_mk_implies(ctx, needs, Z3_mk_gt(ctx, ArgCount(), Int(0))));
    return v;
  }

  // ---- Theory: from an assignment to a request -----------------------------------------------
  struct Literal {
    Z3_ast var;
    bool value;
  };
  Z3_ast LiteralFormula(const Literal& l) const { return l.value ? l.var : Not(l.var); }

  // Learns that `literals` (with `extra` true) cannot all hold.
  void Learn(const std::vector<Literal>& literals, const std::vector<Z3_ast>& extra) {
    std::vector<Z3_ast> parts = extra;
    for (const Literal& l : literals) parts.push_back(LiteralFormula(l));
    Assert(Not(And(parts)));
  }

  std::vector<Constraint> TermConstraints(const StrTerm& t, const std::vector<std::uint32_t>& atom_list,
                                          const std::vector<bool>& values) {
    std::vector<Constraint> c{{Lang::Leaf(t.domain), true}};
    for (std::size_t i = 0; i < atom_list.size(); ++i) c.push_back({atoms[atom_list[i]].lang, values[i]});
    return c;
  }

  // A minimal subset of `atom_list` (with values) whose constraints are empty.
  std::vector<std::size_t> Core(const StrTerm& t, const std::vector<std::uint32_t>& atom_list,
                                const std::vector<bool>& values) {
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < atom_list.size(); ++i) keep.push_back(i);
    for (std::size_t k = 0; k < keep.size();) {
      std::vector<std::uint32_t> trial_atoms;
      std::vector<bool> trial_values;
      for (std::size_t j = 0; j < keep.size(); ++j) {
        if (j == k) continue;
        trial_atoms.push_back(atom_list[keep[j]]);
        trial_values.push_back(values[keep[j]]);
      }
      SearchResult r = languages.Find(TermConstraints(t, trial_atoms, trial_values), {}, CoreBudget());
      if (r.status == SearchResult::Status::kEmpty) {
        keep.erase(keep.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
    return keep;
  }

  enum class TheoryResult : std::uint8_t { kOk, kLearned, kBudget };

  // Trials of a core search: an item is dropped only when the rest is proved
  // empty, so a trial that runs out keeps it (a larger core, still a core).
  std::size_t CoreBudget() const { return std::min<std::size_t>(limits.language_states, 5000); }

  // A minimal subset of `items` whose languages, with the text domain, have
  // no common member (deletion-based: each item whose removal keeps the
  // intersection empty is dropped).
  std::vector<Literal> LanguageCore(const std::vector<std::pair<Constraint, Literal>>& items) {
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < items.size(); ++i) keep.push_back(i);
    for (std::size_t k = 0; k < keep.size();) {
      std::vector<Constraint> trial{{Lang::Leaf(any_text), true}};
      for (std::size_t j = 0; j < keep.size(); ++j) {
        if (j != k) trial.push_back(items[keep[j]].first);
      }
      if (languages.Find(trial, {}, CoreBudget()).status == SearchResult::Status::kEmpty) {
        keep.erase(keep.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
    std::vector<Literal> out;
    for (std::size_t i : keep) out.push_back(items[i].second);
    return out;
  }
  std::map<std::string, SearchResult> term_cache;

  // A found path as people write them: `/ls` becomes `/usr/bin/ls` when
  // that meets the same constraints.
  std::string Readable(const StrTerm& t, const std::vector<bool>& values, const std::string& path) {
    if (path.size() < 2 || path.find('/', 1) != std::string::npos) return path;
    const std::string longer = "/usr/bin" + path;
    return languages.Meets(TermConstraints(t, t.atoms, values), longer) ? longer : path;
  }

  // The value of term `id` under the model, or a learned clause.
  TheoryResult SolveTerm(std::uint32_t id, const std::vector<std::string>& preferred, std::string& out) {
    const StrTerm& t = terms[id];
    std::vector<bool> values;
    for (std::uint32_t a : t.atoms) values.push_back(ModelBool(atoms[a].var));
    std::vector<std::string> prefs = preferred;
    prefs.insert(prefs.end(), t.preferred.begin(), t.preferred.end());
    std::string cache_key = std::to_string(id) + ":";
    for (bool v : values) cache_key.push_back(v ? '1' : '0');
    for (const std::string& p : preferred) cache_key += "\n" + p;
    auto cached = term_cache.find(cache_key);
    if (cached == term_cache.end()) {
      SearchResult found = languages.Find(TermConstraints(t, t.atoms, values), prefs, limits.language_states);
      if (found.status == SearchResult::Status::kFound && t.normalized) found.text = Readable(t, values, found.text);
      cached = term_cache.emplace(cache_key, found).first;
    }
    const SearchResult& r = cached->second;
    if (r.status == SearchResult::Status::kFound) {
      out = r.text;
      return TheoryResult::kOk;
    }
    std::vector<Literal> literals;
    if (r.status == SearchResult::Status::kEmpty) {
      for (std::size_t i : Core(t, t.atoms, values)) literals.push_back({atoms[t.atoms[i]].var, values[i]});
      Learn(literals, {t.present});
      return TheoryResult::kLearned;
    }
    ++budget_hits;
    for (std::size_t i = 0; i < t.atoms.size(); ++i) literals.push_back({atoms[t.atoms[i]].var, values[i]});
    Learn(literals, {t.present});
    return TheoryResult::kBudget;
  }

  // What the argument list must meet under the model: languages every
  // element is in (from `all` and false `any`), languages some element must
  // be in (from `any` and false `all`), and each position's own tests.
  struct ArgsProblem {
    std::int64_t n = 0;
    std::vector<std::pair<Constraint, Literal>> universal;
    std::vector<std::pair<Constraint, Literal>> demands;
    std::vector<std::vector<std::pair<Constraint, Literal>>> fixed;  // per position < n
  };

  bool Feasible(const std::vector<Constraint>& c, std::string* text) {
    SearchResult r = languages.Find(c, {"x"}, limits.language_states);
    if (r.status == SearchResult::Status::kBudget) ++budget_hits;
    if (r.status == SearchResult::Status::kFound && text != nullptr) *text = r.text;
    return r.status == SearchResult::Status::kFound;
  }

  // Lays the demands out on the positions (backtracking; few demands in
  // practice); the elements in `out` when it succeeds.
  bool Place(const ArgsProblem& p, std::vector<std::string>* out) {
    std::vector<std::vector<Constraint>> placed(static_cast<std::size_t>(p.n));
    for (std::size_t i = 0; i < placed.size(); ++i) {
      placed[i].push_back({Lang::Leaf(any_text), true});
      for (const auto& u : p.universal) placed[i].push_back(u.first);
      for (const auto& f : p.fixed[i]) placed[i].push_back(f.first);
      if (!Feasible(placed[i], nullptr)) return false;
    }
    std::size_t steps = 0;
    std::function<bool(std::size_t)> place = [&](std::size_t d) {
      if (d == p.demands.size()) return true;
      for (std::size_t i = 0; i < placed.size(); ++i) {
        if (++steps > 10000) return false;
        placed[i].push_back(p.demands[d].first);
        if (Feasible(placed[i], nullptr) && place(d + 1)) return true;
        placed[i].pop_back();
      }
      return false;
    };
    if (!place(0)) return false;
    if (out != nullptr) {
      out->assign(placed.size(), "");
      for (std::size_t i = 0; i < placed.size(); ++i) {
        if (!Feasible(placed[i], &(*out)[i])) return false;
      }
    }
    return true;
  }

  // The argument list under the model, or a learned clause: a minimal set of
  // the literals above that no list of this many elements meets.
  TheoryResult SolveArgs(std::vector<std::string>& out) {
    ArgsProblem p;
    p.n = ModelInt(ArgCount(), 0);
    for (const ListAtom& q : list_atoms) {
      const bool v = ModelBool(q.var);
      if (q.any == v) {
        p.demands.push_back({{q.body, q.any}, {q.var, v}});
      } else {
        p.universal.push_back({{q.body, !q.any}, {q.var, v}});
      }
    }
    p.fixed.resize(static_cast<std::size_t>(p.n));
    for (std::int64_t i = 0; i < p.n; ++i) {
      auto it = term_ids.find("args[" + std::to_string(i) + "]");
      if (it == term_ids.end()) continue;
      realized_terms.push_back(it->second);
      for (std::uint32_t a : terms[it->second].atoms) {
        const bool v = ModelBool(atoms[a].var);
        p.fixed[static_cast<std::size_t>(i)].push_back({{atoms[a].lang, v}, {atoms[a].var, v}});
      }
    }
    if (Place(p, &out)) return TheoryResult::kOk;
    // Each demand needs an element the universal languages allow.
    for (const auto& d : p.demands) {
      std::vector<Constraint> c{{Lang::Leaf(any_text), true}, d.first};
      for (const auto& u : p.universal) c.push_back(u.first);
      if (!Feasible(c, nullptr)) {
        std::vector<std::pair<Constraint, Literal>> items = p.universal;
        items.push_back(d);
        Learn(LanguageCore(items), {});
        return TheoryResult::kLearned;
      }
    }
    // Otherwise too few elements (or a position's own tests conflict): drop
    // every literal whose removal still leaves no layout.
    auto shrink = [&](std::vector<std::pair<Constraint, Literal>>& list) {
      for (std::size_t k = 0; k < list.size();) {
        auto removed = list[k];
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(k));
        if (Place(p, nullptr)) {
          list.insert(list.begin() + static_cast<std::ptrdiff_t>(k), removed);
          ++k;
        }
      }
    };
    shrink(p.demands);
    shrink(p.universal);
    for (auto& f : p.fixed) shrink(f);
    std::vector<Literal> core;
    for (const auto& d : p.demands) core.push_back(d.second);
    for (const auto& u : p.universal) core.push_back(u.second);
    for (const auto& f : p.fixed) {
      for (const auto& x : f) core.push_back(x.second);
    }
    Learn(core, {Z3_mk_le(ctx, ArgCount(), Int(p.n))});
    return TheoryResult::kLearned;
  }

  // Builds the request of the current model; kOk with `requests` filled.
  TheoryResult Realize(std::vector<request::Request>& requests) {
    request::Request r;
    realized_terms.clear();
    auto solve = [&](const std::string& name, const std::vector<std::string>& preferred, std::string& out,
                     bool& constrained) -> TheoryResult {
      auto it = term_ids.find(name);
      constrained = it != term_ids.end() && !terms[it->second].atoms.empty();
      if (it == term_ids.end()) return TheoryResult::kOk;
      realized_terms.push_back(it->second);
      if (!ModelBool(terms[it->second].present)) return TheoryResult::kOk;
      return SolveTerm(it->second, preferred, out);
    };
    bool program_constrained = false;
    bool invoked_constrained = false;
    bool constrained = false;
    std::string program = "/usr/bin/true";
    std::string invoked;
    // The invoked path first when only it is tested, so the program can be it.
    auto it = term_ids.find("program.path");
    const bool program_tested = it != term_ids.end() && !terms[it->second].atoms.empty();
    if (!program_tested) {
      if (TheoryResult t = solve("invoked.path", {"/usr/bin/true"}, invoked, invoked_constrained);
          t != TheoryResult::kOk)
        return t;
      if (invoked_constrained) program = invoked;
    } else {
      if (TheoryResult t = solve("program.path", {}, program, program_constrained); t != TheoryResult::kOk) return t;
      if (TheoryResult t = solve("invoked.path", {program}, invoked, invoked_constrained); t != TheoryResult::kOk)
        return t;
    }
    r.program_path = program;
    r.invoked_path = invoked_constrained ? invoked : "";
    std::string argv0;
    if (TheoryResult t = solve("argv0", {invoked_constrained ? invoked : program}, argv0, constrained);
        t != TheoryResult::kOk)
      return t;
    if (constrained) r.argv0 = argv0;
    std::string text;
    if (TheoryResult t = solve("program.sha256", {}, text, constrained); t != TheoryResult::kOk) return t;
    if (constrained) r.program_sha256 = text;
    text = r.cwd;
    if (TheoryResult t = solve("cwd", {}, text, constrained); t != TheoryResult::kOk) return t;
    r.cwd = text;
    text = r.user_name;
    if (TheoryResult t = solve("user.name", {}, text, constrained); t != TheoryResult::kOk) return t;
    r.user_name = text;
    text = r.host;
    if (TheoryResult t = solve("host.name", {}, text, constrained); t != TheoryResult::kOk) return t;
    r.host = text;
    if (auto i = ints.find("user.uid"); i != ints.end()) r.uid = ModelInt(i->second, r.uid);
    if (auto i = ints.find("user.gid"); i != ints.end()) r.gid = ModelInt(i->second, r.gid);
    if (auto i = ints.find("time.unix"); i != ints.end()) r.time_unix = ModelInt(i->second, r.time_unix);
    if (auto b = bools.find("program.written_in_session"); b != bools.end())
      r.program_written_in_session = ModelBool(b->second);
    if (auto b = bools.find("parent.present"); b != bools.end() && ModelBool(b->second)) {
      r.has_parent = true;
      r.parent_run_id = "run-1";
      r.parent_program = "/usr/bin/make";
      r.parent_depth = 1;
      if (auto i = ints.find("parent.depth"); i != ints.end()) r.parent_depth = ModelInt(i->second, 1);
      if (TheoryResult t = solve("parent.run_id", {}, r.parent_run_id, constrained); t != TheoryResult::kOk) return t;
      if (TheoryResult t = solve("parent.program", {}, r.parent_program, constrained); t != TheoryResult::kOk) return t;
    }
    if (TheoryResult t = SolveArgs(r.args); t != TheoryResult::kOk) return t;
    for (const auto& [name, var] : bools) {
      if (name.rfind("env?", 0) == 0 && ModelBool(var)) {
        const std::string key = name.substr(4);
        std::string value = "x";
        if (TheoryResult t = solve("env[" + key + "]", {}, value, constrained); t != TheoryResult::kOk) return t;
        r.env.emplace_back(key, value);
      }
      if (name.rfind("group?", 0) == 0 && ModelBool(var)) r.groups.push_back(name.substr(6));
    }
    // Context values by name; each policy lists its own declarations.
    std::map<std::string, request::ContextValue> values;
    for (const auto& [name, decl] : context) {
      request::ContextValue v;
      auto p = bools.find("context." + name + "?");
      v.present = p == bools.end() ? !decl.second : ModelBool(p->second);
      if (!v.present && !decl.second) v.present = true;
      if (decl.first.kind == Kind::kBool) {
        if (auto b = bools.find("context." + name); b != bools.end()) v.number = ModelBool(b->second) ? 1 : 0;
      } else if (decl.first.kind == Kind::kInt) {
        if (auto i = ints.find("context." + name); i != ints.end()) v.number = ModelInt(i->second, 0);
      } else {
        v.text = decl.first.spelling == ir::ContextField::Spelling::kPath ? "/" : "x";
        if (decl.first.spelling == ir::ContextField::Spelling::kDigest) v.text = "sha256:" + std::string(64, '0');
        if (v.present) {
          if (TheoryResult t = solve("context." + name, {}, v.text, constrained); t != TheoryResult::kOk) return t;
        }
      }
      values.emplace(name, v);
    }
    requests.clear();
    for (const ir::Policy* p : policies) {
      request::Request copy = r;
      for (const ir::ContextField& f : p->context) copy.context.push_back(values.at(f.name));
      requests.push_back(std::move(copy));
    }
    return TheoryResult::kOk;
  }

  // Records what the interpreter says each evaluable opaque test is on the
  // requests just built.
  void Observe(const std::vector<request::Request>& requests) {
    observed.resize(opaque.size(), -1);
    std::vector<std::unique_ptr<request::RequestView>> views;
    for (const request::Request& r : requests) views.push_back(std::make_unique<request::RequestView>(r));
    for (std::size_t i = 0; i < opaque.size(); ++i) {
      const OpaqueNode& o = opaque_nodes[i];
      if (!o.evaluable) continue;
      bool value = false;
      if (interp::EvaluateBool(prepared[o.policy], views[o.policy]->get(), o.node, value) == GOV_OK) {
        observed[i] = value ? 1 : 0;
      }
    }
  }

  // Clauses relating the tests of one string, found before any search: two
  // tests that exclude each other, one that implies another, tests that are
  // always or never true of the values the string can take.
  void PairwiseLemmas() {
    for (const StrTerm& t : terms) {
      if (t.weekday) continue;
      const Constraint domain{Lang::Leaf(t.domain), true};
      auto empty = [&](std::vector<Constraint> c) {
        c.insert(c.begin(), domain);
        return languages.Find(c, {}, 20000).status == SearchResult::Status::kEmpty;
      };
      for (std::size_t i = 0; i < t.atoms.size(); ++i) {
        const TheoryAtom& a = atoms[t.atoms[i]];
        if (empty({{a.lang, true}})) Assert(Not(a.var));
        if (empty({{a.lang, false}})) Assert(a.var);
      }
      if (t.atoms.size() > 120) continue;
      for (std::size_t i = 0; i < t.atoms.size(); ++i) {
        for (std::size_t j = i + 1; j < t.atoms.size(); ++j) {
          const TheoryAtom& a = atoms[t.atoms[i]];
          const TheoryAtom& b = atoms[t.atoms[j]];
          for (int mask = 0; mask < 4; ++mask) {
            const bool va = (mask & 1) != 0;
            const bool vb = (mask & 2) != 0;
            if (empty({{a.lang, va}, {b.lang, vb}})) {
              Assert(Not(And({va ? a.var : Not(a.var), vb ? b.var : Not(b.var)})));
            }
          }
        }
      }
    }
  }
};

namespace {
void OnZ3Error(Z3_context ctx, Z3_error_code code) {
  // Recorded by the caller through Z3_get_error_code; never abort the process.
  (void)ctx;
  (void)code;
}
}  // namespace

Space::Space(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Space::~Space() = default;

ErrorOr<std::unique_ptr<Space>> Space::Create(const std::vector<const ir::Policy*>& policies, Limits limits) {
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.limits = limits;
  s.policies = policies;
  for (const ir::Policy* p : policies) {
    for (const ir::ContextField& f : p->context) {
      auto [it, inserted] = s.context.emplace(f.name, std::make_pair(f, f.optional));
      if (!inserted) {
        if (it->second.first.kind != f.kind || it->second.first.spelling != f.spelling) {
          return Error{"the policies declare context field `" + f.name + "` with different types"};
        }
        it->second.second = it->second.second && f.optional;
      }
    }
  }
  Z3_config config = Z3_mk_config();
  Z3_set_param_value(config, "model", "true");
  s.ctx = Z3_mk_context(config);
  Z3_del_config(config);
  if (s.ctx == nullptr) return Error{"cannot start the Z3 solver"};
  Z3_set_error_handler(s.ctx, OnZ3Error);
  s.solver = Z3_mk_solver(s.ctx);
  Z3_solver_inc_ref(s.ctx, s.solver);

  s.any_text = s.languages.Leaf(s.languages.AddAutomaton(Automaton::Without(0)));
  s.some_text = s.languages.Leaf(s.languages.AddAutomaton(Automaton::NonEmptyWithout(0)));
  s.path_domain = s.languages.Leaf(s.languages.AddAutomaton(Automaton::NormalizedAbsolutePath()));
  s.digest_domain = s.languages.Leaf(s.languages.AddAutomaton(Automaton::Sha256Digest()));

  for (std::size_t p = 0; p < policies.size(); ++p) {
    s.policy = policies[p];
    s.policy_index = p;
    s.bindings.assign(s.policy->local_slots, Binding{});
    s.PrepareStructure();
    std::vector<Z3_ast> rules;
    for (const ir::Rule& rule : s.policy->rules) rules.push_back(s.BoolOf(rule.condition));
    s.matches.push_back(std::move(rules));
  }
  // Preferred: short argument lists (readable examples).
  s.short_args = s.FreshBool("short_args");
  s.Assert(Z3_mk_implies(s.ctx, s.short_args, Z3_mk_le(s.ctx, s.ArgCount(), s.Int(3))));
  s.PairwiseLemmas();
  s.observed.assign(s.opaque.size(), -1);
  for (const ir::Policy* p : policies) {
    GOV_ASSIGN_OR_RETURN(interp::PreparedPolicy prepared, interp::PreparedPolicy::Create(*p));
    s.prepared.push_back(std::move(prepared));
  }
  if (Z3_get_error_code(s.ctx) != Z3_OK)
    return Error{std::string("Z3: ") + Z3_get_error_msg(s.ctx, Z3_get_error_code(s.ctx))};
  return std::unique_ptr<Space>(new Space(std::move(impl)));
}

Z3_context Space::context() const {
  return impl_->ctx;
}
Z3_ast Space::Matches(std::size_t policy, std::uint32_t rule) const {
  return impl_->matches[policy][rule];
}
Z3_ast Space::True() const {
  return impl_->True();
}
Z3_ast Space::False() const {
  return impl_->False();
}
Z3_ast Space::And(const std::vector<Z3_ast>& parts) const {
  return impl_->And(parts);
}
Z3_ast Space::Or(const std::vector<Z3_ast>& parts) const {
  return impl_->Or(parts);
}
Z3_ast Space::Not(Z3_ast a) const {
  return impl_->Not(a);
}
void Space::Assert(Z3_ast formula) {
  impl_->Assert(formula);
}

Found Space::Find(Z3_ast query) {
  Impl& s = *impl_;
  Z3_ast guard = s.FreshBool("query");
  s.Assert(Z3_mk_implies(s.ctx, guard, query));
  Found found;
  while (s.query_count < s.limits.searches) {
    // First with the opaque tests as the interpreter last saw them (those
    // assignments are the likely ones to be realized), dropping the
    // preferences an unsatisfiable core names until the guard alone decides.
    std::vector<Z3_ast> assumptions{guard, s.short_args};
    for (std::size_t i = 0; i < s.opaque.size(); ++i) {
      if (s.observed[i] >= 0) assumptions.push_back(s.observed[i] != 0 ? s.opaque[i] : s.Not(s.opaque[i]));
    }
    Z3_lbool result = Z3_L_UNDEF;
    for (;;) {
      ++s.query_count;
      result =
          Z3_solver_check_assumptions(s.ctx, s.solver, static_cast<unsigned>(assumptions.size()), assumptions.data());
      if (result != Z3_L_FALSE || assumptions.size() == 1) break;
      Z3_ast_vector core = Z3_solver_get_unsat_core(s.ctx, s.solver);
      Z3_ast_vector_inc_ref(s.ctx, core);
      std::vector<Z3_ast> kept{guard};
      const unsigned n = Z3_ast_vector_size(s.ctx, core);
      bool dropped = false;
      for (std::size_t i = 1; i < assumptions.size(); ++i) {
        bool in_core = false;
        for (unsigned k = 0; k < n && !in_core; ++k)
          in_core = Z3_is_eq_ast(s.ctx, Z3_ast_vector_get(s.ctx, core, k), assumptions[i]);
        if (in_core) {
          dropped = true;
        } else {
          kept.push_back(assumptions[i]);
        }
      }
      Z3_ast_vector_dec_ref(s.ctx, core);
      if (!dropped) kept.resize(1);
      assumptions = std::move(kept);
      if (s.query_count >= s.limits.searches) break;
    }
    if (result == Z3_L_FALSE) {
      found.status = Found::Status::kExhausted;
      return found;
    }
    if (result != Z3_L_TRUE) {
      ++s.budget_hits;
      found.status = Found::Status::kGaveUp;
      return found;
    }
    if (s.model != nullptr) Z3_model_dec_ref(s.ctx, s.model);
    s.model = Z3_solver_get_model(s.ctx, s.solver);
    Z3_model_inc_ref(s.ctx, s.model);
    Impl::TheoryResult theory = s.Realize(found.requests);
    if (theory == Impl::TheoryResult::kOk) {
      s.Observe(found.requests);
      found.status = Found::Status::kRequest;
      return found;
    }
  }
  ++s.budget_hits;
  found.status = Found::Status::kGaveUp;
  return found;
}

bool Space::LastAssignmentSays(Z3_ast formula) const {
  return impl_->model != nullptr && impl_->ModelBool(formula);
}

void Space::BlockLastAssignment() {
  Impl& s = *impl_;
  if (s.model == nullptr) return;
  std::vector<Impl::Literal> literals;
  for (Z3_ast v : s.opaque) literals.push_back({v, s.ModelBool(v)});
  for (const auto& rules : s.matches) {
    for (Z3_ast m : rules) {
      if (Z3_get_ast_kind(s.ctx, m) == Z3_APP_AST) literals.push_back({m, s.ModelBool(m)});
    }
  }
  s.Learn(literals, {});
}

Z3_ast Space::LastRequestInputs() const {
  const Impl& s = *impl_;
  if (s.model == nullptr) return s.False();
  std::vector<Z3_ast> inputs;
  const auto input = [&](Z3_ast v) { inputs.push_back(s.ModelBool(v) ? v : s.Not(v)); };
  for (std::uint32_t id : s.realized_terms) {
    const StrTerm& t = s.terms[id];
    input(t.present);
    if (!s.ModelBool(t.present)) continue;
    for (std::uint32_t a : t.atoms) input(s.atoms[a].var);
  }
  for (const ListAtom& q : s.list_atoms) input(q.var);
  for (const auto& named : s.bools) input(named.second);
  for (const auto& named : s.ints) {
    Z3_ast value = nullptr;
    if (Z3_model_eval(s.ctx, s.model, named.second, false, &value) && value != nullptr &&
        Z3_is_numeral_ast(s.ctx, value)) {
      inputs.push_back(Z3_mk_eq(s.ctx, named.second, value));
    }
  }
  return s.And(inputs);
}

std::size_t Space::OpaqueAtoms() const {
  return impl_->opaque.size();
}
std::vector<std::string> Space::OpaqueKinds() const {
  return {impl_->opaque_kinds.begin(), impl_->opaque_kinds.end()};
}
std::size_t Space::BudgetHits() const {
  return impl_->budget_hits;
}

}  // namespace gov::analysis
