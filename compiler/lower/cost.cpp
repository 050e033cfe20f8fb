// Static worst-case cost of a Decision IR policy (see cost.h).
#include "compiler/lower/cost.h"

#include <algorithm>
#include <limits>
#include <set>

#include <fmt/format.h>

namespace gov::lower {
namespace {

constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max();

std::uint64_t AddSat(std::uint64_t a, std::uint64_t b) { return a > kSaturated - b ? kSaturated : a + b; }
std::uint64_t MulSat(std::uint64_t a, std::uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > kSaturated / b ? kSaturated : a * b;
}

}  // namespace

CostPolynomial CostPolynomial::Constant(std::uint64_t value) {
  CostPolynomial p;
  if (value != 0) p.terms_[{}] = value;
  return p;
}

CostPolynomial CostPolynomial::Variable(const std::string& name) {
  CostPolynomial p;
  p.terms_[{name}] = 1;
  return p;
}

CostPolynomial CostPolynomial::operator+(const CostPolynomial& other) const {
  CostPolynomial sum = *this;
  for (const auto& [monomial, coefficient] : other.terms_) {
    sum.terms_[monomial] = AddSat(sum.terms_[monomial], coefficient);
  }
  return sum;
}

CostPolynomial CostPolynomial::operator*(const CostPolynomial& other) const {
  CostPolynomial product;
  for (const auto& [ma, ca] : terms_) {
    for (const auto& [mb, cb] : other.terms_) {
      std::vector<std::string> monomial = ma;
      monomial.insert(monomial.end(), mb.begin(), mb.end());
      std::sort(monomial.begin(), monomial.end());
      product.terms_[monomial] = AddSat(product.terms_[monomial], MulSat(ca, cb));
    }
  }
  return product;
}

CostPolynomial CostPolynomial::Max(const CostPolynomial& a, const CostPolynomial& b) {
  CostPolynomial bound = a;
  for (const auto& [monomial, coefficient] : b.terms_) {
    std::uint64_t& into = bound.terms_[monomial];
    into = std::max(into, coefficient);
  }
  return bound;
}

std::uint64_t CostPolynomial::At(std::uint64_t size) const {
  std::uint64_t total = 0;
  for (const auto& [monomial, coefficient] : terms_) {
    std::uint64_t term = coefficient;
    for (std::size_t k = 0; k < monomial.size(); ++k) term = MulSat(term, size);
    total = AddSat(total, term);
  }
  return total;
}

std::string CostPolynomial::ToString() const {
  if (terms_.empty()) return "0";
  // Constant first, then by degree, then by name.
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> ordered(terms_.begin(), terms_.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
  std::string text;
  for (const auto& [monomial, coefficient] : ordered) {
    if (!text.empty()) text += " + ";
    std::string factors;
    for (std::size_t k = 0; k < monomial.size();) {
      std::size_t power = 1;
      while (k + power < monomial.size() && monomial[k + power] == monomial[k]) ++power;
      if (!factors.empty()) factors += "·";
      factors += power == 1 ? monomial[k] : fmt::format("{}^{}", monomial[k], power);
      k += power;
    }
    if (factors.empty()) {
      text += fmt::format("{}", coefficient);
    } else if (coefficient == 1) {
      text += factors;
    } else {
      text += fmt::format("{}·{}", coefficient, factors);
    }
  }
  return text;
}

namespace {

// The length of the collection node `index` evaluates to.
CostPolynomial LengthOf(const ir::Policy& policy, std::uint32_t index) {
  const ir::Node& n = policy.nodes[index];
  switch (n.op) {
    case ir::Op::kConstList:
      return CostPolynomial::Constant(n.kind == ir::Kind::kIntList ? policy.int_lists[n.a].size()
                                                                   : policy.str_lists[n.a].size());
    case ir::Op::kConstMap:
      return CostPolynomial::Constant(policy.maps[n.a].size());
    case ir::Op::kField:
      switch (static_cast<ir::Field>(n.imm)) {
        case ir::Field::kArgs: return CostPolynomial::Variable("args");
        case ir::Field::kEnv: return CostPolynomial::Variable("env");
        case ir::Field::kUserGroups: return CostPolynomial::Variable("groups");
        default: break;
      }
      break;
    case ir::Op::kCoalesce:
    case ir::Op::kIf:
      return CostPolynomial::Max(LengthOf(policy, n.b),
                                 n.op == ir::Op::kIf ? LengthOf(policy, n.c) : LengthOf(policy, n.a));
    default:
      break;
  }
  // Any other collection comes from the request; bound it by the largest.
  return CostPolynomial::Max(CostPolynomial::Variable("args"),
                             CostPolynomial::Max(CostPolynomial::Variable("env"), CostPolynomial::Variable("groups")));
}

}  // namespace

PolicyCost ComputeCost(const ir::Policy& policy) {
  // Nodes are in post-order: every operand precedes its user.
  std::vector<CostPolynomial> node_cost(policy.nodes.size());
  for (std::size_t i = 0; i < policy.nodes.size(); ++i) {
    const ir::Node& n = policy.nodes[i];
    CostPolynomial cost = CostPolynomial::Constant(1);
    auto operand = [&](std::uint32_t index) {
      if (index != ir::kNoNode && index < i) cost = cost + node_cost[index];
    };
    switch (n.op) {
      case ir::Op::kAnd:
      case ir::Op::kOr:
        for (std::uint32_t k = 0; k < n.b; ++k) operand(policy.operands[n.a + k]);
        break;
      case ir::Op::kIf:
        operand(n.a);
        cost = cost + CostPolynomial::Max(node_cost[n.b], node_cost[n.c]);
        break;
      case ir::Op::kAny:
      case ir::Op::kAll:
        operand(n.a);
        cost = cost + LengthOf(policy, n.a) * (node_cost[n.b] + CostPolynomial::Constant(1));
        break;
      case ir::Op::kArgParses:
      case ir::Op::kArgField:
      case ir::Op::kArgSubcommand:
        // A parse reads every argument once (c is a field number).
        operand(n.a);
        operand(n.b);
        cost = cost + LengthOf(policy, n.a);
        break;
      case ir::Op::kConstList:
      case ir::Op::kConstMap:
      case ir::Op::kConstStr:
      case ir::Op::kConstInt:
      case ir::Op::kConstBool:
      case ir::Op::kNone:
      case ir::Op::kField:
      case ir::Op::kLocal:
        break;
      default:
        operand(n.a);
        operand(n.b);
        operand(n.c);
        break;
    }
    node_cost[i] = cost;
  }

  PolicyCost result;
  for (const ir::Rule& rule : policy.rules) {
    result.rules.push_back(rule.condition < node_cost.size() ? node_cost[rule.condition] : CostPolynomial());
  }
  // Buckets: a request selects the unindexed rules, one path bucket and one
  // name bucket. Bound each bucket pair by the most expensive of each kind.
  CostPolynomial unindexed;
  std::uint32_t unindexed_count = 0;
  std::map<std::string, std::pair<CostPolynomial, std::uint32_t>> by_path;
  std::map<std::string, std::pair<CostPolynomial, std::uint32_t>> by_name;
  for (std::size_t r = 0; r < policy.rules.size(); ++r) {
    const ir::Rule& rule = policy.rules[r];
    CostPolynomial cost = result.rules[r] + CostPolynomial::Constant(1);
    if (rule.index.Unindexed()) {
      unindexed = unindexed + cost;
      ++unindexed_count;
      continue;
    }
    for (const std::string& path : rule.index.paths) {
      by_path[path].first = by_path[path].first + cost;
      ++by_path[path].second;
    }
    for (const std::string& name : rule.index.names) {
      by_name[name].first = by_name[name].first + cost;
      ++by_name[name].second;
    }
  }
  auto worst = [](const auto& buckets, CostPolynomial& cost, std::uint32_t& count) {
    for (const auto& [key, bucket] : buckets) {
      cost = CostPolynomial::Max(cost, bucket.first);
      count = std::max(count, bucket.second);
    }
  };
  CostPolynomial path_cost;
  CostPolynomial name_cost;
  std::uint32_t path_count = 0;
  std::uint32_t name_count = 0;
  worst(by_path, path_cost, path_count);
  worst(by_name, name_cost, name_count);
  // A rule indexed under both a path and a name is counted in both buckets:
  // still an upper bound.
  result.decision = CostPolynomial::Constant(1) + unindexed + path_cost + name_cost;
  result.max_rules_evaluated =
      std::min<std::uint32_t>(static_cast<std::uint32_t>(policy.rules.size()), unindexed_count + path_count + name_count);
  return result;
}

}  // namespace gov::lower
