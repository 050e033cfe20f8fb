// govc: the Gov policy compiler. Subcommands: check, fmt, lint, lsp, keygen,
// build, eval, test (the last four in govc_policy.cpp).
// Exit codes: 0 clean, 1 problems found in the policies, 2 tool failure, 64 usage error.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "cli/govc_policy.h"
#include "compiler/diagnostics/suggest.h"
#include "compiler/driver/driver.h"
#include "compiler/driver/heap.h"
#include "compiler/format/format.h"
#include "compiler/lint/lint.h"
#include "compiler/lsp/server.h"
#include "runtime/support/input_file.h"
#include "runtime/support/output_file.h"

namespace gov::cli {
namespace {

constexpr std::string_view kVersion = "0.1.0";

// Accumulates rendered diagnostics from several compilations, dropping
// duplicates (a module imported by two checked files is reported once).
class Report {
 public:
  explicit Report(std::string format) : format_(std::move(format)) {}

  void Add(const source::SourceManager& sources, std::vector<diagnostics::Diagnostic> list) {
    std::vector<diagnostics::Diagnostic> fresh;
    for (diagnostics::Diagnostic& d : list) {
      std::string path = d.span.valid() ? sources.file(d.span.file).path() : "";
      std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}", path, d.span.begin, d.span.end,
                                    diagnostics::Info(d.kind).code, d.message);
      if (!seen_.insert(key).second) continue;
      if (d.severity == diagnostics::Severity::kError) ++errors_;
      if (d.severity == diagnostics::Severity::kWarning) ++warnings_;
      all_.push_back(d);
      fresh.push_back(std::move(d));
    }
    if (fresh.empty()) return;
    if (format_ == "text") {
      text_ += diagnostics::RenderText(sources, fresh, UseColor(stderr));
    } else if (format_ == "json") {
      for (auto& item : nlohmann::json::parse(diagnostics::RenderJson(sources, fresh))) json_.push_back(item);
    } else {
      nlohmann::json log = nlohmann::json::parse(diagnostics::RenderSarif(sources, fresh, kVersion));
      if (sarif_.is_null()) {
        sarif_ = std::move(log);
      } else {
        for (auto& result : log["runs"][0]["results"]) sarif_["runs"][0]["results"].push_back(result);
      }
    }
  }

