// Hostile input: garbage, invalid UTF-8, huge lines, deep nesting, empty
// files and very large policies must give diagnostics — never a crash, hang,
// stack overflow or undefined behaviour. These run on the test's own thread
// (no enlarged stack): the parser's limits alone must keep them safe.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "compiler/check/check.h"
#include "compiler/parse/parse.h"

namespace gov {
namespace {

struct Outcome {
  diagnostics::Collector diagnostics;
  std::size_t decls = 0;

  bool Has(std::string_view code) const {
    for (const diagnostics::Diagnostic& d : diagnostics.diagnostics()) {
      if (diagnostics::Info(d.kind).code == code) return true;
    }
    return false;
  }
};

Outcome ParseAndCheck(std::string text) {
  Outcome outcome;
  source::SourceManager sources;
  source::FileId id = sources.Add("hostile.gov", std::move(text));
  ast::File file = parse::ParseFile(sources, id, outcome.diagnostics);
  outcome.decls = file.decls.size();
  std::vector<check::ParsedModule> modules{{&file, {}, true}};
  check::Check(modules, outcome.diagnostics);
  // Rendering must also cope with whatever was reported.
  (void)diagnostics::RenderText(sources, outcome.diagnostics.diagnostics());
  (void)diagnostics::RenderJson(sources, outcome.diagnostics.diagnostics());
  return outcome;
}

std::string Repeat(std::string_view unit, std::size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (std::size_t i = 0; i < times; ++i) out.append(unit);
  return out;
}

TEST_CASE("hostile: empty file reports only the missing header", "[hostile]") {
  Outcome o = ParseAndCheck("");
  REQUIRE(o.diagnostics.diagnostics().size() == 1);
  CHECK(o.Has("GOV2001"));
}

TEST_CASE("hostile: binary garbage gives errors and stops at the error cap", "[hostile]") {
  std::mt19937 random(1234);
  for (int round = 0; round < 20; ++round) {
    std::string text(4096, '\0');
    for (char& c : text) c = static_cast<char>(random() & 0x7f);  // ASCII garbage reaches the lexer
    Outcome o = ParseAndCheck(text);
    CHECK(o.diagnostics.HasErrors());
    CHECK(o.diagnostics.diagnostics().size() <= parse::kMaxErrorsPerFile + 60);
  }
}

TEST_CASE("hostile: invalid UTF-8 is one precise error", "[hostile]") {
  Outcome o = ParseAndCheck("policy p\nconst x: string = \"\xff\xfe\"\n");
  REQUIRE(o.Has("GOV1005"));
  CHECK(o.decls == 0);
  Outcome overlong = ParseAndCheck("policy p // \xc0\xaf\n");
  CHECK(overlong.Has("GOV1005"));
  Outcome surrogate = ParseAndCheck("policy p // \xed\xa0\x80\n");
  CHECK(surrogate.Has("GOV1005"));
}

TEST_CASE("hostile: NUL and control bytes are invalid characters", "[hostile]") {
  Outcome o = ParseAndCheck(std::string("policy p\n\0\x01\x02", 12));
  CHECK(o.Has("GOV1002"));
}

TEST_CASE("hostile: a 10 MB line", "[hostile]") {
  SECTION("one huge string literal checks fine") {
    Outcome o = ParseAndCheck("policy p\nconst s: string = \"" + std::string(10u << 20, 'a') + "\"\n");
    CHECK_FALSE(o.diagnostics.HasErrors());
  }
  SECTION("stray characters stop at the error cap") {
    Outcome o = ParseAndCheck("policy p\n" + std::string(10u << 20, '$'));
    CHECK(o.Has("GOV1002"));
    CHECK(o.Has("GOV1007"));
  }
  SECTION("an endless identifier is a syntax error") {
    Outcome o = ParseAndCheck("policy p\n" + std::string(10u << 20, 'x'));
    CHECK(o.Has("GOV1001"));
  }
  SECTION("an unterminated string") {
    Outcome o = ParseAndCheck("policy p\nconst s: string = \"" + std::string(10u << 20, 'b'));
    CHECK(o.Has("GOV1003"));
  }
}

TEST_CASE("hostile: 100,000 nested parentheses", "[hostile]") {
  Outcome o = ParseAndCheck("policy p\nallow r when " + Repeat("(", 100000) + "true" + Repeat(")", 100000) + "\n");
  CHECK(o.Has("GOV1006"));
  CHECK(o.decls == 1);  // the header survives; the rule is dropped
}

TEST_CASE("hostile: deep nesting of every bracket and prefix form", "[hostile]") {
  for (std::string_view open : {"[", "{", "not ", "- ", "any x in y: ", "if a then "}) {
    INFO("nesting unit: " << open);
    // 5,000 levels: far past the nesting cap, within the per-declaration token cap.
    Outcome o = ParseAndCheck("policy p\nallow r when " + Repeat(open, 5000) + "true\n");
    CHECK(o.Has("GOV1006"));
    Outcome huge = ParseAndCheck("policy p\nallow r when " + Repeat(open, 100000) + "true\n");
    CHECK((huge.Has("GOV1006") || huge.Has("GOV2029")));
  }
}

TEST_CASE("hostile: long operator chains stay shallow or are capped", "[hostile]") {
  SECTION("and-chains are n-ary and fine") {
    Outcome o = ParseAndCheck("policy p\nallow r when " + Repeat("true and ", 30000) + "true\n");
    CHECK_FALSE(o.diagnostics.HasErrors());
  }
  SECTION("arithmetic chains beyond the AST depth cap are reported") {
    Outcome o = ParseAndCheck("policy p\nconst n: int = " + Repeat("1 + ", 30000) + "1\n");
    CHECK(o.Has("GOV1006"));
  }
  SECTION("a declaration with too many tokens is reported") {
    Outcome o = ParseAndCheck("policy p\nallow r when " + Repeat("true or ", 60000) + "true\n");
    CHECK(o.Has("GOV2029"));
  }
}

TEST_CASE("hostile: unterminated block comment", "[hostile]") {
  Outcome o = ParseAndCheck("policy p\n/* never closed " + std::string(100000, '*'));
  CHECK(o.Has("GOV1010"));
}

TEST_CASE("hostile: a policy of 100,000 rules checks without errors", "[hostile]") {
#if defined(GOV_SANITIZED)
  const int rules = 20000;  // the sanitizers look for memory errors, not scale; release runs 100,000
#else
  const int rules = 100000;
#endif
  std::string text = "policy big version \"1.0.0\"\n";
  text.reserve(static_cast<std::size_t>(rules) * 80);
  for (int i = 0; i < rules; ++i) {
    text += "allow r" + std::to_string(i) + " when program.path == \"/usr/bin/p" + std::to_string(i) +
            "\" and args[0] == \"x\"\n";
  }
  Outcome o = ParseAndCheck(std::move(text));
  CHECK_FALSE(o.diagnostics.HasErrors());
  CHECK(o.decls == static_cast<std::size_t>(rules) + 1);
}

TEST_CASE("hostile: huge numbers and units", "[hostile]") {
  Outcome o = ParseAndCheck(
      "policy p\nconst a: int = 99999999999999999999999\nconst b: duration = 9999999999999999d\n"
      "const c: size = 10XB\n");
  CHECK(o.Has("GOV1008"));
  CHECK(o.Has("GOV1009"));
}

}  // namespace
}  // namespace gov
