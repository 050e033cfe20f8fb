// The in-process ELF linker for code images (see link.h). Every offset read
// from the object is bounds-checked before use.
#include "compiler/codegen/link.h"

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "compiler/codegen/elf.h"
#include "runtime/bundle/image.h"

namespace gov::codegen {
namespace {

constexpr std::uint64_t kMaxSectionAlign = 4096;

std::uint64_t AlignUp(std::uint64_t value, std::uint64_t align) {
  return align <= 1 ? value : (value + align - 1) / align * align;
}

// Where a section of the object goes.
enum class Placement { kNone, kCode, kData };

struct PlacedSection {
  Placement placement = Placement::kNone;
  std::uint64_t address = 0;  // image offset
};

std::string RelocationName(std::uint32_t type) {
  switch (type) {
    case R_X86_64_GOT32:
      return "R_X86_64_GOT32";
    case R_X86_64_GOTPCREL:
      return "R_X86_64_GOTPCREL";
    case R_X86_64_GOTPCRELX:
      return "R_X86_64_GOTPCRELX";
    case R_X86_64_REX_GOTPCRELX:
      return "R_X86_64_REX_GOTPCRELX";
    case R_X86_64_GOTOFF64:
      return "R_X86_64_GOTOFF64";
    case R_X86_64_GOTPC32:
      return "R_X86_64_GOTPC32";
    case R_X86_64_GOT64:
      return "R_X86_64_GOT64";
    case R_X86_64_GOTPCREL64:
      return "R_X86_64_GOTPCREL64";
    case R_X86_64_GOTPC64:
      return "R_X86_64_GOTPC64";
    case R_X86_64_GOTPLT64:
      return "R_X86_64_GOTPLT64";
    case R_X86_64_PLTOFF64:
      return "R_X86_64_PLTOFF64";
    case R_X86_64_32:
      return "R_X86_64_32";
    case R_X86_64_32S:
      return "R_X86_64_32S";
    case R_X86_64_16:
      return "R_X86_64_16";
    case R_X86_64_PC16:
      return "R_X86_64_PC16";
    case R_X86_64_8:
      return "R_X86_64_8";
    case R_X86_64_PC8:
      return "R_X86_64_PC8";
    default:
      return "type " + std::to_string(type);
  }
}

bool IsTlsRelocation(std::uint32_t type) {
  switch (type) {
    case R_X86_64_DTPMOD64:
    case R_X86_64_DTPOFF64:
    case R_X86_64_TPOFF64:
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32:
    case R_X86_64_GOTTPOFF:
    case R_X86_64_TPOFF32:
    case R_X86_64_GOTPC32_TLSDESC:
    case R_X86_64_TLSDESC_CALL:
    case R_X86_64_TLSDESC:
      return true;
    default:
      return false;
  }
}

bool IsGotOrPltRelocation(std::uint32_t type) {
  switch (type) {
    case R_X86_64_GOT32:
    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTOFF64:
    case R_X86_64_GOTPC32:
    case R_X86_64_GOT64:
    case R_X86_64_GOTPCREL64:
    case R_X86_64_GOTPC64:
    case R_X86_64_GOTPLT64:
    case R_X86_64_PLTOFF64:
      return true;
    default:
      return false;
  }
}

class Linker {
 public:
  Linker(std::string_view object, std::string_view entry) : elf_(object), entry_(entry) {}

  ErrorOr<std::string> Run() {
    GOV_RETURN_IF_ERROR(ReadHeaders());
    GOV_RETURN_IF_ERROR(Layout());
    GOV_RETURN_IF_ERROR(ReadSymbols());
    GOV_RETURN_IF_ERROR(Relocate());
    GOV_RETURN_IF_ERROR(FindEntry());
    std::sort(parts_.fixups.begin(), parts_.fixups.end());
    parts_.machine = bundle::kMachineX86_64;
    std::string image = bundle::WriteCodeImage(parts_);
    auto parsed = bundle::ParseCodeImage(image);
    if (!parsed.ok()) return Error{"internal error: the linked code image is malformed: " + parsed.error().message};
    return image;
  }

