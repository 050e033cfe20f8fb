// Requests: the ABI view over an owning Request (sorting, normalizing,
// calendar fields), the JSON form of docs/request.md, and the text form of
// context values. nlohmann-json's exceptions stay inside this file.
#include "runtime/request/request.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "runtime/request/byte_string.h"
#include "runtime/support/path.h"

namespace gov::request {
namespace {

using Json = nlohmann::json;

gov_str Str(std::string_view s) {
  return gov_str{s.data(), static_cast<std::uint64_t>(s.size())};
}

bool IsDigest(std::string_view text) {
  constexpr std::string_view kPrefix = "sha256:";
  if (text.size() != kPrefix.size() + 64 || !text.starts_with(kPrefix)) return false;
  return std::all_of(text.begin() + kPrefix.size(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Parses a non-negative decimal prefix of `text`; false on overflow or no digits.
bool ParseDigits(std::string_view text, std::int64_t& value, std::size_t& consumed) {
  value = 0;
  consumed = 0;
  while (consumed < text.size() && text[consumed] >= '0' && text[consumed] <= '9') {
    int digit = text[consumed] - '0';
    if (value > (INT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
    ++consumed;
  }
  return consumed > 0;
}

struct Unit {
  std::string_view name;
  std::int64_t factor;
};
constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
constexpr Unit kSizeUnits[] = {
    {"B", 1},           {"KB", 1000},       {"MB", 1000'000},   {"GB", 1000'000'000}, {"TB", 1000'000'000'000},
    {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}, {"TiB", 1LL << 40}};

// `<digits><unit>` with a unit from `units`, or bare digits (factor 1).
bool ParseQuantity(std::string_view text, std::span<const Unit> units, std::int64_t& value) {
  std::int64_t digits = 0;
  std::size_t consumed = 0;
  if (!ParseDigits(text, digits, consumed)) return false;
  std::string_view unit = text.substr(consumed);
  if (unit.empty()) {
    value = digits;
    return true;
  }
  for (const Unit& u : units) {
    if (u.name != unit) continue;
    if (digits > INT64_MAX / u.factor) return false;
    value = digits * u.factor;
    return true;
  }
  return false;
}

const char* TypeName(ir::ContextField::Spelling spelling) {
  switch (spelling) {
    case ir::ContextField::Spelling::kString:
      return "string";
    case ir::ContextField::Spelling::kPath:
      return "path";
    case ir::ContextField::Spelling::kInt:
      return "int";
    case ir::ContextField::Spelling::kBool:
      return "bool";
    case ir::ContextField::Spelling::kDuration:
      return "duration";
    case ir::ContextField::Spelling::kSize:
      return "size";
    case ir::ContextField::Spelling::kDigest:
      return "digest";
  }
  return "value";
}

// Parses "YYYY-MM-DDTHH:MM:SSZ" into Unix seconds.
bool ParseTimestamp(std::string_view text, std::int64_t& out) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z') {
    return false;
  }
  auto number = [&](std::size_t pos, std::size_t len, std::int64_t& v) {
    v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    return true;
  };
  std::int64_t y, m, d, hh, mm, ss;
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d) || !number(11, 2, hh) || !number(14, 2, mm) ||
      !number(17, 2, ss)) {
    return false;
  }
  if (m < 1 || m > 12 || d < 1 || hh > 23 || mm > 59 || ss > 59 || y < 1970) return false;
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDaysIn[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
  // Days from 1970-01-01 to y-m-d (the inverse of CivilFromUnix's algorithm).
  std::int64_t yy = y - (m <= 2 ? 1 : 0);
  std::int64_t era = yy / 400;
  std::int64_t yoe = yy - era * 400;
  std::int64_t mp = m > 2 ? m - 3 : m + 9;
  std::int64_t doy = (153 * mp + 2) / 5 + d - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = era * 146097 + doe - 719468;
  out = days * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

// A JSON reader that reports the path of what it rejects.
class JsonReader {
 public:
  explicit JsonReader(const std::vector<ir::ContextField>& fields) : fields_(fields) {}

  ErrorOr<Request> Read(const Json& root) {
    Request r;
    if (!root.is_object()) return Fail("the request must be a JSON object");
    static const std::set<std::string> kKeys = {
        "program", "sha256", "written_in_session", "invoked", "args", "argv0", "env", "cwd", "user", "host", "time",
        "parent",  "context"};
    for (const auto& [key, value] : root.items()) {
      if (!kKeys.contains(key)) return Fail(fmt::format("unknown key `{}` in the request", key));
    }
    if (!root.contains("program")) return Fail("missing key `program` (the absolute path of the program)");
    if (!AbsolutePath(root["program"], "program", r.program_path)) return error_;
    r.program_name = paths::BaseName(r.program_path);
    r.invoked_path = r.program_path;
    if (root.contains("invoked") && !AbsolutePath(root["invoked"], "invoked", r.invoked_path)) return error_;
    r.argv0 = r.invoked_path;
    if (root.contains("sha256")) {
      if (!String(root["sha256"], "sha256", r.program_sha256)) return error_;
      if (!IsDigest(r.program_sha256)) {
        return Fail("`sha256` must be `sha256:` followed by 64 lower-case hexadecimal digits");
      }
    }
    if (root.contains("written_in_session") &&
        !Boolean(root["written_in_session"], "written_in_session", r.program_written_in_session)) {
      return error_;
    }
    if (root.contains("args") && !StringList(root["args"], "args", r.args)) return error_;
    if (root.contains("argv0") && !String(root["argv0"], "argv0", r.argv0)) return error_;
    if (root.contains("env")) {
      const Json& env = root["env"];
      if (!env.is_object() && !env.is_array()) {
        return Fail(
            "`env` must be an object of strings (or, when a name is not valid UTF-8, an array of [name, value] pairs)");
      }
      auto pairs = NamedFromJson(env, "env");
      if (!pairs.ok()) return Fail(pairs.error().message);
      for (std::size_t i = 0; i < pairs.value().size(); ++i) {
        auto& [name, value] = pairs.value()[i];
        std::string text;
        if (!String(value, env.is_object() ? "env." + name : fmt::format("env[{}][1]", i), text)) return error_;
        r.env.emplace_back(std::move(name), std::move(text));
      }
    }
    if (root.contains("cwd") && !AbsolutePath(root["cwd"], "cwd", r.cwd)) return error_;
    if (root.contains("user") && !User(root["user"], r)) return error_;
    if (root.contains("host") && !String(root["host"], "host", r.host)) return error_;
    if (root.contains("time") && !Time(root["time"], r.time_unix)) return error_;
    if (root.contains("parent") && !Parent(root["parent"], r)) return error_;
    if (!Context(root.contains("context") ? root["context"] : Json::object(), r)) return error_;
    return r;
  }

 private:
  Error Fail(std::string message) {
    error_ = Error{"request: " + std::move(message)};
    return error_;
  }

  // A byte string (byte_string.h): a JSON string or {"base64": …}.
  bool String(const Json& value, const std::string& where, std::string& out) {
    auto bytes = BytesFromJson(value, where);
    if (!bytes.ok()) {
      Fail(bytes.error().message);
      return false;
    }
    out = std::move(bytes).value();
    return true;
  }

  bool AbsolutePath(const Json& value, const std::string& where, std::string& out) {
    if (!String(value, where, out)) return false;
    if (out.empty() || out[0] != '/') {
      Fail(fmt::format("`{}` must be an absolute path, got `{}`", where, out));
      return false;
    }
    out = paths::Normalize(out);
    return true;
  }

  bool Integer(const Json& value, const std::string& where, std::int64_t& out) {
    if (value.is_number_unsigned()) {
      auto u = value.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        Fail(fmt::format("`{}` does not fit in a 64-bit integer", where));
        return false;
      }
      out = static_cast<std::int64_t>(u);
      return true;
    }
    if (value.is_number_integer()) {
      out = value.get<std::int64_t>();
      return true;
    }
    Fail(fmt::format("`{}` must be an integer", where));
    return false;
  }

  bool Boolean(const Json& value, const std::string& where, bool& out) {
    if (!value.is_boolean()) {
      Fail(fmt::format("`{}` must be a bool", where));
      return false;
    }
    out = value.get<bool>();
    return true;
  }

  bool StringList(const Json& value, const std::string& where, std::vector<std::string>& out) {
    if (!value.is_array()) {
      Fail(fmt::format("`{}` must be an array of strings", where));
      return false;
    }
    out.clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      std::string text;
      if (!String(value[i], fmt::format("{}[{}]", where, i), text)) return false;
      out.push_back(std::move(text));
    }
    return true;
  }

  bool CheckKeys(const Json& object, const std::string& where, std::initializer_list<std::string_view> keys) {
    if (!object.is_object()) {
      Fail(fmt::format("`{}` must be an object", where));
      return false;
    }
    for (const auto& [key, value] : object.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        Fail(fmt::format("unknown key `{}` in `{}`", key, where));
        return false;
      }
    }
    return true;
  }

  bool User(const Json& user, Request& r) {
    if (!CheckKeys(user, "user", {"name", "uid", "gid", "groups"})) return false;
    if (user.contains("name") && !String(user["name"], "user.name", r.user_name)) return false;
    if (user.contains("uid") && !Integer(user["uid"], "user.uid", r.uid)) return false;
    if (user.contains("gid") && !Integer(user["gid"], "user.gid", r.gid)) return false;
    if (user.contains("groups") && !StringList(user["groups"], "user.groups", r.groups)) return false;
    return true;
  }

  bool Time(const Json& time, std::int64_t& out) {
    if (time.is_string()) {
      std::string text = time.get<std::string>();
      if (!ParseTimestamp(text, out)) {
        Fail(fmt::format("`time` must be Unix seconds or `YYYY-MM-DDTHH:MM:SSZ` (UTC), got `{}`", text));
        return false;
      }
    } else if (!Integer(time, "time", out)) {
      return false;
    }
    if (out < 0 || out > kMaxJsonTimeUnix) {
      Fail("`time` must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
      return false;
    }
    return true;
  }

  bool Parent(const Json& parent, Request& r) {
    if (parent.is_null()) return true;
    if (!CheckKeys(parent, "parent", {"run_id", "depth", "program"})) return false;
    for (const char* key : {"run_id", "depth", "program"}) {
      if (!parent.contains(key)) {
        Fail(fmt::format("missing key `{}` in `parent`", key));
        return false;
      }
    }
    if (!String(parent["run_id"], "parent.run_id", r.parent_run_id)) return false;
    if (!Integer(parent["depth"], "parent.depth", r.parent_depth)) return false;
    if (r.parent_depth < 0) {
      Fail("`parent.depth` must not be negative");
      return false;
    }
    if (!AbsolutePath(parent["program"], "parent.program", r.parent_program)) return false;
    r.has_parent = true;
    return true;
  }

  bool Context(const Json& context, Request& r) {
    if (!context.is_object()) {
      Fail("`context` must be an object");
      return false;
    }
    for (const auto& item : context.items()) {
      const std::string& key = item.key();
      bool declared = std::any_of(fields_.begin(), fields_.end(), [&](const auto& f) { return f.name == key; });
      if (!declared) {
        Fail(fmt::format("unknown context field `{}`{}", key, fields_.empty() ? " (the policy declares none)" : ""));
        return false;
      }
    }
    r.context.assign(fields_.size(), ContextValue{});
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      const ir::ContextField& field = fields_[i];
      std::string where = "context." + field.name;
      if (!context.contains(field.name) || context[field.name].is_null()) {
        if (!field.optional) {
          Fail(fmt::format("missing context field `{}` ({})", field.name, TypeName(field.spelling)));
          return false;
        }
        continue;
      }
      const Json& value = context[field.name];
      ContextValue& out = r.context[i];
      if (value.is_string() || value.is_object()) {
        std::string text;
        if (!String(value, where, text)) return false;
        ErrorOr<ContextValue> parsed = ParseContextValue(field, text);
        if (!parsed.ok()) {
          Fail(parsed.error().message);
          return false;
        }
        out = std::move(parsed).value();
        continue;
      }
      out.present = true;
      switch (field.spelling) {
        case ir::ContextField::Spelling::kBool:
          if (!value.is_boolean()) {
            Fail(fmt::format("`{}` must be a bool", where));
            return false;
          }
          out.number = value.get<bool>() ? 1 : 0;
          break;
        case ir::ContextField::Spelling::kInt:
        case ir::ContextField::Spelling::kDuration:
        case ir::ContextField::Spelling::kSize:
          if (!value.is_number_integer()) {
            Fail(fmt::format("`{}` must be {} (an integer{} or a string)", where, TypeName(field.spelling),
                             field.spelling == ir::ContextField::Spelling::kDuration ? " of milliseconds"
                             : field.spelling == ir::ContextField::Spelling::kSize   ? " of bytes"
                                                                                     : ""));
            return false;
          }
          if (!Integer(value, where, out.number)) return false;
          if (field.spelling != ir::ContextField::Spelling::kInt && out.number < 0) {
            Fail(fmt::format("`{}` must not be negative", where));
            return false;
          }
          break;
        default:
          Fail(fmt::format("`{}` must be a string ({})", where, TypeName(field.spelling)));
          return false;
      }
    }
    return true;
  }

  const std::vector<ir::ContextField>& fields_;
  Error error_;
};

}  // namespace

CivilTime CivilFromUnix(std::int64_t time_unix) {
  std::int64_t seconds = time_unix % 86400;
  std::int64_t days = time_unix / 86400;
  if (seconds < 0) {
    seconds += 86400;
    days -= 1;
  }
  CivilTime civil;
  civil.hour = seconds / 3600;
  civil.minute = seconds % 3600 / 60;
  static constexpr const char* kWeekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  std::int64_t weekday = (days + 3) % 7;  // 1970-01-01 was a Thursday
  if (weekday < 0) weekday += 7;
  civil.weekday = kWeekdays[weekday];
  // Days since 1970-01-01 → proleptic Gregorian y-m-d, counting in 400-year
  // eras that begin on March 1st (so the leap day ends a year).
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;                                       // [0, 146096]
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11], March = 0
  std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  civil.date = fmt::format("{:04}-{:02}-{:02}", year, month, day);
  return civil;
}

