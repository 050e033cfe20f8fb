// libFuzzer target: arbitrary bytes through parse and check (and, for inputs
// that parse cleanly, the formatter's round trip). Any crash, sanitizer
// report, or round-trip mismatch is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "compiler/check/check.h"
#include "compiler/format/format.h"
#include "compiler/parse/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gov;
  if (size > (1u << 20)) return 0;
  source::SourceManager sources;
  source::FileId id = sources.Add("fuzz.gov", std::string(reinterpret_cast<const char*>(data), size));
  diagnostics::Collector diagnostics;
  ast::File file = parse::ParseFile(sources, id, diagnostics);
  bool parsed_cleanly = !diagnostics.HasErrors();
  std::vector<check::ParsedModule> modules{{&file, {}, true}};
  check::Check(modules, diagnostics);
  (void)diagnostics::RenderText(sources, diagnostics.diagnostics());
  if (parsed_cleanly) {
    std::string printed = format::FormatFile(file, sources.file(id));
    source::FileId again = sources.Add("fuzz-printed.gov", printed);
    diagnostics::Collector reparse_diagnostics;
    ast::File reparsed = parse::ParseFile(sources, again, reparse_diagnostics);
    if (reparse_diagnostics.HasErrors() || !ast::Equal(file, reparsed)) std::abort();
    if (format::FormatFile(reparsed, sources.file(again)) != printed) std::abort();
  }
  return 0;
}
