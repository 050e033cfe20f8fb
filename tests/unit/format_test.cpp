// Tests for the canonical formatter (compiler/format): exact layouts,
// parentheses, string escapes and comment placement, plus two properties
// checked over handcrafted inputs, generated expressions and every *.gov file
// of the repository: parse(FormatFile(x)) equals x (ast::Equal, same
// comments in the same order), and formatting is idempotent.
#include "compiler/format/format.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/diagnostics/diagnostic.h"
#include "compiler/parse/parse.h"
#include "compiler/source/source.h"

namespace gov::format {
namespace {

// A parsed text; `sources` owns the text the spans point into.
struct Parsed {
  std::unique_ptr<source::SourceManager> sources = std::make_unique<source::SourceManager>();
  source::FileId id = source::kNoFile;
  ast::File file;
  bool ok = false;
  std::string errors;

  const source::SourceFile& source() const { return sources->file(id); }
};

// Replaces each `/* ... */` outside strings and line comments by spaces
// (newlines kept, so offsets do not move) and returns the comments removed.
std::vector<ast::Comment> MaskBlockComments(std::string& text) {
  std::vector<ast::Comment> blocks;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"' && text[i] != '\n') i += text[i] == '\\' ? 2 : 1;
      ++i;
    } else if (text.compare(i, 2, "//") == 0) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (text.compare(i, 2, "/*") == 0) {
      std::size_t end = text.find("*/", i + 2);
      if (end == std::string::npos) break;
      end += 2;
      ast::Comment comment;
      comment.span = source::Span{0, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(end)};
      comment.text = text.substr(i, end - i);
      blocks.push_back(comment);
      for (std::size_t k = i; k < end; ++k) {
        if (text[k] != '\n') text[k] = ' ';
      }
      i = end;
    } else {
      ++i;
    }
  }
  return blocks;
}

Parsed ParseText(const std::string& text) {
  Parsed parsed;
  parsed.id = parsed.sources->Add("t.gov", text);
  diagnostics::Collector diagnostics;
  parsed.file = parse::ParseFile(*parsed.sources, parsed.id, diagnostics);
  parsed.ok = !diagnostics.HasErrors();
  if (parsed.ok || text.find("/*") == std::string::npos) {
    parsed.errors = diagnostics::RenderText(*parsed.sources, diagnostics.diagnostics());
    return parsed;
  }
  // The lexer currently reports every block comment as unterminated (its
  // UNTERMINATED_COMMENT rule out-matches BLOCK_COMMENT). Until that is fixed,
  // block comments are lexed here so the formatter's handling of them is
  // still tested: parse the text with them blanked out, then add them back.
  std::string masked = text;
  std::vector<ast::Comment> blocks = MaskBlockComments(masked);
  Parsed retry;
  source::FileId masked_id = retry.sources->Add("masked.gov", masked);
  diagnostics::Collector retry_diagnostics;
  retry.file = parse::ParseFile(*retry.sources, masked_id, retry_diagnostics);
  retry.ok = !retry_diagnostics.HasErrors();
  retry.errors = diagnostics::RenderText(*retry.sources, retry_diagnostics.diagnostics());
  retry.id = retry.sources->Add("t.gov", text);
  for (ast::Comment& block : blocks) retry.file.comments.push_back(block);
  std::stable_sort(retry.file.comments.begin(), retry.file.comments.end(),
                   [](const ast::Comment& a, const ast::Comment& b) { return a.span.begin < b.span.begin; });
  for (ast::Comment& comment : retry.file.comments) {
    comment.own_line = true;
    for (std::uint32_t k = comment.span.begin; k > 0 && text[k - 1] != '\n'; --k) {
      if (text[k - 1] != ' ' && text[k - 1] != '\t') comment.own_line = false;
    }
  }
  return retry;
}

std::vector<std::string> CommentTexts(const ast::File& file) {
  std::vector<std::string> texts;
  for (const ast::Comment& comment : file.comments) texts.push_back(comment.text);
  return texts;
}

std::vector<bool> HasWith(const ast::File& file) {
  std::vector<bool> out;
  for (const ast::Decl& decl : file.decls) {
    if (const auto* rule = std::get_if<ast::Rule>(&decl.node)) out.push_back(rule->has_with);
  }
  return out;
}

// Formats `text` (which must parse) and checks the round trip and
// idempotence; returns the formatted text.
std::string CheckFormat(const std::string& text) {
  Parsed original = ParseText(text);
  INFO("input:\n" << text << "\n" << original.errors);
  REQUIRE(original.ok);
  std::string once = FormatFile(original.file, original.source());
  INFO("formatted:\n" << once);
  Parsed reparsed = ParseText(once);
  INFO(reparsed.errors);
  REQUIRE(reparsed.ok);
  CHECK(ast::Equal(original.file, reparsed.file));
  CHECK(HasWith(original.file) == HasWith(reparsed.file));
  CHECK(CommentTexts(original.file) == CommentTexts(reparsed.file));
  std::string twice = FormatFile(reparsed.file, reparsed.source());
  CHECK(twice == once);
  return once;
}

