// The default gov_helpers table: the runtime functions native decision code
// may call (lexical path operations). Used by everyone who runs generated
// code: govrun (after mapping a bundle's code image), govc eval/test and
// the tests. Links no LLVM.
#pragma once

#include <cstdint>

#include "runtime/abi/gov_abi.h"

namespace gov::abi {

// A statically allocated helpers table (abi_version = GOV_ABI_VERSION) whose
// path functions implement runtime/support/path.h exactly, so native code and
// the interpreter agree. `match` is null: generated code matches patterns
// with its own automata. Thread-safe; valid for the life of the process.
const gov_helpers* DefaultHelpers();

// A process-unique identity for one mapped code image: never 0, never given
// twice (an image mapped later at the same address gets another).
std::uint64_t NewCodeImageId();

// While alive, the calling thread runs the gov_decide of the code image
// `image_id`. arg_read then knows a command table it has seen by its address
// in that image (an image's constants do not change while it is mapped)
// instead of comparing the table's bytes with every table it has decoded, on
// each read; outside a scope it compares the bytes. Scopes nest.
class CodeImageScope {
 public:
  explicit CodeImageScope(std::uint64_t image_id);
  ~CodeImageScope();
  CodeImageScope(const CodeImageScope&) = delete;
  CodeImageScope& operator=(const CodeImageScope&) = delete;

 private:
  std::uint64_t previous_;
};

}  // namespace gov::abi
