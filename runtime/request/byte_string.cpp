// Byte strings in JSON (see byte_string.h).
#include "runtime/request/byte_string.h"

#include <fmt/format.h>

#include "runtime/crypto/ed25519.h"

namespace gov::request {

using Json = nlohmann::json;

bool IsUtf8(std::string_view bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;   // no overlong forms
      if (c == 0xED) high = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;   // no overlong forms
      if (c == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (n - i < length) return false;
    const auto second = static_cast<unsigned char>(bytes[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

Json BytesToJson(std::string_view bytes) {
  if (IsUtf8(bytes)) return Json(std::string(bytes));
  return Json{{"base64", crypto::Base64Encode(bytes)}};
}

ErrorOr<std::string> BytesFromJson(const Json& value, std::string_view where) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_object()) return Error{fmt::format("`{}` must be a string", where)};
  if (value.size() != 1 || !value.contains("base64")) {
    return Error{
        fmt::format("`{}` must be a string, or an object with the one key `base64` (bytes that are not UTF-8)", where)};
  }
  const Json& text = value["base64"];
  if (!text.is_string()) return Error{fmt::format("`{}.base64` must be a string", where)};
  auto decoded = crypto::Base64Decode(text.get<std::string>());
  if (!decoded.ok()) return Error{fmt::format("`{}.base64`: {}", where, decoded.error().message)};
  if (IsUtf8(decoded.value())) {
    return Error{
        fmt::format("`{}`: these bytes are valid UTF-8, so they must be written as a JSON string, not as "
                    "base64",
                    where)};
  }
  return std::move(decoded).value();
}

Json NamedToJson(const std::vector<std::pair<std::string, Json>>& pairs) {
  bool all_utf8 = true;
  for (const auto& [name, value] : pairs) all_utf8 = all_utf8 && IsUtf8(name);
  if (all_utf8) {
    Json object = Json::object();
    for (const auto& [name, value] : pairs) object[name] = value;
    return object;
  }
  Json array = Json::array();
  for (const auto& [name, value] : pairs) array.push_back(Json::array({BytesToJson(name), value}));
  return array;
}

ErrorOr<std::vector<std::pair<std::string, Json>>> NamedFromJson(const Json& value, std::string_view where) {
  std::vector<std::pair<std::string, Json>> out;
  if (value.is_object()) {
    // Parsed keys are valid UTF-8 and come sorted by their bytes.
    for (const auto& [name, item] : value.items()) out.emplace_back(name, item);
    return out;
  }
  if (!value.is_array()) {
    return Error{
        fmt::format("`{}` must be an object (or, when a name is not UTF-8, an array of [name, value] pairs)", where)};
  }
  bool all_utf8 = true;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const Json& pair = value[i];
    const std::string at = fmt::format("{}[{}]", where, i);
    if (!pair.is_array() || pair.size() != 2) return Error{fmt::format("`{}` must be a [name, value] pair", at)};
    GOV_ASSIGN_OR_RETURN(std::string name, BytesFromJson(pair[0], at + "[0]"));
    if (!out.empty() && !(out.back().first < name)) {
      return Error{fmt::format("`{}`: the pairs must be sorted by name bytes, each name once", at)};
    }
    all_utf8 = all_utf8 && IsUtf8(name);
    out.emplace_back(std::move(name), pair[1]);
  }
  if (all_utf8) {
    return Error{fmt::format("`{}`: every name is valid UTF-8, so it must be an object, not an array of pairs", where)};
  }
  return out;
}

}  // namespace gov::request
