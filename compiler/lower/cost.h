// A static worst-case cost bound of a decision, in IR evaluation steps, for
// `govc check --cost`. Costs are polynomials in the sizes of the request's
// collections (args, env, groups), since quantifiers range over them;
// string operations count one step each (their byte work is linear in the
// lengths of the request's strings and of the policy's constants).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/ir/ir.h"

namespace gov::lower {

// A polynomial with non-negative coefficients over the collection sizes
// "args", "env", "groups". A monomial is a sorted list of variable names
// (repeats for powers); the empty monomial is the constant term.
class CostPolynomial {
 public:
  static CostPolynomial Constant(std::uint64_t value);
  static CostPolynomial Variable(const std::string& name);

  CostPolynomial operator+(const CostPolynomial& other) const;
  CostPolynomial operator*(const CostPolynomial& other) const;
  // The coefficient-wise maximum (an upper bound of both).
  static CostPolynomial Max(const CostPolynomial& a, const CostPolynomial& b);

  // The value with every variable set to `size` (saturating).
  std::uint64_t At(std::uint64_t size) const;
  // E.g. "12 + 4·args + 2·args·env"; coefficients saturate at 2^64-1.
  std::string ToString() const;
  // Monomial (sorted variable names, repeated for powers; empty: the
  // constant) to coefficient, for govc check --cost --format json.
  const std::map<std::vector<std::string>, std::uint64_t>& terms() const { return terms_; }

 private:
  std::map<std::vector<std::string>, std::uint64_t> terms_;
};

// The bound for one rule, and for a whole decision.
struct PolicyCost {
  std::vector<CostPolynomial> rules;  // per rule id: evaluating its condition
  // A decision: the unindexed rules plus the most expensive index bucket
  // (program path bucket + program name bucket), plus one step per rule.
  CostPolynomial decision;
  std::uint32_t max_rules_evaluated = 0;
};

// Computes the bound for a valid policy (ir::Validate passed).
PolicyCost ComputeCost(const ir::Policy& policy);

}  // namespace gov::lower
