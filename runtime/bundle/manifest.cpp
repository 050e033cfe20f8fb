// Manifest checks, canonical JSON encoding and strict parsing (see manifest.h).
#include "runtime/bundle/manifest.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "runtime/crypto/sha256.h"

namespace gov::bundle {
namespace {

using Json = nlohmann::json;

// True iff `text` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool ValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        return false;
      }
      code = (code << 6) | (next & 0x3F);
    }
    if ((extra == 2 && code < 0x800) || (extra == 3 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

ErrorOr<void> CheckText(std::string_view field, std::string_view text, bool allow_empty) {
  if (!allow_empty && text.empty()) {
    return Error{"manifest field `" + std::string(field) + "` is empty"};
  }
  if (!ValidUtf8(text)) {
    return Error{"manifest field `" + std::string(field) + "` is not valid UTF-8"};
  }
  return {};
}

ErrorOr<void> CheckDigest(std::string_view field, std::string_view digest) {
  if (!crypto::IsDigestString(digest)) {
    return Error{"manifest field `" + std::string(field) + "` is not a `sha256:<64 hex>` digest"};
  }
  return {};
}

bool IsDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

ErrorOr<void> CheckCreated(std::string_view created) {
  // YYYY-MM-DDTHH:MM:SSZ
  const bool shape = created.size() == 20 && IsDigits(created.substr(0, 4)) && created[4] == '-' &&
                     IsDigits(created.substr(5, 2)) && created[7] == '-' && IsDigits(created.substr(8, 2)) &&
                     created[10] == 'T' && IsDigits(created.substr(11, 2)) && created[13] == ':' &&
                     IsDigits(created.substr(14, 2)) && created[16] == ':' && IsDigits(created.substr(17, 2)) &&
                     created[19] == 'Z';
  if (!shape) {
    return Error{"manifest field `created` is not an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SSZ`"};
  }
  auto number = [&](std::size_t at, std::size_t size) { return std::stoi(std::string(created.substr(at, size))); };
  const int month = number(5, 2);
  const int day = number(8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || number(11, 2) > 23 || number(14, 2) > 59 ||
      number(17, 2) > 60) {
    return Error{"manifest field `created` has an out-of-range date or time"};
  }
  return {};
}

ErrorOr<void> CheckFeature(std::string_view feature) {
  if (feature.size() < 2 || (feature[0] != '+' && feature[0] != '-')) {
    return Error{"target feature `" + std::string(feature) + "` must be `+name` or `-name`"};
  }
  for (const char c : feature.substr(1)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) {
      return Error{"target feature `" + std::string(feature) + "` has a character outside [a-z0-9._-]"};
    }
  }
  return {};
}

// Field access with precise errors.
ErrorOr<const Json*> Member(const Json& object, std::string_view where, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) {
    return Error{std::string(where) + " lacks field `" + name + "`"};
  }
  return &*it;
}

ErrorOr<void> OnlyFields(const Json& object, std::string_view where, std::initializer_list<const char*> names) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::none_of(names.begin(), names.end(), [&](const char* name) { return it.key() == name; })) {
      return Error{std::string(where) + " has unknown field `" + it.key() + "`"};
    }
  }
  for (const char* name : names) {
    if (!object.contains(name)) {
      return Error{std::string(where) + " lacks field `" + name + "`"};
    }
  }
  return {};
}

ErrorOr<std::string> StringField(const Json& object, std::string_view where, const char* name) {
  GOV_ASSIGN_OR_RETURN(const Json* value, Member(object, where, name));
  if (!value->is_string()) {
    return Error{std::string(where) + " field `" + name + "` is not a string"};
  }
  return value->get<std::string>();
}

