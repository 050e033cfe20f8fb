// The language server's parts below the protocol: LSP positions (UTF-16) of
// source files, the LSP rendering of diagnostics with their fixes, the
// message framing, and hover/definition/completion over a compilation of an
// unsaved buffer (driver::SourceOverlay). tests/lsp drives the whole server.
#include "compiler/diagnostics/lsp.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compiler/driver/driver.h"
#include "compiler/lsp/analysis.h"
#include "compiler/lsp/transport.h"

namespace gov {
namespace {

using nlohmann::json;

// Compiles `text` as the unsaved buffer of a file that does not exist.
std::unique_ptr<driver::Compilation> CompileBuffer(const std::string& text, bool lint = false) {
  const std::string path = "/nonexistent/gov_lsp_unit/policy.gov";
  driver::SourceOverlay overlay{{driver::CanonicalSourcePath(path), text}};
  ErrorOr<std::unique_ptr<driver::Compilation>> c =
      lint ? driver::CompileAndLint(path, "", overlay) : driver::Compile(path, overlay);
  REQUIRE(c.ok());
  return std::move(c).value();
}

std::uint32_t OffsetOf(const std::string& text, const std::string& needle, std::size_t delta = 0) {
  std::size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return static_cast<std::uint32_t>(at + delta);
}

TEST_CASE("LSP positions count UTF-16 code units", "[lsp]") {
  // a, é (2 bytes, 1 unit), 😀 (4 bytes, 2 units), b; then a CRLF line.
  const std::string text =
      "a\xC3\xA9\xF0\x9F\x98\x80"
      "b\nxy\r\nz";
  source::SourceFile file("t.gov", text);
  CHECK(file.LocateUtf16(7) == source::Utf16Position{0, 4});
  CHECK(file.LocateUtf16(1) == source::Utf16Position{0, 1});
  CHECK(file.LocateUtf16(9) == source::Utf16Position{1, 0});
  CHECK(file.LocateUtf16(1000) == source::Utf16Position{2, 1});
  CHECK(file.OffsetOfUtf16({0, 4}) == 7);
  CHECK(file.OffsetOfUtf16({0, 2}) == 3);
  // Inside the surrogate pair: the end of the code point.
  CHECK(file.OffsetOfUtf16({0, 3}) == 7);
  CHECK(file.OffsetOfUtf16({0, 100}) == 8);
  // The CR of a CRLF belongs to the line terminator.
  CHECK(file.OffsetOfUtf16({1, 100}) == 11);
  CHECK(file.OffsetOfUtf16({2, 0}) == 13);
  CHECK(file.OffsetOfUtf16({7, 3}) == text.size());
  for (std::uint32_t offset : {0u, 1u, 3u, 7u, 8u, 9u, 13u}) {
    CHECK(file.OffsetOfUtf16(file.LocateUtf16(offset)) == offset);
  }
}

TEST_CASE("LSP diagnostics: 0-based UTF-16 ranges, help in the message, the fix in data", "[lsp]") {
  const std::string text =
      "policy p\n\nconst workspace: path = \"/w\"\n\n"
      "allow a when invoked.path == \"/\xC3\xA9\xF0\x9F\x98\x80\" and cwd under workspce because \"r\"\n"
      "allow b when invoked.path == \"/x\" and program.nme == \"x\" because \"r\"\n"
      "test \"t\" {\n  exec [\"/x\"] => allow by bb\n}\n";
  std::unique_ptr<driver::Compilation> c = CompileBuffer(text);
  c->diagnostics.Sort();
  const json rendered = diagnostics::RenderLsp(c->sources, c->diagnostics.diagnostics(), c->EntryFile().file_id);
  REQUIRE(rendered.size() == 3);
  const json& name = rendered[0];
  CHECK(name["code"] == "GOV2003");
  CHECK(name["severity"] == 1);
  // `allow a when invoked.path == "/é😀" and cwd under ` is 50 UTF-16 units (53 bytes).
  CHECK(name["range"] ==
        json::parse(R"({"start": {"line": 4, "character": 50}, "end": {"line": 4, "character": 58}})"));
  CHECK(name["message"] == "`workspce` is not declared\nhelp: did you mean `workspace`?");
  CHECK(name["data"]["fix"] == json{{"range", name["range"]}, {"newText", "workspace"}});
  const json& field = rendered[1];
  CHECK(field["code"] == "GOV2008");
  CHECK(field["data"]["fix"]["newText"] == "name");
  const json& rule = rendered[2];
  CHECK(rule["code"] == "GOV2023");
  CHECK(rule["data"]["fix"]["newText"] == "b");
}

TEST_CASE("only diagnostics that name one replacement carry a fix", "[lsp]") {
  std::unique_ptr<driver::Compilation> c =
      CompileBuffer("policy p\nallow a when invoked.path == \"/x\" and lenn(args) > 1 and qqqqqqqq because \"r\"\n");
  std::vector<std::string> fixes;
  for (const diagnostics::Diagnostic& d : c->diagnostics.diagnostics()) {
    if (d.fix) fixes.push_back(d.fix->replacement);
    if (!d.fix) CHECK(d.help.find("did you mean") == std::string::npos);
  }
  CHECK(fixes == std::vector<std::string>{"len"});
}

TEST_CASE("an unsaved buffer stands in for its file, lints included", "[lsp]") {
  std::unique_ptr<driver::Compilation> c =
      CompileBuffer("policy p\nconst unused: int = 1\nallow a when invoked.path == \"/x\" because \"r\"\n", true);
  CHECK(c->EntryFile().decls.size() == 3);
  bool unused = false;
  for (const diagnostics::Diagnostic& d : c->diagnostics.diagnostics()) {
    unused = unused || d.message.find("`unused`") != std::string::npos;
  }
  CHECK(unused);
}

TEST_CASE("hover, definition and completion over a compilation", "[lsp]") {
  const std::string text =
      "policy p\nimport std.shell\n\n// The repository.\nconst root: path = \"/w\"\n\n"
      "def inside(p: path): bool = p under root\n\n"
      "allow a when inside(cwd) and any x in args: x == \"-v\" and shell.runs_inline_code(invoked.name, args)\n"
      "    because \"fine\" with { timeout = 10m }\n";
  std::unique_ptr<driver::Compilation> c = CompileBuffer(text);
  CHECK_FALSE(c->diagnostics.HasErrors());

  auto hover = lsp::HoverAt(*c, OffsetOf(text, "inside(cwd)", 2));
  REQUIRE(hover);
  CHECK(hover->markdown.find("def inside(p: path): bool") != std::string::npos);
  hover = lsp::HoverAt(*c, OffsetOf(text, "root\n", 1));
  REQUIRE(hover);
  CHECK(hover->markdown.find("const root: path = \"/w\"") != std::string::npos);
  CHECK(hover->markdown.find("The repository.") != std::string::npos);
  hover = lsp::HoverAt(*c, OffsetOf(text, "allow a", 6));
  REQUIRE(hover);
  CHECK(hover->markdown.find("with { timeout = 10m }") != std::string::npos);
  CHECK(hover->markdown.find("because \"fine\"") != std::string::npos);
  hover = lsp::HoverAt(*c, OffsetOf(text, "x ==", 0));
  REQUIRE(hover);
  CHECK(hover->markdown.find("(variable) x: string") != std::string::npos);

  auto target = lsp::DefinitionAt(*c, OffsetOf(text, "p under", 0));
  REQUIRE(target);
  CHECK(*target == source::Span{c->EntryFile().file_id, OffsetOf(text, "p: path"), OffsetOf(text, "p: path", 1)});
  target = lsp::DefinitionAt(*c, OffsetOf(text, "x ==", 0));
  REQUIRE(target);
  CHECK(target->begin == OffsetOf(text, "x in args"));
  target = lsp::DefinitionAt(*c, OffsetOf(text, "runs_inline_code", 1));
  REQUIRE(target);
  const source::SourceFile& shell = c->sources.file(target->file);
  CHECK(shell.path().find("shell.gov") != std::string::npos);
  CHECK(shell.Slice(*target) == "runs_inline_code");

  auto labels = [&](std::string_view prefix) {
    std::vector<std::string> out;
    for (const lsp::Completion& item : lsp::CompletionsAt(c.get(), prefix)) out.push_back(item.label);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto has = [](const std::vector<std::string>& list, const std::string& label) {
    return std::find(list.begin(), list.end(), label) != list.end();
  };
  CHECK(has(labels("allow b when shell.runs_"), "runs_inline_code"));
  CHECK(has(labels("allow b when program."), "sha256"));
  CHECK(has(labels("import std."), "shell"));
  CHECK(has(labels("allow b when ins"), "inside"));
  CHECK(has(labels("allow b when ins"), "args"));
  CHECK_FALSE(has(labels("allow b when program."), "args"));
}

TEST_CASE("framing: messages, bad headers and oversized bodies", "[lsp]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string input =
      "Content-Length: 2\r\n\r\n{}"
      "Content-Type: x\r\n\r\n"
      "Content-Length: abc\r\n\r\n"
      "\r\ncontent-length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n[1]"
      "Content-Length: 999999999999\r\n\r\n{}";
  REQUIRE(::write(fds[1], input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  ::close(fds[1]);
  lsp::MessageReader reader(fds[0]);
  using Status = lsp::MessageReader::Status;
  lsp::MessageReader::Result r = reader.Next();
  CHECK((r.status == Status::kMessage && r.body == "{}"));
  r = reader.Next();
  CHECK((r.status == Status::kBadFraming && r.problem == "no Content-Length header"));
  r = reader.Next();
  CHECK((r.status == Status::kBadFraming && r.problem == "malformed Content-Length"));
  r = reader.Next();
  CHECK((r.status == Status::kMessage && r.body == "[1]"));
  // The huge body is skipped until the input ends, never buffered.
  CHECK(reader.Next().status == Status::kEnd);
  ::close(fds[0]);
}

}  // namespace
}  // namespace gov
