// compiler/parse/lexer.h must split every input exactly as the lexer that
// ANTLR generates from grammar/Gov.g4 does: same token types, same byte
// ranges, comments and whitespace included. The grammar is the definition;
// these tests fail when its lexical rules change and lexer.h does not follow.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "GovLexer.h"
#include "antlr4-runtime.h"
#include "compiler/parse/lexer.h"
#include "compiler/source/source.h"

namespace gov::parse {
namespace {

using lexer::Token;

// Tokens of the generated lexer, with its code-point offsets turned into bytes.
std::vector<Token> GeneratedTokens(const std::string& text) {
  std::vector<std::uint32_t> byte_of;
  for (std::uint32_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of.push_back(i);
  }
  byte_of.push_back(static_cast<std::uint32_t>(text.size()));
  antlr4::ANTLRInputStream input(text.data(), text.size());
  gov_parser::GovLexer generated(&input);
  generated.removeErrorListeners();
  std::vector<Token> tokens;
  for (;;) {
    std::unique_ptr<antlr4::Token> token = generated.nextToken();
    if (token->getType() == antlr4::Token::EOF) break;
    tokens.push_back(Token{token->getType(), byte_of[token->getStartIndex()], byte_of[token->getStopIndex() + 1]});
  }
  return tokens;
}

std::vector<Token> HandTokens(const std::string& text) {
  lexer::Lexer hand(text, 0);
  std::vector<Token> tokens;
  Token token{};
  while (hand.Next(token)) tokens.push_back(token);
  return tokens;
}

// Empty when both lexers agree, else a description of the first difference.
std::string Difference(const std::string& text) {
  std::vector<Token> expected = GeneratedTokens(text);
  std::vector<Token> actual = HandTokens(text);
  for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
    if (i >= expected.size() || i >= actual.size() || expected[i].type != actual[i].type ||
        expected[i].begin != actual[i].begin || expected[i].end != actual[i].end) {
      auto show = [&](const std::vector<Token>& tokens) {
        if (i >= tokens.size()) return std::string("(none)");
        return "type " + std::to_string(tokens[i].type) + " [" + std::to_string(tokens[i].begin) + ", " +
               std::to_string(tokens[i].end) + ")";
      };
      return "token " + std::to_string(i) + ": generated " + show(expected) + ", hand-written " + show(actual);
    }
  }
  return "";
}

TEST_CASE("the hand-written lexer agrees with the generated one on edge cases", "[parse][lexer]") {
  const std::vector<std::string> inputs = {
      "", "a", "_", "allow", "allowed", "in inx", "g", "r", "gx", "g\"x\"", "r\"x\"", "g\"x", "r\"a\\\"b",
      "\"\"", "\"abc", "\"a\\\"b\"", "\"a\\", "\"a\\\nb\"", "\"a\\\r\n", "\"é\\é\"", "\"a\"\"b\"", "x\"y\"",
      "0", "01", "1_000", "1__0", "1_", "1_a", "10ms", "10m", "10min", "10s2", "10mB", "1KiB", "1KB", "1Ki", "2TB",
      "5d", "5h", "0x1F", "1_000ms", "9999999999999999999999", "1.5", ".5", "-1",
      "/", "//", "// x\ny", "/* x */", "/* x", "/*/", "/**/", "/* * / */ x", "/* a */ b */", "a/*b*/c",
      "=", "==", "===", "=>", "!", "!=", "!==", "?", "??", "???", "<", "<=", "<==", ">", ">=", "+-*/%", "[]{}(),.:",
      " \t\r\n", "\f", "\v", "#", "@", "$", "\\", "'", ";", "`", "~", "|", "&", "^", std::string("\0", 1),
      std::string("a\0b", 3), "é", "€", "😀", "aé", "é\"x\"", "x\xEF\xBB\xBF", "\x7f", "\x01",
  };
  // (A leading byte-order mark is not among them: ParseFile skips it before
  // lexing, and ANTLR's input stream drops it by itself.)
  for (const std::string& input : inputs) {
    INFO("input: " << input);
    CHECK(Difference(input).empty());
  }
}

TEST_CASE("the hand-written lexer agrees with the generated one on every policy file", "[parse][lexer]") {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const char* folder : {"tests", "examples", "stdlib", "fuzz"}) {
    fs::path root = fs::path(GOV_SOURCE_DIR) / folder;
    if (!fs::exists(root)) continue;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      std::string path = entry.path().string();
      if (entry.path().extension() != ".gov" && path.find("corpus") == std::string::npos) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream buffer;
      buffer << in.rdbuf();
      std::string text = buffer.str();
      if (source::FindInvalidUtf8(text) != std::string::npos) continue;  // rejected before lexing
      ++files;
      INFO("file: " << path);
      CHECK(Difference(text).empty());
    }
  }
  CHECK(files > 20);
}

TEST_CASE("the hand-written lexer agrees with the generated one on random inputs", "[parse][lexer]") {
  const std::vector<std::string> pieces = {
      "a", "g", "r", "x", "_", "m", "s", "ms", "h", "d", "B", "K", "i", "KiB", "MB", "T", "TB", "GiB", "u", "mi",
      "0", "1", "9", "10", "1_0", "1__", "\"", "\\", "\\u", "\n", "\r", " ", "\t", "/", "*", "//", "/*", "*/",
      "g\"", "r\"", "=", "==", "=>", "!", "!=", "<", ">", "?", "??", ".", ",", "{", "}", "(", ")", "[", "]", "+",
      "-", "%", ":", "é", "€", "😀", "#", "@", "\x01", std::string("\0", 1), "in", "not", "and", "allow", "when",
      "context", "any", "ask", "true", "none"};
  std::mt19937 random(20240611);
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    int length = static_cast<int>(random() % 48);
    for (int k = 0; k < length; ++k) input += pieces[random() % pieces.size()];
    std::string difference = Difference(input);
    if (!difference.empty()) {
      INFO("input: " << input);
      FAIL(difference);
    }
  }
}

}  // namespace
}  // namespace gov::parse