// The canonical spelling of `expr`, through FormatExpr and through a file.
std::string Expr(const std::string& expr) {
  std::string formatted = CheckFormat("const x: int = " + expr + "\n");
  Parsed parsed = ParseText("const x: int = " + expr + "\n");
  REQUIRE(parsed.file.decls.size() == 1);
  const auto& decl = std::get<ast::ConstDecl>(parsed.file.decls[0].node);
  std::string single = FormatExpr(*decl.value);
  CHECK(formatted == "const x: int = " + single + "\n");
  return single;
}

TEST_CASE("format: the example policy", "[format]") {
  std::string expected = R"(// An AI coding agent working in one repository.
policy agent version "1.0.0"

const workspace: path = "/work/repo"
const git_read_cmds: set<string> = {"status", "log", "diff", "show"}

context {
  ticket: string?  // supplied by the caller, e.g. govrun --context ticket=CHG-1234
}

allow git_read when
    program.path == "/usr/bin/git" and args[0] in git_read_cmds
    because "read-only git"

allow build when
    program.name in {"make", "cmake", "ninja"} and cwd under workspace
    with {
      timeout = 10m,
      memory = 4GiB,
      processes = 256,
      network = none,
      write = [workspace, "/tmp"],
    }
)";
  std::ifstream in(std::string(GOV_SOURCE_DIR) + "/tests/golden/check/issue2_agent.gov");
  std::stringstream text;
  text << in.rdbuf();
  REQUIRE(!text.str().empty());
  std::string formatted = CheckFormat(text.str());
  CHECK(formatted.substr(0, expected.size()) == expected);
  CHECK(formatted.find("  exec [\"/usr/bin/git\", \"status\"] => allow by git_read\n") != std::string::npos);
}

TEST_CASE("format: declarations", "[format]") {
  CHECK(CheckFormat("policy   p\n") == "policy p\n");
  CHECK(CheckFormat(
            "policy p version \"1.0\"\nimport std.shell\nimport std.paths as paths\nimport \"lib/a b.gov\" as a") ==
        "policy p version \"1.0\"\n\nimport std.shell\nimport std.paths as paths\nimport \"lib/a b.gov\" as a\n");
  CHECK(CheckFormat("const a: int = 1\n\n\n\nconst b: string? = none\nconst c: map<string, string> = {}") ==
        "const a: int = 1\n\nconst b: string? = none\nconst c: map<string, string> = {}\n");
  CHECK(CheckFormat("const r: { a: int, b: set<string> }? = { a = 1, b = {\"x\"} }") ==
        "const r: { a: int, b: set<string> }? = { a = 1, b = {\"x\"} }\n");
  CHECK(CheckFormat("const e: {} = {}") == "const e: {} = {}\n");
  CHECK(CheckFormat("context { a: string, b: int? c: list<string> }") ==
        "context {\n  a: string\n  b: int?\n  c: list<string>\n}\n");
  CHECK(CheckFormat("context {}") == "context {}\n");
  CHECK(CheckFormat("def f(): bool = true") == "def f(): bool = true\n");
  CHECK(CheckFormat("def f(a: int, b: { x: path }, ): bool = a > 1") ==
        "def f(a: int, b: { x: path }): bool = a > 1\n");
  CHECK(CheckFormat("allow r when a") == "allow r when\n    a\n");
  CHECK(CheckFormat("deny r when a because \"x\"") == "deny r when\n    a\n    because \"x\"\n");
  CHECK(CheckFormat("ask r when a with {}") == "ask r when\n    a\n    with {}\n");
  CHECK(CheckFormat("ask r when a because \"b\" with { network = any, timeout = 5s, }") ==
        "ask r when\n    a\n    because \"b\"\n    with { network = any, timeout = 5s }\n");
  CHECK(CheckFormat("ask r when a with { capabilities = [\"net_bind_service\",\"chown\"], write=[\"/w\"] }") ==
        "ask r when\n    a\n    with { capabilities = [\"net_bind_service\", \"chown\"], write = [\"/w\"] }\n");
  CHECK(CheckFormat("default  with {timeout=10m,network = none,}") ==
        "default with { timeout = 10m, network = none }\n");
  CHECK(CheckFormat("default with {}") == "default with {}\n");
  CHECK(CheckFormat("test \"empty\" {}") == "test \"empty\" {}\n");
  CHECK(CheckFormat("test \"t\" { exec [\"a\"] => allow exec x cwd \"/\" env { A = \"b\" } user { name = \"u\" } "
                    "host \"h\" time 5s sha256 \"ab\" parent [\"sh\"] context { t = 1 } => deny by r1, r2 }") ==
        "test \"t\" {\n"
        "  exec [\"a\"] => allow\n"
        "  exec x\n"
        "      cwd \"/\"\n"
        "      env { A = \"b\" }\n"
        "      user { name = \"u\" }\n"
        "      host \"h\"\n"
        "      time 5s\n"
        "      sha256 \"ab\"\n"
        "      parent [\"sh\"]\n"
        "      context { t = 1 } => deny by r1, r2\n"
        "}\n");
  CHECK(CheckFormat("test \"t\" { exec [\"a\"] => allow by r1 ,r2 and  others not by r3,r4 with {timeout=5s,} }") ==
        "test \"t\" {\n  exec [\"a\"] => allow by r1, r2 and others not by r3, r4 with { timeout = 5s }\n}\n");
  CHECK(CheckFormat("test \"t\" { exec [\"a\"] => ask with {} }") ==
        "test \"t\" {\n  exec [\"a\"] => ask with {}\n}\n");
  CHECK(CheckFormat("test \"t\" { exec [\"a\"],[\"b\", \"c\"] , x cwd \"/\" => allow }") ==
        "test \"t\" {\n  exec [\"a\"],\n       [\"b\", \"c\"],\n       x cwd \"/\" => allow\n}\n");
}

