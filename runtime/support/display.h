// Showing untrusted text (program paths, arguments, directories) on a
// terminal without letting it act on the terminal: control characters,
// C1 controls, bidirectional overrides and bytes that are not UTF-8 are
// written as escapes, so what a person reads is what will run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gov {

// `text` with every byte that is not printable, valid UTF-8 escaped as
// \n, \t, \r, \\ , \xHH (control and invalid bytes) or \u{HHHH} (C1
// controls, bidirectional controls), e.g. "a\x1b[2Jb" → `a\x1b[2Jb`.
std::string EscapeForDisplay(std::string_view text);

// A command line for display: each argument escaped, and quoted ('…') when
// it is empty or contains a blank or a quote.
std::string CommandLineForDisplay(const std::vector<std::string>& argv);

}  // namespace gov
