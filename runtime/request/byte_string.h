// Byte strings in JSON (docs/request.md "Byte strings"): everything a request
// carries about a command — argv, paths, env names and values — is bytes the
// kernel passed on, not necessarily UTF-8. A byte string that is valid UTF-8
// is a JSON string; any other is {"base64": "<RFC 4648 base64>"}. Each byte
// string has exactly one form, so canonical JSON stays a function of the
// bytes. Used by the request JSON and by lineage records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/support/error_or.h"

namespace gov::request {

// True iff `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) — exactly what a JSON string can carry.
bool IsUtf8(std::string_view bytes);

// The JSON form of `bytes`: a string when valid UTF-8, else {"base64": …}.
nlohmann::json BytesToJson(std::string_view bytes);

// Reads a byte string written by BytesToJson. Errors (prefixed with
// `where` in backticks): neither a string nor an object; an object with
// other keys than `base64`; base64 that is not canonical (padding, unused
// bits, other characters); a {"base64"} object whose bytes are valid UTF-8
// (that string has to be a JSON string).
ErrorOr<std::string> BytesFromJson(const nlohmann::json& value, std::string_view where);

// Name → value pairs keyed by byte strings (env, env_hashed): `pairs` sorted
// by name bytes, names unique. An object when every name is valid UTF-8,
// else an array of [name, value] pairs in that order, names as BytesToJson.
nlohmann::json NamedToJson(const std::vector<std::pair<std::string, nlohmann::json>>& pairs);

// Reads NamedToJson's form: the (name, value) pairs sorted by name bytes.
// The array form must hold two-element arrays with strictly ascending names
// and at least one name that is not valid UTF-8 (else it has to be an
// object). Errors name `where`.
ErrorOr<std::vector<std::pair<std::string, nlohmann::json>>> NamedFromJson(const nlohmann::json& value,
                                                                           std::string_view where);

}  // namespace gov::request
