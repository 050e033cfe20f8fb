// Lowering of the Decision IR to LLVM IR (see emit.h and docs/codegen.md).
//
// Shape of a generated module:
//   gov_decide            the ABI entry: request validation, rule-index
//                         lookup, a merge over the candidate rule lists in
//                         ascending id order with a switch to the rule
//                         functions, decision combination, output.
//   gov.shape.N           one per rule shape (condition structure):
//                         evaluates the condition with the rule's constant
//                         block; returns 0 (no match), 1 (match) or
//                         0x100 | gov_error.
//   gov.sub.N             one per outlined subexpression structure.
//   gov.dfa               the DFA loop over constant tables.
//   gov.<utility>         byte loops (compare, search, copy) as internal
//                         functions; the optimizer inlines what pays.
// Every function carries "no-builtins" so that the optimizer never turns a
// byte loop into a call of memcpy/memcmp/memset: the object must reference
// no external symbol (runtime calls go through the gov_helpers table).
//
// Errors inside a rule: the op stores its gov_error into the rule's error
// slot and branches to the error block it was given; `and`/`or`/`any`/`all`
// give their operands blocks that record the first error and continue.
// Values are kept in allocas where control flow merges through loops; the
// optimizer's SROA/mem2reg turns them into registers.
#include "compiler/codegen/emit.h"

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "runtime/abi/gov_abi.h"
#include "runtime/ir/serialize.h"
#include "runtime/pattern/pattern.h"

namespace gov::codegen::internal {
namespace {

using llvm::BasicBlock;
using llvm::Value;

// What a rule function returns.
constexpr std::uint32_t kRuleMatch = 1;
constexpr std::uint32_t kRuleErrorFlag = 0x100;
// Sentinel ending every candidate rule list (no rule has this id).
constexpr std::uint32_t kEndOfList = GOV_NO_RULE;
// In a rule-index key record: "the list is in index.pool" (else inline).
constexpr std::uint32_t kPoolMark = GOV_NO_RULE - 1;
// Header words of a rule's block in gov.consts before its constants:
// id | shape << 32, verdict | obligation row << 32.
constexpr std::uint64_t kBlockHeaderWords = 2;
// What one rule counts against the emitted-node budget besides its nodes.
constexpr std::uint64_t kRuleCostInNodes = 4;
// The rule conditions of a policy, expanded to trees, may count this many
// times the emitted-node budget in total (shapes are emitted once).
constexpr std::uint64_t kWalkBudgetFactor = 100;
// In the slot list of a block: a use of the outlined node in the low bits.
constexpr std::uint32_t kOutlinedUse = 0x80000000;
// A subexpression whose structure occurs more than once in the rule
// conditions (expanded to trees) and whose own code has at least this many
// nodes is emitted once, as a function of its own (see PlanOutlining).
constexpr std::uint64_t kOutlineMinNodes = 6;
// Where tree sizes and occurrence counts stop growing (no overflow).
constexpr std::uint64_t kSaturate = std::uint64_t{1} << 40;

// The value of one node in generated code. `present` is an i1 (constant true
// for nodes that are never absent). Components by kind:
//   Bool: x i1; Int: x i64; Str: x data, y size (i64);
//   StrList: x gov_str*, y count; IntList: x int64_t*, y count;
//   StrMap: x keys (gov_str*), y values (gov_str*), z count.
// Components of an absent value are unspecified: every use is guarded.
struct Val {
  Value* present = nullptr;
  Value* x = nullptr;
  Value* y = nullptr;
  Value* z = nullptr;
  // Constant lists only: the list sorted and deduplicated, for `in`.
  Value* set_items = nullptr;
  Value* set_count = nullptr;
};

// Words of a rule's constant block taken by one constant occurrence (see
// PlanShapes). Pointers are stored as offsets from the start of gov.consts.
//   kConstStr: offset, size      kConstInt: value
//   kConstList: offset, count, sorted-set offset, set count
//   kConstMap: keys offset, values offset, count
//   kMatches: mode, start state, class count, class/next/accept offsets
std::uint32_t SlotWords(ir::Op op) {
  switch (op) {
    case ir::Op::kConstStr:
      return 2;
    case ir::Op::kConstInt:
      return 1;
    case ir::Op::kConstList:
      return 4;
    case ir::Op::kConstMap:
      return 3;
    case ir::Op::kMatches:
      return 6;
    default:
      return 0;
  }
}

// DFA modes stored in a kMatches slot.
constexpr std::uint64_t kDfaRun = 0;
constexpr std::uint64_t kDfaEverything = 1;
constexpr std::uint64_t kDfaNothing = 2;
// As kDfaRun, with one-byte transitions in gov.dfa.next8 (at most 256 states).
constexpr std::uint64_t kDfaRun8 = 3;
// At most 256 states, transitions row-displaced ("comb", as flex and yacc
// pack their tables): per state one u32 in gov.dfa.state, its base in
// gov.dfa.comb << 8 | its default target; the u16 entry at base + class is
// (owner state << 8 | target), taken when its owner is the current state,
// else the default. Slot words: mode, start, comb offset, class offset,
// state offset, accept offset. Chosen when smaller than the flat table.
constexpr std::uint64_t kDfaComb = 4;

// The shared hash of rule-index keys: computed here at compile time and by
// the generated gov.hash at decision time (8 bytes at a time, little-endian).
constexpr std::uint64_t kHashMul = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kHashMul2 = 0xff51afd7ed558ccdULL;
std::uint64_t IndexHash(const std::string& key) {
  std::uint64_t h = 0x243f6a8885a308d3ULL ^ (static_cast<std::uint64_t>(key.size()) * kHashMul);
  std::size_t i = 0;
  auto mix = [&](std::uint64_t w) {
    h = (h ^ w) * kHashMul;
    h ^= h >> 29;
  };
  for (; i + 8 <= key.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 7; k >= 0; --k) w = (w << 8) | static_cast<unsigned char>(key[i + static_cast<std::size_t>(k)]);
    mix(w);
  }
  if (i < key.size()) {
    std::uint64_t w = 0;
    for (std::size_t k = key.size(); k > i; --k) w = (w << 8) | static_cast<unsigned char>(key[k - 1]);
    mix(w);
  }
  h ^= h >> 32;
  h *= kHashMul2;
  h ^= h >> 29;
  return h;
}

class Emitter {
 public:
  Emitter(const ir::Policy& policy, llvm::LLVMContext& context, std::uint64_t budget)
      : p_(policy), ctx_(context), b_(context), budget_(budget), walk_budget_(budget * kWalkBudgetFactor) {}

  ErrorOr<std::unique_ptr<llvm::Module>> Run(const std::string& triple, const std::string& data_layout) {
    if (std::string problem = ir::Validate(p_); !problem.empty()) {
      return Error{"invalid Decision IR: " + problem};
    }
    if (p_.rules.size() >= kEndOfList) return Error{"too many rules"};
    m_ = std::make_unique<llvm::Module>(p_.name.empty() ? "gov_policy" : p_.name, ctx_);
    m_->setTargetTriple(triple);
    m_->setDataLayout(data_layout);
    i1_ = b_.getInt1Ty();
    i8_ = b_.getInt8Ty();
    i16_ = b_.getInt16Ty();
    i32_ = b_.getInt32Ty();
    i64_ = b_.getInt64Ty();
    ptr_ = b_.getPtrTy();
    str_ty_ = llvm::StructType::get(ctx_, {ptr_, i64_});

    if (p_.nodes.size() >= kOutlinedUse) return Error{"the policy has too many expression nodes"};
    PlanStructures();
    if (!error_.empty()) return Error{error_};
    PlanShapes();
    PlanOutlining();
    rule_slots_.resize(p_.rules.size());
    for (std::size_t r = 0; r < p_.rules.size(); ++r) AppendSlots(p_.rules[r].condition, ir::kNoNode, rule_slots_[r]);
    if (!error_.empty()) return Error{error_};
    BuildData();
    if (!error_.empty()) return Error{error_};
    for (std::size_t s = 0; s < shapes_.size() && error_.empty(); ++s) shapes_[s].fn = EmitShape(s);
    if (!error_.empty()) return Error{error_};
    EmitDecide();
    if (!error_.empty()) return Error{error_};
    return std::move(m_);
  }

 private:
  // ---- Small building blocks ------------------------------------------