 private:
  ErrorOr<void> ReadHeaders() {
    if (!ReadElfAt(elf_, 0, header_) || std::memcmp(header_.e_ident, ELFMAG, SELFMAG) != 0) {
      return Error{"the compiled code is not an ELF object"};
    }
    if (header_.e_ident[EI_CLASS] != ELFCLASS64 || header_.e_ident[EI_DATA] != ELFDATA2LSB) {
      return Error{"the compiled code is not a little-endian ELF64 object"};
    }
    if (header_.e_type != ET_REL) return Error{"the compiled code is not a relocatable ELF object"};
    if (header_.e_machine == EM_AARCH64) {
      return Error{"native code for aarch64 is not supported yet; use --no-native"};
    }
    if (header_.e_machine != EM_X86_64) {
      return Error{"native code for ELF machine " + std::to_string(header_.e_machine) +
                   " is not supported yet; use --no-native"};
    }
    if (header_.e_shentsize != sizeof(Elf64_Shdr)) return Error{"ELF object: unexpected section header size"};
    sections_.resize(header_.e_shnum);
    for (std::size_t i = 0; i < sections_.size(); ++i) {
      if (!ReadElfAt(elf_, header_.e_shoff + i * sizeof(Elf64_Shdr), sections_[i])) {
        return Error{"ELF object: section header " + std::to_string(i) + " out of bounds"};
      }
    }
    if (header_.e_shstrndx >= sections_.size()) return Error{"ELF object: no section name table"};
    GOV_ASSIGN_OR_RETURN(section_names_, Contents(header_.e_shstrndx));
    return {};
  }

  ErrorOr<std::string_view> Contents(std::size_t index) const {
    const Elf64_Shdr& s = sections_[index];
    if (s.sh_type == SHT_NOBITS) return std::string_view();
    if (s.sh_offset > elf_.size() || elf_.size() - s.sh_offset < s.sh_size) {
      return Error{"ELF object: section " + std::to_string(index) + " lies outside the file"};
    }
    return elf_.substr(s.sh_offset, s.sh_size);
  }

  std::string SectionName(std::size_t index) const {
    const std::uint32_t at = sections_[index].sh_name;
    if (at >= section_names_.size()) return "#" + std::to_string(index);
    std::string_view rest = section_names_.substr(at);
    const std::size_t end = rest.find('\0');
    return end == std::string_view::npos ? "#" + std::to_string(index) : std::string(rest.substr(0, end));
  }