RequestView::RequestView(const Request& request) {
  program_path_ = paths::Normalize(request.program_path);
  program_name_ = request.program_name.empty() ? paths::BaseName(program_path_) : request.program_name;
  invoked_path_ = request.invoked_path.empty() ? program_path_ : paths::Normalize(request.invoked_path);
  invoked_name_ = paths::BaseName(invoked_path_);
  argv0_ = request.argv0.empty() ? invoked_path_ : request.argv0;
  cwd_ = paths::Normalize(request.cwd);
  parent_program_ = request.has_parent ? paths::Normalize(request.parent_program) : std::string();
  civil_ = CivilFromUnix(request.time_unix);

  for (const std::string& arg : request.args) args_.push_back(Str(arg));

  std::vector<const std::string*> groups;
  for (const std::string& g : request.groups) groups.push_back(&g);
  std::sort(groups.begin(), groups.end(), [](const auto* x, const auto* y) { return *x < *y; });
  groups.erase(std::unique(groups.begin(), groups.end(), [](const auto* x, const auto* y) { return *x == *y; }),
               groups.end());
  for (const std::string* g : groups) groups_.push_back(Str(*g));

  // Sort by key, stable, then keep the last entry of every run of equal keys.
  std::vector<const std::pair<std::string, std::string>*> env;
  for (const auto& entry : request.env) env.push_back(&entry);
  std::stable_sort(env.begin(), env.end(), [](const auto* x, const auto* y) { return x->first < y->first; });
  for (std::size_t i = 0; i < env.size(); ++i) {
    if (i + 1 < env.size() && env[i + 1]->first == env[i]->first) continue;
    env_keys_.push_back(Str(env[i]->first));
    env_values_.push_back(Str(env[i]->second));
  }

  for (const ContextValue& value : request.context) {
    gov_context_value c{};
    c.present = value.present ? 1 : 0;
    c.number = value.number;
    c.text = Str(value.text);
    context_.push_back(c);
  }

  view_.abi_version = GOV_ABI_VERSION;
  view_.context_count = static_cast<std::uint32_t>(context_.size());
  view_.program_path = Str(program_path_);
  view_.program_name = Str(program_name_);
  view_.program_sha256 = Str(request.program_sha256);
  view_.invoked_path = Str(invoked_path_);
  view_.invoked_name = Str(invoked_name_);
  view_.program_written_in_session = request.program_written_in_session ? 1 : 0;
  view_.args = gov_str_list{args_.data(), args_.size()};
  view_.argv0 = Str(argv0_);
  view_.env = gov_str_map{env_keys_.data(), env_values_.data(), env_keys_.size()};
  view_.cwd = Str(cwd_);
  view_.user_name = Str(request.user_name);
  view_.user_uid = request.uid;
  view_.user_gid = request.gid;
  view_.user_groups = gov_str_list{groups_.data(), groups_.size()};
  view_.host_name = Str(request.host);
  view_.time_unix = request.time_unix;
  view_.time_hour = civil_.hour;
  view_.time_minute = civil_.minute;
  view_.time_weekday = Str(civil_.weekday);
  view_.time_date = Str(civil_.date);
  view_.has_parent = request.has_parent ? 1 : 0;
  if (request.has_parent) {
    view_.parent_run_id = Str(request.parent_run_id);
    view_.parent_depth = request.parent_depth;
    view_.parent_program = Str(parent_program_);
  }
  view_.context = context_.data();
}

