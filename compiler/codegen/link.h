// Links the object ORC compiled into a shared object with the system linker
// (binutils ld), so that govrun can load the code with dlopen and no LLVM.
#pragma once

#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::codegen {

// Links ELF relocatable `object` into a shared object whose only exported
// symbol is `exported`, running `linker` (an ld-compatible program) in a
// private temporary directory. Fails if the linker cannot start, exits
// non-zero (its diagnostics are in the message), or runs longer than
// `timeout_seconds` (it is then killed).
ErrorOr<std::string> LinkSharedObject(std::string_view object, const std::string& linker, std::string_view exported,
                                      int timeout_seconds);

}  // namespace gov::codegen
