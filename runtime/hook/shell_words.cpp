// Shell words for the agent hooks (see shell_words.h): the conservative
// first-simple-command reader and single-quoting.
#include "runtime/hook/shell_words.h"

#include <algorithm>
#include <iterator>

namespace gov::hook {
namespace {

// Bash's reserved words and builtins: a first word naming one of these does
// not execute a program of that name (`echo`, `test`, `kill` and `printf`
// are builtins even though /usr/bin has programs by those names).
constexpr std::string_view kNotPrograms[] = {
    "!",       "[[",      "]]",      "{",       "}",         "case",     "coproc",   "do",      "done",    "elif",
    "else",    "esac",    "fi",      "for",     "function",  "if",       "in",       "select",  "then",    "time",
    "until",   "while",   ".",       ":",       "[",         "alias",    "bg",       "bind",    "break",   "builtin",
    "caller",  "cd",      "command", "compgen", "complete",  "compopt",  "continue", "declare", "dirs",    "disown",
    "echo",    "enable",  "eval",    "exec",    "exit",      "export",   "false",    "fc",      "fg",      "getopts",
    "hash",    "help",    "history", "jobs",    "kill",      "let",      "local",    "logout",  "mapfile", "popd",
    "printf",  "pushd",   "pwd",     "read",    "readarray", "readonly", "return",   "set",     "shift",   "shopt",
    "source",  "suspend", "test",    "times",   "trap",      "true",     "type",     "typeset", "ulimit",  "umask",
    "unalias", "unset",   "wait",
};

// Characters that stand for themselves outside quotes. Bytes >= 0x80 (the
// non-ASCII parts of UTF-8) are word characters to bash and never equal an
// ASCII metacharacter.
bool IsLiteral(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case ',':
    case ':':
    case '@':
    case '%':
    case '+':
    case '=':
    case '^':
      return true;
    default:
      return false;
  }
}

bool IsSafeUnquoted(unsigned char c) {
  return c < 0x80 && c != '^' && IsLiteral(c);
}

}  // namespace

std::optional<std::vector<std::string>> FirstSimpleCommand(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // a word has started (`''` is an empty word)
  std::size_t i = 0;
  auto end_word = [&] {
    if (in_word) {
      words.push_back(std::move(word));
      word.clear();
      in_word = false;
    }
  };
  // Leading blank lines are no command.
  while (i < command.size() && (command[i] == ' ' || command[i] == '\t' || command[i] == '\n')) {
    ++i;
  }
  bool ended = false;
  while (i < command.size() && !ended) {
    const unsigned char c = static_cast<unsigned char>(command[i]);
    if (c == ' ' || c == '\t') {
      end_word();
      ++i;
    } else if (c == ';' || c == '|' || c == '\n') {
      ended = true;
    } else if (c == '&') {
      // `&>` and `&>>` are redirections, not the end of the command.
      if (i + 1 < command.size() && command[i + 1] == '>') return std::nullopt;
      ended = true;
    } else if (c == '\'') {
      const std::size_t close = command.find('\'', i + 1);
      if (close == std::string_view::npos) return std::nullopt;
      word.append(command.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      in_word = true;
      ++i;
      while (true) {
        if (i >= command.size()) return std::nullopt;
        const char d = command[i];
        if (d == '"') {
          ++i;
          break;
        }
        if (d == '$' || d == '`' || d == '!') return std::nullopt;
        if (d == '\\') {
          if (i + 1 >= command.size()) return std::nullopt;
          const char next = command[i + 1];
          if (next == '\n') return std::nullopt;
          if (next == '$' || next == '`' || next == '"' || next == '\\') {
            word.push_back(next);
          } else {
            word.push_back('\\');
            word.push_back(next);
          }
          i += 2;
          continue;
        }
        word.push_back(d);
        ++i;
      }
    } else if (c == '\\') {
      if (i + 1 >= command.size() || command[i + 1] == '\n') return std::nullopt;
      word.push_back(command[i + 1]);
      in_word = true;
      i += 2;
    } else if (IsLiteral(c)) {
      word.push_back(static_cast<char>(c));
      in_word = true;
      ++i;
    } else {
      // $ ` ( ) < > { } [ ] * ? ~ # ! and control characters.
      return std::nullopt;
    }
  }
  end_word();
  if (words.empty()) return std::nullopt;
  const std::string& first = words.front();
  // `NAME=value cmd` assigns; whatever `=` means in the first word, skip.
  if (first.empty() || first.find('=') != std::string::npos) return std::nullopt;
  if (std::find(std::begin(kNotPrograms), std::end(kNotPrograms), first) != std::end(kNotPrograms)) return std::nullopt;
  return words;
}

std::string SingleQuote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string ShellQuote(std::string_view word) {
  if (!word.empty() &&
      std::all_of(word.begin(), word.end(), [](char c) { return IsSafeUnquoted(static_cast<unsigned char>(c)); })) {
    return std::string(word);
  }
  return SingleQuote(word);
}

}  // namespace gov::hook