TEST_CASE("format: blank lines between declarations", "[format]") {
  // Exactly one blank line between declarations; adjacent constants and
  // adjacent imports stay grouped.
  CHECK(CheckFormat("policy p\nimport a\nimport b\n\n\nimport c\nconst x: int = 1\nconst y: int = 2\n"
                    "allow r when x\nallow s when y\ndef f(): int = 1\ndef g(): int = 2\n") ==
        "policy p\n\nimport a\nimport b\n\nimport c\n\nconst x: int = 1\nconst y: int = 2\n\n"
        "allow r when\n    x\n\nallow s when\n    y\n\ndef f(): int = 1\n\ndef g(): int = 2\n");
  CHECK(CheckFormat("\n\n\npolicy p\n\n\n") == "policy p\n");
  CHECK(CheckFormat("") == "");
}

TEST_CASE("format: parentheses only where precedence requires them", "[format]") {
  CHECK(Expr("(a or b) and c") == "(a or b) and c");
  CHECK(Expr("a or (b and c)") == "a or b and c");
  CHECK(Expr("a and (b and c)") == "a and (b and c)");
  CHECK(Expr("(a and b) and c") == "(a and b) and c");
  CHECK(Expr("(a or b) or c") == "(a or b) or c");
  CHECK(Expr("((((a))))") == "a");
  CHECK(Expr("not (a == b)") == "not a == b");
  CHECK(Expr("(not a) == b") == "(not a) == b");
  CHECK(Expr("not (a and b)") == "not (a and b)");
  CHECK(Expr("not not a") == "not not a");
  CHECK(Expr("-(-x)") == "- -x");
  CHECK(Expr("- -x") == "- -x");
  CHECK(Expr("-(-(-1))") == "- - -1");
  CHECK(Expr("-x.y") == "-x.y");
  CHECK(Expr("(-x).y") == "(-x).y");
  CHECK(Expr("a - (b - c)") == "a - (b - c)");
  CHECK(Expr("(a - b) - c") == "a - b - c");
  CHECK(Expr("a - -b") == "a - -b");
  CHECK(Expr("a * (b + c)") == "a * (b + c)");
  CHECK(Expr("(a * b) + c % d / e") == "a * b + c % d / e");
  CHECK(Expr("a / (b * c)") == "a / (b * c)");
  CHECK(Expr("(a ?? b) ?? c") == "a ?? b ?? c");
  CHECK(Expr("a ?? (b ?? c)") == "a ?? (b ?? c)");
  CHECK(Expr("(a + b) ?? c") == "a + b ?? c");
  CHECK(Expr("(a ?? b) + c") == "(a ?? b) + c");
  CHECK(Expr("(a ?? b) == c") == "a ?? b == c");
  CHECK(Expr("(a == b) == c") == "(a == b) == c");
  CHECK(Expr("a == (b == c)") == "a == (b == c)");
  CHECK(Expr("a != b") == "a != b");
  CHECK(Expr("a < b and a <= b and a > b and a >= b") == "a < b and a <= b and a > b and a >= b");
  CHECK(Expr("a in b or a not in b or a under b or a matches r\"x\"") ==
        "a in b or a not in b or a under b or a matches r\"x\"");
  CHECK(Expr("(a in b) in c") == "(a in b) in c");
  CHECK(Expr("(any x in xs: p(x)) and q") == "(any x in xs: p(x)) and q");
  CHECK(Expr("q and (any x in xs: p(x))") == "q and any x in xs: p(x)");
  CHECK(Expr("all x in xs: p(x) and q") == "all x in xs: p(x) and q");
  CHECK(Expr("not (any x in xs: p)") == "not any x in xs: p");
  CHECK(Expr("(not any x in xs: p) and q") == "(not any x in xs: p) and q");
  CHECK(Expr("(a and any x in xs: p) or q") == "(a and any x in xs: p) or q");
  CHECK(Expr("q or (a and any x in xs: p)") == "q or a and any x in xs: p");
  CHECK(Expr("(if a then b else c) or d") == "(if a then b else c) or d");
  CHECK(Expr("d or (if a then b else c)") == "d or if a then b else c");
  CHECK(Expr("(if a then b else c) == d") == "(if a then b else c) == d");
  CHECK(Expr("if a or b then c and d else e or f") == "if a or b then c and d else e or f");
  CHECK(Expr("if (if a then b else c) then (any x in y: z) else (if d then e else f)") ==
        "if if a then b else c then any x in y: z else if d then e else f");
  CHECK(Expr("any x in (any y in ys: y): x") == "any x in any y in ys: y: x");
  CHECK(Expr("(a or b).len()") == "(a or b).len()");
  CHECK(Expr("(a + b)[0]") == "(a + b)[0]");
  CHECK(Expr("x.y.z(1, 2)[0].w") == "x.y.z(1, 2)[0].w");
  CHECK(Expr("f() + g(a, b,)") == "f() + g(a, b)");
  CHECK(Expr("xs[(a or b)]") == "xs[a or b]");
  CHECK(Expr("-(a + b)") == "-(a + b)");
  CHECK(Expr("(-a) * b") == "-a * b");
  CHECK(Expr("context.ticket ?? \"none\"") == "context.ticket ?? \"none\"");
}