// Reads the canonical manifest layout byte by byte (see
// internal::ReadCanonicalManifest).
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view in) : in_(in) {}

  bool Literal(std::string_view text) {
    if (in_.substr(pos_, text.size()) != text) return false;
    pos_ += text.size();
    return true;
  }
  // A string of printable ASCII other than '"' and '\\' (which
  // AppendJsonString writes unescaped).
  bool String(std::string& out) {
    if (pos_ >= in_.size() || in_[pos_] != '"') return false;
    const std::size_t start = ++pos_;
    for (; pos_ < in_.size(); ++pos_) {
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        out.assign(in_.substr(start, pos_ - start));
        ++pos_;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
    }
    return false;
  }
  // A decimal without sign or leading zeros, at most 0xffffffff.
  bool Unsigned32(std::uint32_t& out) {
    std::uint64_t value = 0;
    const std::size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9' && pos_ - start < 10) {
      value = value * 10 + static_cast<std::uint64_t>(in_[pos_] - '0');
      ++pos_;
    }
    const std::size_t digits = pos_ - start;
    if (digits == 0 || (digits > 1 && in_[start] == '0') || value > 0xffffffffu) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<Manifest> internal::ReadCanonicalManifest(std::string_view json) {
  CanonicalReader in(json);
  Manifest m;
  if (!in.Literal("{\"abi_version\":") || !in.Unsigned32(m.abi_version) || !in.Literal(",\"compiler_version\":") ||
      !in.String(m.compiler_version) || !in.Literal(",\"created\":") || !in.String(m.created) ||
      !in.Literal(",\"policy\":{\"name\":") || !in.String(m.policy_name) || !in.Literal(",\"version\":") ||
      !in.String(m.policy_version) || !in.Literal("},\"sources\":[")) {
    return std::nullopt;
  }
  if (!in.Literal("]")) {
    do {
      SourceFile file;
      if (!in.Literal("{\"path\":") || !in.String(file.path) || !in.Literal(",\"sha256\":") ||
          !in.String(file.sha256) || !in.Literal("}")) {
        return std::nullopt;
      }
      m.sources.push_back(std::move(file));
    } while (in.Literal(","));
    if (!in.Literal("]")) return std::nullopt;
  }
  if (!in.Literal(",\"target\":")) return std::nullopt;
  if (!in.Literal("null")) {
    Target target;
    if (!in.Literal("{\"cpu\":") || !in.String(target.cpu) || !in.Literal(",\"features\":[")) return std::nullopt;
    if (!in.Literal("]")) {
      do {
        std::string feature;
        if (!in.String(feature)) return std::nullopt;
        target.features.push_back(std::move(feature));
      } while (in.Literal(","));
      if (!in.Literal("]")) return std::nullopt;
    }
    if (!in.Literal(",\"triple\":") || !in.String(target.triple) || !in.Literal("}")) return std::nullopt;
    m.target = std::move(target);
  }
  if (!in.Literal("}") || !in.AtEnd()) return std::nullopt;
  return m;
}

ErrorOr<Manifest> ParseManifest(std::string_view json) {
  // The common case without building a JSON document; the general parser
  // accepts exactly the same canonical bytes and names what is wrong.
  if (std::optional<Manifest> read = internal::ReadCanonicalManifest(json); read && CheckManifest(*read).ok()) {
    return std::move(*read);
  }
  return internal::ParseManifestGeneral(json);
}

ErrorOr<void> CheckManifest(const Manifest& manifest) {
  GOV_RETURN_IF_ERROR(CheckText("policy.name", manifest.policy_name, false));
  GOV_RETURN_IF_ERROR(CheckText("policy.version", manifest.policy_version, true));
  GOV_RETURN_IF_ERROR(CheckText("compiler_version", manifest.compiler_version, false));
  GOV_RETURN_IF_ERROR(CheckCreated(manifest.created));
  for (std::size_t i = 0; i < manifest.sources.size(); ++i) {
    const SourceFile& source = manifest.sources[i];
    GOV_RETURN_IF_ERROR(CheckText("sources[].path", source.path, false));
    GOV_RETURN_IF_ERROR(CheckDigest("sources[].sha256", source.sha256));
    if (i > 0 && !(manifest.sources[i - 1].path < source.path)) {
      return Error{"manifest sources are not sorted by path with unique paths (at `" + source.path + "`)"};
    }
  }
  if (manifest.target) {
    GOV_RETURN_IF_ERROR(CheckText("target.triple", manifest.target->triple, false));
    GOV_RETURN_IF_ERROR(CheckText("target.cpu", manifest.target->cpu, false));
    for (const std::string& feature : manifest.target->features) {
      GOV_RETURN_IF_ERROR(CheckFeature(feature));
    }
  }
  return {};
}

