// toml++ (Debian 12 ships 3.3) as gov includes it; every file includes it
// through this header.
//
// Its parser checks a precondition that hostile input breaks: after a
// table header's `[` it calls parse_key on a character that starts no key
// (`[ +"x"]`; upstream marzer/tomlplusplus#301, fixed after 3.3), where it
// would then report the syntax error properly. The check is
// TOML_ASSERT_ASSUME: assert() without NDEBUG (the sanitizer build aborted
// on such a configuration) and, with NDEBUG under clang, __builtin_assume —
// undefined behaviour. Here TOML_ASSERT does nothing and NDEBUG is hidden
// while the header is read, so TOML_ASSERT_ASSUME is that empty TOML_ASSERT
// in every build; the parser's own error remains.
#pragma once

#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/toml.h>
#pragma pop_macro("NDEBUG")
// assert() as NDEBUG says again, in case a header above included <cassert>.
#include <cassert>