TEST_CASE("format: literals", "[format]") {
  CHECK(Expr("{ a = 1, b = \"x\" }") == "{ a = 1, b = \"x\" }");
  CHECK(Expr("{a=1,}") == "{ a = 1 }");
  CHECK(Expr("{ context = 1 }") == "{ context = 1 }");
  CHECK(Expr("{}") == "{}");
  CHECK(Expr("{ \"a\" , \"b\", }") == "{\"a\", \"b\"}");
  CHECK(Expr("{ {} }") == "{{}}");
  CHECK(Expr("[ ]") == "[]");
  CHECK(Expr("[\"a\",\"b\"]") == "[\"a\", \"b\"]");
  CHECK(Expr("[[1], [2, 3]]") == "[[1], [2, 3]]");
  CHECK(Expr("1_000 + 10ms + 2d + 4GiB + 3KB + 0") == "1_000 + 10ms + 2d + 4GiB + 3KB + 0");
  CHECK(Expr("true or false or none") == "true or false or none");
  CHECK(Expr("g\"*.c\"") == "g\"*.c\"");
  CHECK(Expr(R"(g"a\*b\"c")") == R"(g"a\*b\"c")");
  CHECK(Expr(R"(r"^\d+\.\\$")") == R"(r"^\d+\.\\$")");
  CHECK(Expr(R"("a\"b\\c\nd\te\rf")") == R"("a\"b\\c\nd\te\rf")");
  CHECK(Expr(R"("\u{41}\u{7}\u{1b}\u{7f}")") == R"("A\u{07}\u{1B}\u{7F}")");
  CHECK(Expr("\"tab\there\"") == R"("tab\there")");
  CHECK(Expr(R"("\u{e9}\u{1F600}")") == "\"\xC3\xA9\xF0\x9F\x98\x80\"");
  CHECK(Expr("\"caf\xC3\xA9\"") == "\"caf\xC3\xA9\"");
}

TEST_CASE("format: FormatExpr prints one line without comments", "[format]") {
  std::string operands;
  for (int i = 0; i < 40; ++i) operands += (i > 0 ? " and " : "") + std::string("long_name_") + std::to_string(i);
  Parsed parsed = ParseText("const x: bool = " + operands + " // c\n");
  REQUIRE(parsed.ok);
  const auto& decl = std::get<ast::ConstDecl>(parsed.file.decls[0].node);
  CHECK(FormatExpr(*decl.value) == operands);
  Parsed record = ParseText("const x: bool = {\n  a = 1, // one\n  b = [\"x\",\n \"y\"] }\n");
  REQUIRE(record.ok);
  CHECK(FormatExpr(*std::get<ast::ConstDecl>(record.file.decls[0].node).value) == "{ a = 1, b = [\"x\", \"y\"] }");
}

TEST_CASE("format: long lines break", "[format]") {
  std::string input =
      "allow very_long when program.path == \"/usr/bin/git\" and args[0] in git_read_cmds and "
      "cwd under \"/work/repository/sub\" and not (\"--force\" in args)\n"
      "deny nested when program.name == \"rm\" and (args[0] == \"-rf\" or args[0] == \"-fr\" or "
      "args[0] == \"--recursive-force\") and cwd under \"/\" and cwd under \"/tmp\"\n"
      "deny q when program.name == \"rm\" and any a in args: not a.starts_with(\"-\") and not (cwd / a) "
      "under workspace and not (cwd / a) under \"/tmp/scratch\"\n"
      "deny w when (aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa or bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb or "
      "cccccccccccccccccccccccccccccccccccc) and d\n"
      "allow o when x with { timeout = 10m, write = [\"/a/very/long/path/number/one\", "
      "\"/a/very/long/path/number/two\", \"/three\"] }\n";
  std::string expected = R"(allow very_long when
    program.path == "/usr/bin/git"
    and args[0] in git_read_cmds
    and cwd under "/work/repository/sub"
    and not "--force" in args

deny nested when
    program.name == "rm"
    and (args[0] == "-rf" or args[0] == "-fr" or args[0] == "--recursive-force")
    and cwd under "/"
    and cwd under "/tmp"

deny q when
    program.name == "rm"
    and any a in args:
      not a.starts_with("-") and not cwd / a under workspace and not cwd / a under "/tmp/scratch"

deny w when
    (
      aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      or bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
      or cccccccccccccccccccccccccccccccccccc
    )
    and d

allow o when
    x
    with {
      timeout = 10m,
      write = ["/a/very/long/path/number/one", "/a/very/long/path/number/two", "/three"],
    }
)";
  CHECK(CheckFormat(input) == expected);

  CHECK(CheckFormat("const system_dirs: list<path> = [\"/bin\", \"/boot\", \"/dev\", \"/etc\", \"/lib\", \"/lib64\", "
                    "\"/proc\", \"/sbin\", \"/sys\"]\n") ==
        "const system_dirs: list<path> = [\n  \"/bin\",\n  \"/boot\",\n  \"/dev\",\n  \"/etc\",\n  \"/lib\",\n"
        "  \"/lib64\",\n  \"/proc\",\n  \"/sbin\",\n  \"/sys\",\n]\n");
  CHECK(CheckFormat("def is_secret(p: path): bool = (any s in secret_files: p under s) or (any h in home_secrets: "
                    "p under path(env[\"HOME\"] ?? \"/nonexistent\") / h)\n") ==
        "def is_secret(p: path): bool =\n"
        "    (any s in secret_files: p under s)\n"
        "    or any h in home_secrets: p under path(env[\"HOME\"] ?? \"/nonexistent\") / h\n");
  CHECK(CheckFormat("const y: int = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb + "
                    "ccccccccccccccccccccccccccc\n") ==
        "const y: int =\n    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb + "
        "ccccccccccccccccccccccccccc\n");
  CHECK(CheckFormat("const z: int = if aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa == bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb then "
                    "cccccccccccccccccccc else dddd\n") ==
        "const z: int =\n    if aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa == bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"
        "      then cccccccccccccccccccc\n      else dddd\n");
  CHECK(CheckFormat("const c: bool = fffffffffffffffffffff(aaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, "
                    "cccccccccccccccccccccccccccccc)\n") ==
        "const c: bool = fffffffffffffffffffff(\n  aaaaaaaaaaaaaaaaaaaaaaaaa,\n  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,\n"
        "  cccccccccccccccccccccccccccccc,\n)\n");
  CHECK(CheckFormat("test \"t\" { exec [\"/usr/bin/make\", \"release\"] cwd \"/work/repo\" context { ticket = "
                    "\"CHG-1\", other = \"a much longer value here\" } => allow by build }\n") ==
        "test \"t\" {\n  exec [\"/usr/bin/make\", \"release\"]\n      cwd \"/work/repo\"\n"
        "      context { ticket = \"CHG-1\", other = \"a much longer value here\" } => allow by build\n}\n");
  // An and/or chain that starts in the middle of a line hangs by 4.
  CHECK(
      CheckFormat("allow o when x with { check = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa or bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "
                  "or cccccccccccccccccccccccc }\n") ==
      "allow o when\n    x\n    with {\n      check = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
      "          or bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n          or cccccccccccccccccccccccc,\n    }\n");
}

TEST_CASE("format: comments", "[format]") {
  std::string input = R"(// header comment

// second header
policy p version "1" // trailing on header
import std.paths
const a: int = 1 // one
// between consts
const b: int = 2 + 3 // inline
const c: list<string> = [ // open
  "x", // first
  // own line in list
  "y"

  // after blank
  , "z"
  // before close
]
context {
  // about ticket
  ticket: string? , // trailing ticket
  team: string
  // dangling in context
}
def f(x: string, y: int): bool =
  // before body
  x == "a" and // after and
  y > 2
allow r when
  // before cond
  a and
  // between operands
  b // after b
  because "why" // trailing reason
  with { // after with
     timeout = 10m, // after timeout
  }
deny s when x with {
  // only a comment
}
test "t" { // after brace
  // first case
  exec ["a"] => allow // t1


  // second group
  exec ["b", // mid argv
        "c"] cwd "/" => deny by r, s
  // last
}
// tail 1

// tail 2
)";
  std::string expected = R"(// header comment

// second header
policy p version "1"  // trailing on header

import std.paths

const a: int = 1  // one
// between consts
const b: int = 2 + 3  // inline
const c: list<string> = [  // open
  "x",  // first
  // own line in list
  "y",

  // after blank
  "z",
  // before close
]

context {
  // about ticket
  ticket: string?  // trailing ticket
  team: string
  // dangling in context
}

def f(x: string, y: int): bool =
    // before body
    x == "a"  // after and
    and y > 2

allow r when
    // before cond
    a
    // between operands
    and b  // after b
    because "why"  // trailing reason
    with {  // after with
      timeout = 10m,  // after timeout
    }

deny s when
    x
    with {
      // only a comment
    }

test "t" {  // after brace
  // first case
  exec ["a"] => allow  // t1

  // second group
  exec [
    "b",  // mid argv
    "c",
  ] cwd "/" => deny by r, s
  // last
}
// tail 1

// tail 2
)";
  CHECK(CheckFormat(input) == expected);
}

