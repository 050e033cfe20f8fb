// The decision space of lowered policies, symbolically (docs/diff.md): each
// rule's condition becomes a formula over atoms — Z3 booleans and integers
// for the request's numbers, flags and presences, and for each test of a
// request string a boolean whose meaning is a byte language (language.h).
// A search asks Z3 for an assignment, builds a concrete request that
// realizes it (a shortest string per field in the intersection of its
// languages, argument lists laid out to meet the quantifiers), and learns a
// clause from every combination no request realizes, so an exhausted search
// is a proof. Tests the model does not capture exactly (argument grammars,
// path joins of two request values, ...) are opaque atoms: the search
// assigns them freely and the interpreter, run on the request, says what
// they were; callers confirm every result that way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/ir/ir.h"
#include "runtime/request/request.h"
#include "runtime/support/error_or.h"

typedef struct _Z3_context* Z3_context;
typedef struct _Z3_ast* Z3_ast;

namespace gov::analysis {

// What one search found.
struct Found {
  enum class Status : std::uint8_t {
    kRequest,    // `request` realizes an assignment satisfying the query
    kExhausted,  // no request satisfies the query (given the blocked clauses)
    kGaveUp,     // a search budget ran out first (see Space::Limits)
  } status = Status::kExhausted;
  // The request, once per policy: equal but for the context values, which
  // follow each policy's declarations.
  std::vector<request::Request> requests;
};

class Space {
 public:
  struct Limits {
    std::size_t searches = 4000;          // Z3 checks per Find
    std::size_t language_states = 50000;  // product states per string search
    // Longest argument list modelled: tests of `len(args)` against larger
    // constants, or of elements beyond it, are left to the interpreter.
    std::int64_t max_args = 256;
  };

  // The space of requests to `policies` (their context declarations must
  // agree where they share a name).
  static ErrorOr<std::unique_ptr<Space>> Create(const std::vector<const ir::Policy*>& policies, Limits limits);
  Space(const Space&) = delete;
  Space& operator=(const Space&) = delete;
  ~Space();

  Z3_context context() const;
  // Rule `rule` of policy `policy` matches (its condition is true).
  Z3_ast Matches(std::size_t policy, std::uint32_t rule) const;
  Z3_ast True() const;
  Z3_ast False() const;
  Z3_ast And(const std::vector<Z3_ast>& parts) const;
  Z3_ast Or(const std::vector<Z3_ast>& parts) const;
  Z3_ast Not(Z3_ast a) const;

  // Adds a clause every later search must satisfy.
  void Assert(Z3_ast formula);
  // A request satisfying `query` and everything asserted.
  Found Find(Z3_ast query);
  // Rules out the assignment behind the last found request, restricted to
  // the atoms of `policies`' rules (when the interpreter disagreed with it
  // about an opaque atom): the next search looks elsewhere.
  void BlockLastAssignment();
  // What the last found request was built from: the presence and tests of
  // each string it was solved from, the argument list's tests, the named
  // booleans and integers, as the last assignment has them. Every assignment
  // that satisfies this builds the same request (the tests of strings it was
  // not built from, absent or derived ones, do not matter), so whatever the
  // interpreter decided on it holds under this formula.
  Z3_ast LastRequestInputs() const;
  // Whether the last found request's assignment says `formula` is true.
  bool LastAssignmentSays(Z3_ast formula) const;

  // Atoms the model does not capture exactly, per policy, and in words.
  std::size_t OpaqueAtoms() const;
  std::vector<std::string> OpaqueKinds() const;
  // Searches that met a budget. Each rules its assignment out without
  // proof, so once this is non-zero an exhausted search proves nothing.
  std::size_t BudgetHits() const;

  struct Impl;

 private:
  explicit Space(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gov::analysis
