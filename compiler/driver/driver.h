// The pipeline shared by govc's subcommands: find policy files, load them
// and their imports, parse, check. Subcommands add their phase on top.
#pragma once

#include <functional>
#include <map>
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

// Expands files and folders (recursively, `*.gov`, sorted) into policy files;
// `-` (standard input, at most once) is kept as it is.
ErrorOr<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths);

// How diagnostics name the policy read from `path`: `<stdin>` for `-`.
std::string SourceName(const std::string& path);

// Reads a file for compilation (`-`: standard input); a tool error for
// unreadable or oversized files.
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

// Texts that stand in for files on disk (an editor's unsaved buffers), keyed
// by the files' paths as `CanonicalSourcePath` gives them.
using SourceOverlay = std::map<std::string, std::string>;

// The key of `path` in a SourceOverlay: absolute, with `.`, `..` and symbolic
// links resolved as far as the path exists.
std::string CanonicalSourcePath(const std::string& path);

// Loads and parses `path` and, transitively, its imports; then type-checks.
// Tool failures (the entry file unreadable) are Errors; problems in policies,
// including missing imports, are diagnostics in the result. A file named in
// `overlay` is read from there instead of the disk.
ErrorOr<std::unique_ptr<Compilation>> Compile(const std::string& path, const SourceOverlay& overlay = {});

// Which lints CompileAndLint runs.
enum class LintDepth {
  kAll,         // govc lint: the structural lints and the symbolic ones (symbolic_lint.h)
  kStructural,  // as you type (govc lsp): without those that lower the policy
};

// What `govc lint` reports for one file: Compile, then gov.toml (`config_path`,
// else the nearest one upwards) and, when the program type-checks, the lints
// at the levels it sets. An unreadable policy or gov.toml is an Error.
ErrorOr<std::unique_ptr<Compilation>> CompileAndLint(const std::string& path, const std::string& config_path = "",
                                                     const SourceOverlay& overlay = {},
                                                     LintDepth depth = LintDepth::kAll);

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
