// Base classes of the generated parser (grammar/Gov.g4 names them in its
// options: superClass and contextSuperClass). They change how the ANTLR 4.9
// runtime spends its time, not what it parses:
//  - parse tree contexts come from a per-thread pool of fixed-size blocks
//    instead of the general heap (a declaration's parse makes thousands of
//    small contexts that all die together when the parser resets);
//  - leaving a rule restores the parent context with a static_cast where the
//    runtime's Parser::exitRule uses dynamic_cast (every context of this
//    parser is a ParserRuleContext), entering one skips the parse tree and
//    listener steps (both off), and the generated rules' exit guard is a
//    plain scope guard instead of antlrcpp::finally's std::function.
// Only compiler/parse uses the generated parser.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>
#include <vector>

#include "antlr4-runtime.h"

namespace gov::parse {

// Free lists of blocks in 16-byte size classes up to kMaxBlock bytes, carved
// from 64 KiB chunks. Used by one thread; when nothing is in use and more
// than kKeepBytes are held, the chunks go back to the heap.
class ContextPool {
 public:
  static constexpr std::size_t kMaxBlock = 512;

  static ContextPool& Get() {
    thread_local ContextPool pool;
    return pool;
  }

  void* Allocate(std::size_t size) {
    std::size_t index = (size + 15) / 16;
    FreeBlock*& head = free_[index];
    if (head != nullptr) {
      FreeBlock* block = head;
      head = block->next;
      ++live_;
      return block;
    }
    std::size_t bytes = index * 16;
    if (chunk_left_ < bytes) NewChunk();
    void* block = chunk_next_;
    chunk_next_ += bytes;
    chunk_left_ -= bytes;
    ++live_;
    return block;
  }

  void Release(void* pointer, std::size_t size) noexcept {
    std::size_t index = (size + 15) / 16;
    auto* block = static_cast<FreeBlock*>(pointer);
    block->next = free_[index];
    free_[index] = block;
    if (--live_ == 0 && chunks_.size() * kChunkBytes > kKeepBytes) Clear();
  }

  ContextPool() = default;
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;
  ~ContextPool() { Clear(); }

 private:
  static constexpr std::size_t kChunkBytes = 64 * 1024;
  static constexpr std::size_t kKeepBytes = 4 * 1024 * 1024;

  struct FreeBlock {
    FreeBlock* next;
  };

  void NewChunk() {
    chunks_.reserve(chunks_.size() + 1);
    char* chunk = static_cast<char*>(std::malloc(kChunkBytes));
    if (chunk == nullptr) throw std::bad_alloc();
    chunks_.push_back(chunk);
    chunk_next_ = chunk;
    chunk_left_ = kChunkBytes;
  }

  void Clear() noexcept {
    for (char* chunk : chunks_) std::free(chunk);
    chunks_.clear();
    for (FreeBlock*& head : free_) head = nullptr;
    chunk_next_ = nullptr;
    chunk_left_ = 0;
  }

  FreeBlock* free_[kMaxBlock / 16 + 1] = {};
  std::vector<char*> chunks_;
  char* chunk_next_ = nullptr;
  std::size_t chunk_left_ = 0;
  std::size_t live_ = 0;
};

}  // namespace gov::parse

// Under AddressSanitizer contexts use the heap, so it still sees their misuse.
#if defined(__SANITIZE_ADDRESS__)
#define GOV_POOL_CONTEXTS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GOV_POOL_CONTEXTS 0
#endif
#endif
#ifndef GOV_POOL_CONTEXTS
#define GOV_POOL_CONTEXTS 1
#endif

// Base of every generated context (the generated code names it unqualified).
class GovPooledContext : public antlr4::ParserRuleContext {
 public:
  using antlr4::ParserRuleContext::ParserRuleContext;

#if GOV_POOL_CONTEXTS
  static void* operator new(std::size_t size) {
    if (size > gov::parse::ContextPool::kMaxBlock) return ::operator new(size);
    return gov::parse::ContextPool::Get().Allocate(size);
  }
  static void operator delete(void* pointer, std::size_t size) noexcept {
    if (size > gov::parse::ContextPool::kMaxBlock) {
      ::operator delete(pointer);
      return;
    }
    gov::parse::ContextPool::Get().Release(pointer, size);
  }
#endif
};

// Base of the generated GovParser. Its exitRule and finally hide the
// runtime's for the generated rule functions (unqualified calls in members
// of a derived class find these first).
class GovParserBase : public antlr4::Parser {
 public:
  using antlr4::Parser::Parser;

 protected:
  // Parser::enterRule without the parse tree and listener steps, which are off.
  void enterRule(antlr4::ParserRuleContext* localctx, std::size_t state, std::size_t rule_index) override {
    if (_buildParseTrees || !_parseListeners.empty()) {
      antlr4::Parser::enterRule(localctx, state, rule_index);
      return;
    }
    setState(state);
    _ctx = localctx;
    _ctx->start = _input->LT(1);
  }

  // Parser::exitRule: record the rule's last token and return to the parent.
  void exitRule() {
    if (!_parseListeners.empty()) {
      antlr4::Parser::exitRule();
      return;
    }
    _ctx->stop = _matchedEOF ? _input->LT(1) : _input->LT(-1);
    setState(_ctx->invokingState);
    _ctx = static_cast<antlr4::ParserRuleContext*>(_ctx->parent);
  }

  // Runs a function when the scope ends, also when an exception leaves it.
  template <typename Function>
  class ScopeExit {
   public:
    explicit ScopeExit(Function function) : function_(std::move(function)) {}
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;
    ~ScopeExit() { function_(); }

   private:
    Function function_;
  };

  template <typename Function>
  static ScopeExit<Function> finally(Function function) {
    return ScopeExit<Function>(std::move(function));
  }
};
