// Filters and terminal text over the viewer data's runs (query.h).
#include "console/viewer/query.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>

#include "runtime/request/byte_string.h"
#include "runtime/support/display.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

// Parses exactly `digits` decimal digits at `text[at…]`.
std::optional<int> Digits(std::string_view text, std::size_t at, std::size_t digits) {
  if (at + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` in UTC.
std::optional<std::int64_t> ParseUtc(std::string_view text) {
  if (text.size() != 10 && text.size() != 20) return std::nullopt;
  auto year = Digits(text, 0, 4), month = Digits(text, 5, 2), day = Digits(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  if (text.size() == 20) {
    auto hour = Digits(text, 11, 2), minute = Digits(text, 14, 2), second = Digits(text, 17, 2);
    if (text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z' || !hour || !minute || !second ||
        *hour > 23 || *minute > 59 || *second > 59) {
      return std::nullopt;
    }
    tm.tm_hour = *hour;
    tm.tm_min = *minute;
    tm.tm_sec = *second;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string UtcText(std::int64_t seconds) {
  const std::time_t time = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&time, &tm) == nullptr) return std::to_string(seconds);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

std::string NsText(const Json& ns) {
  if (!ns.is_number_integer() || ns.get<std::int64_t>() <= 0) return "";
  const std::int64_t value = ns.get<std::int64_t>();
  return UtcText(value / 1000000000) + fmt::format(" (+{:03} ms)", (value % 1000000000) / 1000000);
}

std::string DurationText(std::int64_t ns) {
  if (ns < 1000000) return fmt::format("{} µs", ns / 1000);
  if (ns < 1000000000) return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

std::string Shown(const Json& value) {
  return EscapeForDisplay(BytesOf(value));
}

std::vector<std::string> ArgvOf(const Json& run) {
  const Json& request = run.value("request", Json::object());
  std::vector<std::string> argv = {
      BytesOf(request.contains("argv0") ? request["argv0"] : request.value("program", Json()))};
  for (const auto& arg : request.value("args", Json::array())) argv.push_back(BytesOf(arg));
  return argv;
}

std::string JoinShown(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& item : list) {
    if (!out.empty()) out += ", ";
    out += Shown(item);
  }
  return out;
}

}  // namespace

ErrorOr<std::int64_t> ParseTimeArgument(std::string_view text, std::int64_t now) {
  if (auto utc = ParseUtc(text)) return *utc;
  if (text.size() >= 2 && text[0] == '@') {
    std::int64_t value = 0;
    for (std::size_t i = 1; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9' || value > 100000000000LL) return Error{"not a time: " + std::string(text)};
      value = value * 10 + (text[i] - '0');
    }
    return value;
  }
  if (text.size() >= 2) {
    const char unit = text.back();
    const std::int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    std::int64_t count = 0;
    bool digits = scale != 0;
    for (std::size_t i = 0; digits && i + 1 < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9' || count > 1000000000LL)
        digits = false;
      else
        count = count * 10 + (text[i] - '0');
    }
    if (digits) return now - count * scale;
  }
  return Error{"not a time: " + std::string(text) +
               " (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, @UNIX_SECONDS, or a duration ago: 90s, 30m, 12h, 7d)"};
}

std::string BytesOf(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object()) {
    auto bytes = request::BytesFromJson(value, "value");
    if (bytes.ok()) return bytes.value();
  }
  return "";
}

std::optional<std::int64_t> RunTime(const Json& run) {
  const Json& request = run.value("request", Json::object());
  const Json& time = request.value("time", Json());
  if (time.is_number_integer()) return time.get<std::int64_t>();
  if (time.is_string()) return ParseUtc(time.get<std::string>());
  return std::nullopt;
}

std::string Outcome(const Json& run) {
  if (!run.value("exec", false)) {
    return run.value("verdict", "") == "ask" ? "not run (ask: " + run.value("ask_answer", std::string("-")) + ")"
                                             : "not run";
  }
  if (!run.contains("end")) return run.contains("start") ? "no end record" : "not started";
  const Json& end = run["end"];
  if (!BytesOf(end.value("exec_error", Json(""))).empty()) return "exec failed";
  if (!end.value("killed_by", std::string()).empty()) return "killed (" + end.value("killed_by", std::string()) + ")";
  if (end.value("exited", false)) return fmt::format("exit {}", end.value("exit_status", 0));
  return fmt::format("signal {}", end.value("signal", 0));
}

std::string SearchText(const Json& run) {
  std::string line;
  for (const auto& word : ArgvOf(run)) line += word + " ";
  return line;
}

bool Matches(const Json& run, const RunFilter& filter) {
  if (!filter.verdict.empty() && run.value("verdict", "") != filter.verdict) return false;
  const Json& request = run.value("request", Json::object());
  if (!filter.program.empty()) {
    const std::string program = BytesOf(request.value("program", Json()));
    const std::string name = program.substr(program.rfind('/') + 1);
    if (program != filter.program && name != filter.program) return false;
  }
  if (filter.since || filter.until) {
    const auto time = RunTime(run);
    if (!time || (filter.since && *time < *filter.since) || (filter.until && *time >= *filter.until)) return false;
  }
  if (!filter.user.empty() && BytesOf(request.value("user", Json::object()).value("name", Json())) != filter.user) {
    return false;
  }
  if (!filter.rule.empty()) {
    bool named = false;
    for (const auto& rule : run.value("rules", Json::array()))
      named = named || BytesOf(rule.value("name", Json())) == filter.rule;
    if (!named) return false;
  }
  if (filter.exit_status) {
    const Json& end = run.value("end", Json::object());
    if (!end.value("exited", false) || end.value("exit_status", -1) != *filter.exit_status) return false;
  }
  if (!filter.text.empty() && SearchText(run).find(filter.text) == std::string::npos) return false;
  return true;
}

std::string RunLine(const Json& run) {
  const auto time = RunTime(run);
  return fmt::format("{:20}  {:5}  {:14}  {}{}  {}", time ? UtcText(*time) : "-", run.value("verdict", "?"),
                     Outcome(run), run.value("id", ""), run.value("certified", false) ? "" : " (uncertified)",
                     CommandLineForDisplay(ArgvOf(run)));
}

std::string RunText(const Json& run, const Json& data) {
  const Json& request = run.value("request", Json::object());
  std::string out;
  auto field = [&out](std::string_view name, const std::string& value) {
    if (!value.empty()) out += fmt::format("  {:20} {}\n", name, value);
  };
  out += fmt::format("run {}{}\n", run.value("id", ""),
                     run.value("certified", false) ? "" : "  (NOT certified by a verified checkpoint)");
  out += "command\n";
  field("argv", CommandLineForDisplay(ArgvOf(run)));
  field("program", Shown(request.value("program", Json())));
  field("sha256", request.value("sha256", ""));
  field("invoked as", Shown(request.value("invoked", request.value("program", Json()))));
  const Json& interpreter = run.value("interpreter", Json::object());
  if (!BytesOf(interpreter.value("path", Json())).empty()) {
    field("interpreter", Shown(interpreter["path"]) + " " + interpreter.value("sha256", ""));
  }
  if (request.value("written_in_session", false)) field("written in session", "yes");
  field("cwd", Shown(request.value("cwd", Json())));
  const Json& user = request.value("user", Json::object());
  field("user",
        fmt::format("{} (uid {}, gid {}){}", Shown(user.value("name", Json())), user.value("uid", -1),
                    user.value("gid", -1),
                    user.value("groups", Json::array()).empty() ? "" : ", groups " + JoinShown(user["groups"])));
  if (run.contains("submitter")) {
    const Json& submitter = run["submitter"];
    field("submitted by", fmt::format("pid {}, uid {}, gid {} (as the kernel reported it to govd)",
                                      submitter.value("pid", 0), submitter.value("uid", 0), submitter.value("gid", 0)));
  }
  field("host", Shown(request.value("host", Json())));
  if (auto time = RunTime(run)) field("time", UtcText(*time));
  if (request.contains("context") && !request["context"].empty()) {
    field("context", request["context"].dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  std::string env;
  const Json& clear = request.value("env", Json::object());
  if (clear.is_object()) {
    for (const auto& [name, value] : clear.items())
      env += (env.empty() ? "" : " ") + EscapeForDisplay(name) + "=" + Shown(value);
  } else if (clear.is_array()) {
    for (const auto& pair : clear) {
      if (pair.is_array() && pair.size() == 2) env += (env.empty() ? "" : " ") + Shown(pair[0]) + "=" + Shown(pair[1]);
    }
  }
  field("env in clear", env);
  field("env hashed", JoinShown(run.value("env_hashed", Json::array())));

  out += "decision\n";
  field("verdict", run.value("verdict", "") + (run.value("exec", false) ? " (executed)" : " (not executed)"));
  for (const auto& rule : run.value("rules", Json::array())) {
    const std::string reason = Shown(rule.value("reason", Json()));
    field("rule", fmt::format("{} by {}{}", rule.value("verdict", ""), Shown(rule.value("name", Json())),
                              reason.empty() ? "" : " (" + reason + ")"));
  }
  if (run.value("rules", Json::array()).empty()) field("rule", "none matched (the default)");
  field("ask answer", run.value("ask_answer", ""));
  if (const Json& approval = run.value("approval", Json()); approval.is_object()) {
    const std::int64_t by = approval.value("by_uid", std::int64_t{-1});
    field("answered by", fmt::format("{}, ask {}, as govd recorded it",
                                     by < 0 ? std::string("nobody (timed out)")
                                            : fmt::format("uid {} ({})", by, Shown(approval.value("by_user", Json()))),
                                     approval.value("ask", "")));
  }
  field("error", run.value("error", ""));
  const Json& policy = run.value("policy", Json::object());
  field("policy", fmt::format("{} {} {}", Shown(policy.value("name", Json())), Shown(policy.value("version", Json())),
                              policy.value("digest", run.value("policy_digest", ""))));
  field("engine", run.value("engine", Json("")).is_string() ? run.value("engine", "") : run["engine"].dump());

  out += "obligations and enforcement\n";
  const Json& obligations = run.value("obligations", Json::object());
  if (obligations.value("timeout_ms", 0) > 0)
    field("timeout", DurationText(obligations["timeout_ms"].get<std::int64_t>() * 1000000));
  if (obligations.value("memory_bytes", 0) > 0)
    field("memory", fmt::format("{} bytes", obligations["memory_bytes"].get<std::int64_t>()));
  if (obligations.value("processes", 0) > 0)
    field("processes", std::to_string(obligations["processes"].get<std::int64_t>()));
  if (obligations.value("network", "unset") != "unset") field("network", obligations.value("network", ""));
  for (const char* list : {"read", "write", "create", "env", "capabilities"})
    field(list, JoinShown(obligations.value(list, Json::array())));
  if (obligations.contains("tmp")) field("tmp", Shown(obligations["tmp"]));
  if (run.contains("start")) {
    for (const auto& limit : run["start"].value("limits", Json::array())) {
      field("enforced", fmt::format("{} {} by {}", limit.value("obligation", ""), Shown(limit.value("value", Json())),
                                    Shown(limit.value("mechanism", Json()))));
    }
  }

  out += "outcome\n";
  field("result", Outcome(run));
  if (run.contains("start")) {
    field("pid", std::to_string(run["start"].value("pid", 0)));
    field("started", NsText(run["start"].value("time_unix_ns", Json())));
  }
  if (run.contains("end")) {
    const Json& end = run["end"];
    field("ended", NsText(end.value("time_unix_ns", Json())));
    field("duration", DurationText(end.value("duration_ns", std::int64_t{0})));
    field("cpu", fmt::format("{:.1f} ms user, {:.1f} ms system", end.value("user_cpu_us", 0) / 1000.0,
                             end.value("system_cpu_us", 0) / 1000.0));
    if (end.value("max_rss_kib", 0) > 0) field("max rss", fmt::format("{} KiB", end.value("max_rss_kib", 0)));
    field("exec error", Shown(end.value("exec_error", Json(""))));
    field("replaced by", end.value("replaced_by", ""));
  }

  out += "lineage\n";
  const std::string id = run.value("id", "");
  field("parent", run.value("parent", "").empty() ? "none (a root run)" : run.value("parent", ""));
  for (const auto& other : data.value("runs", Json::array())) {
    if (other.value("parent", "") == id) {
      field("child", fmt::format("{} {} {}", other.value("id", ""), other.value("verdict", ""),
                                 CommandLineForDisplay(ArgvOf(other))));
    }
  }
  std::string records = fmt::format("authorization {}", run.value("seq", 0));
  if (run.contains("start")) records += fmt::format(", start {}", run["start"].value("seq", 0));
  if (run.contains("end")) records += fmt::format(", end {}", run["end"].value("seq", 0));
  field("records", records);
  if (run.contains("inclusion_proof") && run["inclusion_proof"].is_object()) {
    const Json& proof = run["inclusion_proof"];
    out += "inclusion proof (RFC 9162) of the authorization record\n";
    field("leaf", fmt::format("{} of the signed tree of {} records", proof.value("leaf_index", 0),
                              proof.value("tree_size", 0)));
    field("leaf hash", proof.value("leaf_hash", ""));
    field("root", proof.value("root", ""));
    for (const auto& hash : proof.value("proof", Json::array())) field("path", hash.get<std::string>());
  }
  return out;
}

}  // namespace gov::console
