// The compilation pipeline: read files, resolve imports (std modules and
// relative files), parse each file once, detect import cycles, type-check.
#include "compiler/driver/driver.h"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "compiler/diagnostics/suggest.h"
#include "compiler/driver/symbolic_lint.h"
#include "compiler/lint/lint.h"
#include "compiler/parse/parse.h"
#include "runtime/support/input_file.h"

namespace gov::driver {

namespace fs = std::filesystem;

std::string StdlibDir() {
  if (const char* env = std::getenv("GOV_STDLIB"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const fs::path executable = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return GOV_SOURCE_STDLIB;
  // Installed: PREFIX/bin/govc reads PREFIX/share/gov/stdlib, wherever PREFIX is
  // (a .deb's /usr, cmake --install's /usr/local, an extracted package).
  const fs::path installed = executable.parent_path().parent_path() / "share" / "gov" / "stdlib";
  if (fs::is_directory(installed, ec)) return installed.string();
  // A development build runs from its build tree and reads the source tree's.
  const fs::path build_dir = fs::weakly_canonical(GOV_BUILD_DIR, ec);
  const fs::path relative = executable.lexically_relative(build_dir);
  if (!ec && !relative.empty() && *relative.begin() != "..") return GOV_SOURCE_STDLIB;
  // Anywhere else the installed location is the only one: imports of std
  // modules then fail, naming it (StdlibMissing).
  return installed.string();
}

ErrorOr<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  bool standard_input = false;
  for (const std::string& path : paths) {
    if (path == input::kStandardInput) {
      if (standard_input) return Error{"`-` (standard input) can be given only once"};
      standard_input = true;
      out.push_back(path);
      continue;
    }
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) return Error{fmt::format("{}: no such file or directory", path)};
    if (fs::is_directory(status)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
      if (ec) return Error{fmt::format("{}: {}", path, ec.message())};
      for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return Error{fmt::format("{}: {}", path, ec.message())};
        if (it->is_regular_file(ec) && it->path().extension() == ".gov") found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(path);
    }
  }
  return out;
}

std::string SourceName(const std::string& path) {
  return path == input::kStandardInput ? "<stdin>" : path;
}

ErrorOr<std::string> ReadSourceFile(const std::string& path) {
  if (path == input::kStandardInput) {
    ErrorOr<std::string> text = input::ReadInputFile(path, source::kMaxSourceBytes);
    if (!text.ok()) return Error{text.error().message + " (policy files are limited to that size)"};
    return text;
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Error{fmt::format("{}: is a directory", path)};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) return Error{fmt::format("{}: cannot read", path)};
  if (static_cast<std::size_t>(size) > source::kMaxSourceBytes) {
    return Error{fmt::format("{}: file is {} bytes; policy files are limited to {} bytes", path, size,
                             source::kMaxSourceBytes)};
  }
  in.seekg(0, std::ios::beg);
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), size);
  if (!in) return Error{fmt::format("{}: read failed", path)};
  return text;
}

std::string CanonicalSourcePath(const std::string& path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? path : canonical.string();
}

namespace {

// `std.NAME` for every module of the standard library (for suggestions).
std::vector<std::string> StandardModules() {
  std::vector<std::string> modules;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(StdlibDir(), error)) {
    if (entry.path().extension() == ".gov") modules.push_back("std." + entry.path().stem().string());
  }
  std::sort(modules.begin(), modules.end());
  return modules;
}

// Loads modules breadth-first; each distinct file is parsed once.
class Loader {
 public:
  Loader(Compilation& compilation, const SourceOverlay& overlay) : c_(compilation), overlay_(overlay) {}

  ErrorOr<void> Run(const std::string& entry_path) {
    GOV_ASSIGN_OR_RETURN(std::string text, Read(entry_path));
    int entry = AddModule(SourceName(entry_path), std::move(text));
    c_.entry = entry;
    c_.modules[static_cast<std::size_t>(entry)].is_entry = true;
    for (std::size_t i = 0; i < c_.files.size(); ++i) ResolveImports(static_cast<int>(i));
    ReportCycles();
    return {};
  }