std::string ManifestToJson(const Manifest& manifest) {
  // Keys in bytewise order at every level (canonical JSON).
  std::string out = "{\"abi_version\":" + std::to_string(manifest.abi_version);
  out += ",\"compiler_version\":";
  AppendJsonString(out, manifest.compiler_version);
  out += ",\"created\":";
  AppendJsonString(out, manifest.created);
  out += ",\"policy\":{\"name\":";
  AppendJsonString(out, manifest.policy_name);
  out += ",\"version\":";
  AppendJsonString(out, manifest.policy_version);
  out += "},\"sources\":[";
  for (std::size_t i = 0; i < manifest.sources.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out += "{\"path\":";
    AppendJsonString(out, manifest.sources[i].path);
    out += ",\"sha256\":";
    AppendJsonString(out, manifest.sources[i].sha256);
    out.push_back('}');
  }
  out += "],\"target\":";
  if (!manifest.target) {
    out += "null";
  } else {
    out += "{\"cpu\":";
    AppendJsonString(out, manifest.target->cpu);
    out += ",\"features\":[";
    for (std::size_t i = 0; i < manifest.target->features.size(); ++i) {
      if (i > 0) {
        out.push_back(',');
      }
      AppendJsonString(out, manifest.target->features[i]);
    }
    out += "],\"triple\":";
    AppendJsonString(out, manifest.target->triple);
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

ErrorOr<Manifest> internal::ParseManifestGeneral(std::string_view json) {
  const Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return Error{"manifest is not valid JSON"};
  }
  if (!root.is_object()) {
    return Error{"manifest is not a JSON object"};
  }
  GOV_RETURN_IF_ERROR(
      OnlyFields(root, "manifest", {"abi_version", "compiler_version", "created", "policy", "sources", "target"}));
  Manifest manifest;
  const Json& abi = root["abi_version"];
  if (!abi.is_number_unsigned() || abi.get<std::uint64_t>() > 0xffffffffu) {
    return Error{"manifest field `abi_version` is not an unsigned 32-bit integer"};
  }
  manifest.abi_version = static_cast<std::uint32_t>(abi.get<std::uint64_t>());
  GOV_ASSIGN_OR_RETURN(manifest.compiler_version, StringField(root, "manifest", "compiler_version"));
  GOV_ASSIGN_OR_RETURN(manifest.created, StringField(root, "manifest", "created"));

  const Json& policy = root["policy"];
  if (!policy.is_object()) {
    return Error{"manifest field `policy` is not an object"};
  }
  GOV_RETURN_IF_ERROR(OnlyFields(policy, "manifest `policy`", {"name", "version"}));
  GOV_ASSIGN_OR_RETURN(manifest.policy_name, StringField(policy, "manifest `policy`", "name"));
  GOV_ASSIGN_OR_RETURN(manifest.policy_version, StringField(policy, "manifest `policy`", "version"));

  const Json& sources = root["sources"];
  if (!sources.is_array()) {
    return Error{"manifest field `sources` is not an array"};
  }
  for (const Json& source : sources) {
    if (!source.is_object()) {
      return Error{"manifest `sources` entry is not an object"};
    }
    GOV_RETURN_IF_ERROR(OnlyFields(source, "manifest `sources` entry", {"path", "sha256"}));
    SourceFile file;
    GOV_ASSIGN_OR_RETURN(file.path, StringField(source, "manifest `sources` entry", "path"));
    GOV_ASSIGN_OR_RETURN(file.sha256, StringField(source, "manifest `sources` entry", "sha256"));
    manifest.sources.push_back(std::move(file));
  }

  const Json& target = root["target"];
  if (!target.is_null()) {
    if (!target.is_object()) {
      return Error{"manifest field `target` is neither null nor an object"};
    }
    GOV_RETURN_IF_ERROR(OnlyFields(target, "manifest `target`", {"cpu", "features", "triple"}));
    Target decoded;
    GOV_ASSIGN_OR_RETURN(decoded.cpu, StringField(target, "manifest `target`", "cpu"));
    GOV_ASSIGN_OR_RETURN(decoded.triple, StringField(target, "manifest `target`", "triple"));
    const Json& features = target["features"];
    if (!features.is_array()) {
      return Error{"manifest `target` field `features` is not an array"};
    }
    for (const Json& feature : features) {
      if (!feature.is_string()) {
        return Error{"manifest `target` feature is not a string"};
      }
      decoded.features.push_back(feature.get<std::string>());
    }
    manifest.target = std::move(decoded);
  }
  GOV_RETURN_IF_ERROR(CheckManifest(manifest));
  if (ManifestToJson(manifest) != json) {
    return Error{"manifest is not in canonical JSON form"};
  }
  return manifest;
}

std::string FormatRfc3339Utc(std::int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  gmtime_r(&time, &parts);
  char text[96];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
  return text;
}

std::vector<std::string> SplitFeatureString(std::string_view features) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < features.size()) {
    std::size_t comma = features.find(',', start);
    if (comma == std::string_view::npos) {
      comma = features.size();
    }
    if (comma > start) {
      out.emplace_back(features.substr(start, comma - start));
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace gov::bundle