  ErrorOr<void> Layout() {
    placed_.resize(sections_.size());
    std::vector<std::size_t> code;
    std::vector<std::size_t> data;
    for (std::size_t i = 1; i < sections_.size(); ++i) {
      const Elf64_Shdr& s = sections_[i];
      if ((s.sh_flags & SHF_ALLOC) == 0 || s.sh_size == 0) continue;  // empty: nothing to place
      const std::string name = SectionName(i);
      const std::string what = "section " + name + ": ";
      if (s.sh_type == SHT_X86_64_UNWIND || name == ".eh_frame") continue;  // unwind tables: the ABI has no exceptions
      if ((s.sh_flags & SHF_TLS) != 0) return Error{what + "thread-local storage is not supported"};
      if (s.sh_type == SHT_INIT_ARRAY || s.sh_type == SHT_FINI_ARRAY || s.sh_type == SHT_PREINIT_ARRAY) {
        return Error{what + "constructors and destructors are not supported"};
      }
      if (s.sh_type == SHT_NOBITS) {
        return Error{what + "zero-initialized data (global state) is not supported"};
      }
      if (s.sh_type != SHT_PROGBITS) {
        return Error{what + "allocatable section of ELF type " + std::to_string(s.sh_type) + " is not supported"};
      }
      if ((s.sh_flags & SHF_WRITE) != 0 && name.rfind(".data.rel.ro", 0) != 0) {
        return Error{what + "writable data (global state) is not supported"};
      }
      if ((s.sh_flags & SHF_EXECINSTR) != 0 && (s.sh_flags & SHF_WRITE) != 0) {
        return Error{what + "writable code is not supported"};
      }
      if (s.sh_addralign > kMaxSectionAlign) {
        return Error{what + "alignment " + std::to_string(s.sh_addralign) + " exceeds " +
                     std::to_string(kMaxSectionAlign)};
      }
      if (s.sh_size > bundle::kImageMaxSegment) return Error{what + "too large"};
      ((s.sh_flags & SHF_EXECINSTR) != 0 ? code : data).push_back(i);
    }
    if (code.empty()) return Error{"the compiled object has no code"};
    std::uint64_t end = 0;
    for (std::size_t i : code) {
      end = AlignUp(end, sections_[i].sh_addralign);
      placed_[i] = {Placement::kCode, end};
      end += sections_[i].sh_size;
      if (end > bundle::kImageMaxSegment) return Error{"the code exceeds the image limit"};
    }
    const std::uint64_t code_size = end;
    const std::uint64_t data_offset = bundle::ImageDataOffset(code_size);
    end = data_offset;
    for (std::size_t i : data) {
      end = AlignUp(end, sections_[i].sh_addralign);
      placed_[i] = {Placement::kData, end};
      end += sections_[i].sh_size;
      if (end - data_offset > bundle::kImageMaxSegment) return Error{"the data exceeds the image limit"};
    }
    parts_.code.assign(code_size, '\0');
    parts_.data.assign(end - data_offset, '\0');
    data_offset_ = data_offset;
    for (std::size_t i = 1; i < sections_.size(); ++i) {
      if (placed_[i].placement == Placement::kNone) continue;
      GOV_ASSIGN_OR_RETURN(std::string_view bytes, Contents(i));
      std::memcpy(Bytes(placed_[i].address), bytes.data(), bytes.size());
    }
    return {};
  }

  // The image byte at `address` (which must lie inside a placed section).
  char* Bytes(std::uint64_t address) {
    return address >= data_offset_ ? parts_.data.data() + (address - data_offset_) : parts_.code.data() + address;
  }

  ErrorOr<void> ReadSymbols() {
    std::size_t table = 0;
    for (std::size_t i = 1; i < sections_.size(); ++i) {
      if (sections_[i].sh_type != SHT_SYMTAB) continue;
      if (table != 0) return Error{"ELF object: more than one symbol table"};
      table = i;
    }
    if (table == 0) return Error{"ELF object: no symbol table"};
    if (sections_[table].sh_entsize != sizeof(Elf64_Sym)) return Error{"ELF object: unexpected symbol size"};
    if (sections_[table].sh_link >= sections_.size()) return Error{"ELF object: symbol table without names"};
    GOV_ASSIGN_OR_RETURN(std::string_view entries, Contents(table));
    GOV_ASSIGN_OR_RETURN(symbol_names_, Contents(sections_[table].sh_link));
    symtab_ = table;
    const std::size_t count = entries.size() / sizeof(Elf64_Sym);
    symbols_.resize(count);
    for (std::size_t k = 0; k < count; ++k)
      std::memcpy(&symbols_[k], entries.data() + k * sizeof(Elf64_Sym), sizeof(Elf64_Sym));
    return {};
  }

  std::string SymbolName(const Elf64_Sym& symbol) const {
    if (symbol.st_name >= symbol_names_.size()) return "<bad name>";
    std::string_view rest = symbol_names_.substr(symbol.st_name);
    const std::size_t end = rest.find('\0');
    return end == std::string_view::npos ? "<bad name>" : std::string(rest.substr(0, end));
  }