 private:
  ErrorOr<std::string> Read(const std::string& path) const {
    if (!overlay_.empty()) {
      if (auto it = overlay_.find(CanonicalSourcePath(path)); it != overlay_.end()) return it->second;
    }
    return ReadSourceFile(path);
  }

  int AddModule(const std::string& path, std::string text) {
    source::FileId id = c_.sources.Add(path, std::move(text));
    auto file = std::make_unique<ast::File>(parse::ParseFile(c_.sources, id, c_.diagnostics));
    c_.files.push_back(std::move(file));
    check::ParsedModule module;
    module.ast = c_.files.back().get();
    c_.modules.push_back(module);
    int index = static_cast<int>(c_.files.size() - 1);
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(path, ec);
    by_path_[ec ? path : canonical.string()] = index;
    return index;
  }

  void ResolveImports(int index) {
    // Copy what we need: AddModule may grow the vectors.
    const ast::File* file = c_.files[static_cast<std::size_t>(index)].get();
    std::string importer = c_.sources.file(file->file_id).path();
    std::vector<int> targets;
    for (const ast::Decl& decl : file->decls) {
      const auto* import = std::get_if<ast::Import>(&decl.node);
      if (import == nullptr) continue;
      targets.push_back(Load(*import, importer));
    }
    c_.modules[static_cast<std::size_t>(index)].import_targets = std::move(targets);
  }

  int Load(const ast::Import& import, const std::string& importer) {
    fs::path target;
    if (import.is_file) {
      target = fs::path(importer).parent_path() / import.target;
    } else {
      std::string module = import.target;
      if (module.rfind("std.", 0) != 0) {
        c_.diagnostics.Emit(diagnostics::Kind::kImportNotFound, import.target_span,
                            fmt::format("unknown module `{}`", module))
            .help = "import a standard module as `import std.NAME`, or a file as `import \"path/to/file.gov\"`";
        return -1;
      }
      std::string rest = module.substr(4);
      std::replace(rest.begin(), rest.end(), '.', '/');
      const std::string stdlib = StdlibDir();
      std::error_code stdlib_error;
      if (!fs::is_directory(stdlib, stdlib_error)) {
        c_.diagnostics
            .Emit(
                diagnostics::Kind::kImportNotFound, import.target_span,
                fmt::format("cannot import `{}`: the standard library is not installed at `{}`", import.target, stdlib))
            .help = "install gov's stdlib there (share/gov/stdlib beside bin/govc), or set GOV_STDLIB to its folder";
        return -1;
      }
      target = fs::path(stdlib) / (rest + ".gov");
    }
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(target, ec);
    std::string key = ec ? target.string() : canonical.string();
    if (auto it = by_path_.find(key); it != by_path_.end()) return it->second;
    ErrorOr<std::string> text = Read(target.string());
    if (!text.ok()) {
      std::error_code exists_error;
      if (!import.is_file && !fs::exists(target, exists_error)) {
        diagnostics::Diagnostic& d =
            c_.diagnostics.Emit(diagnostics::Kind::kImportNotFound, import.target_span,
                                fmt::format("`{}` is not a module of the standard library", import.target));
        const std::vector<std::string> modules = StandardModules();
        if (auto closest = diagnostics::ClosestName(import.target, modules)) {
          d.help = fmt::format("did you mean `{}`?", *closest);
          d.fix = diagnostics::Fix{import.target_span, *closest};
        } else {
          std::string list;
          for (const std::string& module : modules) list += (list.empty() ? "`" : ", `") + module + "`";
          d.help = fmt::format("the standard modules are {}", list);
        }
        return -1;
      }
      c_.diagnostics.Emit(diagnostics::Kind::kImportNotFound, import.target_span,
                          fmt::format("cannot import `{}`: {}", import.target, text.error().message));
      return -1;
    }
    return AddModule(target.string(), std::move(text).value());
  }