ErrorOr<ContextValue> ParseContextValue(const ir::ContextField& field, std::string_view text) {
  ContextValue value;
  value.present = true;
  auto fail = [&](std::string_view expected) {
    return Error{fmt::format("context field `{}`: expected {}, got `{}`", field.name, expected, text)};
  };
  switch (field.spelling) {
    case ir::ContextField::Spelling::kBool:
      if (text == "true") {
        value.number = 1;
      } else if (text == "false") {
        value.number = 0;
      } else {
        return fail("`true` or `false`");
      }
      break;
    case ir::ContextField::Spelling::kInt: {
      bool negative = text.starts_with('-');
      std::string_view digits = negative ? text.substr(1) : text;
      std::int64_t n = 0;
      // Accumulates as a negative number for `-9223372036854775808`.
      if (digits.empty() || digits.size() > 19) return fail("a 64-bit decimal integer");
      std::int64_t acc = 0;
      for (char c : digits) {
        if (c < '0' || c > '9') return fail("a 64-bit decimal integer");
        int d = c - '0';
        if (acc < (INT64_MIN + d) / 10) return fail("a 64-bit decimal integer");
        acc = acc * 10 - d;
      }
      if (!negative) {
        if (acc == INT64_MIN) return fail("a 64-bit decimal integer");
        n = -acc;
      } else {
        n = acc;
      }
      value.number = n;
      break;
    }
    case ir::ContextField::Spelling::kDuration:
      if (!ParseQuantity(text, kDurationUnits, value.number)) {
        return fail("a duration like `10m` (units ms, s, m, h, d; a bare number is milliseconds)");
      }
      break;
    case ir::ContextField::Spelling::kSize:
      if (!ParseQuantity(text, kSizeUnits, value.number)) {
        return fail("a size like `4GiB` (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; a bare number is bytes)");
      }
      break;
    case ir::ContextField::Spelling::kPath:
      if (text.empty() || text[0] != '/') return fail("an absolute path");
      value.text = paths::Normalize(text);
      break;
    case ir::ContextField::Spelling::kDigest:
      if (!IsDigest(text)) return fail("`sha256:` followed by 64 lower-case hexadecimal digits");
      value.text = std::string(text);
      break;
    case ir::ContextField::Spelling::kString:
      value.text = std::string(text);
      break;
  }
  return value;
}

