// The pipeline shared by govc's subcommands: find policy files, load them
// and their imports, parse, check. Subcommands add their phase on top.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/check/check.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/source/source.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

// Where `import std.NAME` looks: $GOV_STDLIB; else PREFIX/share/gov/stdlib
// when govc runs as PREFIX/bin/govc and that folder exists; else, for a govc
// inside its build tree, the source tree's stdlib/; else that installed
// location, which the import then reports as missing (never a guess).
std::string StdlibDir();

// Expands files and folders (recursively, `*.gov`, sorted) into policy files.
ErrorOr<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths);

// Reads a file for compilation; a tool error for unreadable or oversized files.
ErrorOr<std::string> ReadSourceFile(const std::string& path);

// One policy file and everything it imports, parsed and checked.
struct Compilation {
  source::SourceManager sources;
  diagnostics::Collector diagnostics;
  std::vector<std::unique_ptr<ast::File>> files;  // parallel to `modules`
  std::vector<check::ParsedModule> modules;
  check::Program program;
  int entry = -1;  // index into files/modules

  const ast::File& EntryFile() const { return *files[static_cast<std::size_t>(entry)]; }
};

// Loads and parses `path` and, transitively, its imports; then type-checks.
// Tool failures (the entry file unreadable) are Errors; problems in policies,
// including missing imports, are diagnostics in the result.
ErrorOr<std::unique_ptr<Compilation>> Compile(const std::string& path);

// Parses one file only (no imports, no checking), e.g. for `govc fmt`.
struct ParsedFile {
  source::SourceManager sources;
  diagnostics::Collector diagnostics;
  ast::File file;
};
ErrorOr<std::unique_ptr<ParsedFile>> ParseOnly(const std::string& path, std::string text);

// Runs `fn` on a thread with a large stack (deeply nested input stays safe).
void RunWithLargeStack(const std::function<void()>& fn);

}  // namespace gov::driver
