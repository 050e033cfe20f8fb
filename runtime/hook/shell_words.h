// Shell words for the agent hooks: a small, conservative reader of the first
// simple command of a shell command line (for an early explanation only,
// never trusted for security), and single-quoting that bash reads back
// byte for byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gov::hook {

// The words of the first simple command of `command`, as bash would pass
// them to the program it executes, or std::nullopt when the text uses
// anything this reader does not understand (expansions, substitutions,
// redirections, globs, comments, assignments, line continuations,
// unterminated quotes) or when the first word is a bash reserved word or
// builtin (bash would not execute a program by that name).
//
// Understood: blanks between words; literal characters; '...'; "..." without
// `$`, backquotes or `!` (a backslash escapes `$`, a backquote, `"`, `\`);
// a backslash outside quotes escaping one character other than a newline.
// The first simple command ends at an unquoted `;`, `&`, `|` or newline.
//
// This is an approximation by design: the command really runs inside
// `govrun --session`, where every program it executes is decided.
std::optional<std::vector<std::string>> FirstSimpleCommand(std::string_view command);

// `word` as one shell word: unchanged when it is non-empty and made only of
// characters no shell treats specially (letters, digits, `_@%+=:,./-`),
// otherwise single-quoted (see SingleQuote).
std::string ShellQuote(std::string_view word);

// `text` single-quoted: `'` + text with each `'` written `'\''` + `'`.
// bash reads it back as exactly `text` for any bytes but NUL (which no
// shell word can hold): newlines, `$(...)`, backquotes, backslashes and
// bytes that are not UTF-8 are all literal inside single quotes.
std::string SingleQuote(std::string_view text);

}  // namespace gov::hook
