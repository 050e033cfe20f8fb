// The default gov_helpers table: the runtime functions native decision code
// may call (lexical path operations). Used by everyone who runs generated
// code: govrun (after mapping a bundle's code image), govc eval/test and
// the tests. Links no LLVM.
#pragma once

#include "runtime/abi/gov_abi.h"

namespace gov::abi {

// A statically allocated helpers table (abi_version = GOV_ABI_VERSION) whose
// path functions implement runtime/support/path.h exactly, so native code and
// the interpreter agree. `match` is null: generated code matches patterns
// with its own automata. Thread-safe; valid for the life of the process.
const gov_helpers* DefaultHelpers();

}  // namespace gov::abi