  // The image offset of symbol `index`, or why it has none.
  ErrorOr<std::uint64_t> SymbolAddress(std::uint64_t index) const {
    if (index >= symbols_.size())
      return Error{"ELF object: relocation names symbol " + std::to_string(index) + " of " +
                   std::to_string(symbols_.size())};
    const Elf64_Sym& symbol = symbols_[index];
    const std::string name = SymbolName(symbol);
    if (ELF64_ST_TYPE(symbol.st_info) == STT_TLS) return Error{"symbol `" + name + "` is thread-local; not supported"};
    if (ELF64_ST_TYPE(symbol.st_info) == STT_GNU_IFUNC)
      return Error{"symbol `" + name + "` is an IFUNC; not supported"};
    if (symbol.st_shndx == SHN_UNDEF) {
      return Error{"the code references the external symbol `" + name + "`; generated code may reference none"};
    }
    if (symbol.st_shndx == SHN_COMMON) return Error{"symbol `" + name + "` is a common symbol (global state)"};
    if (symbol.st_shndx == SHN_ABS) return Error{"symbol `" + name + "` is absolute; not supported"};
    if (symbol.st_shndx >= sections_.size() || placed_[symbol.st_shndx].placement == Placement::kNone) {
      return Error{
          "symbol `" + name + "` lies in section " +
          (symbol.st_shndx < sections_.size() ? SectionName(symbol.st_shndx) : std::to_string(symbol.st_shndx)) +
          ", which is not part of the image"};
    }
    if (symbol.st_value > sections_[symbol.st_shndx].sh_size)
      return Error{"symbol `" + name + "` lies outside its section"};
    return placed_[symbol.st_shndx].address + symbol.st_value;
  }

  ErrorOr<void> Relocate() {
    for (std::size_t r = 1; r < sections_.size(); ++r) {
      const Elf64_Shdr& rel = sections_[r];
      if (rel.sh_type != SHT_RELA && rel.sh_type != SHT_REL) continue;
      if (rel.sh_info >= sections_.size()) return Error{"ELF object: relocation section for a missing section"};
      const std::size_t target = rel.sh_info;
      if (placed_[target].placement == Placement::kNone) continue;  // e.g. .rela.eh_frame, debug info
      const std::string where = "relocation in section " + SectionName(target);
      if (rel.sh_type == SHT_REL) return Error{where + ": REL relocations (without addend) are not supported"};
      if (rel.sh_link != symtab_) return Error{where + ": relocations against another symbol table"};
      if (rel.sh_entsize != sizeof(Elf64_Rela)) return Error{"ELF object: unexpected relocation entry size"};
      GOV_ASSIGN_OR_RETURN(std::string_view entries, Contents(r));
      const std::size_t count = entries.size() / sizeof(Elf64_Rela);
      for (std::size_t k = 0; k < count; ++k) {
        Elf64_Rela entry;
        std::memcpy(&entry, entries.data() + k * sizeof(Elf64_Rela), sizeof entry);
        GOV_RETURN_IF_ERROR(Apply(target, entry, where));
      }
    }
    return {};
  }