  void SetError(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

  llvm::Function* NewFunction(const std::string& name, llvm::Type* result, llvm::ArrayRef<llvm::Type*> params,
                              bool external = false) {
    auto* type = llvm::FunctionType::get(result, params, false);
    auto* fn = llvm::Function::Create(
        type, external ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage, name, *m_);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    // Like -fno-builtin: the optimizer may not introduce library calls.
    fn->addFnAttr("no-builtins");
    return fn;
  }

  BasicBlock* NewBlock(const char* name) { return BasicBlock::Create(ctx_, name, b_.GetInsertBlock()->getParent()); }

  // An alloca in the entry block of the current function (for mem2reg).
  llvm::AllocaInst* EntryAlloca(llvm::Type* type, const char* name) {
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
    return entry.CreateAlloca(type, nullptr, name);
  }

  Value* BytePtr(Value* base, Value* offset) { return b_.CreateInBoundsGEP(i8_, base, offset); }
  Value* BytePtr(Value* base, std::uint64_t offset) { return b_.CreateConstInBoundsGEP1_64(i8_, base, offset); }

  Value* LoadAt(llvm::Type* type, Value* base, std::uint64_t offset, unsigned align) {
    return b_.CreateAlignedLoad(type, BytePtr(base, offset), llvm::Align(align));
  }
  void StoreAt(Value* value, Value* base, std::uint64_t offset, unsigned align) {
    b_.CreateAlignedStore(value, BytePtr(base, offset), llvm::Align(align));
  }

  // Element `index` of an array of gov_str: (data, size).
  std::pair<Value*, Value*> LoadStrElement(Value* items, Value* index) {
    Value* element = b_.CreateInBoundsGEP(str_ty_, items, index);
    Value* data = b_.CreateAlignedLoad(ptr_, b_.CreateStructGEP(str_ty_, element, 0), llvm::Align(8));
    Value* size = b_.CreateAlignedLoad(i64_, b_.CreateStructGEP(str_ty_, element, 1), llvm::Align(8));
    return {data, size};
  }

  // Emits `if (cond) return value;` and continues in a new block.
  void ReturnIf(Value* cond, Value* value) {
    BasicBlock* yes = NewBlock("ret");
    BasicBlock* no = NewBlock("cont");
    b_.CreateCondBr(cond, yes, no);
    b_.SetInsertPoint(yes);
    b_.CreateRet(value);
    b_.SetInsertPoint(no);
  }

  // Emits `for (i = 0; i < n; ++i) body(i);` (unsigned i64) and continues
  // after the loop. `body` may add blocks; its last block falls through.
  void CountedLoop(Value* n, const std::function<void(Value*)>& body) {
    BasicBlock* before = b_.GetInsertBlock();
    BasicBlock* header = NewBlock("loop");
    BasicBlock* body_block = NewBlock("body");
    BasicBlock* exit = NewBlock("exit");
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* i = b_.CreatePHI(i64_, 2, "i");
    i->addIncoming(b_.getInt64(0), before);
    b_.CreateCondBr(b_.CreateICmpULT(i, n), body_block, exit);
    b_.SetInsertPoint(body_block);
    body(i);
    Value* next = b_.CreateAdd(i, b_.getInt64(1), "", /*HasNUW=*/true);
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(exit);
  }

  llvm::GlobalVariable* ConstGlobal(llvm::Constant* init, const std::string& name) {
    auto* global = new llvm::GlobalVariable(*m_, init->getType(), /*isConstant=*/true,
                                            llvm::GlobalValue::PrivateLinkage, init, name);
    global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return global;
  }

  // ---- Structures, shapes, outlining -------------------------------------
  //
  // A node's *structure* is its tree (the DAG expanded per use) up to
  // constant values: ops, kinds, optional flags, fields, quantifier slots,
  // `and`/`or` arity, boolean constants and command numbers, but not the
  // values of string, int, list and map constants or the pattern of a
  // `matches`. Structures are interned bottom-up, so equal trees get one id
  // without ever being expanded.
  //
  // Rules whose conditions have one structure share one function,
  // gov.shape.N, that reads the constants from the rule's block of 64-bit
  // words in gov.consts (SlotWords). Lowering inlines `def`s by
  // substitution, so the trees also repeat whole subexpressions (a
  // standard-library predicate of `cwd / a` in every rule that asks it): a
  // subexpression whose structure occurs more than once in the shapes' trees
  // and whose own code (outlined operands count as one node) has at least
  // kOutlineMinNodes nodes is emitted once, as gov.sub.N. Its constants live
  // in a block of their own, shared by every use with the same constants;
  // a use takes one word in its user's block, the offset of that block.
  // Evaluation is unchanged: each call evaluates, takes scratch and fails
  // exactly as the inline code would (docs/codegen.md).
  struct Shape {
    std::size_t representative = 0;  // the first rule of this shape
    llvm::Function* fn = nullptr;
  };

  // A quantifier slot a subexpression reads without binding it, with the
  // kind it reads (sorted by slot).
  static std::uint64_t FreeSlot(std::uint32_t slot, ir::Kind kind) {
    return (std::uint64_t{slot} << 8) | static_cast<std::uint64_t>(kind);
  }
  static std::uint32_t SlotOf(std::uint64_t free) { return static_cast<std::uint32_t>(free >> 8); }
  static ir::Kind KindOf(std::uint64_t free) { return static_cast<ir::Kind>(free & 0xff); }

  static bool IsConstant(ir::Op op) { return SlotWords(op) != 0 && op != ir::Op::kMatches; }

  // The node operands of `n`, in the order emission reads them: a, b, c
  // (and/or: operand list order).
  std::vector<std::uint32_t> WalkOperands(const ir::Node& n) const {
    std::vector<std::uint32_t> out;
    if (IsConstant(n.op) || n.op == ir::Op::kField || n.op == ir::Op::kLocal) return out;
    if (n.op == ir::Op::kMatches) return {n.a};
    if (n.op == ir::Op::kAnd || n.op == ir::Op::kOr) {
      for (std::uint32_t k = 0; k < n.b; ++k) out.push_back(p_.operands[n.a + k]);
      return out;
    }
    for (std::uint32_t operand : {n.a, n.b, n.op == ir::Op::kArgField ? ir::kNoNode : n.c}) {
      if (operand != ir::kNoNode) out.push_back(operand);
    }
    return out;
  }

  // Structure ids, tree sizes, nesting depths and free quantifier slots of
  // every node (operands precede users), with the policy's limits: nesting
  // depth, and the size of all rule conditions expanded to trees (what the
  // interpreter walks; code is emitted per structure, but every use is
  // still evaluated).
  void PlanStructures() {
    const std::size_t count = p_.nodes.size();
    std::map<std::vector<std::uint64_t>, std::uint32_t> ids;
    std::vector<int> depth(count, 0);
    structure_.assign(count, 0);
    tree_nodes_.assign(count, 0);
    free_slots_.assign(count, {});
    for (std::size_t i = 0; i < count; ++i) {
      const ir::Node& n = p_.nodes[i];
      std::vector<std::uint64_t> key{static_cast<std::uint64_t>(n.op), static_cast<std::uint64_t>(n.kind),
                                     n.optional ? 1u : 0u};
      if (n.op == ir::Op::kAnd || n.op == ir::Op::kOr) {
        key.push_back(n.b);
      } else if (n.op != ir::Op::kMatches && !IsConstant(n.op)) {
        key.push_back(static_cast<std::uint64_t>(n.imm));
        if (n.op == ir::Op::kField || n.op == ir::Op::kLocal) key.push_back(n.a);
        if (n.op == ir::Op::kArgField) key.push_back(n.c);  // a field number, not a node
      }
      std::uint64_t nodes = 1;
      std::vector<std::uint64_t> free;
      if (n.op == ir::Op::kLocal) free.push_back(FreeSlot(n.a, n.kind));
      for (std::uint32_t operand : WalkOperands(n)) {
        key.push_back(structure_[operand]);
        nodes = std::min(kSaturate, nodes + tree_nodes_[operand]);
        depth[i] = std::max(depth[i], depth[operand] + 1);
        std::vector<std::uint64_t> operand_free = free_slots_[operand];
        // A quantifier binds its slot in its body (operand b).
        if ((n.op == ir::Op::kAny || n.op == ir::Op::kAll) && operand == n.b) {
          operand_free.erase(std::remove_if(operand_free.begin(), operand_free.end(),
                                            [&](std::uint64_t f) { return SlotOf(f) == n.imm; }),
                             operand_free.end());
        }
        std::vector<std::uint64_t> merged;
        std::set_union(free.begin(), free.end(), operand_free.begin(), operand_free.end(), std::back_inserter(merged));
        free = std::move(merged);
      }
      structure_[i] = ids.emplace(std::move(key), static_cast<std::uint32_t>(ids.size())).first->second;
      tree_nodes_[i] = nodes;
      free_slots_[i] = std::move(free);
    }
    structure_count_ = ids.size();
    std::uint64_t walked = 0;
    for (const ir::Rule& rule : p_.rules) {
      if (depth[rule.condition] >= kMaxDepth) {
        SetError("the policy nests deeper than " + std::to_string(kMaxDepth) + " expression levels");
        return;
      }
      walked = std::min(kSaturate, walked + tree_nodes_[rule.condition]);
    }
    if (walked > walk_budget_) SetWalkBudgetError();
  }

  void SetWalkBudgetError() {
    SetError("the policy's rule conditions expand to more than " + std::to_string(walk_budget_) +
             " expression nodes in total");
  }

  void PlanShapes() {
    std::map<std::uint32_t, std::uint32_t> by_structure;
    rule_shape_.resize(p_.rules.size());
    for (std::size_t r = 0; r < p_.rules.size(); ++r) {
      auto [it, fresh] =
          by_structure.emplace(structure_[p_.rules[r].condition], static_cast<std::uint32_t>(shapes_.size()));
      if (fresh) shapes_.push_back(Shape{r, nullptr});
      rule_shape_[r] = it->second;
    }
  }

  void PlanOutlining() {
    const std::size_t count = p_.nodes.size();
    // Occurrences of each node in the trees of the shape functions.
    std::vector<std::uint64_t> occurrences(count, 0);
    for (const Shape& shape : shapes_) {
      std::uint32_t root = p_.rules[shape.representative].condition;
      occurrences[root] = std::min(kSaturate, occurrences[root] + 1);
    }
    for (std::size_t i = count; i-- > 0;) {
      if (occurrences[i] == 0) continue;
      for (std::uint32_t operand : WalkOperands(p_.nodes[i])) {
        occurrences[operand] = std::min(kSaturate, occurrences[operand] + occurrences[i]);
      }
    }
    std::vector<std::uint64_t> by_structure(structure_count_, 0);
    for (std::size_t i = 0; i < count; ++i) {
      by_structure[structure_[i]] = std::min(kSaturate, by_structure[structure_[i]] + occurrences[i]);
    }
    // Operands precede users, so their decisions are made first.
    outline_.assign(structure_count_, false);
    std::vector<std::uint64_t> own_nodes(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
      if (IsConstant(p_.nodes[i].op)) {
        own_nodes[i] = 1;
        continue;
      }
      std::uint64_t own = 1;
      for (std::uint32_t operand : WalkOperands(p_.nodes[i])) {
        own = std::min(kSaturate, own + (outline_[structure_[operand]] ? 1 : own_nodes[operand]));
      }
      own_nodes[i] = own;
      if (by_structure[structure_[i]] >= 2 && own >= kOutlineMinNodes) outline_[structure_[i]] = true;
    }
    outlined_.assign(structure_count_, nullptr);
  }

  // The slots of the block of node `index`'s code: its constant occurrences
  // and the uses of outlined subexpressions (kOutlinedUse | node), in the
  // order emission reads them (pre-order). `expand` is the node whose own
  // function is being laid out (not a use of itself).
  void AppendSlots(std::uint32_t index, std::uint32_t expand, std::vector<std::uint32_t>& slots) {
    if (!error_.empty()) return;
    if (++laid_out_ > walk_budget_) {
      SetWalkBudgetError();
      return;
    }
    const ir::Node& n = p_.nodes[index];
    if (index != expand && outline_[structure_[index]]) {
      slots.push_back(kOutlinedUse | index);
      return;
    }
    if (SlotWords(n.op) != 0) slots.push_back(index);
    for (std::uint32_t operand : WalkOperands(n)) AppendSlots(operand, expand, slots);
  }

  // The slots of outlined node `index`'s own block.
  const std::vector<std::uint32_t>& OutlinedSlots(std::uint32_t index) {
    auto [it, fresh] = outlined_slots_.try_emplace(index);
    if (fresh) AppendSlots(index, index, it->second);
    return it->second;
  }

  // ---- Constant data --------------------------------------------------------
  //
  // All constants live in a few blobs without dynamic relocations except
  // gov.lists' string pointers: gov.strings (bytes), gov.lists (gov_str
  // elements of constant lists, sets and map keys/values), gov.ints (int64
  // elements), gov.dfa.class/next/accept (pattern tables), gov.consts (the
  // rule blocks: offsets and sizes into those blobs).

  std::uint64_t StringOffset(const std::string& text) {
    auto [it, fresh] = string_offsets_.emplace(text, strings_.size());
    if (fresh) strings_ += text;
    return it->second;
  }
  // The offset of `items` in gov.lists / gov.ints, stored once per distinct
  // content (a constant set is its own sorted copy; `items` must outlive the
  // emitter: the pools or sorted_sets_).
  std::uint64_t ListOfStrings(const std::vector<std::string>& items) {
    auto [it, fresh] = string_list_offsets_.try_emplace(items, list_items_.size());
    if (fresh) {
      for (const std::string& item : items) list_items_.push_back(&item);
    }
    return it->second;
  }
  std::uint64_t ListOfInts(const std::vector<std::int64_t>& items) {
    auto [it, fresh] = int_list_offsets_.try_emplace(items, ints_.size());
    if (fresh) {
      for (std::int64_t item : items) ints_.push_back(static_cast<std::uint64_t>(item));
    }
    return it->second;
  }

  // Appends the words of constant occurrence `index` (see SlotWords).
  void AppendSlotWords(std::uint32_t index, std::vector<std::uint64_t>& out) {
    const ir::Node& n = p_.nodes[index];
    switch (n.op) {
      case ir::Op::kConstStr: {
        const std::string& text = p_.strings[n.a];
        out.push_back(StringOffset(text));
        out.push_back(text.size());
        return;
      }
      case ir::Op::kConstInt:
        out.push_back(static_cast<std::uint64_t>(n.imm));
        return;
      case ir::Op::kConstList: {
        bool strings = n.kind == ir::Kind::kStrList;
        auto [it, fresh] = list_words_.emplace(std::make_pair(strings, n.a), std::array<std::uint64_t, 4>{});
        if (fresh) {
          if (strings) {
            std::vector<std::string> set = p_.str_lists[n.a];
            std::sort(set.begin(), set.end());
            set.erase(std::unique(set.begin(), set.end()), set.end());
            sorted_sets_.push_back(std::move(set));
            it->second = {ListOfStrings(p_.str_lists[n.a]), p_.str_lists[n.a].size(),
                          ListOfStrings(sorted_sets_.back()), sorted_sets_.back().size()};
          } else {
            std::vector<std::int64_t> set = p_.int_lists[n.a];
            std::sort(set.begin(), set.end());
            set.erase(std::unique(set.begin(), set.end()), set.end());
            it->second = {ListOfInts(p_.int_lists[n.a]), p_.int_lists[n.a].size(), ListOfInts(set), set.size()};
          }
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
      case ir::Op::kConstMap: {
        auto [it, fresh] = map_words_.emplace(n.a, std::array<std::uint64_t, 3>{});
        if (fresh) {
          const auto& map = p_.maps[n.a];
          std::uint64_t keys = list_items_.size();
          for (const auto& entry : map) list_items_.push_back(&entry.first);
          std::uint64_t values = list_items_.size();
          for (const auto& entry : map) list_items_.push_back(&entry.second);
          it->second = {keys, values, map.size()};
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
      case ir::Op::kMatches: {
        auto pattern = static_cast<std::size_t>(n.imm);
        auto [it, fresh] = pattern_words_.emplace(pattern, std::array<std::uint64_t, 6>{});
        if (fresh) {
          std::optional<pattern::Dfa> dfa = pattern::Dfa::Deserialize(p_.patterns[pattern].dfa);
          if (!dfa) {
            SetError("pattern " + std::to_string(pattern) + ": automaton bytes are invalid");
            return;
          }
          if (dfa->MatchesEverything() || dfa->MatchesNothing()) {
            it->second = {dfa->MatchesEverything() ? kDfaEverything : kDfaNothing, 0, 0, 0, 0, 0};
          } else if (std::optional<std::array<std::uint64_t, 6>> comb = AppendComb(*dfa)) {
            it->second = *comb;
          } else {
            const bool narrow = dfa->StateCount() <= 256;
            it->second = {
                narrow ? kDfaRun8 : kDfaRun, static_cast<std::uint64_t>(dfa->start_state()), dfa->class_count(),
                dfa_class_.size(),           narrow ? dfa_next8_.size() : dfa_next_.size(),  dfa_accept_.size()};
            dfa_class_.insert(dfa_class_.end(), dfa->byte_class().begin(), dfa->byte_class().end());
            if (narrow) {
              for (const std::uint16_t next : dfa->transitions()) dfa_next8_.push_back(static_cast<std::uint8_t>(next));
            } else {
              dfa_next_.insert(dfa_next_.end(), dfa->transitions().begin(), dfa->transitions().end());
            }
            dfa_accept_.insert(dfa_accept_.end(), dfa->accepting().begin(), dfa->accepting().end());
          }
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
      default:
        SetError("internal error: node " + std::to_string(index) + " is not a constant");
        return;
    }
  }

  // Appends `dfa` in the kDfaComb form and returns its slot words, or
  // nothing when it has more than 256 states or the comb would not be
  // smaller than the flat u8 table.
  std::optional<std::array<std::uint64_t, 6>> AppendComb(const pattern::Dfa& dfa) {
    const std::size_t states = dfa.StateCount();
    const std::size_t classes = dfa.class_count();
    if (states > 256) return std::nullopt;
    const std::span<const std::uint16_t> next = dfa.transitions();
    std::vector<std::uint16_t> comb;
    std::vector<std::uint32_t> state_words(states, 0);
    std::vector<std::uint16_t> row_default(states, 0);
    std::vector<std::vector<std::uint32_t>> exceptions(states);
    for (std::size_t st = 1; st < states; ++st) {
      row_default[st] = dfa.CommonTarget(st);
      for (std::size_t c = 0; c < classes; ++c) {
        if (next[st * classes + c] != row_default[st]) exceptions[st].push_back(static_cast<std::uint32_t>(c));
      }
    }
    // First fit: the lowest base whose entries for the state's exceptions
    // are free (entry 0 is free: state 0, the dead state, is never looked
    // up, so no state owns 0).
    for (std::size_t st = 1; st < states; ++st) {
      std::size_t base = 0;
      for (;; ++base) {
        bool fits = true;
        for (std::uint32_t c : exceptions[st]) {
          if (base + c < comb.size() && comb[base + c] != 0) {
            fits = false;
            break;
          }
        }
        if (fits) break;
      }
      if (comb.size() < base + classes) comb.resize(base + classes, 0);
      for (std::uint32_t c : exceptions[st]) {
        comb[base + c] = static_cast<std::uint16_t>(st << 8 | next[st * classes + c]);
      }
      state_words[st] = static_cast<std::uint32_t>(base << 8 | row_default[st]);
    }
    if (4 * states + 2 * comb.size() >= states * classes) return std::nullopt;
    std::array<std::uint64_t, 6> words = {kDfaComb,          static_cast<std::uint64_t>(dfa.start_state()),
                                          dfa_comb_.size(),  dfa_class_.size(),
                                          dfa_state_.size(), dfa_accept_.size()};
    dfa_comb_.insert(dfa_comb_.end(), comb.begin(), comb.end());
    dfa_state_.insert(dfa_state_.end(), state_words.begin(), state_words.end());
    dfa_class_.insert(dfa_class_.end(), dfa.byte_class().begin(), dfa.byte_class().end());
    dfa_accept_.insert(dfa_accept_.end(), dfa.accepting().begin(), dfa.accepting().end());
    return words;
  }

  // A private constant array of `items` (never empty: one zero element is
  // appended, so every offset into it is in bounds).
  template <typename T>
  llvm::GlobalVariable* DataBlob(std::vector<T> items, const char* name) {
    items.push_back(0);
    return ConstGlobal(llvm::ConstantDataArray::get(ctx_, items), name);
  }

  // Appends the words of `slots` to `block`: constants (SlotWords), and for
  // a use of an outlined node the offset in gov.consts of its block, which
  // is appended to gov.consts first (once per distinct content).
  void AppendBlockSlots(const std::vector<std::uint32_t>& slots, std::vector<std::uint64_t>& block) {
    for (std::uint32_t slot : slots) {
      if ((slot & kOutlinedUse) == 0) {
        AppendSlotWords(slot, block);
        continue;
      }
      const std::uint32_t index = slot & ~kOutlinedUse;
      auto known = outlined_block_.find(index);
      if (known == outlined_block_.end()) {
        std::vector<std::uint64_t> words;
        AppendBlockSlots(OutlinedSlots(index), words);
        auto [same, fresh] = block_offsets_.try_emplace(words, words_.size());
        if (fresh) words_.insert(words_.end(), words.begin(), words.end());
        known = outlined_block_.emplace(index, same->second).first;
      }
      block.push_back(known->second);
    }
  }

  // Builds every constant blob: the rule blocks, the rule tables and the
  // rule index (whose keys go into gov.strings too).
  void BuildData() {
    rule_block_.resize(p_.rules.size());
    // Scalar obligation rows, deduplicated; row 0 ("none") serves deny
    // rules and rules without scalar obligations.
    obligation_rows_.assign(4, 0);
    std::map<std::array<std::uint64_t, 4>, std::uint32_t> row_of{{{0, 0, 0, 0}, 0}};
    for (std::size_t r = 0; r < p_.rules.size() && error_.empty(); ++r) {
      const ir::Rule& rule = p_.rules[r];
      const ir::Obligations& o = rule.obligations;
      std::array<std::uint64_t, 4> row{};
      if (rule.verdict != ir::Verdict::kDeny) {
        row = {static_cast<std::uint64_t>(o.timeout_ms), static_cast<std::uint64_t>(o.memory_bytes),
               static_cast<std::uint64_t>(o.processes), static_cast<std::uint64_t>(o.network)};
      }
      auto [it, fresh] = row_of.emplace(row, static_cast<std::uint32_t>(row_of.size()));
      if (fresh) obligation_rows_.insert(obligation_rows_.end(), row.begin(), row.end());
      std::vector<std::uint64_t> block{r | (std::uint64_t{rule_shape_[r]} << 32),
                                       static_cast<std::uint64_t>(rule.verdict) | (std::uint64_t{it->second} << 32)};
      AppendBlockSlots(rule_slots_[r], block);
      rule_block_[r] = words_.size();
      words_.insert(words_.end(), block.begin(), block.end());
    }
    if (words_.size() >= kPoolMark) {
      SetError("the policy has too many constants");
      return;
    }
    BuildIndex();
    if (!error_.empty()) return;
    for (const std::string* item : list_items_) StringOffset(*item);
    if (strings_.size() >= kEndOfList || list_items_.size() >= kEndOfList) {
      SetError("the policy has too many constants");
      return;
    }
    strings_.push_back('\0');
    strings_global_ = ConstGlobal(llvm::ConstantDataArray::getString(ctx_, strings_, /*AddNull=*/false), "gov.strings");
    strings_global_->setAlignment(llvm::Align(8));
    std::vector<llvm::Constant*> elements;
    elements.reserve(list_items_.size() + 1);
    for (const std::string* item : list_items_) {
      llvm::Constant* data =
          llvm::ConstantExpr::getInBoundsGetElementPtr(i8_, strings_global_, b_.getInt64(StringOffset(*item)));
      elements.push_back(llvm::ConstantStruct::get(str_ty_, {data, b_.getInt64(item->size())}));
    }
    elements.push_back(llvm::Constant::getNullValue(str_ty_));
    lists_global_ =
        ConstGlobal(llvm::ConstantArray::get(llvm::ArrayType::get(str_ty_, elements.size()), elements), "gov.lists");
    ints_global_ = DataBlob(ints_, "gov.ints");
    consts_global_ = DataBlob(words_, "gov.consts");
    dfa_class_global_ = DataBlob(dfa_class_, "gov.dfa.class");
    dfa_next_global_ = DataBlob(dfa_next_, "gov.dfa.next");
    dfa_next8_global_ = DataBlob(dfa_next8_, "gov.dfa.next8");
    dfa_comb_global_ = DataBlob(dfa_comb_, "gov.dfa.comb");
    dfa_state_global_ = DataBlob(dfa_state_, "gov.dfa.state");
    dfa_accept_global_ = DataBlob(dfa_accept_, "gov.dfa.accept");
  }

  // The rule index as open-addressing hash tables (paths, names): `slots`
  // (power-of-two size, at most half full) holds key number + 1 or 0 for
  // empty; `records` has four u64 per key: its IndexHash, the offset and
  // length of its bytes in gov.strings, and its candidate list: rules are
  // named by the offsets of their blocks in gov.consts (ascending like
  // their ids), lists end with kEndOfList. A key of one rule holds its list
  // inline (block | kEndOfList << 32); otherwise kPoolMark | the list's
  // offset in index.pool << 32.
  struct KeyTable {
    std::size_t keys = 0;
    std::uint64_t mask = 0;
    llvm::Constant* slots = nullptr;
    llvm::Constant* records = nullptr;
  };
  KeyTable BuildKeyTable(const std::map<std::string, std::vector<std::uint32_t>>& by_key, const char* name) {
    KeyTable table;
    table.keys = by_key.size();
    if (table.keys == 0) return table;
    std::size_t capacity = 4;
    while (capacity < 2 * table.keys) capacity *= 2;
    std::vector<std::uint32_t> slots(capacity, 0);
    std::vector<std::uint64_t> records;
    for (const auto& [key, rules] : by_key) {
      std::uint64_t hash = IndexHash(key);
      std::size_t at = hash & (capacity - 1);
      while (slots[at] != 0) at = (at + 1) & (capacity - 1);
      slots[at] = static_cast<std::uint32_t>(records.size() / 4 + 1);
      std::uint64_t list = 0;
      if (rules.size() == 1) {
        list = rules[0] | (std::uint64_t{kEndOfList} << 32);
      } else {
        list = kPoolMark | (static_cast<std::uint64_t>(pool_.size()) << 32);
        pool_.insert(pool_.end(), rules.begin(), rules.end());
        pool_.push_back(kEndOfList);
      }
      records.insert(records.end(), {hash, StringOffset(key), key.size(), list});
    }
    table.mask = capacity - 1;
    table.slots = U32Array(slots, name);
    auto* records_global = ConstGlobal(llvm::ConstantDataArray::get(ctx_, records), "index.records");
    records_global->setAlignment(llvm::Align(32));
    table.records = records_global;
    return table;
  }

  void BuildIndex() {
    std::map<std::string, std::vector<std::uint32_t>> by_path;
    std::map<std::string, std::vector<std::uint32_t>> by_name;
    for (std::size_t r = 0; r < p_.rules.size(); ++r) {
      const ir::RuleIndex& index = p_.rules[r].index;
      auto id = static_cast<std::uint32_t>(rule_block_[r]);
      if (index.Unindexed()) unindexed_.push_back(id);
      for (const std::string& path : index.paths) {
        auto& list = by_path[path];
        if (list.empty() || list.back() != id) list.push_back(id);
      }
      for (const std::string& name : index.names) {
        auto& list = by_name[name];
        if (list.empty() || list.back() != id) list.push_back(id);
      }
    }
    unindexed_.push_back(kEndOfList);
    path_table_ = BuildKeyTable(by_path, "index.paths");
    name_table_ = BuildKeyTable(by_name, "index.names");
    if (pool_.size() >= kEndOfList) SetError("the rule index is too large");
    pool_.push_back(kEndOfList);
  }

  llvm::Constant* U32Array(const std::vector<std::uint32_t>& items, const char* name) {
    return ConstGlobal(llvm::ConstantDataArray::get(ctx_, items), name);
  }

  // ---- Reading constants in shape functions ------------------------------

  // The first word of the next slot of the block being read: constant
  // `index`, or with kOutlinedUse a use of outlined node `index` (one word);
  // checks that emission reads the slots in AppendSlots' order.
  std::uint64_t TakeSlot(std::uint32_t slot) {
    if (slot_cursor_ >= block_slots_->size() || (*block_slots_)[slot_cursor_] != slot) {
      SetError("internal error: slot " + std::to_string(slot) + " read out of block order");
      return 0;
    }
    ++slot_cursor_;
    std::uint64_t word = slot_word_;
    slot_word_ += (slot & kOutlinedUse) != 0 ? 1 : SlotWords(p_.nodes[slot].op);
    return word;
  }
  // Word `k` of the current rule's block (constant memory).
  Value* BlockWord(std::uint64_t k) {
    auto* load = b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, block_, k), llvm::Align(8));
    load->setMetadata(llvm::LLVMContext::MD_invariant_load, llvm::MDNode::get(ctx_, {}));
    return load;
  }

  Val SlotValue(std::uint32_t index, const ir::Node& n) {
    std::uint64_t w = TakeSlot(index);
    switch (n.op) {
      case ir::Op::kConstStr:
        return Present(b_.CreateInBoundsGEP(i8_, strings_global_, BlockWord(w)), BlockWord(w + 1));
      case ir::Op::kConstInt:
        return Present(BlockWord(w));
      case ir::Op::kConstList: {
        bool strings = n.kind == ir::Kind::kStrList;
        llvm::Type* element = strings ? static_cast<llvm::Type*>(str_ty_) : i64_;
        llvm::Constant* blob = strings ? lists_global_ : ints_global_;
        Val v = Present(b_.CreateInBoundsGEP(element, blob, BlockWord(w)), BlockWord(w + 1));
        v.set_items = b_.CreateInBoundsGEP(element, blob, BlockWord(w + 2));
        v.set_count = BlockWord(w + 3);
        return v;
      }
      case ir::Op::kConstMap:
        return Present(b_.CreateInBoundsGEP(str_ty_, lists_global_, BlockWord(w)),
                       b_.CreateInBoundsGEP(str_ty_, lists_global_, BlockWord(w + 1)), BlockWord(w + 2));
      default:
        SetError("internal error: node " + std::to_string(index) + " is not a constant");
        return Absent(n.kind);
    }
  }

  // ---- Utility functions (byte loops) -----------------------------------

  // Returns the utility `name`, building it with `build` on first use. The
  // builder runs with the insertion point in the new function's entry.
  llvm::Function* Utility(const std::string& name, llvm::Type* result, llvm::ArrayRef<llvm::Type*> params,
                          const std::function<void(llvm::Function*)>& build) {
    if (llvm::Function* existing = m_->getFunction(name)) return existing;
    llvm::Function* fn = NewFunction(name, result, params);
    llvm::IRBuilderBase::InsertPointGuard guard(b_);
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn));
    build(fn);
    return fn;
  }

  // i1 gov.memeq(ptr a, ptr b, i64 n): the n bytes are equal.
  llvm::Function* MemEq() {
    return Utility("gov.memeq", i1_, {ptr_, ptr_, i64_}, [&](llvm::Function* fn) {
      Value* a = fn->getArg(0);
      Value* c = fn->getArg(1);
      CountedLoop(fn->getArg(2), [&](Value* i) {
        Value* x = b_.CreateLoad(i8_, BytePtr(a, i));
        Value* y = b_.CreateLoad(i8_, BytePtr(c, i));
        ReturnIf(b_.CreateICmpNE(x, y), b_.getFalse());
      });
      b_.CreateRet(b_.getTrue());
    });
  }

  // i1 gov.streq(ptr a, i64 an, ptr b, i64 bn)
  llvm::Function* StrEq() {
    return Utility("gov.streq", i1_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      ReturnIf(b_.CreateICmpNE(fn->getArg(1), fn->getArg(3)), b_.getFalse());
      b_.CreateRet(b_.CreateCall(MemEq(), {fn->getArg(0), fn->getArg(2), fn->getArg(1)}));
    });
  }

  // i32 gov.strcmp(ptr a, i64 an, ptr b, i64 bn): -1, 0, 1 (unsigned bytes,
  // a proper prefix is smaller).
  llvm::Function* StrCmp() {
    return Utility("gov.strcmp", i32_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      Value* a = fn->getArg(0);
      Value* an = fn->getArg(1);
      Value* c = fn->getArg(2);
      Value* cn = fn->getArg(3);
      Value* common = b_.CreateSelect(b_.CreateICmpULT(an, cn), an, cn);
      CountedLoop(common, [&](Value* i) {
        Value* x = b_.CreateLoad(i8_, BytePtr(a, i));
        Value* y = b_.CreateLoad(i8_, BytePtr(c, i));
        Value* order = b_.CreateSelect(b_.CreateICmpULT(x, y), b_.getInt32(-1), b_.getInt32(1));
        ReturnIf(b_.CreateICmpNE(x, y), order);
      });
      Value* longer = b_.CreateSelect(b_.CreateICmpUGT(an, cn), b_.getInt32(1), b_.getInt32(0));
      b_.CreateRet(b_.CreateSelect(b_.CreateICmpULT(an, cn), b_.getInt32(-1), longer));
    });
  }

  // i64 gov.str_find(ptr table, i64 n, ptr s, i64 sn): binary search in a
  // sorted gov_str array; the index or -1.
  llvm::Function* StrFind() {
    return Utility("gov.str_find", i64_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      Value* table = fn->getArg(0);
      llvm::AllocaInst* lo = b_.CreateAlloca(i64_);
      llvm::AllocaInst* hi = b_.CreateAlloca(i64_);
      b_.CreateStore(b_.getInt64(0), lo);
      b_.CreateStore(fn->getArg(1), hi);
      BasicBlock* header = NewBlock("search");
      BasicBlock* body = NewBlock("probe");
      BasicBlock* missing = NewBlock("missing");
      b_.CreateBr(header);
      b_.SetInsertPoint(header);
      Value* l = b_.CreateLoad(i64_, lo);
      Value* h = b_.CreateLoad(i64_, hi);
      b_.CreateCondBr(b_.CreateICmpULT(l, h), body, missing);
      b_.SetInsertPoint(body);
      Value* mid = b_.CreateAdd(l, b_.CreateLShr(b_.CreateSub(h, l), 1));
      auto [data, size] = LoadStrElement(table, mid);
      Value* order = b_.CreateCall(StrCmp(), {data, size, fn->getArg(2), fn->getArg(3)});
      ReturnIf(b_.CreateICmpEQ(order, b_.getInt32(0)), mid);
      Value* below = b_.CreateICmpSLT(order, b_.getInt32(0));
      b_.CreateStore(b_.CreateSelect(below, b_.CreateAdd(mid, b_.getInt64(1)), l), lo);
      b_.CreateStore(b_.CreateSelect(below, h, mid), hi);
      b_.CreateBr(header);
      b_.SetInsertPoint(missing);
      b_.CreateRet(b_.getInt64(-1));
    });
  }