  // Prints everything: text to stderr, JSON and SARIF to stdout. JSON is one
  // document (docs/schemas/govc-check.schema.json), with `costs` when given.
  void Print(std::size_t files, const nlohmann::json* costs = nullptr) const {
    if (format_ == "text") {
      std::fputs(text_.c_str(), stderr);
      if (errors_ + warnings_ > 0) {
        std::string summary;
        if (errors_ > 0) summary += fmt::format("{} error{}", errors_, errors_ == 1 ? "" : "s");
        if (warnings_ > 0) {
          summary += fmt::format("{}{} warning{}", summary.empty() ? "" : ", ", warnings_, warnings_ == 1 ? "" : "s");
        }
        std::fprintf(stderr, "%s in %zu file%s\n", summary.c_str(), files, files == 1 ? "" : "s");
      }
    } else if (format_ == "json") {
      nlohmann::json document = {{"version", 1}, {"diagnostics", json_}};
      if (costs != nullptr) document["costs"] = *costs;
      std::cout << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      nlohmann::json log = sarif_;
      if (log.is_null()) {
        log = nlohmann::json::parse(diagnostics::RenderSarif(source::SourceManager(), {}, kVersion));
      }
      std::cout << log.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }

  std::size_t errors() const { return errors_; }

 private:
  std::string format_;
  std::set<std::string> seen_;
  std::vector<diagnostics::Diagnostic> all_;
  std::string text_;
  nlohmann::json json_ = nlohmann::json::array();
  nlohmann::json sarif_;
  std::size_t errors_ = 0;
  std::size_t warnings_ = 0;
};

// govc check: parse, resolve and type-check every file; with `cost` and no
// error, each policy's cost bound (text: after the diagnostics; JSON: in the
// same document).
int RunCheck(const std::vector<std::string>& inputs, const std::string& format, bool cost) {
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(inputs);
  if (!files.ok()) return ToolFailure(files.error().message);
  Report report(format);
  int status = kExitOk;
  for (const std::string& path : files.value()) {
    driver::RunWithLargeStack([&] {
      ErrorOr<std::unique_ptr<driver::Compilation>> compilation = driver::Compile(path);
      if (!compilation.ok()) {
        status = ToolFailure(compilation.error().message);
        return;
      }
      driver::Compilation& c = *compilation.value();
      c.diagnostics.Sort();
      report.Add(c.sources, c.diagnostics.diagnostics());
    });
  }
  if (status == kExitOk && report.errors() == 0 && cost && format == "json") {
    ErrorOr<nlohmann::json> costs = CostJson(inputs);
    if (!costs.ok()) return ToolFailure(costs.error().message);
    report.Print(files.value().size(), &costs.value());
    return kExitOk;
  }
  report.Print(files.value().size());
  if (status != kExitOk) return status;
  if (report.errors() > 0) return kExitFindings;
  return cost ? RunCost(inputs) : kExitOk;
}

// govc lint: check, then run the lints with levels from gov.toml.
int RunLint(const std::vector<std::string>& inputs, const std::string& format, const std::string& config_path) {
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(inputs);
  if (!files.ok()) return ToolFailure(files.error().message);
  Report report(format);
  int status = kExitOk;
  for (const std::string& path : files.value()) {
    driver::RunWithLargeStack([&] {
      ErrorOr<std::unique_ptr<driver::Compilation>> compilation = driver::CompileAndLint(path, config_path);
      if (!compilation.ok()) {
        status = ToolFailure(compilation.error().message);
        return;
      }
      driver::Compilation& c = *compilation.value();
      c.diagnostics.Sort();
      report.Add(c.sources, c.diagnostics.diagnostics());
    });
  }
  report.Print(files.value().size());
  if (status != kExitOk) return status;
  return report.errors() > 0 ? kExitFindings : kExitOk;
}

// govc fmt: print every file in the canonical layout.
int RunFmt(const std::vector<std::string>& inputs, bool check_only, bool to_stdout) {
  ErrorOr<std::vector<std::string>> files = driver::ExpandPaths(inputs);
  if (!files.ok()) return ToolFailure(files.error().message);
  Report report("text");
  int status = kExitOk;
  for (const std::string& path : files.value()) {
    ErrorOr<std::string> text = driver::ReadSourceFile(path);
    if (!text.ok()) {
      status = ToolFailure(text.error().message);
      continue;
    }
    std::string original = text.value();
    driver::RunWithLargeStack([&] {
      ErrorOr<std::unique_ptr<driver::ParsedFile>> parsed =
          driver::ParseOnly(driver::SourceName(path), std::move(text).value());
      driver::ParsedFile& p = *parsed.value();
      if (p.diagnostics.HasErrors()) {
        // Never rewrite a file that does not parse: its text would be lost.
        p.diagnostics.Sort();
        report.Add(p.sources, p.diagnostics.diagnostics());
        status = std::max(status, kExitFindings);
        return;
      }
      std::string formatted = format::FormatFile(p.file, p.sources.file(p.file.file_id));
      // Standard input is formatted to standard output.
      if (!check_only && (to_stdout || path == input::kStandardInput)) {
        std::fputs(formatted.c_str(), stdout);
      } else if (formatted != original) {
        if (check_only) {
          std::fprintf(stderr, "%s: would be reformatted\n", driver::SourceName(path).c_str());
          status = std::max(status, kExitFindings);
        } else if (ErrorOr<void> written = output::WriteOutputFile(path, formatted); !written.ok()) {
          status = ToolFailure(written.error().message);
        } else {
          std::fprintf(stderr, "%s: formatted\n", path.c_str());
        }
      }
    });
  }
  report.Print(files.value().size());
  return status;
}

// An unusable command line: what is wrong, the closest subcommand when one
// is misspelt, and how to get help; EX_USAGE.
int UsageError(const std::string& message, const std::vector<std::string>& subcommands) {
  std::fprintf(stderr, "govc: error: %s\n", message.c_str());
  const std::string word = message.substr(message.find('`') + 1, message.rfind('`') - message.find('`') - 1);
  if (auto closest = diagnostics::ClosestName(word, subcommands)) {
    std::fprintf(stderr, "govc: did you mean `govc %s`?\n", closest->c_str());
  }
  std::string list;
  for (const std::string& name : subcommands) list += (list.empty() ? "" : ", ") + name;
  std::fprintf(stderr, "govc: subcommands: %s (govc help SUBCOMMAND)\n", list.c_str());
  return kExitUsage;
}

int Main(int argc, char** argv) {
  CLI::App app{"govc: compile, check, format and lint Gov execution policies"};
  app.set_version_flag("--version", fmt::format("govc {}", kVersion));
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 clean, 1 problems found (policy errors, failing tests), 2 tool failure, 64 usage error.\n"
      "Examples:\n"
      "  govc check examples/agent.gov\n"
      "  govc test examples/agent.gov\n"
      "  govc keygen ops && govc build examples/agent.gov --key ops.key -o agent.govb\n"
      "  govc eval --bundle agent.govb --trust ops.pub --request req.json\n"
      "  govc lint --format sarif policies/ > gov.sarif\n"
      "  govc fmt --check policies/\n"
      "  govc lsp                      # the language server editors start (docs/lsp.md)\n");