TEST_CASE("format: comments in places without a line break move to the next one", "[format]") {
  CHECK(CheckFormat("const a: int = 1 + // mid\n 2\nconst b: int = 3\n") ==
        "const a: int = 1 + 2  // mid\nconst b: int = 3\n");
  CHECK(CheckFormat("allow r when f(x) == // mid\n  y because \"b\"\n") ==
        "allow r when\n    f(x) == y  // mid\n    because \"b\"\n");
  CHECK(CheckFormat("allow r when a // one\n  and b because // two\n \"b\"\n") ==
        "allow r when\n    a  // one\n    and b  // two\n    because \"b\"\n");
  CHECK(CheckFormat("const a: int = // x\n 1 // y\n") == "const a: int =  // x\n    1  // y\n");
  CHECK(CheckFormat("const a: int =\n  // x\n  1\n") == "const a: int =\n    // x\n    1\n");
  CHECK(CheckFormat("// only\n// comments\n") == "// only\n// comments\n");
  CHECK(CheckFormat("// a\n\n\n// b\n") == "// a\n\n// b\n");
}

TEST_CASE("format: block comments", "[format]") {
  std::string input =
      "/* header\n   spans lines */\npolicy p\n/* before */ const a: int = /* in */ 1 /* after */\n"
      "context { /* empty */ }\ndeny t when (a or /* in paren */ b) and c\n"
      "allow r when x with /* w */ { t = 1 }\n/* last */ /* two */\n";
  std::string expected =
      "/* header\n   spans lines */\npolicy p\n\n/* before */\nconst a: int =  /* in */\n    1  /* after */\n\n"
      "context {  /* empty */\n}\n\ndeny t when\n    (\n      a  /* in paren */\n      or b\n    )\n    and c\n\n"
      "allow r when\n    x\n    with {  /* w */\n      t = 1,\n    }\n/* last */\n/* two */\n";
  CHECK(CheckFormat(input) == expected);
}

