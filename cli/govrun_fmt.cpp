// govrun links fmt statically (cli/govrun.cmake): this file, compiled with
// FMT_HEADER_ONLY, emits the fmt function the runtime libraries call
// (fmt::vformat), so the linker resolves it here and libfmt.so is not needed.
#include <fmt/format.h>

namespace gov {

// Taking the address emits fmt::vformat's (inline, header-only) definition.
extern std::string (*const kGovrunFmtVformat)(fmt::string_view, fmt::format_args);
[[gnu::used]] std::string (*const kGovrunFmtVformat)(fmt::string_view, fmt::format_args) = &fmt::vformat;

}  // namespace gov