  ErrorOr<void> Apply(std::size_t target, const Elf64_Rela& entry, const std::string& where) {
    const auto type = static_cast<std::uint32_t>(ELF64_R_TYPE(entry.r_info));
    const std::string at = where + " at offset " + std::to_string(entry.r_offset);
    if (type == R_X86_64_NONE) return {};
    if (IsTlsRelocation(type))
      return Error{at + ": thread-local storage relocation " + std::to_string(type) + " is not supported"};
    if (IsGotOrPltRelocation(type)) {
      return Error{at + ": " + RelocationName(type) + " needs a GOT or PLT, which code images do not have"};
    }
    std::size_t width = 0;
    switch (type) {
      case R_X86_64_PC32:
      case R_X86_64_PLT32:
        width = 4;
        break;
      case R_X86_64_PC64:
      case R_X86_64_64:
        width = 8;
        break;
      case R_X86_64_32:
      case R_X86_64_32S:
      case R_X86_64_16:
      case R_X86_64_8:
        return Error{at + ": " + RelocationName(type) +
                     " is an absolute address narrower than 64 bits (not position-independent code)"};
      default:
        return Error{at + ": unknown or unsupported relocation " + RelocationName(type)};
    }
    const Elf64_Shdr& section = sections_[target];
    if (entry.r_offset > section.sh_size || section.sh_size - entry.r_offset < width) {
      return Error{at + ": the relocated bytes lie outside the section"};
    }
    GOV_ASSIGN_OR_RETURN(const std::uint64_t symbol, SymbolAddress(ELF64_R_SYM(entry.r_info)));
    const std::uint64_t place = placed_[target].address + entry.r_offset;
    // Image offsets are below 2^28; a larger addend cannot address the image
    // (and the sums below then cannot overflow).
    constexpr std::int64_t kMaxAddend = std::int64_t{1} << 40;
    if (entry.r_addend > kMaxAddend || entry.r_addend < -kMaxAddend) {
      return Error{at + ": addend " + std::to_string(entry.r_addend) + " is out of range"};
    }
    const auto value = static_cast<std::int64_t>(symbol) + entry.r_addend;
    char* bytes = Bytes(place);
    if (type == R_X86_64_64) {
      if (placed_[target].placement != Placement::kData) {
        return Error{at + ": an absolute address in code is not supported (not position-independent code)"};
      }
      const std::uint64_t mapped = data_offset_ + parts_.data.size();
      if (value < 0 || static_cast<std::uint64_t>(value) > mapped) {
        return Error{at + ": the absolute address " + std::to_string(value) + " lies outside the image"};
      }
      const auto stored = static_cast<std::uint64_t>(value);
      std::memcpy(bytes, &stored, 8);
      parts_.fixups.push_back(place);
      return {};
    }
    const std::int64_t relative = value - static_cast<std::int64_t>(place);
    if (width == 8) {
      std::memcpy(bytes, &relative, 8);
      return {};
    }
    if (relative < std::numeric_limits<std::int32_t>::min() || relative > std::numeric_limits<std::int32_t>::max()) {
      return Error{at + ": the PC-relative distance " + std::to_string(relative) + " does not fit 32 bits"};
    }
    const auto narrow = static_cast<std::int32_t>(relative);
    std::memcpy(bytes, &narrow, 4);
    return {};
  }

  ErrorOr<void> FindEntry() {
    std::optional<std::uint64_t> found;
    for (std::size_t k = 1; k < symbols_.size(); ++k) {
      const Elf64_Sym& symbol = symbols_[k];
      if (SymbolName(symbol) != entry_) continue;
      const unsigned char binding = ELF64_ST_BIND(symbol.st_info);
      if (binding != STB_GLOBAL && binding != STB_WEAK) continue;
      if (found) return Error{"the code defines `" + std::string(entry_) + "` twice"};
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC) return Error{"`" + std::string(entry_) + "` is not a function"};
      GOV_ASSIGN_OR_RETURN(const std::uint64_t address, SymbolAddress(k));
      if (placed_[symbol.st_shndx].placement != Placement::kCode || address >= parts_.code.size()) {
        return Error{"`" + std::string(entry_) + "` does not lie in the code"};
      }
      found = address;
    }
    if (!found) return Error{"the code does not define the function `" + std::string(entry_) + "`"};
    parts_.entry = *found;
    return {};
  }

  std::string_view elf_;
  std::string_view entry_;
  Elf64_Ehdr header_{};
  std::vector<Elf64_Shdr> sections_;
  std::string_view section_names_;
  std::vector<PlacedSection> placed_;
  std::uint64_t data_offset_ = 0;
  std::size_t symtab_ = 0;
  std::vector<Elf64_Sym> symbols_;
  std::string_view symbol_names_;
  bundle::CodeImageParts parts_;
};

}  // namespace

ErrorOr<std::string> LinkCodeImage(std::string_view object, std::string_view entry) {
  return Linker(object, entry).Run();
}

}  // namespace gov::codegen