// Round trip and idempotence over inputs covering every syntax form.
TEST_CASE("format: round trip over handcrafted inputs", "[format]") {
  const std::vector<std::string> inputs = {
      "policy p",
      "policy p version \"2.0.0-rc.1\"",
      "import std.shell",
      "import std.shell as sh\nimport \"../lib/common.gov\"\nimport \"x\\\"y.gov\" as y",
      "const a: int = 3 * (4 + 5) % 7 - -2",
      "const d: duration = 1h + 30m + 10s + 5ms + 1d",
      "const s: size = 1B + 2KB + 3MB + 4GB + 5TB + 1KiB + 2MiB + 3GiB + 4TiB",
      "const m: map<string, list<set<string>>> = { a = [{\"x\"}] }",
      "const r: { a: int, b: { c: string? } }? = none",
      "context { team: string, ticket: string?, tags: set<string> }",
      "context { a: int b: int }",
      "def risky(p: path): bool = p under \"/etc\" or p.name matches r\"^(sh|bash)$\"",
      "def g(a: int, b: string,): string = if a > 1 then b else \"\"",
      "allow a when if cwd under \"/tmp\" then args[0] ?? \"\" != \"rm\" else false",
      "deny b when all x in args: x.len() > 3 and not x.lower().contains(\"ok\")",
      "ask c when program.path matches g\"/usr/**/bin/*\" and \"HOME\" in env and len(user.groups) >= 2",
      "allow d when risky(cwd / \"x\") with { network = loopback, read = [\"/usr\"], env = [\"PATH\"] }",
      "allow e when true with { network = any }",
      "allow f when a not in b and c under d and e matches r\"x\" and f != g and h <= i and j >= k",
      "deny g when not not not a",
      "deny h when -(-(-x)) < -y",
      "deny i when (any x in xs: p(x)) and q or (all y in ys: r(y)) and s",
      "deny j when xs[0][1].a.b(c)[d].e(f)",
      "deny k when f(g(h(i(j(k(l))))))",
      "deny l when [[[[[]]]]] == [[{}]]",
      "deny m when { a = { b = { c = [1, { d = 2 }] } } } == x",
      "deny n when context.ticket == none and context == x",
      "test \"all modifiers\" {\n  exec [\"a\"] cwd \"/w\" env { HOME = \"/h\" } user { name = \"u\", uid = 1 } "
      "host \"h\" time 10s sha256 \"abc\" parent [\"bash\"] context { ticket = \"X\" } => ask by a, b, c\n}",
      "test \"escapes \\\" \\\\ \\n\" { exec xs => deny }",
      "test \"invoked\" {\n  exec [\"/usr/bin/npm\", \"install\"] via \"/usr/lib/node_modules/npm/bin/npm-cli.js\" "
      "argv0 \"npm\" cwd \"/w\" => ask by package_registry\n}",
      "allow p when a ?? b ?? c ?? d",
      "allow q when (a ?? b) ?? (c ?? d)",
      "allow r when a == (b == c) and (a == b) == c",
      "allow s when (if a then b else c) and (if d then e else f)",
      "allow t when not (if a then b else c) == d",
      "allow u when (not any x in xs: p) or (not all y in ys: q)",
      "allow v when x.a.b.c.d.e.f.g",
      "allow w when f() and g() == h",
  };
  for (const std::string& input : inputs) CheckFormat(input);
}