  void ReportCycles() {
    std::vector<int> state(c_.modules.size(), 0);
    std::vector<int> stack;
    // Iterative DFS with an explicit stack of (module, next import index).
    for (std::size_t root = 0; root < c_.modules.size(); ++root) {
      if (state[root] != 0) continue;
      std::vector<std::pair<int, std::size_t>> work{{static_cast<int>(root), 0}};
      state[root] = 1;
      while (!work.empty()) {
        auto& [module, next] = work.back();
        const std::vector<int>& targets = c_.modules[static_cast<std::size_t>(module)].import_targets;
        if (next >= targets.size()) {
          state[static_cast<std::size_t>(module)] = 2;
          work.pop_back();
          continue;
        }
        std::size_t import_index = next++;
        int target = targets[import_index];
        if (target < 0) continue;
        if (state[static_cast<std::size_t>(target)] == 1) {
          const ast::Import* import = NthImport(module, import_index);
          c_.diagnostics.Emit(diagnostics::Kind::kImportCycle, import->target_span,
                              fmt::format("importing `{}` leads back to this file", import->target))
              .help = "move the shared declarations into a module that both import";
          // Break the cycle so the checker sees a DAG.
          c_.modules[static_cast<std::size_t>(module)].import_targets[import_index] = -1;
          continue;
        }
        if (state[static_cast<std::size_t>(target)] == 0) {
          state[static_cast<std::size_t>(target)] = 1;
          work.emplace_back(target, 0);
        }
      }
    }
  }

  const ast::Import* NthImport(int module, std::size_t n) const {
    std::size_t seen = 0;
    for (const ast::Decl& decl : c_.files[static_cast<std::size_t>(module)]->decls) {
      if (const auto* import = std::get_if<ast::Import>(&decl.node)) {
        if (seen++ == n) return import;
      }
    }
    return nullptr;
  }

  Compilation& c_;
  const SourceOverlay& overlay_;
  std::map<std::string, int> by_path_;
};

}  // namespace

ErrorOr<std::unique_ptr<Compilation>> Compile(const std::string& path, const SourceOverlay& overlay) {
  auto compilation = std::make_unique<Compilation>();
  GOV_RETURN_IF_ERROR(Loader(*compilation, overlay).Run(path));
  compilation->program = check::Check(compilation->modules, compilation->diagnostics);
  return compilation;
}

ErrorOr<std::unique_ptr<Compilation>> CompileAndLint(const std::string& path, const std::string& config_path,
                                                     const SourceOverlay& overlay, LintDepth depth) {
  GOV_ASSIGN_OR_RETURN(std::unique_ptr<Compilation> compilation, Compile(path, overlay));
  Compilation& c = *compilation;
  // Lints need a well-typed program; gov.toml problems do not stop them.
  const bool check_errors = c.diagnostics.HasErrors();
  const std::string toml_path = config_path.empty() ? lint::FindConfig(path) : config_path;
  lint::Config config;
  if (!toml_path.empty()) {
    GOV_ASSIGN_OR_RETURN(std::string text, ReadSourceFile(toml_path));
    source::FileId id = c.sources.Add(toml_path, std::move(text));
    config = lint::ParseConfig(c.sources, id, c.diagnostics);
  }
  if (!check_errors) {
    lint::Lint(c.program, c.sources, config, c.diagnostics);
    if (depth == LintDepth::kAll) SymbolicLints(c, config);
  }
  return compilation;
}

ErrorOr<std::unique_ptr<ParsedFile>> ParseOnly(const std::string& path, std::string text) {
  auto parsed = std::make_unique<ParsedFile>();
  source::FileId id = parsed->sources.Add(path, std::move(text));
  parsed->file = parse::ParseFile(parsed->sources, id, parsed->diagnostics);
  return parsed;
}

namespace {

void* RunFunction(void* arg) {
  (*static_cast<const std::function<void()>*>(arg))();
  return nullptr;
}

}  // namespace

void RunWithLargeStack(const std::function<void()>& fn) {
  constexpr std::size_t kStackBytes = 256u << 20;
  pthread_attr_t attributes;
  pthread_t thread;
  bool started = pthread_attr_init(&attributes) == 0 && pthread_attr_setstacksize(&attributes, kStackBytes) == 0 &&
                 pthread_create(&thread, &attributes, &RunFunction, const_cast<std::function<void()>*>(&fn)) == 0;
  pthread_attr_destroy(&attributes);
  if (!started) {
    fn();
    return;
  }
  pthread_join(thread, nullptr);
}

}  // namespace gov::driver