  std::vector<std::string> paths;
  std::string format = "text";

  CLI::App* check = app.add_subcommand("check", "Parse, resolve and type-check policies; report every error");
  check->add_option("paths", paths, "Policy files or folders (folders: every *.gov inside)")->required();
  check->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}));
  bool cost = false;
  check->add_flag("--cost", cost, "Also print each policy's static worst-case cost per decision (IR steps)");
  check->footer("Examples:\n  govc check --format json examples/\n  govc check --cost examples/agent.gov\n");

  bool fmt_check = false;
  bool fmt_stdout = false;
  CLI::App* fmt_cmd = app.add_subcommand("fmt", "Rewrite policies in the canonical layout (comments are kept)");
  fmt_cmd->add_option("paths", paths, "Policy files or folders")->required();
  fmt_cmd->add_flag("--check", fmt_check, "Change nothing; exit 1 if a file is not formatted");
  fmt_cmd->add_flag("--stdout", fmt_stdout, "Print the formatted text instead of rewriting files");
  fmt_cmd->footer("Example: govc fmt --check examples/ stdlib/\n");

  std::string lint_format = "text";
  std::string lint_config;
  CLI::App* lint_cmd = app.add_subcommand("lint", "Check policies, then report likely mistakes (see docs/lint.md)");
  lint_cmd->add_option("paths", paths, "Policy files or folders")->required();
  lint_cmd->add_option("--format", lint_format, "Output format")->check(CLI::IsMember({"text", "json", "sarif"}));
  lint_cmd->add_option("--config", lint_config, "gov.toml with lint levels (default: nearest gov.toml upwards)");
  lint_cmd->footer("Example: govc lint --format sarif . > gov.sarif\n");

  std::string keygen_name;
  bool keygen_force = false;
  CLI::App* keygen = app.add_subcommand("keygen", "Create an Ed25519 key pair: NAME.key (private, 0600) and NAME.pub");
  keygen->add_option("name", keygen_name, "Path prefix of the two key files")->required();
  keygen->add_flag("--force", keygen_force, "Replace existing key files");
  keygen->footer("Example: govc keygen keys/ops   # keys/ops.key, keys/ops.pub\n");

  BuildArgs build_args;
  bool build_ir_only = false;
  CLI::App* build = app.add_subcommand("build", "Compile a policy to native code and write a signed bundle (.govb)");
  build->add_option("path", build_args.paths, "The policy file (its imports are included)")->required();
  build->add_option("--key", build_args.key_path, "Private key that signs the bundle (govc keygen)")->required();
  build->add_option("-o,--output", build_args.output, "The bundle file to write")->required();
  build->add_flag("--no-native", build_ir_only, "Ship only the IR (govrun interprets it)");
  build->add_option("--cpu", build_args.cpu,
                    "Target CPU: an LLVM CPU name or `host` (default: a conservative CPU, x86-64-v2 on x86-64)");
  build
      ->add_option("-O,--opt-level", build_args.opt_level,
                   "Optimization of the native code: 0, 1 or 2 (default: 2 up to 500 rules, else 1)")
      ->check(CLI::Range(0, 2));
  build->add_option("--emit-llvm", build_args.emit_llvm, "Also write the optimized LLVM IR (text) to this file");
  build->add_flag("--skip-tests", build_args.skip_tests,
                  "Build even when the policy's own test cases fail (by default they must pass)");
  build->footer("Example: govc build examples/agent.gov --key ops.key -o agent.govb\n");

  EvalArgs eval_args;
  CLI::App* eval = app.add_subcommand("eval", "Decide one request (JSON, docs/request.md) and explain the decision");
  eval->add_option("path", eval_args.paths, "The policy file (compiled here)");
  eval->add_option("--bundle", eval_args.bundle, "A signed bundle instead of a policy file");
  eval->add_option("--trust", eval_args.trusted_keys, "Public key trusted to sign --bundle (repeatable)");
  eval->add_option("--request", eval_args.request, "The request, as JSON")->required();
  eval->add_option("--format", eval_args.format, "Output format")->check(CLI::IsMember({"text", "json"}));
  eval->add_flag("--interp", eval_args.interp, "Decide with the IR interpreter instead of native code");
  eval->footer(
      "Exit status: 0 decided (whatever the verdict), 1 policy errors, 2 tool failure, 64 usage error.\n"
      "Examples:\n  govc eval examples/agent.gov --request req.json\n"
      "  govc eval --bundle agent.govb --trust ops.pub --request req.json --format json\n");

  DiffArgs diff_args;
  CLI::App* diff = app.add_subcommand(
      "diff", "Find the requests two versions of a policy decide differently, with an example of each (docs/diff.md)");
  diff->add_option("old", diff_args.old_policy, "The policy before the change (a .gov file, or a .govb bundle)")
      ->required();
  diff->add_option("new", diff_args.new_policy, "The policy after the change")->required();
  diff->add_option("--trust", diff_args.trusted_keys, "Public key trusted to sign bundles (repeatable)");
  diff->add_option("--format", diff_args.format, "Output format")->check(CLI::IsMember({"text", "json", "markdown"}));
  diff->add_option("--max-classes", diff_args.max_classes, "Stop after this many classes of differences")
      ->check(CLI::Range(1, 100000));
  diff->footer(
      "Exit status: 0 no request is decided differently (proved), 1 differences listed (the list is proved\n"
      "complete), 3 the list is not proved complete (tests the model leaves to the interpreter, or a\n"
      "budget reached), 2 tool failure.\n"
      "Examples:\n  govc diff main.gov agent.gov\n  govc diff --format markdown old.gov new.gov > comment.md\n"
      "  govc diff --trust ops.pub deployed.govb agent.gov\n");

  BenchArgs bench_args;
  CLI::App* bench =
      app.add_subcommand("bench", "Measure a policy: build, bundle size, load as govrun loads, decisions of requests");
  bench->add_option("path", bench_args.paths, "The policy file (built here, signed with a throwaway key)");
  bench->add_option("--bundle", bench_args.bundle, "A signed bundle instead of a policy file");
  bench->add_option("--trust", bench_args.trusted_keys, "Public key trusted to sign --bundle (repeatable)");
  bench->add_option(
      "--requests", bench_args.requests,
      "Requests to decide, one JSON request per line (docs/request.md); default: the policy's test cases");
  bench->add_option("--rounds", bench_args.rounds, "Timed batches of decisions (each decides every request)")
      ->check(CLI::Range(1, 100000));
  bench->add_flag("--per-rule", bench_args.per_rule,
                  "Also each rule's cost: the policy compiled once per rule with that rule alone");
  bench->add_option("--format", bench_args.format, "Output format")->check(CLI::IsMember({"text", "json"}));
  bench->footer(
      "Exit status: 0 measured, 1 policy errors, 2 tool failure, 64 usage error.\n"
      "Examples:\n  govc bench examples/agent.gov\n"
      "  govc bench --bundle agent.govb --trust ops.pub --requests requests.jsonl --format json\n");

  TestArgs test_args;
  CLI::App* test = app.add_subcommand("test", "Run every `test` block through native code (or the interpreter)");
  test->add_option("paths", test_args.paths, "Policy files or folders")->required();
  test->add_flag("--interp", test_args.interp, "Run the tests with the IR interpreter");
  test->add_option("--coverage-min", test_args.coverage_min,
                   "Fail when less than this exact percentage of rules decided some test case (e.g. 100 or 100%)");
  test->add_option("--format", test_args.format, "Report as text (default), json or junit (JUnit XML, for CI)")
      ->check(CLI::IsMember({"text", "json", "junit"}));
  test->add_option("--filter", test_args.filter, "Run only the test blocks whose name contains this text");
  test->footer(
      "Example: govc test --coverage-min 100 examples/agent.gov\n"
      "         govc test --format junit --filter git policies/ > govc-test.xml\n");

  bool lsp_stdio = false;
  CLI::App* lsp_cmd =
      app.add_subcommand("lsp", "Run the language server for editors on stdin/stdout (LSP 3.17, docs/lsp.md)");
  lsp_cmd->add_flag("--stdio", lsp_stdio, "Talk over stdin/stdout (the only transport; accepted for editors)");
  lsp_cmd->footer(
      "Exit status: 0 after the client's `shutdown` and `exit`, 1 when the input ends or `exit` comes first.\n"
      "Example (Neovim): vim.lsp.start({ name = 'govc', cmd = { 'govc', 'lsp' } })\n");

  // --color, before or after the subcommand.
  std::string color = "auto";
  const auto add_color = [&color](CLI::App* command) {
    command->add_option("--color", color, "Colour diagnostics: auto (a terminal, and NO_COLOR unset), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
  };
  add_color(&app);
  for (CLI::App* sub : app.get_subcommands({})) add_color(sub);

  // `govc help [SUBCOMMAND]`, and a misspelt subcommand named with its closest spelling.
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (argc >= 2 && std::string_view(argv[1]) == "help") {
    if (argc == 2) {
      std::fputs(app.help().c_str(), stdout);
      return kExitOk;
    }
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[2]) {
        std::fputs(sub->help().c_str(), stdout);
        return kExitOk;
      }
    }
    return UsageError(fmt::format("no subcommand `{}`", argv[2]), names);
  }
  if (argc >= 2 && argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    return UsageError(fmt::format("unknown subcommand `{}`", argv[1]), names);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line saying what is wrong, with the closest option when one is misspelt.
    std::string message = e.what();
    std::string help;
    const std::string marker = " not expected: ";
    if (const std::size_t at = message.find(marker); at != std::string::npos) {
      const std::size_t from = at + marker.size();
      const std::string word = message.substr(from, message.find(' ', from) - from);
      std::vector<std::string> options;
      for (const CLI::App* sub : app.get_subcommands({})) {
        if (!sub->parsed()) continue;
        for (const CLI::Option* option : sub->get_options()) {
          for (const std::string& name : option->get_lnames()) options.push_back("--" + name);
        }
      }
      std::optional<std::string> closest = diagnostics::ClosestName(word, options);
      for (const std::string& option : options) {
        if (!closest && word.size() > 2 && option.rfind(word, 0) == 0) closest = option;  // a truncated option
      }
      if (closest) help = fmt::format("did you mean `{}`?", *closest);
    }
    std::fprintf(stderr, "govc: error: %s\n%s%sgovc: usage: govc SUBCOMMAND [OPTIONS] ... (govc help SUBCOMMAND)\n",
                 message.c_str(), help.empty() ? "" : ("govc: " + help).c_str(), help.empty() ? "" : "\n");
    return kExitUsage;
  }
  SetColorMode(color == "always" ? ColorMode::kAlways : color == "never" ? ColorMode::kNever : ColorMode::kAuto);
  try {
    if (check->parsed()) {
      return RunCheck(paths, format, cost);
    }
    if (keygen->parsed()) return RunKeygen(keygen_name, keygen_force);
    if (build->parsed()) {
      build_args.native = !build_ir_only;
      return RunBuild(build_args);
    }
    if (eval->parsed()) return RunEval(eval_args);
    if (bench->parsed()) return RunBenchCommand(bench_args);
    if (diff->parsed()) return RunDiff(diff_args);
    if (test->parsed()) return RunTest(test_args);
    if (fmt_cmd->parsed()) return RunFmt(paths, fmt_check, fmt_stdout);
    if (lint_cmd->parsed()) return RunLint(paths, lint_format, lint_config);
    if (lsp_cmd->parsed()) return lsp::RunServer(STDIN_FILENO, STDOUT_FILENO, std::string(kVersion));
  } catch (const std::exception& e) {
    return ToolFailure(fmt::format("internal error: {}", e.what()));
  }
  return kExitToolFailure;
}

}  // namespace
}  // namespace gov::cli

int main(int argc, char** argv) {
  // Before anything allocates much (compiler/driver/heap.h); a speed measure
  // only, so its outcome is not reported.
  (void)gov::driver::PrepareCompilerHeap();
  return gov::cli::Main(argc, argv);
}