// Comments everywhere: each position of every comment kind, round-tripped.
TEST_CASE("format: comments at every position round-trip", "[format]") {
  const std::string base =
      "policy p version \"1\"\nimport std.shell as sh\nconst a: list<int> = [1, 2, 3]\n"
      "context { x: string, y: int? }\ndef f(p: path, q: int): bool = p under \"/\" and q > 1 or f(p, q)\n"
      "allow r when a and (b or c) and any v in xs: v == 1 because \"why\" with { timeout = 1s, network = any }\n"
      "test \"t\" { exec [\"a\", \"b\"] cwd \"/\" context { k = 1 } => allow by r exec x => deny }\n";
  // Insert a comment before each token boundary (at each space or newline).
  int checked = 0;
  for (std::size_t i = 0; i < base.size(); ++i) {
    if (base[i] != ' ' && base[i] != '\n') continue;
    for (const char* comment : {" // c\n", "\n// own\n", " /* b */ ", "\n/* own */\n", "\n\n// blank\n\n"}) {
      std::string input = base.substr(0, i) + comment + base.substr(i + 1);
      Parsed parsed = ParseText(input);
      if (!parsed.ok) continue;  // e.g. a comment inside a string
      CheckFormat(input);
      ++checked;
    }
  }
  CHECK(checked > 300);
}

// A deterministic generator of random (often invalid) expressions; the ones
// that parse must round-trip.
class ExprGenerator {
 public:
  explicit ExprGenerator(unsigned seed) : random_(seed) {}

