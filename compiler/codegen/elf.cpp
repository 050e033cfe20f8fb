// ELF64 symbol table reader (see elf.h). Every offset read from the file is
// bounds-checked before use.
#include "compiler/codegen/elf.h"

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace gov::codegen {
namespace {

void SortUnique(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace

ErrorOr<ElfSymbols> ReadElfSymbols(std::string_view elf) {
  Elf64_Ehdr header;
  if (!ReadElfAt(elf, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return Error{"not an ELF file"};
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Error{"not a little-endian ELF64 file"};
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr)) return Error{"unexpected ELF section header size"};
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    if (!ReadElfAt(elf, header.e_shoff + i * sizeof(Elf64_Shdr), sections[i])) {
      return Error{"ELF section header out of bounds"};
    }
  }
  ElfSymbols result;
  for (const Elf64_Shdr& table : sections) {
    if (table.sh_type != SHT_SYMTAB && table.sh_type != SHT_DYNSYM) continue;
    if (table.sh_entsize != sizeof(Elf64_Sym)) return Error{"unexpected ELF symbol size"};
    if (table.sh_link >= sections.size()) return Error{"ELF symbol table without string table"};
    const Elf64_Shdr& strings = sections[table.sh_link];
    if (strings.sh_offset > elf.size() || elf.size() - strings.sh_offset < strings.sh_size) {
      return Error{"ELF string table out of bounds"};
    }
    std::string_view names = elf.substr(strings.sh_offset, strings.sh_size);
    std::uint64_t count = table.sh_size / sizeof(Elf64_Sym);
    for (std::uint64_t k = 1; k < count; ++k) {
      Elf64_Sym symbol;
      if (!ReadElfAt(elf, table.sh_offset + k * sizeof(Elf64_Sym), symbol)) return Error{"ELF symbol out of bounds"};
      if (symbol.st_name >= names.size()) return Error{"ELF symbol name out of bounds"};
      std::string_view rest = names.substr(symbol.st_name);
      std::size_t end = rest.find('\0');
      if (end == std::string_view::npos) return Error{"ELF symbol name not terminated"};
      std::string name(rest.substr(0, end));
      if (name.empty()) continue;
      unsigned char binding = ELF64_ST_BIND(symbol.st_info);
      if (symbol.st_shndx == SHN_UNDEF) {
        result.undefined.push_back(name);
      } else {
        if (binding == STB_GLOBAL || binding == STB_WEAK) result.defined_global.push_back(name);
        if (table.sh_type == SHT_DYNSYM) result.dynamic.push_back(name);
      }
    }
  }
  SortUnique(result.undefined);
  SortUnique(result.defined_global);
  SortUnique(result.dynamic);
  return result;
}

}  // namespace gov::codegen
