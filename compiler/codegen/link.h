// govc's own linker: turns the ELF relocatable object ORC compiled into the
// flat native code image of a bundle (runtime/bundle/image.h), in process,
// without LLVM or a system linker. docs/bundle-format.md "Native code image"
// says which objects it accepts.
#pragma once

#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::codegen {

// Links ELF64 little-endian relocatable `object` into a code image whose
// entry point is the global function `entry`: executable sections form the
// code segment, read-only (and .data.rel.ro) sections the data segment;
// .eh_frame is dropped. Every relocation is resolved now except absolute
// 64-bit addresses in data, which become base-relative fixups. Rejects, each
// with a precise message: another machine (aarch64: "not supported yet; use
// --no-native"), undefined (external) symbols, common symbols, TLS, GOT/PLT
// relocations, absolute addresses in code, 32-bit absolute relocations,
// writable or zero-initialized data, constructors, alignment above 4096,
// out-of-range relocation offsets or values, unknown relocation types, and
// malformed ELF. The result passes bundle::ParseCodeImage.
ErrorOr<std::string> LinkCodeImage(std::string_view object, std::string_view entry);

}  // namespace gov::codegen