  std::string Expr(int depth) {
    if (depth > 5) return Atom();
    switch (Pick(22)) {
      case 0:
      case 1:
      case 2:
        return Atom();
      case 3:
        return Sub(depth) + " and " + Sub(depth);
      case 4:
        return Sub(depth) + " or " + Sub(depth);
      case 5:
        return "not " + Sub(depth);
      case 6: {
        static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "under", "matches"};
        return Sub(depth) + " " + kOps[Pick(10)] + " " + Sub(depth);
      }
      case 7:
        return Sub(depth) + " ?? " + Sub(depth);
      case 8:
        return Sub(depth) + (Pick(2) ? " + " : " - ") + Sub(depth);
      case 9:
        return Sub(depth) + (Pick(3) == 0 ? " * " : Pick(2) ? " / " : " % ") + Sub(depth);
      case 10:
        return "-" + Sub(depth);
      case 11:
        return "(" + Sub(depth) + ")";
      case 12:
        return "(" + Sub(depth) + ").m(" + Sub(depth) + ", " + Sub(depth) + ")";
      case 13:
        return "(" + Sub(depth) + ")[" + Sub(depth) + "]";
      case 14:
        return "(" + Sub(depth) + ").fld";
      case 15:
        return std::string(Pick(2) ? "any" : "all") + " v in " + Sub(depth) + ": " + Sub(depth);
      case 16:
        return "if " + Sub(depth) + " then " + Sub(depth) + " else " + Sub(depth);
      case 17: {
        std::string out = "{";
        for (int i = 0, n = 1 + Pick(3); i < n; ++i) out += (i ? ", " : "") + Sub(depth);
        return out + "}";
      }
      case 18: {
        std::string out = "{ ";
        for (int i = 0, n = Pick(3); i < n; ++i) out += (i ? ", k" : "k") + std::to_string(i) + " = " + Sub(depth);
        return out + " }";
      }
      case 19: {
        std::string out = "[";
        for (int i = 0, n = Pick(3); i < n; ++i) out += (i ? ", " : "") + Sub(depth);
        return out + "]";
      }
      case 20:
        return "g(" + Sub(depth) + ")";
      default:
        return "(" + Sub(depth) + ")";
    }
  }

 private:
  int Pick(int n) { return static_cast<int>(random_() % static_cast<unsigned>(n)); }
  std::string Sub(int depth) {
    std::string e = Expr(depth + 1);
    return Pick(5) < 3 ? "(" + e + ")" : e;
  }
  std::string Atom() {
    static const char* kAtoms[] = {"x",        "args",        "cwd",  "1",    "10m",     "4GiB", "\"s\\n\\\"q\"",
                                   "g\"*.c\"", "r\"^a\\d$\"", "none", "true", "context", "f(x)", "[1, 2]"};
    return kAtoms[Pick(14)];
  }

  std::mt19937 random_;
};

TEST_CASE("format: round trip over generated expressions", "[format]") {
  ExprGenerator generator(20240601);
  int parsed_count = 0;
  for (int round = 0; round < 600; ++round) {
    std::string text;
    switch (round % 4) {
      case 0:
        text = "const c: int = " + generator.Expr(0);
        break;
      case 1:
        text = "allow r when " + generator.Expr(0) + " because \"b\" with { a = " + generator.Expr(2) + " }";
        break;
      case 2:
        text = "def d(a: int): bool = " + generator.Expr(0);
        break;
      default:
        text = "test \"t\" {\n exec " + generator.Expr(1) + " cwd " + generator.Expr(2) + " => deny by a\n}";
        break;
    }
    if (!ParseText(text).ok) continue;
    ++parsed_count;
    CheckFormat(text);
  }
  CHECK(parsed_count > 100);
}

TEST_CASE("format: deep nesting and long chains stay within limits", "[format]") {
  std::string nested;
  for (int i = 0; i < 45; ++i) nested += "[";
  nested += "x";
  for (int i = 0; i < 45; ++i) nested += "]";
  CheckFormat("const a: int = " + nested + "\n");
  std::string prefixes;
  for (int i = 0; i < 45; ++i) prefixes = "not " + prefixes + "-";
  CHECK(CheckFormat("allow r when " + prefixes + "(-x)\n").find("not not - - -") != std::string::npos);
  std::string chain = "a0";
  for (int i = 1; i < 5000; ++i) chain += (i % 7 == 0 ? " or a" : " and a") + std::to_string(i);
  std::string formatted = CheckFormat("allow r when " + chain + "\n");
  CHECK(std::count(formatted.begin(), formatted.end(), '\n') > 700);
}

// Every policy file of the repository (examples, stdlib, test data) that
// parses must round-trip.
TEST_CASE("format: round trip over the repository's .gov files", "[format]") {
  namespace fs = std::filesystem;
  fs::path root(GOV_SOURCE_DIR);
  std::vector<fs::path> files;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, error);
       it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    std::string name = it->path().filename().string();
    std::error_code status_error;
    if (it->is_directory(status_error) && (name.rfind("build", 0) == 0 || name.rfind(".", 0) == 0)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(status_error) && it->path().extension() == ".gov") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  int formatted = 0;
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!ParseText(text.str()).ok) continue;  // deliberately invalid inputs (fail_ tests, fuzz corpora)
    INFO(path.string());
    CheckFormat(text.str());
    ++formatted;
  }
  CHECK(formatted >= 3);
}

}  // namespace
}  // namespace gov::format