  // i1 gov.str_scan(ptr items, i64 n, ptr s, i64 sn): linear membership.
  llvm::Function* StrScan() {
    return Utility("gov.str_scan", i1_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      CountedLoop(fn->getArg(1), [&](Value* i) {
        auto [data, size] = LoadStrElement(fn->getArg(0), i);
        ReturnIf(b_.CreateCall(StrEq(), {data, size, fn->getArg(2), fn->getArg(3)}), b_.getTrue());
      });
      b_.CreateRet(b_.getFalse());
    });
  }

  // i64 gov.str_index(ptr items, i64 n, ptr s, i64 sn): the first index of
  // s in a gov_str array of any order, or -1.
  llvm::Function* StrIndex() {
    return Utility("gov.str_index", i64_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      CountedLoop(fn->getArg(1), [&](Value* i) {
        auto [data, size] = LoadStrElement(fn->getArg(0), i);
        ReturnIf(b_.CreateCall(StrEq(), {data, size, fn->getArg(2), fn->getArg(3)}), i);
      });
      b_.CreateRet(b_.getInt64(-1));
    });
  }

  // Index of `key` among the keys of `map` (node `map_node`), or -1. Map
  // constants are sorted (binary search); request maps are scanned in order
  // so that a malformed request cannot make us disagree with the interpreter.
  Value* FindKey(const ir::Node& map_node, const Val& map, const Val& key) {
    llvm::Function* find = map_node.op == ir::Op::kConstMap ? StrFind() : StrIndex();
    return b_.CreateCall(find, {map.x, map.z, key.x, key.y});
  }

  // i1 gov.int_find(ptr sorted, i64 n, i64 v): binary search.
  llvm::Function* IntFind() {
    return Utility("gov.int_find", i1_, {ptr_, i64_, i64_}, [&](llvm::Function* fn) {
      Value* table = fn->getArg(0);
      Value* wanted = fn->getArg(2);
      llvm::AllocaInst* lo = b_.CreateAlloca(i64_);
      llvm::AllocaInst* hi = b_.CreateAlloca(i64_);
      b_.CreateStore(b_.getInt64(0), lo);
      b_.CreateStore(fn->getArg(1), hi);
      BasicBlock* header = NewBlock("search");
      BasicBlock* body = NewBlock("probe");
      BasicBlock* missing = NewBlock("missing");
      b_.CreateBr(header);
      b_.SetInsertPoint(header);
      Value* l = b_.CreateLoad(i64_, lo);
      Value* h = b_.CreateLoad(i64_, hi);
      b_.CreateCondBr(b_.CreateICmpULT(l, h), body, missing);
      b_.SetInsertPoint(body);
      Value* mid = b_.CreateAdd(l, b_.CreateLShr(b_.CreateSub(h, l), 1));
      Value* item = b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, table, mid));
      ReturnIf(b_.CreateICmpEQ(item, wanted), b_.getTrue());
      Value* below = b_.CreateICmpSLT(item, wanted);
      b_.CreateStore(b_.CreateSelect(below, b_.CreateAdd(mid, b_.getInt64(1)), l), lo);
      b_.CreateStore(b_.CreateSelect(below, h, mid), hi);
      b_.CreateBr(header);
      b_.SetInsertPoint(missing);
      b_.CreateRet(b_.getFalse());
    });
  }

  // i1 gov.int_scan(ptr items, i64 n, i64 v): linear membership.
  llvm::Function* IntScan() {
    return Utility("gov.int_scan", i1_, {ptr_, i64_, i64_}, [&](llvm::Function* fn) {
      CountedLoop(fn->getArg(1), [&](Value* i) {
        Value* item = b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, fn->getArg(0), i));
        ReturnIf(b_.CreateICmpEQ(item, fn->getArg(2)), b_.getTrue());
      });
      b_.CreateRet(b_.getFalse());
    });
  }

  // i1 gov.starts_with / gov.ends_with (ptr a, i64 an, ptr b, i64 bn)
  llvm::Function* Affix(bool suffix) {
    return Utility(suffix ? "gov.ends_with" : "gov.starts_with", i1_, {ptr_, i64_, ptr_, i64_},
                   [&](llvm::Function* fn) {
                     Value* an = fn->getArg(1);
                     Value* bn = fn->getArg(3);
                     ReturnIf(b_.CreateICmpUGT(bn, an), b_.getFalse());
                     Value* start = suffix ? BytePtr(fn->getArg(0), b_.CreateSub(an, bn)) : fn->getArg(0);
                     b_.CreateRet(b_.CreateCall(MemEq(), {start, fn->getArg(2), bn}));
                   });
  }

  // i1 gov.contains(ptr hay, i64 hn, ptr needle, i64 nn): substring test.
  llvm::Function* Contains() {
    return Utility("gov.contains", i1_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      Value* hay = fn->getArg(0);
      Value* hn = fn->getArg(1);
      Value* needle = fn->getArg(2);
      Value* nn = fn->getArg(3);
      ReturnIf(b_.CreateICmpUGT(nn, hn), b_.getFalse());
      Value* starts = b_.CreateAdd(b_.CreateSub(hn, nn), b_.getInt64(1));
      CountedLoop(starts, [&](Value* i) {
        ReturnIf(b_.CreateCall(MemEq(), {BytePtr(hay, i), needle, nn}), b_.getTrue());
      });
      b_.CreateRet(b_.getFalse());
    });
  }

  // i1 gov.strlist_eq(ptr a, i64 an, ptr b, i64 bn)
  llvm::Function* StrListEq() {
    return Utility("gov.strlist_eq", i1_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      ReturnIf(b_.CreateICmpNE(fn->getArg(1), fn->getArg(3)), b_.getFalse());
      CountedLoop(fn->getArg(1), [&](Value* i) {
        auto [ad, as] = LoadStrElement(fn->getArg(0), i);
        auto [bd, bs] = LoadStrElement(fn->getArg(2), i);
        ReturnIf(b_.CreateNot(b_.CreateCall(StrEq(), {ad, as, bd, bs})), b_.getFalse());
      });
      b_.CreateRet(b_.getTrue());
    });
  }

  // i1 gov.intlist_eq(ptr a, i64 an, ptr b, i64 bn)
  llvm::Function* IntListEq() {
    return Utility("gov.intlist_eq", i1_, {ptr_, i64_, ptr_, i64_}, [&](llvm::Function* fn) {
      ReturnIf(b_.CreateICmpNE(fn->getArg(1), fn->getArg(3)), b_.getFalse());
      CountedLoop(fn->getArg(1), [&](Value* i) {
        Value* x = b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, fn->getArg(0), i));
        Value* y = b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, fn->getArg(2), i));
        ReturnIf(b_.CreateICmpNE(x, y), b_.getFalse());
      });
      b_.CreateRet(b_.getTrue());
    });
  }

  // i1 gov.map_eq(ptr ak, ptr av, i64 an, ptr bk, ptr bv, i64 bn)
  llvm::Function* MapEq() {
    return Utility("gov.map_eq", i1_, {ptr_, ptr_, i64_, ptr_, ptr_, i64_}, [&](llvm::Function* fn) {
      ReturnIf(b_.CreateICmpNE(fn->getArg(2), fn->getArg(5)), b_.getFalse());
      CountedLoop(fn->getArg(2), [&](Value* i) {
        for (unsigned which = 0; which < 2; ++which) {
          auto [ad, as] = LoadStrElement(fn->getArg(which), i);
          auto [bd, bs] = LoadStrElement(fn->getArg(3 + which), i);
          ReturnIf(b_.CreateNot(b_.CreateCall(StrEq(), {ad, as, bd, bs})), b_.getFalse());
        }
      });
      b_.CreateRet(b_.getTrue());
    });
  }

  // void gov.copy / gov.lower / gov.upper (ptr dst, ptr src, i64 n)
  enum class CopyMode { kPlain, kLower, kUpper };
  llvm::Function* Copy(CopyMode mode) {
    const char* name = mode == CopyMode::kPlain ? "gov.copy" : mode == CopyMode::kLower ? "gov.lower" : "gov.upper";
    return Utility(name, b_.getVoidTy(), {ptr_, ptr_, i64_}, [&](llvm::Function* fn) {
      CountedLoop(fn->getArg(2), [&](Value* i) {
        Value* c = b_.CreateLoad(i8_, BytePtr(fn->getArg(1), i));
        if (mode != CopyMode::kPlain) {
          char first = mode == CopyMode::kLower ? 'A' : 'a';
          Value* offset = b_.CreateSub(c, b_.getInt8(static_cast<std::uint8_t>(first)));
          Value* in_range = b_.CreateICmpULE(offset, b_.getInt8(25));
          Value* changed =
              mode == CopyMode::kLower ? b_.CreateOr(c, b_.getInt8(0x20)) : b_.CreateAnd(c, b_.getInt8(0xdf));
          c = b_.CreateSelect(in_range, changed, c);
        }
        b_.CreateStore(c, BytePtr(fn->getArg(0), i));
      });
      b_.CreateRetVoid();
    });
  }

  // i1 gov.dfa(ptr s, i64 n, ptr slot): whole-string match of the pattern
  // whose kMatches slot words are at `slot` (mode, start state, class count,
  // offsets into gov.dfa.class, gov.dfa.next or next8 by the mode, and
  // gov.dfa.accept): a linear loop over the tables that stops in the dead
  // state (0).
  llvm::Function* DfaMatch() {
    return Utility("gov.dfa", i1_, {ptr_, i64_, ptr_}, [&](llvm::Function* f) {
      Value* slot = f->getArg(2);
      auto word = [&](std::uint64_t k) {
        return b_.CreateAlignedLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, slot, k), llvm::Align(8));
      };
      Value* mode = word(0);
      ReturnIf(b_.CreateICmpEQ(mode, b_.getInt64(kDfaEverything)), b_.getTrue());
      ReturnIf(b_.CreateICmpEQ(mode, b_.getInt64(kDfaNothing)), b_.getFalse());
      Value* class_count = word(2);
      Value* class_table = b_.CreateInBoundsGEP(i8_, dfa_class_global_, word(3));
      Value* accept_table = b_.CreateInBoundsGEP(i8_, dfa_accept_global_, word(5));
      llvm::AllocaInst* state = b_.CreateAlloca(i64_);
      b_.CreateStore(word(1), state);
      // The comb form's loop (kDfaComb; its class table is word 3).
      BasicBlock* comb = NewBlock("dfa.comb");
      BasicBlock* flat = NewBlock("dfa.flat");
      b_.CreateCondBr(b_.CreateICmpEQ(mode, b_.getInt64(kDfaComb)), comb, flat);
      b_.SetInsertPoint(comb);
      {
        Value* entries = b_.CreateInBoundsGEP(i16_, dfa_comb_global_, word(2));
        Value* comb_classes = b_.CreateInBoundsGEP(i8_, dfa_class_global_, word(3));
        Value* state_table = b_.CreateInBoundsGEP(i32_, dfa_state_global_, word(4));
        CountedLoop(f->getArg(1), [&](Value* i) {
          Value* current = b_.CreateLoad(i64_, state);
          Value* byte = b_.CreateZExt(b_.CreateLoad(i8_, BytePtr(f->getArg(0), i)), i64_);
          Value* cls = b_.CreateZExt(b_.CreateLoad(i8_, b_.CreateInBoundsGEP(i8_, comb_classes, byte)), i64_);
          Value* packed = b_.CreateZExt(b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, state_table, current)), i64_);
          Value* base = b_.CreateLShr(packed, b_.getInt64(8));
          Value* entry =
              b_.CreateZExt(b_.CreateLoad(i16_, b_.CreateInBoundsGEP(i16_, entries, b_.CreateAdd(base, cls))), i64_);
          Value* owned = b_.CreateICmpEQ(b_.CreateLShr(entry, b_.getInt64(8)), current);
          Value* target =
              b_.CreateSelect(owned, b_.CreateAnd(entry, b_.getInt64(0xff)), b_.CreateAnd(packed, b_.getInt64(0xff)));
          // State 0 is the dead state: no suffix can be accepted.
          ReturnIf(b_.CreateICmpEQ(target, b_.getInt64(0)), b_.getFalse());
          b_.CreateStore(target, state);
        });
        Value* accepts = b_.CreateLoad(i8_, b_.CreateInBoundsGEP(i8_, accept_table, b_.CreateLoad(i64_, state)));
        b_.CreateRet(b_.CreateICmpNE(accepts, b_.getInt8(0)));
      }
      b_.SetInsertPoint(flat);
      // One loop per transition width (kDfaRun8: u8, kDfaRun: u16).
      BasicBlock* narrow = NewBlock("dfa8");
      BasicBlock* wide = NewBlock("dfa16");
      b_.CreateCondBr(b_.CreateICmpEQ(mode, b_.getInt64(kDfaRun8)), narrow, wide);
      for (const bool is_narrow : {true, false}) {
        b_.SetInsertPoint(is_narrow ? narrow : wide);
        llvm::Type* entry = is_narrow ? i8_ : i16_;
        Value* next_table = b_.CreateInBoundsGEP(entry, is_narrow ? dfa_next8_global_ : dfa_next_global_, word(4));
        CountedLoop(f->getArg(1), [&](Value* i) {
          Value* byte = b_.CreateZExt(b_.CreateLoad(i8_, BytePtr(f->getArg(0), i)), i64_);
          Value* cls = b_.CreateZExt(b_.CreateLoad(i8_, b_.CreateInBoundsGEP(i8_, class_table, byte)), i64_);
          Value* row = b_.CreateMul(b_.CreateLoad(i64_, state), class_count);
          Value* target = b_.CreateZExt(
              b_.CreateLoad(entry, b_.CreateInBoundsGEP(entry, next_table, b_.CreateAdd(row, cls))), i64_);
          // State 0 is the dead state: no suffix can be accepted.
          ReturnIf(b_.CreateICmpEQ(target, b_.getInt64(0)), b_.getFalse());
          b_.CreateStore(target, state);
        });
        Value* accepts = b_.CreateLoad(i8_, b_.CreateInBoundsGEP(i8_, accept_table, b_.CreateLoad(i64_, state)));
        b_.CreateRet(b_.CreateICmpNE(accepts, b_.getInt8(0)));
      }
    });
  }

  // i64 gov.hash(ptr s, i64 n): IndexHash of the n bytes at s.
  llvm::Function* Hash() {
    return Utility("gov.hash", i64_, {ptr_, i64_}, [&](llvm::Function* f) {
      Value* s = f->getArg(0);
      Value* n = f->getArg(1);
      llvm::AllocaInst* h = b_.CreateAlloca(i64_);
      b_.CreateStore(b_.CreateXor(b_.getInt64(0x243f6a8885a308d3ULL), b_.CreateMul(n, b_.getInt64(kHashMul))), h);
      auto mix = [&](Value* w) {
        Value* x = b_.CreateMul(b_.CreateXor(b_.CreateLoad(i64_, h), w), b_.getInt64(kHashMul));
        b_.CreateStore(b_.CreateXor(x, b_.CreateLShr(x, 29)), h);
      };
      Value* words = b_.CreateLShr(n, 3);
      bool big_endian = m_->getDataLayout().isBigEndian();
      CountedLoop(words, [&](Value* i) {
        Value* w = b_.CreateAlignedLoad(i64_, BytePtr(s, b_.CreateShl(i, 3)), llvm::Align(1));
        if (big_endian) w = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, w);
        mix(w);
      });
      Value* done = b_.CreateShl(words, 3);
      Value* tail = b_.CreateSub(n, done);
      BasicBlock* has_tail = NewBlock("tail");
      BasicBlock* finish = NewBlock("finish");
      b_.CreateCondBr(b_.CreateICmpNE(tail, b_.getInt64(0)), has_tail, finish);
      b_.SetInsertPoint(has_tail);
      llvm::AllocaInst* w = b_.CreateAlloca(i64_);
      b_.CreateStore(b_.getInt64(0), w);
      CountedLoop(tail, [&](Value* i) {
        Value* byte = b_.CreateZExt(b_.CreateLoad(i8_, BytePtr(s, b_.CreateAdd(done, i))), i64_);
        b_.CreateStore(b_.CreateOr(b_.CreateLoad(i64_, w), b_.CreateShl(byte, b_.CreateShl(i, 3))), w);
      });
      mix(b_.CreateLoad(i64_, w));
      b_.CreateBr(finish);
      b_.SetInsertPoint(finish);
      Value* x = b_.CreateLoad(i64_, h);
      x = b_.CreateXor(x, b_.CreateLShr(x, 32));
      x = b_.CreateMul(x, b_.getInt64(kHashMul2));
      x = b_.CreateXor(x, b_.CreateLShr(x, 29));
      b_.CreateRet(x);
    });
  }

  // ptr gov.index_find(ptr slots, i64 mask, ptr records, ptr pool, ptr s,
  // i64 n): key s's candidate list, or null (see KeyTable).
  llvm::Function* IndexFind() {
    return Utility("gov.index_find", ptr_, {ptr_, i64_, ptr_, ptr_, ptr_, i64_}, [&](llvm::Function* f) {
      Value* slots = f->getArg(0);
      Value* mask = f->getArg(1);
      Value* records = f->getArg(2);
      Value* pool = f->getArg(3);
      Value* s = f->getArg(4);
      Value* n = f->getArg(5);
      Value* hash = b_.CreateCall(Hash(), {s, n});
      llvm::AllocaInst* at = b_.CreateAlloca(i64_);
      b_.CreateStore(b_.CreateAnd(hash, mask), at);
      BasicBlock* probe = NewBlock("probe");
      BasicBlock* occupied = NewBlock("occupied");
      BasicBlock* compare = NewBlock("compare");
      BasicBlock* next = NewBlock("next");
      BasicBlock* missing = NewBlock("missing");
      b_.CreateBr(probe);
      b_.SetInsertPoint(probe);
      Value* i = b_.CreateLoad(i64_, at);
      Value* slot = b_.CreateZExt(b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, slots, i)), i64_);
      b_.CreateCondBr(b_.CreateICmpEQ(slot, b_.getInt64(0)), missing, occupied);
      b_.SetInsertPoint(occupied);
      Value* record =
          b_.CreateInBoundsGEP(i64_, records, b_.CreateMul(b_.CreateSub(slot, b_.getInt64(1)), b_.getInt64(4)));
      auto word = [&](std::uint64_t k) { return b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, record, k)); };
      b_.CreateCondBr(b_.CreateICmpEQ(word(0), hash), compare, next);
      b_.SetInsertPoint(compare);
      Value* data = b_.CreateInBoundsGEP(i8_, strings_global_, word(1));
      Value* equal = b_.CreateCall(StrEq(), {data, word(2), s, n});
      BasicBlock* found = NewBlock("found");
      b_.CreateCondBr(equal, found, next);
      b_.SetInsertPoint(found);
      Value* list = b_.CreateConstInBoundsGEP1_64(i64_, record, 3);
      Value* first = b_.CreateLoad(i32_, list);
      Value* in_pool = b_.CreateInBoundsGEP(
          i32_, pool, b_.CreateZExt(b_.CreateLoad(i32_, b_.CreateConstInBoundsGEP1_64(i32_, list, 1)), i64_));
      b_.CreateRet(b_.CreateSelect(b_.CreateICmpEQ(first, b_.getInt32(kPoolMark)), in_pool, list));
      b_.SetInsertPoint(next);
      b_.CreateStore(b_.CreateAnd(b_.CreateAdd(i, b_.getInt64(1)), mask), at);
      b_.CreateBr(probe);
      b_.SetInsertPoint(missing);
      b_.CreateRet(llvm::ConstantPointerNull::get(ptr_));
    });
  }

  // ---- Rule functions ---------------------------------------------------

  // Stores `code` (i32) as the error and branches to `err`; the current
  // block ends.
  void FailWith(Value* code, BasicBlock* err) {
    b_.CreateStore(code, err_slot_);
    b_.CreateBr(err);
  }

  // Fails with `code` when `bad`; continues in a new block otherwise.
  void FailIf(Value* bad, std::uint32_t code, BasicBlock* err) { FailIf(bad, b_.getInt32(code), err); }
  void FailIf(Value* bad, Value* code, BasicBlock* err) {
    if (auto* constant = llvm::dyn_cast<llvm::ConstantInt>(bad); constant != nullptr && constant->isZero()) return;
    BasicBlock* failing = NewBlock("fail");
    BasicBlock* ok = NewBlock("ok");
    b_.CreateCondBr(bad, failing, ok);
    b_.SetInsertPoint(failing);
    FailWith(code, err);
    b_.SetInsertPoint(ok);
  }

  // In an error block: keeps the first error of a group in `first`.
  void RecordFirstError(llvm::AllocaInst* first) {
    Value* current = b_.CreateLoad(i32_, first);
    Value* code = b_.CreateLoad(i32_, err_slot_);
    b_.CreateStore(b_.CreateSelect(b_.CreateICmpEQ(current, b_.getInt32(0)), code, current), first);
  }

  llvm::Type* XType(ir::Kind kind) {
    switch (kind) {
      case ir::Kind::kBool:
        return i1_;
      case ir::Kind::kInt:
        return i64_;
      default:
        return ptr_;
    }
  }
  llvm::Type* YType(ir::Kind kind) {
    switch (kind) {
      case ir::Kind::kBool:
      case ir::Kind::kInt:
        return nullptr;
      case ir::Kind::kStrMap:
        return ptr_;
      default:
        return i64_;
    }
  }
  llvm::Type* ZType(ir::Kind kind) { return kind == ir::Kind::kStrMap ? i64_ : nullptr; }

  // An absent value of `kind` with zero components.
  Val Absent(ir::Kind kind) {
    Val v;
    v.present = b_.getFalse();
    v.x = llvm::Constant::getNullValue(XType(kind));
    if (llvm::Type* y = YType(kind)) v.y = llvm::Constant::getNullValue(y);
    if (llvm::Type* z = ZType(kind)) v.z = llvm::Constant::getNullValue(z);
    return v;
  }

  // Merges values flowing into the current block from `incoming`.
  Val Merge(ir::Kind kind, const std::vector<std::pair<Val, BasicBlock*>>& incoming) {
    auto phi = [&](llvm::Type* type, Value* Val::*member) -> Value* {
      if (type == nullptr) return nullptr;
      llvm::PHINode* node = b_.CreatePHI(type, static_cast<unsigned>(incoming.size()));
      for (const auto& [value, block] : incoming) node->addIncoming(value.*member, block);
      return node;
    };
    Val v;
    v.present = phi(i1_, &Val::present);
    v.x = phi(XType(kind), &Val::x);
    v.y = phi(YType(kind), &Val::y);
    v.z = phi(ZType(kind), &Val::z);
    return v;
  }

  // `cond ? compute() : otherwise`, running compute's code only when cond
  // holds (compute may fail to error blocks).
  Val Guarded(ir::Kind kind, Value* cond, const Val& otherwise, const std::function<Val()>& compute) {
    if (auto* constant = llvm::dyn_cast<llvm::ConstantInt>(cond)) {
      if (constant->isOne()) return compute();
      return otherwise;
    }
    BasicBlock* before = b_.GetInsertBlock();
    BasicBlock* then = NewBlock("present");
    BasicBlock* merge = NewBlock("merge");
    b_.CreateCondBr(cond, then, merge);
    b_.SetInsertPoint(then);
    Val computed = compute();
    BasicBlock* then_end = b_.GetInsertBlock();
    b_.CreateBr(merge);
    b_.SetInsertPoint(merge);
    return Merge(kind, {{otherwise, before}, {computed, then_end}});
  }
  // A Bool predicate that is false unless `cond`.
  Value* GuardedBool(Value* cond, const std::function<Value*()>& compute) {
    Val otherwise{b_.getTrue(), b_.getFalse()};
    return Guarded(ir::Kind::kBool, cond, otherwise, [&] { return Val{b_.getTrue(), compute()}; }).x;
  }

  Val Present(Value* x, Value* y = nullptr, Value* z = nullptr) { return Val{b_.getTrue(), x, y, z}; }
  Value* Both(const Val& a, const Val& c) { return b_.CreateAnd(a.present, c.present); }

  // i32 gov.shape.N(ptr request, ptr helpers, ptr scratch, ptr block): the
  // condition of every rule of shape N, with the rule's constants at block.
  llvm::Function* EmitShape(std::size_t s) {
    // A rule function costs about as much compile time as a few nodes.
    emitted_ += kRuleCostInNodes;
    std::size_t r = shapes_[s].representative;
    llvm::Function* fn = NewFunction("gov.shape." + std::to_string(s), i32_, {ptr_, ptr_, ptr_, ptr_});
    // Separate functions keep optimization per shape (compile time linear).
    // Condition code is branches and calls: optimized for size (docs/codegen.md).
    fn->addFnAttr(llvm::Attribute::NoInline);
    fn->addFnAttr(llvm::Attribute::MinSize);
    req_ = fn->getArg(0);
    helpers_ = fn->getArg(1);
    scratch_ = fn->getArg(2);
    block_ = fn->getArg(3);
    block_slots_ = &rule_slots_[r];
    slot_cursor_ = 0;
    slot_word_ = 0;
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn));
    err_slot_ = b_.CreateAlloca(i32_, nullptr, "error");
    used_slot_ = b_.CreateAlloca(i64_, nullptr, "scratch_used");
    // The scratch arena is empty at the start of each rule.
    b_.CreateStore(b_.getInt64(0), used_slot_);
    b_.CreateStore(b_.getInt32(0), err_slot_);
    locals_.assign(p_.local_slots, std::nullopt);
    BasicBlock* failed = BasicBlock::Create(ctx_, "failed", fn);
    Val condition = Emit(p_.rules[r].condition, failed);
    if (error_.empty() && slot_cursor_ != block_slots_->size()) {
      SetError("internal error: shape " + std::to_string(s) + " did not read all of its constants");
    }
    b_.CreateRet(b_.CreateZExt(condition.x, i32_));
    b_.SetInsertPoint(failed);
    b_.CreateRet(b_.CreateOr(b_.CreateLoad(i32_, err_slot_), b_.getInt32(kRuleErrorFlag)));
    return fn;
  }

  // Emits node `index`; on an error stores its code and branches to `err`.
  Val Emit(std::uint32_t index, BasicBlock* err) {
    const ir::Node& n = p_.nodes[index];
    if (!error_.empty()) return Absent(n.kind);
    // A hoisted node's first use: counted once, where it was computed.
    if (!hoisted_.empty() && hoisted_.back().node == index && !hoisted_.back().used &&
        hoisted_.back().function == b_.GetInsertBlock()->getParent()) {
      return UseHoisted(hoisted_.back(), err);
    }
    if (++emitted_ > budget_) {
      SetError("the policy expands to more than " + std::to_string(budget_) + " expression nodes");
      return Absent(n.kind);
    }
    if (depth_ >= kMaxDepth) {
      SetError("the policy nests deeper than " + std::to_string(kMaxDepth) + " expression levels");
      return Absent(n.kind);
    }
    ++depth_;
    Val v = outline_[structure_[index]] && index != outlining_root_ ? EmitOutlinedCall(index, err)
                                                                    : EmitNode(index, n, err);
    --depth_;
    return v;
  }

  // A value computed once before a quantifier's loop instead of at the
  // start of every body (see EmitQuantifier): its components and the error
  // its evaluation stopped with (0: none), in allocas.
  struct Hoisted {
    std::uint32_t node = ir::kNoNode;
    llvm::Function* function = nullptr;
    bool used = false;
    llvm::AllocaInst* error = nullptr;
    std::vector<llvm::AllocaInst*> parts;  // present, x, y, z as the kind has them
  };

  // The node a quantifier's body evaluates first, before anything else it
  // does, when that node does not read the quantifier's slot and computes
  // something (not a leaf); else kNoNode. Follows first operands, which
  // every op evaluates first (an `and`/`or`'s first operand, an `if`'s
  // condition), through nodes emitted inline that take no constant slot
  // of their own before that operand (not `matches`, not outlined calls).
  std::uint32_t FirstHoistable(std::uint32_t body, std::uint32_t slot) const {
    std::uint32_t current = body;
    while (true) {
      const ir::Node& n = p_.nodes[current];
      const std::vector<std::uint64_t>& free = free_slots_[current];
      const bool reads_slot = std::any_of(free.begin(), free.end(), [&](std::uint64_t f) { return SlotOf(f) == slot; });
      if (!reads_slot) return IsLeaf(n.op) || current == body ? ir::kNoNode : current;
      if (IsLeaf(n.op) || n.op == ir::Op::kMatches) return ir::kNoNode;
      if (outline_[structure_[current]] && current != outlining_root_) return ir::kNoNode;
      if (n.op == ir::Op::kAnd || n.op == ir::Op::kOr) {
        if (n.b == 0) return ir::kNoNode;
        current = p_.operands[n.a];
      } else {
        if (n.a == ir::kNoNode) return ir::kNoNode;
        current = n.a;
      }
    }
  }
  static bool IsLeaf(ir::Op op) {
    switch (op) {
      case ir::Op::kConstBool:
      case ir::Op::kConstInt:
      case ir::Op::kConstStr:
      case ir::Op::kConstList:
      case ir::Op::kConstMap:
      case ir::Op::kNone:
      case ir::Op::kField:
      case ir::Op::kLocal:
        return true;
      default:
        return false;
    }
  }

  // Evaluates `node` into `hoisted` (a new error block records its error).
  void ComputeHoisted(std::uint32_t node, Hoisted& hoisted) {
    const ir::Kind kind = p_.nodes[node].kind;
    hoisted.function = b_.GetInsertBlock()->getParent();
    hoisted.error = EntryAlloca(i32_, "hoisted.error");
    b_.CreateStore(b_.getInt32(0), hoisted.error);
    BasicBlock* failed = NewBlock("hoisted.failed");
    BasicBlock* joined = NewBlock("hoisted.done");
    Val v = Emit(node, failed);
    std::vector<Value*> parts{v.present, v.x};
    if (YType(kind) != nullptr) parts.push_back(v.y);
    if (ZType(kind) != nullptr) parts.push_back(v.z);
    for (Value* part : parts) {
      hoisted.parts.push_back(EntryAlloca(part->getType(), "hoisted"));
      b_.CreateStore(part, hoisted.parts.back());
    }
    b_.CreateBr(joined);
    b_.SetInsertPoint(failed);
    b_.CreateStore(b_.CreateLoad(i32_, err_slot_), hoisted.error);
    b_.CreateBr(joined);
    b_.SetInsertPoint(joined);
    hoisted.node = node;  // from now on its next Emit is the body's use
  }

  // The hoisted value at the place its node stood: its error, if its
  // evaluation failed, goes to `err` as the node's own would have.
  Val UseHoisted(Hoisted& hoisted, BasicBlock* err) {
    hoisted.used = true;
    Value* code = b_.CreateLoad(i32_, hoisted.error);
    FailIf(b_.CreateICmpNE(code, b_.getInt32(0)), code, err);
    Val v;
    v.present = b_.CreateLoad(hoisted.parts[0]->getAllocatedType(), hoisted.parts[0]);
    v.x = b_.CreateLoad(hoisted.parts[1]->getAllocatedType(), hoisted.parts[1]);
    if (hoisted.parts.size() > 2) v.y = b_.CreateLoad(hoisted.parts[2]->getAllocatedType(), hoisted.parts[2]);
    if (hoisted.parts.size() > 3) v.z = b_.CreateLoad(hoisted.parts[3]->getAllocatedType(), hoisted.parts[3]);
    return v;
  }

  // The value of an outlined node as gov.sub.N returns it through memory.
  llvm::StructType* OutType(ir::Kind kind) {
    std::vector<llvm::Type*> members{i1_, XType(kind)};
    if (llvm::Type* y = YType(kind)) members.push_back(y);
    if (llvm::Type* z = ZType(kind)) members.push_back(z);
    return llvm::StructType::get(ctx_, members);
  }

  // i32 gov.sub.N(ptr request, ptr helpers, ptr scratch, ptr block,
  // ptr scratch_used, ptr out, <free quantifier slots>...): node `index`
  // (its structure) evaluated with its constants at block; 0 with the value
  // in *out, or the gov_error. Built on its first call.
  llvm::Function* Outlined(std::uint32_t index) {
    llvm::Function*& fn = outlined_[structure_[index]];
    if (fn != nullptr) return fn;
    const ir::Node& n = p_.nodes[index];
    const std::vector<std::uint64_t>& free = free_slots_[index];
    std::vector<llvm::Type*> params{ptr_, ptr_, ptr_, ptr_, ptr_, ptr_};
    for (std::uint64_t slot : free) {
      const ir::Kind kind = KindOf(slot);
      params.push_back(XType(kind));
      if (llvm::Type* y = YType(kind)) params.push_back(y);
    }
    fn = NewFunction("gov.sub." + std::to_string(outlined_count_++), i32_, params);
    // Called from several places: inlining it would undo the sharing.
    fn->addFnAttr(llvm::Attribute::NoInline);
    fn->addFnAttr(llvm::Attribute::MinSize);

    llvm::IRBuilderBase::InsertPointGuard guard(b_);
    auto saved = std::make_tuple(req_, helpers_, scratch_, block_, err_slot_, used_slot_, locals_, block_slots_,
                                 slot_cursor_, slot_word_, outlining_root_);
    req_ = fn->getArg(0);
    helpers_ = fn->getArg(1);
    scratch_ = fn->getArg(2);
    block_ = fn->getArg(3);
    used_slot_ = fn->getArg(4);
    Value* out = fn->getArg(5);
    // The slots of this node's own block (any use with the same structure
    // has a block of the same layout).
    block_slots_ = &OutlinedSlots(index);
    slot_cursor_ = 0;
    slot_word_ = 0;
    outlining_root_ = index;
    locals_.assign(p_.local_slots, std::nullopt);
    unsigned arg = 6;
    for (std::uint64_t slot : free) {
      Val v = Present(fn->getArg(arg++));
      if (YType(KindOf(slot)) != nullptr) v.y = fn->getArg(arg++);
      locals_[SlotOf(slot)] = v;
    }
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn));
    err_slot_ = b_.CreateAlloca(i32_, nullptr, "error");
    b_.CreateStore(b_.getInt32(0), err_slot_);
    BasicBlock* failed = BasicBlock::Create(ctx_, "failed", fn);
    Val v = EmitNode(index, n, failed);
    if (error_.empty() && slot_cursor_ != block_slots_->size()) {
      SetError("internal error: outlined node " + std::to_string(index) + " did not read all of its constants");
    }
    llvm::StructType* out_type = OutType(n.kind);
    std::vector<Value*> members{v.present, v.x};
    if (v.y != nullptr && YType(n.kind) != nullptr) members.push_back(v.y);
    if (v.z != nullptr && ZType(n.kind) != nullptr) members.push_back(v.z);
    for (unsigned k = 0; k < members.size(); ++k) b_.CreateStore(members[k], b_.CreateStructGEP(out_type, out, k));
    b_.CreateRet(b_.getInt32(0));
    b_.SetInsertPoint(failed);
    b_.CreateRet(b_.CreateLoad(i32_, err_slot_));

    std::tie(req_, helpers_, scratch_, block_, err_slot_, used_slot_, locals_, block_slots_, slot_cursor_, slot_word_,
             outlining_root_) = saved;
    return fn;
  }

  // A call of node `index`'s outlined function with this use's constant
  // block (its offset is the next word of the current block) and quantifier
  // slots; on an error stores it and goes to `err`.
  Val EmitOutlinedCall(std::uint32_t index, BasicBlock* err) {
    const ir::Node& n = p_.nodes[index];
    llvm::Function* fn = Outlined(index);
    if (!error_.empty()) return Absent(n.kind);
    llvm::StructType* out_type = OutType(n.kind);
    llvm::AllocaInst* out = EntryAlloca(out_type, "sub.out");
    Value* block = b_.CreateInBoundsGEP(i64_, consts_global_, BlockWord(TakeSlot(kOutlinedUse | index)));
    std::vector<Value*> args{req_, helpers_, scratch_, block, used_slot_, out};
    for (std::uint64_t free : free_slots_[index]) {
      const std::optional<Val>& local = locals_[SlotOf(free)];
      if (!local) {
        SetError("quantifier slot " + std::to_string(SlotOf(free)) + " read outside its quantifier");
        return Absent(n.kind);
      }
      args.push_back(local->x);
      if (YType(KindOf(free)) != nullptr) args.push_back(local->y);
    }
    Value* code = b_.CreateCall(fn, args);
    FailIf(b_.CreateICmpNE(code, b_.getInt32(0)), code, err);
    Val v;
    v.present =
        n.optional ? static_cast<Value*>(b_.CreateLoad(i1_, b_.CreateStructGEP(out_type, out, 0))) : b_.getTrue();
    v.x = b_.CreateLoad(XType(n.kind), b_.CreateStructGEP(out_type, out, 1));
    unsigned k = 2;
    if (llvm::Type* y = YType(n.kind)) v.y = b_.CreateLoad(y, b_.CreateStructGEP(out_type, out, k++));
    if (llvm::Type* z = ZType(n.kind)) v.z = b_.CreateLoad(z, b_.CreateStructGEP(out_type, out, k++));
    return v;
  }

  Val EmitNode(std::uint32_t index, const ir::Node& n, BasicBlock* err) {
    switch (n.op) {
      case ir::Op::kConstBool:
        return Present(b_.getInt1(n.imm != 0));
      case ir::Op::kConstInt:
      case ir::Op::kConstStr:
      case ir::Op::kConstList:
      case ir::Op::kConstMap:
        return SlotValue(index, n);
      case ir::Op::kNone:
        return Absent(n.kind);
      case ir::Op::kField:
        return EmitField(n);
      case ir::Op::kLocal:
        if (!locals_[n.a]) {
          SetError("quantifier slot " + std::to_string(n.a) + " read outside its quantifier");
          return Absent(n.kind);
        }
        return *locals_[n.a];

      case ir::Op::kAnd:
        return EmitLogic(n, /*is_and=*/true, err);
      case ir::Op::kOr:
        return EmitLogic(n, /*is_and=*/false, err);
      case ir::Op::kNot: {
        Val a = Emit(n.a, err);
        return Present(b_.CreateNot(a.x));
      }
      case ir::Op::kIf:
        return EmitIf(n, err);

      case ir::Op::kEq:
      case ir::Op::kNe: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        ir::Kind kind = p_.nodes[n.a].kind;
        Value* equal = GuardedBool(Both(a, c), [&] { return EqualValues(kind, a, c); });
        // Absent equals absent.
        equal = b_.CreateOr(equal, b_.CreateAnd(b_.CreateNot(a.present), b_.CreateNot(c.present)));
        return Present(n.op == ir::Op::kEq ? equal : b_.CreateNot(equal));
      }
      case ir::Op::kLt:
      case ir::Op::kLe:
      case ir::Op::kGt:
      case ir::Op::kGe: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        bool strings = p_.nodes[n.a].kind == ir::Kind::kStr;
        return Present(GuardedBool(Both(a, c), [&]() -> Value* {
          Value* left = a.x;
          Value* right = c.x;
          if (strings) {
            left = b_.CreateCall(StrCmp(), {a.x, a.y, c.x, c.y});
            right = b_.getInt32(0);
          }
          switch (n.op) {
            case ir::Op::kLt:
              return b_.CreateICmpSLT(left, right);
            case ir::Op::kLe:
              return b_.CreateICmpSLE(left, right);
            case ir::Op::kGt:
              return b_.CreateICmpSGT(left, right);
            default:
              return b_.CreateICmpSGE(left, right);
          }
        }));
      }

      case ir::Op::kIn:
        return EmitIn(n, err);
      case ir::Op::kHasKey: {
        Val key = Emit(n.a, err);
        Val map = Emit(n.b, err);
        return Present(GuardedBool(Both(key, map),
                                   [&] { return b_.CreateICmpSGE(FindKey(p_.nodes[n.b], map, key), b_.getInt64(0)); }));
      }
      case ir::Op::kUnder: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        return Present(GuardedBool(Both(a, c), [&] {
          auto* type = llvm::FunctionType::get(i32_, {ptr_, i64_, ptr_, i64_}, false);
          Value* helper = LoadHelper(offsetof(gov_helpers, path_under), err);
          Value* result = b_.CreateCall(type, helper, {a.x, a.y, c.x, c.y});
          return b_.CreateICmpNE(result, b_.getInt32(0));
        }));
      }
      case ir::Op::kMatches: {
        Value* slot = b_.CreateConstInBoundsGEP1_64(i64_, block_, TakeSlot(index));
        Val a = Emit(n.a, err);
        return Present(GuardedBool(a.present, [&] { return b_.CreateCall(DfaMatch(), {a.x, a.y, slot}); }));
      }
      case ir::Op::kStartsWith:
      case ir::Op::kEndsWith:
      case ir::Op::kContains: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        llvm::Function* test = n.op == ir::Op::kContains ? Contains() : Affix(n.op == ir::Op::kEndsWith);
        return Present(GuardedBool(Both(a, c), [&] { return b_.CreateCall(test, {a.x, a.y, c.x, c.y}); }));
      }
      case ir::Op::kIsNone: {
        Val a = Emit(n.a, err);
        return Present(b_.CreateNot(a.present));
      }

      case ir::Op::kCoalesce: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        Val v;
        v.present = b_.CreateOr(a.present, c.present);
        v.x = b_.CreateSelect(a.present, a.x, c.x);
        if (a.y != nullptr) v.y = b_.CreateSelect(a.present, a.y, c.y);
        if (a.z != nullptr) v.z = b_.CreateSelect(a.present, a.z, c.z);
        return v;
      }
      case ir::Op::kLower:
      case ir::Op::kUpper: {
        Val a = Emit(n.a, err);
        return Guarded(ir::Kind::kStr, a.present, Absent(ir::Kind::kStr), [&] {
          Value* out = ScratchAlloc(a.y, err);
          b_.CreateCall(Copy(n.op == ir::Op::kLower ? CopyMode::kLower : CopyMode::kUpper), {out, a.x, a.y});
          return Present(out, a.y);
        });
      }
      case ir::Op::kLen: {
        Val a = Emit(n.a, err);
        ir::Kind kind = p_.nodes[n.a].kind;
        Value* length = kind == ir::Kind::kStrMap ? a.z : a.y;
        return Val{a.present, length};
      }
      case ir::Op::kConcat: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        return Guarded(ir::Kind::kStr, Both(a, c), Absent(ir::Kind::kStr), [&] {
          // Each size is clamped so that the sum cannot wrap; a clamped
          // size never fits anyway.
          Value* limit = b_.getInt64(kScratchBytes + 1);
          Value* a_size = b_.CreateSelect(b_.CreateICmpULT(a.y, limit), a.y, limit);
          Value* c_size = b_.CreateSelect(b_.CreateICmpULT(c.y, limit), c.y, limit);
          Value* total = b_.CreateAdd(a_size, c_size);
          Value* out = ScratchAlloc(total, err);
          b_.CreateCall(Copy(CopyMode::kPlain), {out, a.x, a.y});
          b_.CreateCall(Copy(CopyMode::kPlain), {BytePtr(out, a.y), c.x, c.y});
          return Present(out, total);
        });
      }
      case ir::Op::kPathJoin: {
        Val a = Emit(n.a, err);
        Val c = Emit(n.b, err);
        return Guarded(ir::Kind::kStr, Both(a, c), Absent(ir::Kind::kStr), [&] {
          auto* type = llvm::FunctionType::get(i64_, {ptr_, i64_, ptr_, i64_, ptr_, i64_}, false);
          Value* helper = LoadHelper(offsetof(gov_helpers, path_join), err);
          return ScratchByHelper(err, [&](Value* out, Value* capacity) {
            return b_.CreateCall(type, helper, {a.x, a.y, c.x, c.y, out, capacity});
          });
        });
      }
      case ir::Op::kPathName:
      case ir::Op::kPathParent:
      case ir::Op::kPathExt:
      case ir::Op::kToPath: {
        Val a = Emit(n.a, err);
        std::uint32_t op = n.op == ir::Op::kToPath       ? GOV_PATH_NORMALIZE
                           : n.op == ir::Op::kPathName   ? GOV_PATH_NAME
                           : n.op == ir::Op::kPathParent ? GOV_PATH_PARENT
                                                         : GOV_PATH_EXT;
        return Guarded(ir::Kind::kStr, a.present, Absent(ir::Kind::kStr), [&] {
          auto* type = llvm::FunctionType::get(i64_, {i32_, ptr_, i64_, ptr_, i64_}, false);
          Value* helper = LoadHelper(offsetof(gov_helpers, path_unary), err);
          return ScratchByHelper(err, [&](Value* out, Value* capacity) {
            return b_.CreateCall(type, helper, {b_.getInt32(op), a.x, a.y, out, capacity});
          });
        });
      }
      case ir::Op::kIndex: {
        Val list = Emit(n.a, err);
        Val at = Emit(n.b, err);
        bool strings = p_.nodes[n.a].kind == ir::Kind::kStrList;
        Value* in_range = b_.CreateAnd(b_.CreateICmpSGE(at.x, b_.getInt64(0)), b_.CreateICmpULT(at.x, list.y));
        return Guarded(n.kind, b_.CreateAnd(Both(list, at), in_range), Absent(n.kind), [&] {
          if (strings) {
            auto [data, size] = LoadStrElement(list.x, at.x);
            return Present(data, size);
          }
          return Present(b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, list.x, at.x)));
        });
      }
      case ir::Op::kMapGet: {
        Val map = Emit(n.a, err);
        Val key = Emit(n.b, err);
        Val missing{b_.getTrue(), b_.getInt64(-1)};
        Val found =
            Guarded(ir::Kind::kInt, Both(map, key), missing, [&] { return Present(FindKey(p_.nodes[n.a], map, key)); });
        return Guarded(ir::Kind::kStr, b_.CreateICmpSGE(found.x, b_.getInt64(0)), Absent(ir::Kind::kStr), [&] {
          auto [data, size] = LoadStrElement(map.y, found.x);
          return Present(data, size);
        });
      }

      case ir::Op::kAdd:
      case ir::Op::kSub:
      case ir::Op::kMul:
      case ir::Op::kDiv:
      case ir::Op::kMod:
        return EmitArithmetic(n, err);
      case ir::Op::kNeg: {
        Val a = Emit(n.a, err);
        return Guarded(ir::Kind::kInt, a.present, Absent(ir::Kind::kInt), [&] {
          FailIf(b_.CreateICmpEQ(a.x, b_.getInt64(static_cast<std::uint64_t>(INT64_MIN))), GOV_ERR_OVERFLOW, err);
          return Present(b_.CreateNeg(a.x));
        });
      }

      case ir::Op::kAny:
        return EmitQuantifier(n, /*is_any=*/true, err);
      case ir::Op::kAll:
        return EmitQuantifier(n, /*is_any=*/false, err);
      case ir::Op::kArgParses:
      case ir::Op::kArgField:
      case ir::Op::kArgSubcommand:
        return EmitArgRead(n, err);
    }
    SetError("unknown op " + std::to_string(static_cast<int>(n.op)));
    return Absent(n.kind);
  }

  Val LoadStrField(Value* base, std::uint64_t offset) {
    return Present(LoadAt(ptr_, base, offset, 8), LoadAt(i64_, base, offset + 8, 8));
  }

  Val EmitField(const ir::Node& n) {
    auto field = static_cast<ir::Field>(n.imm);
    Value* parent = nullptr;
    switch (field) {
      case ir::Field::kProgramPath:
        return LoadStrField(req_, offsetof(gov_request, program_path));
      case ir::Field::kProgramName:
        return LoadStrField(req_, offsetof(gov_request, program_name));
      case ir::Field::kProgramSha256:
        return LoadStrField(req_, offsetof(gov_request, program_sha256));
      case ir::Field::kInvokedPath:
        return LoadStrField(req_, offsetof(gov_request, invoked_path));
      case ir::Field::kInvokedName:
        return LoadStrField(req_, offsetof(gov_request, invoked_name));
      case ir::Field::kProgramWrittenInSession:
        return Present(
            b_.CreateICmpNE(LoadAt(i8_, req_, offsetof(gov_request, program_written_in_session), 1), b_.getInt8(0)));
      case ir::Field::kArgs:
        return LoadStrField(req_, offsetof(gov_request, args));
      case ir::Field::kArgv0:
        return LoadStrField(req_, offsetof(gov_request, argv0));
      case ir::Field::kEnv: {
        std::uint64_t base = offsetof(gov_request, env);
        return Present(LoadAt(ptr_, req_, base + offsetof(gov_str_map, keys), 8),
                       LoadAt(ptr_, req_, base + offsetof(gov_str_map, values), 8),
                       LoadAt(i64_, req_, base + offsetof(gov_str_map, count), 8));
      }
      case ir::Field::kCwd:
        return LoadStrField(req_, offsetof(gov_request, cwd));
      case ir::Field::kUserName:
        return LoadStrField(req_, offsetof(gov_request, user_name));
      case ir::Field::kUserUid:
        return Present(LoadAt(i64_, req_, offsetof(gov_request, user_uid), 8));
      case ir::Field::kUserGid:
        return Present(LoadAt(i64_, req_, offsetof(gov_request, user_gid), 8));
      case ir::Field::kUserGroups:
        return LoadStrField(req_, offsetof(gov_request, user_groups));
      case ir::Field::kHostName:
        return LoadStrField(req_, offsetof(gov_request, host_name));
      case ir::Field::kTimeUnix:
        return Present(LoadAt(i64_, req_, offsetof(gov_request, time_unix), 8));
      case ir::Field::kTimeHour:
        return Present(LoadAt(i64_, req_, offsetof(gov_request, time_hour), 8));
      case ir::Field::kTimeMinute:
        return Present(LoadAt(i64_, req_, offsetof(gov_request, time_minute), 8));
      case ir::Field::kTimeWeekday:
        return LoadStrField(req_, offsetof(gov_request, time_weekday));
      case ir::Field::kTimeDate:
        return LoadStrField(req_, offsetof(gov_request, time_date));
      case ir::Field::kParentRunId:
      case ir::Field::kParentDepth:
      case ir::Field::kParentProgram: {
        parent = b_.CreateICmpNE(LoadAt(i8_, req_, offsetof(gov_request, has_parent), 1), b_.getInt8(0));
        Val v = field == ir::Field::kParentDepth
                    ? Present(LoadAt(i64_, req_, offsetof(gov_request, parent_depth), 8))
                    : LoadStrField(req_, field == ir::Field::kParentRunId ? offsetof(gov_request, parent_run_id)
                                                                          : offsetof(gov_request, parent_program));
        v.present = parent;
        return v;
      }
      case ir::Field::kContext: {
        Value* context = LoadAt(ptr_, req_, offsetof(gov_request, context), 8);
        Value* entry = BytePtr(context, static_cast<std::uint64_t>(n.a) * sizeof(gov_context_value));
        Val v;
        switch (n.kind) {
          case ir::Kind::kBool:
            v = Present(b_.CreateICmpNE(LoadAt(i64_, entry, offsetof(gov_context_value, number), 8), b_.getInt64(0)));
            break;
          case ir::Kind::kInt:
            v = Present(LoadAt(i64_, entry, offsetof(gov_context_value, number), 8));
            break;
          default:
            v = LoadStrField(entry, offsetof(gov_context_value, text));
            break;
        }
        // Required fields were checked to be present before any rule ran.
        if (n.optional) {
          v.present = b_.CreateICmpNE(LoadAt(i8_, entry, offsetof(gov_context_value, present), 1), b_.getInt8(0));
        }
        return v;
      }
    }
    SetError("unknown request field " + std::to_string(n.imm));
    return Absent(n.kind);
  }

  // `and` / `or`: operands in index order; stop at the first false (and) /
  // true (or); otherwise the first operand error, otherwise true / false.
  Val EmitLogic(const ir::Node& n, bool is_and, BasicBlock* err) {
    llvm::AllocaInst* first_error = EntryAlloca(i32_, "first_error");
    b_.CreateStore(b_.getInt32(0), first_error);
    BasicBlock* decided = NewBlock(is_and ? "and.false" : "or.true");
    for (std::uint32_t k = 0; k < n.b; ++k) {
      BasicBlock* operand_failed = NewBlock("operand.error");
      BasicBlock* next = NewBlock("operand.next");
      Val v = Emit(p_.operands[n.a + k], operand_failed);
      if (is_and) {
        b_.CreateCondBr(v.x, next, decided);
      } else {
        b_.CreateCondBr(v.x, decided, next);
      }
      b_.SetInsertPoint(operand_failed);
      RecordFirstError(first_error);
      b_.CreateBr(next);
      b_.SetInsertPoint(next);
    }
    Value* error = b_.CreateLoad(i32_, first_error);
    BasicBlock* erred = NewBlock("logic.error");
    BasicBlock* done = NewBlock("logic.done");
    BasicBlock* undecided = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateICmpNE(error, b_.getInt32(0)), erred, done);
    b_.SetInsertPoint(erred);
    FailWith(error, err);
    b_.SetInsertPoint(decided);
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* result = b_.CreatePHI(i1_, 2);
    result->addIncoming(b_.getInt1(!is_and), decided);
    result->addIncoming(b_.getInt1(is_and), undecided);
    return Present(result);
  }

  Val EmitIf(const ir::Node& n, BasicBlock* err) {
    Val condition = Emit(n.a, err);
    BasicBlock* then = NewBlock("if.then");
    BasicBlock* otherwise = NewBlock("if.else");
    BasicBlock* merge = NewBlock("if.end");
    b_.CreateCondBr(condition.x, then, otherwise);
    b_.SetInsertPoint(then);
    Val x = Emit(n.b, err);
    BasicBlock* then_end = b_.GetInsertBlock();
    b_.CreateBr(merge);
    b_.SetInsertPoint(otherwise);
    Val y = Emit(n.c, err);
    BasicBlock* else_end = b_.GetInsertBlock();
    b_.CreateBr(merge);
    b_.SetInsertPoint(merge);
    return Merge(n.kind, {{x, then_end}, {y, else_end}});
  }

  // Equality of two present values of `kind`.
  Value* EqualValues(ir::Kind kind, const Val& a, const Val& c) {
    switch (kind) {
      case ir::Kind::kBool:
      case ir::Kind::kInt:
        return b_.CreateICmpEQ(a.x, c.x);
      case ir::Kind::kStr:
        return b_.CreateCall(StrEq(), {a.x, a.y, c.x, c.y});
      case ir::Kind::kStrList:
        return b_.CreateCall(StrListEq(), {a.x, a.y, c.x, c.y});
      case ir::Kind::kIntList:
        return b_.CreateCall(IntListEq(), {a.x, a.y, c.x, c.y});
      case ir::Kind::kStrMap:
        return b_.CreateCall(MapEq(), {a.x, a.y, a.z, c.x, c.y, c.z});
    }
    return b_.getFalse();
  }

  Val EmitIn(const ir::Node& n, BasicBlock* err) {
    Val element = Emit(n.a, err);
    Val list = Emit(n.b, err);
    const ir::Node& list_node = p_.nodes[n.b];
    bool strings = list_node.kind == ir::Kind::kStrList;
    return Present(GuardedBool(Both(element, list), [&]() -> Value* {
      if (list_node.op == ir::Op::kConstList) {
        // A constant list: binary search in its sorted, duplicate-free form.
        if (strings) {
          Value* found = b_.CreateCall(StrFind(), {list.set_items, list.set_count, element.x, element.y});
          return b_.CreateICmpSGE(found, b_.getInt64(0));
        }
        return b_.CreateCall(IntFind(), {list.set_items, list.set_count, element.x});
      }
      if (strings) return b_.CreateCall(StrScan(), {list.x, list.y, element.x, element.y});
      return b_.CreateCall(IntScan(), {list.x, list.y, element.x});
    }));
  }

  Val EmitArithmetic(const ir::Node& n, BasicBlock* err) {
    Val a = Emit(n.a, err);
    Val c = Emit(n.b, err);
    return Guarded(ir::Kind::kInt, Both(a, c), Absent(ir::Kind::kInt), [&]() -> Val {
      auto with_overflow = [&](llvm::Intrinsic::ID id) {
        Value* pair = b_.CreateBinaryIntrinsic(id, a.x, c.x);
        FailIf(b_.CreateExtractValue(pair, 1), GOV_ERR_OVERFLOW, err);
        return Present(b_.CreateExtractValue(pair, 0));
      };
      switch (n.op) {
        case ir::Op::kAdd:
          return with_overflow(llvm::Intrinsic::sadd_with_overflow);
        case ir::Op::kSub:
          return with_overflow(llvm::Intrinsic::ssub_with_overflow);
        case ir::Op::kMul:
          return with_overflow(llvm::Intrinsic::smul_with_overflow);
        default:
          break;
      }
      FailIf(b_.CreateICmpEQ(c.x, b_.getInt64(0)), GOV_ERR_DIVISION, err);
      // INT64_MIN / -1 does not fit; INT64_MIN % -1 is an overflow too
      // (its quotient does not fit), like the interpreter.
      Value* min_by_minus_one = b_.CreateAnd(b_.CreateICmpEQ(a.x, b_.getInt64(static_cast<std::uint64_t>(INT64_MIN))),
                                             b_.CreateICmpEQ(c.x, b_.getInt64(static_cast<std::uint64_t>(-1))));
      FailIf(min_by_minus_one, GOV_ERR_OVERFLOW, err);
      return Present(n.op == ir::Op::kDiv ? b_.CreateSDiv(a.x, c.x) : b_.CreateSRem(a.x, c.x));
    });
  }

  // `any` / `all` over a list or a map's keys: elements in order, the
  // scratch fill level restored after each body; stop at the first true
  // (any) / false (all); otherwise the first body error.
  //
  // What every body evaluates first, when it does not read the element
  // (`p under s` in `any s in dirs: p under s`, p a path join), is
  // evaluated once before the loop, when there is an element: each body
  // would evaluate it first, at the same scratch fill level, from the same
  // values, so to the same value or error and leaving the same fill level;
  // the bodies then start at that level and the loop ends restoring the
  // level before it. Only that first use is replaced (a later use of the
  // node in the body is evaluated as before).
  Val EmitQuantifier(const ir::Node& n, bool is_any, BasicBlock* err) {
    Val list = Emit(n.a, err);
    ir::Kind list_kind = p_.nodes[n.a].kind;
    // Over an absent collection both quantifiers are false (docs/ir.md).
    Value* count = b_.CreateSelect(list.present, list_kind == ir::Kind::kStrMap ? list.z : list.y, b_.getInt64(0));
    llvm::AllocaInst* first_error = EntryAlloca(i32_, "first_error");
    llvm::AllocaInst* position = EntryAlloca(i64_, "position");
    b_.CreateStore(b_.getInt32(0), first_error);
    b_.CreateStore(b_.getInt64(0), position);
    const std::uint32_t hoist = FirstHoistable(n.b, static_cast<std::uint32_t>(n.imm));
    Value* mark_before = nullptr;
    if (hoist != ir::kNoNode) {
      mark_before = b_.CreateLoad(i64_, used_slot_, "mark.before");
      BasicBlock* compute = NewBlock("quant.hoist");
      BasicBlock* computed = NewBlock("quant.hoisted");
      b_.CreateCondBr(b_.CreateICmpNE(count, b_.getInt64(0)), compute, computed);
      b_.SetInsertPoint(compute);
      hoisted_.emplace_back();
      ComputeHoisted(hoist, hoisted_.back());
      b_.CreateBr(computed);
      b_.SetInsertPoint(computed);
    }
    BasicBlock* header = NewBlock("quant.loop");
    BasicBlock* body = NewBlock("quant.body");
    BasicBlock* body_failed = NewBlock("quant.error");
    BasicBlock* latch = NewBlock("quant.next");
    BasicBlock* exhausted = NewBlock("quant.exhausted");
    BasicBlock* decided = NewBlock("quant.decided");
    BasicBlock* erred = NewBlock("quant.failed");
    BasicBlock* done = NewBlock("quant.done");
    b_.CreateBr(header);

    b_.SetInsertPoint(header);
    Value* i = b_.CreateLoad(i64_, position);
    b_.CreateCondBr(b_.CreateICmpULT(i, count), body, exhausted);

    b_.SetInsertPoint(body);
    Value* mark = b_.CreateLoad(i64_, used_slot_, "mark");
    Val element;
    if (list_kind == ir::Kind::kIntList) {
      element = Present(b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, list.x, i)));
    } else {
      auto [data, size] = LoadStrElement(list.x, i);
      element = Present(data, size);
    }
    auto slot = static_cast<std::size_t>(n.imm);
    std::optional<Val> saved = locals_[slot];
    locals_[slot] = element;
    Val result = Emit(n.b, body_failed);
    locals_[slot] = saved;
    if (hoist != ir::kNoNode) {
      if (!hoisted_.back().used) SetError("internal error: a hoisted node was not used by its quantifier's body");
      hoisted_.pop_back();
    }
    b_.CreateStore(mark, used_slot_);
    if (is_any) {
      b_.CreateCondBr(result.x, decided, latch);
    } else {
      b_.CreateCondBr(result.x, latch, decided);
    }

    b_.SetInsertPoint(body_failed);
    b_.CreateStore(mark, used_slot_);
    RecordFirstError(first_error);
    b_.CreateBr(latch);

    b_.SetInsertPoint(latch);
    b_.CreateStore(b_.CreateAdd(i, b_.getInt64(1)), position);
    b_.CreateBr(header);

    b_.SetInsertPoint(exhausted);
    if (mark_before != nullptr) b_.CreateStore(mark_before, used_slot_);
    Value* error = b_.CreateLoad(i32_, first_error);
    b_.CreateCondBr(b_.CreateICmpNE(error, b_.getInt32(0)), erred, done);
    b_.SetInsertPoint(erred);
    FailWith(error, err);
    b_.SetInsertPoint(decided);
    if (mark_before != nullptr) b_.CreateStore(mark_before, used_slot_);
    b_.CreateBr(done);

    b_.SetInsertPoint(done);
    llvm::PHINode* value = b_.CreatePHI(i1_, 2);
    value->addIncoming(b_.getInt1(is_any), decided);
    value->addIncoming(is_any ? b_.getFalse() : list.present, exhausted);
    return Present(value);
  }

  // The command table `index` (ir::EncodeCommand bytes) as a constant.
  llvm::Constant* CommandTable(std::size_t index) {
    if (command_tables_.size() < p_.commands.size()) command_tables_.resize(p_.commands.size(), nullptr);
    if (command_tables_[index] == nullptr) {
      const std::string bytes = ir::EncodeCommand(p_.commands[index]);
      llvm::Constant* data = llvm::ConstantDataArray::getString(ctx_, bytes, /*AddNull=*/false);
      auto* global =
          new llvm::GlobalVariable(*m_, data->getType(), /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage, data,
                                   "gov.command." + std::to_string(index));
      global->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
      command_tables_[index] = global;
      command_table_sizes_.resize(p_.commands.size(), 0);
      command_table_sizes_[index] = bytes.size();
    }
    return command_tables_[index];
  }

  // kArgParses, kArgField, kArgSubcommand through gov_helpers.arg_read,
  // which writes strings and lists into the scratch arena exactly as the
  // interpreter does (docs/ir.md "Argument grammars").
  Val EmitArgRead(const ir::Node& n, BasicBlock* err) {
    Val list = Emit(n.a, err);
    Val cwd = Emit(n.b, err);
    const bool parses = n.op == ir::Op::kArgParses;
    const Val otherwise = parses ? Present(b_.getFalse()) : Absent(n.kind);
    return Guarded(n.kind, Both(list, cwd), otherwise, [&] {
      llvm::Constant* table = CommandTable(static_cast<std::size_t>(n.imm));
      const std::uint64_t table_size = command_table_sizes_[static_cast<std::size_t>(n.imm)];
      auto* result_type = llvm::StructType::get(ctx_, {i64_, i64_, ptr_, i64_});
      llvm::IRBuilder<> entry(&b_.GetInsertBlock()->getParent()->getEntryBlock(),
                              b_.GetInsertBlock()->getParent()->getEntryBlock().begin());
      llvm::AllocaInst* result = entry.CreateAlloca(result_type, nullptr, "arg_result");
      auto* type =
          llvm::FunctionType::get(i64_, {ptr_, i64_, i32_, i32_, ptr_, i64_, ptr_, i64_, ptr_, i64_, ptr_}, false);
      Value* helper = LoadHelper(offsetof(gov_helpers, arg_read), err);
      const std::uint32_t what = parses                           ? GOV_ARG_PARSES
                                 : n.op == ir::Op::kArgSubcommand ? GOV_ARG_SUBCOMMAND
                                                                  : GOV_ARG_FIELD;
      const std::uint32_t field = n.op == ir::Op::kArgField ? n.c : 0;
      Value* used = b_.CreateLoad(i64_, used_slot_);
      Value* available = b_.CreateSub(b_.getInt64(kScratchBytes), used);
      Value* out = BytePtr(scratch_, used);
      Value* written = b_.CreateCall(type, helper,
                                     {table, b_.getInt64(table_size), b_.getInt32(what), b_.getInt32(field), list.x,
                                      list.y, cwd.x, cwd.y, out, available, result});
      // -2: a table the helper cannot read (a bug: the bundle's IR was
      // validated); -1 or more than was free: the scratch arena is full.
      FailIf(b_.CreateICmpSLT(written, b_.getInt64(-1)), GOV_ERR_INTERNAL, err);
      FailIf(b_.CreateICmpUGT(written, available), GOV_ERR_SCRATCH, err);
      b_.CreateStore(b_.CreateAdd(used, written), used_slot_);
      Value* present = b_.CreateICmpNE(
          b_.CreateAnd(b_.CreateLoad(i64_, b_.CreateStructGEP(result_type, result, 0)), b_.getInt64(0xff)),
          b_.getInt64(0));
      Value* number = b_.CreateLoad(i64_, b_.CreateStructGEP(result_type, result, 1));
      Value* data = b_.CreateLoad(ptr_, b_.CreateStructGEP(result_type, result, 2));
      Value* size = b_.CreateLoad(i64_, b_.CreateStructGEP(result_type, result, 3));
      Val v;
      switch (n.kind) {
        case ir::Kind::kBool:
          v = Val{present, b_.CreateICmpNE(number, b_.getInt64(0))};
          break;
        case ir::Kind::kInt:
          v = Val{present, number};
          break;
        case ir::Kind::kStr:
          v = Val{present, data, size};
          break;
        default:  // lists: the items and their count
          v = Val{present, data, number};
          break;
      }
      if (parses) v.present = b_.getTrue();
      return v;
    });
  }

  // Reserves `size` bytes of scratch; fails with GOV_ERR_SCRATCH if they do
  // not fit. Returns the start of the reserved bytes.
  Value* ScratchAlloc(Value* size, BasicBlock* err) {
    Value* used = b_.CreateLoad(i64_, used_slot_);
    Value* available = b_.CreateSub(b_.getInt64(kScratchBytes), used);
    FailIf(b_.CreateICmpUGT(size, available), GOV_ERR_SCRATCH, err);
    b_.CreateStore(b_.CreateAdd(used, size), used_slot_);
    return BytePtr(scratch_, used);
  }

  // Runs a helper that writes a string into the free scratch space and
  // returns its length, or -1 when it does not fit (GOV_ERR_SCRATCH).
  Val ScratchByHelper(BasicBlock* err, const std::function<Value*(Value*, Value*)>& call) {
    Value* used = b_.CreateLoad(i64_, used_slot_);
    Value* available = b_.CreateSub(b_.getInt64(kScratchBytes), used);
    Value* out = BytePtr(scratch_, used);
    Value* length = call(out, available);
    // A negative length is "did not fit"; a length beyond the capacity
    // would be a helper bug and is treated the same way.
    FailIf(b_.CreateICmpUGT(length, available), GOV_ERR_SCRATCH, err);
    b_.CreateStore(b_.CreateAdd(used, length), used_slot_);
    return Present(out, length);
  }

  // Loads the helper function pointer at `offset` of gov_helpers; fails
  // with GOV_ERR_INTERNAL when the table or the entry is missing.
  Value* LoadHelper(std::uint64_t offset, BasicBlock* err) {
    FailIf(b_.CreateIsNull(helpers_), GOV_ERR_INTERNAL, err);
    Value* helper = LoadAt(ptr_, helpers_, offset, 8);
    FailIf(b_.CreateIsNull(helper), GOV_ERR_INTERNAL, err);
    return helper;
  }

  // ---- gov_decide --------------------------------------------------------

  // The candidate list of the request's key (a pointer into the pool, or
  // to an empty list).
  Value* LookupCandidates(const KeyTable& table, llvm::Constant* pool, llvm::Constant* empty, Value* request,
                          std::uint64_t field_offset) {
    if (table.keys == 0) return empty;
    Val key = LoadStrField(request, field_offset);
    Value* found =
        b_.CreateCall(IndexFind(), {table.slots, b_.getInt64(table.mask), table.records, pool, key.x, key.y});
    return b_.CreateSelect(b_.CreateIsNull(found), empty, found);
  }

  void EmitDecide() {
    llvm::Function* fn = NewFunction(kDecideSymbol, i32_, {ptr_, ptr_, ptr_}, /*external=*/true);
    // The 64 KiB scratch arena lives in this frame: probe the stack inline
    // (no external __chkstk-like symbol).
    fn->addFnAttr("probe-stack", "inline-asm");
    Value* request = fn->getArg(0);
    Value* decision = fn->getArg(1);
    Value* helpers = fn->getArg(2);
    b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn));

    llvm::AllocaInst* scratch = b_.CreateAlloca(llvm::ArrayType::get(i8_, kScratchBytes), nullptr, "scratch");
    scratch->setAlignment(llvm::Align(16));
    // Matching rule ids per verdict (allow, deny, ask), up to the ABI limit,
    // and how many matched.
    auto* list_type = llvm::ArrayType::get(i32_, GOV_MAX_DECIDING_RULES);
    llvm::AllocaInst* lists = b_.CreateAlloca(list_type, b_.getInt32(3), "matched");
    llvm::AllocaInst* counts = b_.CreateAlloca(i64_, b_.getInt32(3), "counts");
    llvm::AllocaInst* error_list = b_.CreateAlloca(i32_, nullptr, "error_rule_list");
    llvm::AllocaInst* timeout = b_.CreateAlloca(i64_, nullptr, "timeout_ms");
    llvm::AllocaInst* memory = b_.CreateAlloca(i64_, nullptr, "memory_bytes");
    llvm::AllocaInst* processes = b_.CreateAlloca(i64_, nullptr, "processes");
    llvm::AllocaInst* network = b_.CreateAlloca(i32_, nullptr, "network");
    // What `finish` writes.
    llvm::AllocaInst* out_verdict = b_.CreateAlloca(i32_, nullptr, "out_verdict");
    llvm::AllocaInst* out_error = b_.CreateAlloca(i32_, nullptr, "out_error");
    llvm::AllocaInst* out_rule = b_.CreateAlloca(i32_, nullptr, "out_error_rule");
    llvm::AllocaInst* out_count = b_.CreateAlloca(i64_, nullptr, "out_count");
    llvm::AllocaInst* out_list = b_.CreateAlloca(ptr_, nullptr, "out_list");
    // For an ask: the matching allow rules, written after the deciding ones.
    llvm::AllocaInst* out_extra_count = b_.CreateAlloca(i64_, nullptr, "out_extra_count");
    llvm::AllocaInst* out_extra_list = b_.CreateAlloca(ptr_, nullptr, "out_extra_list");
    for (int v = 0; v < 3; ++v) b_.CreateStore(b_.getInt64(0), b_.CreateConstInBoundsGEP1_64(i64_, counts, v));
    for (llvm::AllocaInst* slot : {timeout, memory, processes}) b_.CreateStore(b_.getInt64(0), slot);
    b_.CreateStore(b_.getInt32(GOV_NET_UNSET), network);

    BasicBlock* bad_request = NewBlock("bad_request");
    BasicBlock* finish = NewBlock("finish");
    auto set_outcome = [&](std::uint32_t verdict, Value* error, Value* rule, Value* count, Value* list) {
      b_.CreateStore(b_.getInt32(verdict), out_verdict);
      b_.CreateStore(error, out_error);
      b_.CreateStore(rule, out_rule);
      b_.CreateStore(count, out_count);
      b_.CreateStore(list, out_list);
      b_.CreateStore(b_.getInt64(0), out_extra_count);
      b_.CreateStore(list, out_extra_list);
    };
    auto zero_obligations = [&] {
      for (llvm::AllocaInst* slot : {timeout, memory, processes}) b_.CreateStore(b_.getInt64(0), slot);
      b_.CreateStore(b_.getInt32(GOV_NET_UNSET), network);
    };

    // Request validation.
    Value* abi = LoadAt(i32_, request, offsetof(gov_request, abi_version), 4);
    Value* context_count = LoadAt(i32_, request, offsetof(gov_request, context_count), 4);
    Value* valid =
        b_.CreateAnd(b_.CreateICmpEQ(abi, b_.getInt32(GOV_ABI_VERSION)),
                     b_.CreateICmpEQ(context_count, b_.getInt32(static_cast<std::uint32_t>(p_.context.size()))));
    if (!p_.context.empty()) {
      valid = b_.CreateAnd(valid, b_.CreateIsNotNull(LoadAt(ptr_, request, offsetof(gov_request, context), 8)));
    }
    BasicBlock* check_context = NewBlock("check_context");
    b_.CreateCondBr(valid, check_context, bad_request);
    b_.SetInsertPoint(check_context);
    Value* required_present = b_.getTrue();
    Value* context = nullptr;
    for (std::size_t i = 0; i < p_.context.size(); ++i) {
      if (p_.context[i].optional) continue;
      if (context == nullptr) context = LoadAt(ptr_, request, offsetof(gov_request, context), 8);
      Value* flag = LoadAt(i8_, context, i * sizeof(gov_context_value) + offsetof(gov_context_value, present), 1);
      required_present = b_.CreateAnd(required_present, b_.CreateICmpNE(flag, b_.getInt8(0)));
    }
    BasicBlock* start = NewBlock("start");
    b_.CreateCondBr(required_present, start, bad_request);

    b_.SetInsertPoint(bad_request);
    zero_obligations();
    set_outcome(GOV_DENY, b_.getInt32(GOV_ERR_BAD_REQUEST), b_.getInt32(GOV_NO_RULE), b_.getInt64(0), error_list);
    b_.CreateBr(finish);

    // Candidate rules: the unindexed ones, those indexed under the program
    // path, those indexed under the program name; each list ascending and
    // ended by kEndOfList.
    b_.SetInsertPoint(start);
    llvm::Constant* pool_global = U32Array(pool_, "index.pool");
    llvm::Constant* empty =
        llvm::ConstantExpr::getInBoundsGetElementPtr(i32_, pool_global, b_.getInt64(pool_.size() - 1));
    llvm::Constant* unindexed_global = U32Array(unindexed_, "index.unindexed");
    Value* lists_in[3] = {
        unindexed_global,
        LookupCandidates(path_table_, pool_global, empty, request, offsetof(gov_request, program_path)),
        LookupCandidates(name_table_, pool_global, empty, request, offsetof(gov_request, program_name)),
    };

    // Merge loop: the smallest block offset (= smallest rule id) at the heads
    // of the three lists.
    llvm::AllocaInst* heads = b_.CreateAlloca(i64_, b_.getInt32(3), "heads");
    for (int k = 0; k < 3; ++k) b_.CreateStore(b_.getInt64(0), b_.CreateConstInBoundsGEP1_64(i64_, heads, k));
    BasicBlock* next_rule = NewBlock("next_rule");
    BasicBlock* dispatch = NewBlock("dispatch");
    BasicBlock* all_done = NewBlock("rules_done");
    BasicBlock* after_rule = NewBlock("after_rule");
    b_.CreateBr(next_rule);
    b_.SetInsertPoint(next_rule);
    Value* head_blocks[3];
    Value* head = b_.getInt32(kEndOfList);
    for (int k = 0; k < 3; ++k) {
      Value* at = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, heads, k));
      head_blocks[k] = b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, lists_in[k], at));
      head = b_.CreateSelect(b_.CreateICmpULT(head_blocks[k], head), head_blocks[k], head);
    }
    for (int k = 0; k < 3; ++k) {
      Value* slot = b_.CreateConstInBoundsGEP1_64(i64_, heads, k);
      Value* step = b_.CreateZExt(b_.CreateICmpEQ(head_blocks[k], head), i64_);
      b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_, slot), step), slot);
    }
    b_.CreateCondBr(b_.CreateICmpEQ(head, b_.getInt32(kEndOfList)), all_done, dispatch);

    // The rule's block: header (id, shape, verdict, obligation row), then
    // its constants; one cache line usually holds all of it.
    b_.SetInsertPoint(dispatch);
    llvm::Constant* row_table = DataBlob(obligation_rows_, "gov.obligations");
    Value* header = b_.CreateInBoundsGEP(i64_, consts_global_, b_.CreateZExt(head, i64_));
    Value* word0 = b_.CreateLoad(i64_, header);
    Value* word1 = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, header, 1));
    Value* id = b_.CreateTrunc(word0, i32_, "id");
    Value* shape = b_.CreateTrunc(b_.CreateLShr(word0, 32), i32_);
    Value* verdict = b_.CreateTrunc(word1, i32_);
    Value* obligation_row = b_.CreateTrunc(b_.CreateLShr(word1, 32), i32_);
    Value* block = b_.CreateConstInBoundsGEP1_64(i64_, header, kBlockHeaderWords);
    llvm::SwitchInst* cases = b_.CreateSwitch(shape, all_done, static_cast<unsigned>(shapes_.size()));
    b_.SetInsertPoint(after_rule);
    llvm::PHINode* result = b_.CreatePHI(i32_, static_cast<unsigned>(shapes_.size()), "rule_result");
    for (std::size_t s = 0; s < shapes_.size(); ++s) {
      BasicBlock* call = NewBlock("shape");
      cases->addCase(b_.getInt32(static_cast<std::uint32_t>(s)), call);
      b_.SetInsertPoint(call);
      Value* outcome = b_.CreateCall(shapes_[s].fn, {request, helpers, scratch, block});
      b_.CreateBr(after_rule);
      result->addIncoming(outcome, call);
    }
    b_.SetInsertPoint(after_rule);
    BasicBlock* rule_failed = NewBlock("rule_failed");
    BasicBlock* no_error = NewBlock("rule_ok");
    BasicBlock* matched = NewBlock("rule_matched");
    b_.CreateCondBr(b_.CreateICmpUGE(result, b_.getInt32(kRuleErrorFlag)), rule_failed, no_error);
    b_.SetInsertPoint(no_error);
    b_.CreateCondBr(b_.CreateICmpEQ(result, b_.getInt32(kRuleMatch)), matched, next_rule);

    // The lowest erring rule decides (rules run in ascending id order, so
    // the first error is the lowest).
    b_.SetInsertPoint(rule_failed);
    b_.CreateStore(id, error_list);
    zero_obligations();
    set_outcome(GOV_DENY, b_.CreateAnd(result, b_.getInt32(0xff)), id, b_.getInt64(1), error_list);
    b_.CreateBr(finish);

    b_.SetInsertPoint(matched);
    Value* verdict64 = b_.CreateZExt(verdict, i64_);
    Value* count_slot = b_.CreateInBoundsGEP(i64_, counts, verdict64);
    Value* count = b_.CreateLoad(i64_, count_slot);
    Value* list = b_.CreateInBoundsGEP(list_type, lists, verdict64);
    BasicBlock* store = NewBlock("store_rule");
    BasicBlock* counted = NewBlock("counted");
    b_.CreateCondBr(b_.CreateICmpULT(count, b_.getInt64(GOV_MAX_DECIDING_RULES)), store, counted);
    b_.SetInsertPoint(store);
    b_.CreateStore(id, b_.CreateInBoundsGEP(i32_, list, count));
    b_.CreateBr(counted);
    b_.SetInsertPoint(counted);
    b_.CreateStore(b_.CreateAdd(count, b_.getInt64(1)), count_slot);
    if (obligation_rows_.size() > 4) {
      EmitObligationMerge(verdict, row_table, obligation_row, timeout, memory, processes, network);
    }
    b_.CreateBr(next_rule);

    // Combination: deny over ask over allow; default deny.
    b_.SetInsertPoint(all_done);
    Value* allows = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, counts, GOV_ALLOW));
    Value* denies = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, counts, GOV_DENY));
    Value* asks = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, counts, GOV_ASK));
    Value* any_deny = b_.CreateICmpNE(denies, b_.getInt64(0));
    Value* any_ask = b_.CreateICmpNE(asks, b_.getInt64(0));
    Value* any_allow = b_.CreateICmpNE(allows, b_.getInt64(0));
    Value* final_verdict =
        b_.CreateSelect(any_deny, b_.getInt32(GOV_DENY),
                        b_.CreateSelect(any_ask, b_.getInt32(GOV_ASK),
                                        b_.CreateSelect(any_allow, b_.getInt32(GOV_ALLOW), b_.getInt32(GOV_DENY))));
    Value* final_count = b_.CreateSelect(any_deny, denies, b_.CreateSelect(any_ask, asks, allows));
    Value* final_list = b_.CreateInBoundsGEP(list_type, lists, b_.CreateZExt(final_verdict, i64_));
    // An ask also lists the matching allow rules (their obligations apply
    // if it is approved); the ABI limit holds for both parts together.
    Value* is_ask = b_.CreateICmpEQ(final_verdict, b_.getInt32(GOV_ASK));
    Value* extra_count = b_.CreateSelect(is_ask, allows, b_.getInt64(0));
    Value* extra_list = b_.CreateConstInBoundsGEP2_64(list_type, lists, GOV_ALLOW, 0);
    BasicBlock* too_many = NewBlock("too_many_rules");
    BasicBlock* decided = NewBlock("decided");
    b_.CreateCondBr(b_.CreateICmpUGT(b_.CreateAdd(final_count, extra_count), b_.getInt64(GOV_MAX_DECIDING_RULES)),
                    too_many, decided);
    b_.SetInsertPoint(too_many);
    zero_obligations();
    set_outcome(GOV_DENY, b_.getInt32(GOV_ERR_TOO_MANY_RULES), b_.getInt32(GOV_NO_RULE), b_.getInt64(0), error_list);
    b_.CreateBr(finish);
    b_.SetInsertPoint(decided);
    // The running merge covered every matching allow and ask rule: exactly
    // the obligation rules of an allow (no ask matched) or of an ask.
    BasicBlock* keep_obligations = NewBlock("allowed_or_asked");
    BasicBlock* drop_obligations = NewBlock("denied");
    BasicBlock* outcome_set = NewBlock("outcome");
    b_.CreateCondBr(b_.CreateICmpNE(final_verdict, b_.getInt32(GOV_DENY)), keep_obligations, drop_obligations);
    b_.SetInsertPoint(drop_obligations);
    zero_obligations();
    b_.CreateBr(outcome_set);
    b_.SetInsertPoint(keep_obligations);
    b_.CreateBr(outcome_set);
    b_.SetInsertPoint(outcome_set);
    b_.CreateStore(final_verdict, out_verdict);
    b_.CreateStore(b_.getInt32(GOV_OK), out_error);
    b_.CreateStore(b_.getInt32(GOV_NO_RULE), out_rule);
    b_.CreateStore(final_count, out_count);
    b_.CreateStore(final_list, out_list);
    b_.CreateStore(extra_count, out_extra_count);
    b_.CreateStore(extra_list, out_extra_list);
    b_.CreateBr(finish);

    // Write every field of the decision but rules[rule_count..].
    b_.SetInsertPoint(finish);
    Value* v = b_.CreateLoad(i32_, out_verdict);
    StoreAt(v, decision, offsetof(gov_decision, verdict), 4);
    StoreAt(b_.CreateLoad(i32_, out_error), decision, offsetof(gov_decision, error), 4);
    StoreAt(b_.CreateLoad(i32_, out_rule), decision, offsetof(gov_decision, error_rule), 4);
    Value* n = b_.CreateLoad(i64_, out_count);
    Value* extra = b_.CreateLoad(i64_, out_extra_count);
    StoreAt(b_.CreateTrunc(b_.CreateAdd(n, extra), i32_), decision, offsetof(gov_decision, rule_count), 4);
    StoreAt(b_.CreateLoad(i64_, timeout), decision, offsetof(gov_decision, timeout_ms), 8);
    StoreAt(b_.CreateLoad(i64_, memory), decision, offsetof(gov_decision, memory_bytes), 8);
    StoreAt(b_.CreateLoad(i64_, processes), decision, offsetof(gov_decision, processes), 8);
    StoreAt(b_.CreateLoad(i32_, network), decision, offsetof(gov_decision, network), 4);
    StoreAt(b_.CreateTrunc(n, i32_), decision, offsetof(gov_decision, deciding_count), 4);
    Value* source = b_.CreateLoad(ptr_, out_list);
    Value* extra_source = b_.CreateLoad(ptr_, out_extra_list);
    Value* rules_out = BytePtr(decision, offsetof(gov_decision, rules));
    // Only rules[0..n+extra) are written (the ABI leaves the rest unspecified).
    CountedLoop(n, [&](Value* i) {
      Value* rule = b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, source, i));
      b_.CreateAlignedStore(rule, b_.CreateInBoundsGEP(i32_, rules_out, i), llvm::Align(4));
    });
    Value* extra_out = b_.CreateInBoundsGEP(i32_, rules_out, n);
    CountedLoop(extra, [&](Value* i) {
      Value* rule = b_.CreateLoad(i32_, b_.CreateInBoundsGEP(i32_, extra_source, i));
      b_.CreateAlignedStore(rule, b_.CreateInBoundsGEP(i32_, extra_out, i), llvm::Align(4));
    });
    b_.CreateRet(v);
  }

  // After an allow or ask rule matched: merges its scalar obligations (row
  // `row` of `rows`: timeout, memory, processes, network) into the running
  // minimum. The final verdict decides whether the merge is kept.
  void EmitObligationMerge(Value* verdict, llvm::Constant* rows, Value* row, llvm::AllocaInst* timeout,
                           llvm::AllocaInst* memory, llvm::AllocaInst* processes, llvm::AllocaInst* network) {
    BasicBlock* merge = NewBlock("merge_obligations");
    BasicBlock* merged = NewBlock("merged");
    b_.CreateCondBr(b_.CreateICmpNE(verdict, b_.getInt32(GOV_DENY)), merge, merged);
    b_.SetInsertPoint(merge);
    Value* base = b_.CreateInBoundsGEP(i64_, rows, b_.CreateMul(b_.CreateZExt(row, i64_), b_.getInt64(4)));
    auto merge_min = [&](llvm::Type* type, std::uint64_t column, llvm::AllocaInst* slot) {
      Value* value = b_.CreateLoad(i64_, b_.CreateConstInBoundsGEP1_64(i64_, base, column));
      if (type != i64_) value = b_.CreateTrunc(value, type);
      Value* current = b_.CreateLoad(type, slot);
      llvm::Constant* zero = llvm::ConstantInt::get(type, 0);
      // Unset (0) limits do not constrain; otherwise the smaller wins.
      Value* take = b_.CreateAnd(b_.CreateICmpNE(value, zero),
                                 b_.CreateOr(b_.CreateICmpEQ(current, zero), b_.CreateICmpULT(value, current)));
      b_.CreateStore(b_.CreateSelect(take, value, current), slot);
    };
    merge_min(i64_, 0, timeout);
    merge_min(i64_, 1, memory);
    merge_min(i64_, 2, processes);
    // Network: none (1) < loopback (2) < any (3); the narrowest wins.
    merge_min(i32_, 3, network);
    b_.CreateBr(merged);
    b_.SetInsertPoint(merged);
  }

  const ir::Policy& p_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  std::unique_ptr<llvm::Module> m_;
  // Command tables emitted so far (by command index) and their sizes.
  std::vector<llvm::Constant*> command_tables_;
  std::vector<std::uint64_t> command_table_sizes_;
  std::uint64_t budget_;
  std::uint64_t emitted_ = 0;
  int depth_ = 0;
  std::string error_;

  llvm::Type* i1_ = nullptr;
  llvm::Type* i8_ = nullptr;
  llvm::Type* i16_ = nullptr;
  llvm::Type* i32_ = nullptr;
  llvm::Type* i64_ = nullptr;
  llvm::PointerType* ptr_ = nullptr;
  llvm::StructType* str_ty_ = nullptr;

  // Per rule function.
  Value* req_ = nullptr;
  Value* helpers_ = nullptr;
  Value* scratch_ = nullptr;
  llvm::AllocaInst* err_slot_ = nullptr;
  // The scratch fill level: an alloca of the shape function, or the pointer
  // an outlined function is passed.
  Value* used_slot_ = nullptr;
  std::vector<std::optional<Val>> locals_;

  Value* block_ = nullptr;
  // The slots of the block being read (the shape's representative rule's,
  // or an outlined node's), the next one to read and its first word.
  const std::vector<std::uint32_t>* block_slots_ = nullptr;
  std::size_t slot_cursor_ = 0;
  std::uint64_t slot_word_ = 0;

  // Structures (PlanStructures), per node: structure id, nodes in its tree
  // (saturating), quantifier slots it reads without binding them (sorted).
  std::vector<std::uint32_t> structure_;
  std::size_t structure_count_ = 0;
  std::vector<std::uint64_t> tree_nodes_;
  std::vector<std::vector<std::uint64_t>> free_slots_;
  std::uint64_t walk_budget_;
  // Shapes (PlanShapes).
  std::vector<Shape> shapes_;
  std::vector<std::uint32_t> rule_shape_;
  // Outlining (PlanOutlining), per structure: outlined or not, and its
  // function once built.
  std::vector<bool> outline_;
  std::vector<llvm::Function*> outlined_;
  std::size_t outlined_count_ = 0;
  // The node whose outlined function is being emitted (emitted inline there).
  std::uint32_t outlining_root_ = ir::kNoNode;
  // Values hoisted out of the quantifiers being emitted, innermost last.
  std::deque<Hoisted> hoisted_;
  // Block layouts (AppendSlots): each rule's, each outlined node's, and the
  // nodes laid out so far (bounded by walk_budget_).
  std::vector<std::vector<std::uint32_t>> rule_slots_;
  std::map<std::uint32_t, std::vector<std::uint32_t>> outlined_slots_;
  std::uint64_t laid_out_ = 0;

  // Constant data (BuildData), then the globals holding it.
  std::vector<std::uint64_t> rule_block_;
  std::vector<std::uint64_t> obligation_rows_;
  std::vector<std::uint64_t> words_;
  std::string strings_;
  std::map<std::string, std::uint64_t> string_offsets_;
  std::vector<const std::string*> list_items_;
  std::deque<std::vector<std::string>> sorted_sets_;
  std::vector<std::uint64_t> ints_;
  std::vector<std::uint8_t> dfa_class_;
  std::vector<std::uint16_t> dfa_next_;
  std::vector<std::uint8_t> dfa_next8_;
  std::vector<std::uint16_t> dfa_comb_;
  std::vector<std::uint32_t> dfa_state_;
  std::vector<std::uint8_t> dfa_accept_;
  std::map<std::pair<bool, std::uint32_t>, std::array<std::uint64_t, 4>> list_words_;
  std::map<std::uint32_t, std::array<std::uint64_t, 3>> map_words_;
  std::map<std::size_t, std::array<std::uint64_t, 6>> pattern_words_;
  // The offset in gov.consts of each outlined use's block, and of each
  // distinct block content.
  std::map<std::vector<std::string>, std::uint64_t> string_list_offsets_;
  std::map<std::vector<std::int64_t>, std::uint64_t> int_list_offsets_;
  std::map<std::uint32_t, std::uint64_t> outlined_block_;
  std::map<std::vector<std::uint64_t>, std::uint64_t> block_offsets_;
  std::vector<std::uint32_t> unindexed_;
  std::vector<std::uint32_t> pool_;
  KeyTable path_table_;
  KeyTable name_table_;
  llvm::GlobalVariable* strings_global_ = nullptr;
  llvm::GlobalVariable* lists_global_ = nullptr;
  llvm::GlobalVariable* ints_global_ = nullptr;
  llvm::GlobalVariable* consts_global_ = nullptr;
  llvm::GlobalVariable* dfa_class_global_ = nullptr;
  llvm::GlobalVariable* dfa_next_global_ = nullptr;
  llvm::GlobalVariable* dfa_next8_global_ = nullptr;
  llvm::GlobalVariable* dfa_comb_global_ = nullptr;
  llvm::GlobalVariable* dfa_state_global_ = nullptr;
  llvm::GlobalVariable* dfa_accept_global_ = nullptr;
};

}  // namespace

ErrorOr<std::unique_ptr<llvm::Module>> EmitModule(const ir::Policy& policy, llvm::LLVMContext& context,
                                                  const std::string& triple, const std::string& data_layout,
                                                  std::uint64_t max_emitted_nodes) {
  Emitter emitter(policy, context, max_emitted_nodes);
  return emitter.Run(triple, data_layout);
}

}  // namespace gov::codegen::internal