ErrorOr<Request> RequestFromJson(std::string_view json, const std::vector<ir::ContextField>& fields) {
  Json root;
  try {
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::exception& e) {
    return Error{fmt::format("request: invalid JSON: {}", e.what())};
  }
  return RequestFromJsonValue(root, fields);
}

ErrorOr<Request> RequestFromJsonValue(const Json& json, const std::vector<ir::ContextField>& fields) {
  try {
    return JsonReader(fields).Read(json);
  } catch (const Json::exception& e) {
    return Error{fmt::format("request: {}", e.what())};
  }
}

std::string RequestToJson(const Request& request, const std::vector<ir::ContextField>& fields) {
  return RequestToJsonValue(request, fields).dump(2, ' ', false, Json::error_handler_t::strict) + "\n";
}

Json RequestToJsonValue(const Request& request, const std::vector<ir::ContextField>& fields) {
  // Every string is a byte string (byte_string.h), so the text is valid
  // UTF-8 and says exactly which bytes the request holds.
  auto strings = [](const std::vector<std::string>& list) {
    Json out = Json::array();
    for (const std::string& item : list) out.push_back(BytesToJson(item));
    return out;
  };
  Json root = Json::object();
  root["program"] = BytesToJson(request.program_path);
  root["sha256"] = BytesToJson(request.program_sha256);
  root["written_in_session"] = request.program_written_in_session;
  const std::string& invoked = request.invoked_path.empty() ? request.program_path : request.invoked_path;
  root["invoked"] = BytesToJson(invoked);
  root["args"] = strings(request.args);
  root["argv0"] = BytesToJson(request.argv0.empty() ? invoked : request.argv0);
  std::map<std::string, std::string> env;
  for (const auto& [key, value] : request.env) env[key] = value;  // the last duplicate wins
  std::vector<std::pair<std::string, Json>> env_pairs;
  for (const auto& [key, value] : env) env_pairs.emplace_back(key, BytesToJson(value));
  root["env"] = NamedToJson(env_pairs);
  root["cwd"] = BytesToJson(request.cwd);
  root["user"] = {{"name", BytesToJson(request.user_name)},
                  {"uid", request.uid},
                  {"gid", request.gid},
                  {"groups", strings(request.groups)}};
  root["host"] = BytesToJson(request.host);
  root["time"] = request.time_unix;
  if (request.has_parent) {
    root["parent"] = {{"run_id", BytesToJson(request.parent_run_id)},
                      {"depth", request.parent_depth},
                      {"program", BytesToJson(request.parent_program)}};
  } else {
    root["parent"] = nullptr;
  }
  Json context = Json::object();
  for (std::size_t i = 0; i < fields.size() && i < request.context.size(); ++i) {
    const ContextValue& value = request.context[i];
    if (!value.present) continue;
    switch (fields[i].kind) {
      case ir::Kind::kBool:
        context[fields[i].name] = value.number != 0;
        break;
      case ir::Kind::kInt:
        context[fields[i].name] = value.number;
        break;
      default:
        context[fields[i].name] = BytesToJson(value.text);
        break;
    }
  }
  root["context"] = context;
  return root;
}

}  // namespace gov::request
