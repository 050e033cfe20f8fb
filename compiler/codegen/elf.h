// A small reader of ELF64 symbol tables, without LLVM: used to prove that
// generated code references no external symbol and defines only
// `gov_decide` (govc's linker, link.h, reads the object itself).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::codegen {

// The symbols of an ELF64 little-endian file (relocatable object or shared
// object), from its static (.symtab) and dynamic (.dynsym) tables. Names are
// sorted and unique; unnamed symbols are skipped.
struct ElfSymbols {
  // SHN_UNDEF, any binding.
  std::vector<std::string> undefined;
  // Defined, STB_GLOBAL or STB_WEAK, either table.
  std::vector<std::string> defined_global;
  // Defined entries of .dynsym (the exports of a shared object).
  std::vector<std::string> dynamic;
};

// Reads the symbol tables of `elf`. Never reads out of bounds; malformed or
// non-ELF64 input is an Error.
ErrorOr<ElfSymbols> ReadElfSymbols(std::string_view elf);

}  // namespace gov::codegen
