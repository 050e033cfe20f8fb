// Unit tests for runtime/request: RequestView derivations (time fields,
// sorting, normalizing), --context value parsing, and the JSON form
// (valid requests, defaults, each error, canonical output, round trip).
#include "runtime/request/request.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "runtime/request/byte_string.h"
#include "runtime/support/path.h"

namespace gov::request {
namespace {

using Spelling = ir::ContextField::Spelling;

std::string_view View(const gov_str& s) {
  return {s.data, static_cast<std::size_t>(s.size)};
}

std::vector<std::string> Strings(const gov_str_list& list) {
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < list.count; ++i) out.emplace_back(View(list.items[i]));
  return out;
}

const std::vector<ir::ContextField>& AgentFields() {
  static const std::vector<ir::ContextField> fields = {{"ticket", ir::Kind::kStr, true, Spelling::kString}};
  return fields;
}

const std::vector<ir::ContextField>& AllFields() {
  static const std::vector<ir::ContextField> fields = {
      {"s", ir::Kind::kStr, true, Spelling::kString},   {"p", ir::Kind::kStr, true, Spelling::kPath},
      {"i", ir::Kind::kInt, true, Spelling::kInt},      {"b", ir::Kind::kBool, false, Spelling::kBool},
      {"d", ir::Kind::kInt, true, Spelling::kDuration}, {"z", ir::Kind::kInt, true, Spelling::kSize},
      {"h", ir::Kind::kStr, true, Spelling::kDigest}};
  return fields;
}

TEST_CASE("request: calendar fields in UTC", "[request]") {
  struct Case {
    std::int64_t t;
    std::int64_t hour, minute;
    const char* weekday;
    const char* date;
  };
  const Case cases[] = {
      {0, 0, 0, "thu", "1970-01-01"},
      {-1, 23, 59, "wed", "1969-12-31"},
      {kDefaultTimeUnix, 12, 0, "thu", "2026-01-01"},
      {951782400, 0, 0, "tue", "2000-02-29"},  // leap day of a 400-year leap year
      {951868799, 23, 59, "tue", "2000-02-29"},
      {1709164800, 0, 0, "thu", "2024-02-29"},
      {4107542400, 0, 0, "mon", "2100-03-01"},  // 2100 is not a leap year
      {1700000000, 22, 13, "tue", "2023-11-14"},
      {kMaxJsonTimeUnix, 23, 59, "fri", "9999-12-31"},
      {-62135596800, 0, 0, "mon", "0001-01-01"},
  };
  for (const Case& c : cases) {
    CivilTime civil = CivilFromUnix(c.t);
    INFO(c.t);
    CHECK(civil.hour == c.hour);
    CHECK(civil.minute == c.minute);
    CHECK(civil.weekday == c.weekday);
    CHECK(civil.date == c.date);
  }
  // Extreme values do not overflow.
  CHECK(CivilFromUnix(INT64_MIN).hour >= 0);
  CHECK(CivilFromUnix(INT64_MAX).minute < 60);
}

TEST_CASE("request: RequestView sorts, dedupes, normalizes and derives", "[request]") {
  Request r;
  r.program_path = "/usr//bin/./git";
  r.args = {"log", "-1"};
  r.env = {{"PATH", "/bin"}, {"HOME", "/a"}, {"A", "x"}, {"HOME", "/b"}, {"PATH", "/usr/bin"}};
  r.cwd = "/work/repo/";
  r.groups = {"wheel", "dev", "wheel", "adm"};
  r.time_unix = 1709164800 + 13 * 3600 + 5 * 60 + 9;
  r.context = {{true, 0, "CHG-1"}, {false, 0, ""}};
  RequestView view(r);
  const gov_request& q = view.get();
  CHECK(q.abi_version == GOV_ABI_VERSION);
  CHECK(View(q.program_path) == "/usr/bin/git");
  CHECK(View(q.program_name) == "git");
  CHECK(View(q.argv0) == "/usr/bin/git");
  CHECK(View(q.program_sha256) == "sha256:" + std::string(64, '0'));
  CHECK(Strings(q.args) == std::vector<std::string>{"log", "-1"});
  REQUIRE(q.env.count == 3);
  CHECK(View(q.env.keys[0]) == "A");
  CHECK(View(q.env.keys[1]) == "HOME");
  CHECK(View(q.env.values[1]) == "/b");  // the last occurrence wins
  CHECK(View(q.env.keys[2]) == "PATH");
  CHECK(View(q.env.values[2]) == "/usr/bin");
  CHECK(View(q.cwd) == "/work/repo");
  CHECK(View(q.user_name) == "user");
  CHECK(q.user_uid == 1000);
  CHECK(q.user_gid == 1000);
  CHECK(Strings(q.user_groups) == std::vector<std::string>{"adm", "dev", "wheel"});
  CHECK(View(q.host_name) == "localhost");
  CHECK(q.time_hour == 13);
  CHECK(q.time_minute == 5);
  CHECK(View(q.time_weekday) == "thu");
  CHECK(View(q.time_date) == "2024-02-29");
  CHECK(q.has_parent == 0);
  CHECK(q.parent_run_id.size == 0);
  REQUIRE(q.context_count == 2);
  CHECK(q.context[0].present == 1);
  CHECK(View(q.context[0].text) == "CHG-1");
  CHECK(q.context[1].present == 0);

  r.program_name = "custom";
  r.argv0 = "git";
  r.has_parent = true;
  r.parent_run_id = "run-1";
  r.parent_depth = 3;
  r.parent_program = "/usr/bin/../bin/make";
  RequestView second(r);
  CHECK(View(second.get().program_name) == "custom");
  CHECK(View(second.get().argv0) == "git");
  CHECK(second.get().has_parent == 1);
  CHECK(View(second.get().parent_run_id) == "run-1");
  CHECK(second.get().parent_depth == 3);
  CHECK(View(second.get().parent_program) == "/usr/bin/make");
}

TEST_CASE("request: context values from text", "[request]") {
  auto parse = [](Spelling spelling, ir::Kind kind, std::string_view text) {
    return ParseContextValue({"f", kind, false, spelling}, text);
  };
  auto number = [&](Spelling spelling, std::string_view text) {
    ErrorOr<ContextValue> v = parse(spelling, ir::Kind::kInt, text);
    INFO(text << (v.ok() ? "" : v.error().message));
    REQUIRE(v.ok());
    CHECK(v.value().present);
    return v.value().number;
  };
  auto error = [&](Spelling spelling, std::string_view text) {
    ErrorOr<ContextValue> v = parse(spelling, ir::Kind::kInt, text);
    return v.ok() ? std::string("ok") : v.error().message;
  };
  CHECK(number(Spelling::kDuration, "10m") == 600000);
  CHECK(number(Spelling::kDuration, "1500ms") == 1500);
  CHECK(number(Spelling::kDuration, "2h") == 7200000);
  CHECK(number(Spelling::kDuration, "1d") == 86400000);
  CHECK(number(Spelling::kDuration, "30s") == 30000);
  CHECK(number(Spelling::kDuration, "250") == 250);
  CHECK(error(Spelling::kDuration, "10 m") ==
        "context field `f`: expected a duration like `10m` (units ms, s, m, h, d; a bare number is milliseconds), got "
        "`10 m`");
  CHECK(error(Spelling::kDuration, "-1s") != "ok");
  CHECK(error(Spelling::kDuration, "9999999999999999d") != "ok");
  CHECK(number(Spelling::kSize, "4GiB") == 4LL << 30);
  CHECK(number(Spelling::kSize, "1KB") == 1000);
  CHECK(number(Spelling::kSize, "3MiB") == 3 << 20);
  CHECK(number(Spelling::kSize, "7") == 7);
  CHECK(error(Spelling::kSize, "4gib") != "ok");
  CHECK(number(Spelling::kInt, "-42") == -42);
  CHECK(number(Spelling::kInt, "9223372036854775807") == INT64_MAX);
  CHECK(number(Spelling::kInt, "-9223372036854775808") == INT64_MIN);
  CHECK(error(Spelling::kInt, "9223372036854775808") ==
        "context field `f`: expected a 64-bit decimal integer, got `9223372036854775808`");
  CHECK(error(Spelling::kInt, "") != "ok");
  CHECK(error(Spelling::kInt, "-") != "ok");
  CHECK(error(Spelling::kInt, "1e3") != "ok");
  CHECK(number(Spelling::kBool, "true") == 1);
  CHECK(number(Spelling::kBool, "false") == 0);
  CHECK(error(Spelling::kBool, "yes") == "context field `f`: expected `true` or `false`, got `yes`");
  ErrorOr<ContextValue> path = parse(Spelling::kPath, ir::Kind::kStr, "/work//repo/./x/");
  REQUIRE(path.ok());
  CHECK(path.value().text == "/work/repo/x");
  CHECK(error(Spelling::kPath, "work/repo") == "context field `f`: expected an absolute path, got `work/repo`");
  std::string digest = "sha256:" + std::string(63, 'a') + "f";
  ErrorOr<ContextValue> d = parse(Spelling::kDigest, ir::Kind::kStr, digest);
  REQUIRE(d.ok());
  CHECK(d.value().text == digest);
  CHECK(error(Spelling::kDigest, "sha256:" + std::string(64, 'A')) != "ok");
  CHECK(error(Spelling::kDigest, "sha256:" + std::string(63, 'a')) != "ok");
  ErrorOr<ContextValue> s = parse(Spelling::kString, ir::Kind::kStr, " any thing ");
  REQUIRE(s.ok());
  CHECK(s.value().text == " any thing ");
}

TEST_CASE("request: JSON with defaults", "[request]") {
  ErrorOr<Request> r = RequestFromJson(R"({"program": "/usr/bin/git"})", AgentFields());
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  const Request& q = r.value();
  CHECK(q.program_path == "/usr/bin/git");
  CHECK(q.program_name == "git");
  CHECK(q.invoked_path == "/usr/bin/git");
  CHECK(q.argv0 == "/usr/bin/git");
  CHECK(q.args.empty());
  CHECK(q.env.empty());
  CHECK(q.cwd == "/");
  CHECK(q.user_name == "user");
  CHECK(q.uid == 1000);
  CHECK(q.gid == 1000);
  CHECK(q.groups.empty());
  CHECK(q.host == "localhost");
  CHECK(q.time_unix == 1767268800);
  CHECK(q.program_sha256 == "sha256:" + std::string(64, '0'));
  CHECK_FALSE(q.has_parent);
  REQUIRE(q.context.size() == 1);
  CHECK_FALSE(q.context[0].present);
}

TEST_CASE("request: a full JSON request", "[request]") {
  const char* json = R"({
    "program": "/usr/bin/make",
    "sha256": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "args": ["release", "-j4"],
    "argv0": "make",
    "env": {"PATH": "/usr/bin", "HOME": "/home/dev"},
    "cwd": "/work/repo/./sub/..",
    "user": {"name": "dev", "uid": 501, "gid": 20, "groups": ["staff", "admin"]},
    "host": "ci-7",
    "time": "2024-02-29T13:05:09Z",
    "parent": {"run_id": "r-1", "depth": 1, "program": "/usr/bin/agent"},
    "context": {"s": "text", "p": "/a//b", "i": -3, "b": "true", "d": "10m", "z": 4096, "h": null}
  })";
  ErrorOr<Request> r = RequestFromJson(json, AllFields());
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  const Request& q = r.value();
  CHECK(q.program_name == "make");
  CHECK(q.args == std::vector<std::string>{"release", "-j4"});
  CHECK(q.argv0 == "make");
  CHECK(q.env == std::vector<std::pair<std::string, std::string>>{{"HOME", "/home/dev"}, {"PATH", "/usr/bin"}});
  CHECK(q.cwd == "/work/repo");
  CHECK(q.user_name == "dev");
  CHECK(q.uid == 501);
  CHECK(q.groups == std::vector<std::string>{"staff", "admin"});
  CHECK(q.host == "ci-7");
  CHECK(q.time_unix == 1709164800 + 13 * 3600 + 5 * 60 + 9);
  CHECK(q.has_parent);
  CHECK(q.parent_depth == 1);
  CHECK(q.parent_program == "/usr/bin/agent");
  REQUIRE(q.context.size() == 7);
  CHECK(q.context[0] == ContextValue{true, 0, "text"});
  CHECK(q.context[1] == ContextValue{true, 0, "/a/b"});
  CHECK(q.context[2] == ContextValue{true, -3, ""});
  CHECK(q.context[3] == ContextValue{true, 1, ""});
  CHECK(q.context[4] == ContextValue{true, 600000, ""});
  CHECK(q.context[5] == ContextValue{true, 4096, ""});
  CHECK(q.context[6] == ContextValue{false, 0, ""});

  // Canonical output round-trips.
  std::string out = RequestToJson(q, AllFields());
  ErrorOr<Request> again = RequestFromJson(out, AllFields());
  REQUIRE(again.ok());
  CHECK(again.value() == q);
  CHECK(RequestToJson(again.value(), AllFields()) == out);
}

TEST_CASE("request: the invoked program, its defaults and its JSON form", "[request]") {
  // The file that runs and how it was invoked: npm is a link to a script.
  ErrorOr<Request> r = RequestFromJson(
      R"({"program": "/usr/lib/node_modules/npm/bin/npm-cli.js", "invoked": "/usr//bin/./npm", "args": ["test"]})",
      AgentFields());
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  const Request& q = r.value();
  CHECK(q.program_path == "/usr/lib/node_modules/npm/bin/npm-cli.js");
  CHECK(q.program_name == "npm-cli.js");
  CHECK(q.invoked_path == "/usr/bin/npm");
  CHECK(q.argv0 == "/usr/bin/npm");  // argv0 defaults to the invoked path, not the program
  RequestView view(q);
  CHECK(View(view.get().program_name) == "npm-cli.js");
  CHECK(View(view.get().invoked_path) == "/usr/bin/npm");
  CHECK(View(view.get().invoked_name) == "npm");
  CHECK(View(view.get().argv0) == "/usr/bin/npm");
  std::string out = RequestToJson(q, AgentFields());
  CHECK(out.find("\"invoked\": \"/usr/bin/npm\"") != std::string::npos);
  ErrorOr<Request> again = RequestFromJson(out, AgentFields());
  REQUIRE(again.ok());
  CHECK(again.value() == q);

  // A C++ request without an invoked path was invoked by the program's path,
  // and its JSON form says so (records written before `invoked` read back alike).
  Request plain;
  plain.program_path = "/usr//bin/git";
  RequestView plain_view(plain);
  CHECK(View(plain_view.get().invoked_path) == "/usr/bin/git");
  CHECK(View(plain_view.get().invoked_name) == "git");
  CHECK(RequestToJson(plain, AgentFields()).find("\"invoked\": \"/usr//bin/git\"") != std::string::npos);
}

TEST_CASE("request: whether the program was written in the session, and its JSON form", "[request]") {
  // Absent: false (outside a session, and records written before the key).
  ErrorOr<Request> absent = RequestFromJson(R"({"program": "/work/out/tool"})", AgentFields());
  REQUIRE(absent.ok());
  CHECK_FALSE(absent.value().program_written_in_session);
  CHECK(RequestView(absent.value()).get().program_written_in_session == 0);
  CHECK(RequestToJson(absent.value(), AgentFields()).find("\"written_in_session\": false") != std::string::npos);

  ErrorOr<Request> r = RequestFromJson(R"({"program": "/work/out/tool", "written_in_session": true})", AgentFields());
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  const Request& q = r.value();
  CHECK(q.program_written_in_session);
  RequestView view(q);
  CHECK(view.get().program_written_in_session == 1);
  const std::string out = RequestToJson(q, AgentFields());
  CHECK(out.find("\"written_in_session\": true") != std::string::npos);
  ErrorOr<Request> again = RequestFromJson(out, AgentFields());
  REQUIRE(again.ok());
  CHECK(again.value() == q);
  CHECK(RequestToJson(again.value(), AgentFields()) == out);

  // A bool and nothing else: no numbers, strings or null.
  for (const char* bad : {"1", "0", "\"true\"", "null", "[true]"}) {
    INFO(bad);
    ErrorOr<Request> wrong = RequestFromJson(
        std::string(R"({"program": "/work/out/tool", "written_in_session": )") + bad + "}", AgentFields());
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().message == "request: `written_in_session` must be a bool");
  }
}

TEST_CASE("request: canonical JSON output", "[request]") {
  Request r;
  r.program_path = "/usr/bin/git";
  r.args = {"status"};
  r.env = {{"B", "2"}, {"A", "1"}, {"B", "3"}};
  r.context = {{true, 0, "CHG-1"}};
  std::string expected = R"({
  "args": [
    "status"
  ],
  "argv0": "/usr/bin/git",
  "context": {
    "ticket": "CHG-1"
  },
  "cwd": "/",
  "env": {
    "A": "1",
    "B": "3"
  },
  "host": "localhost",
  "invoked": "/usr/bin/git",
  "parent": null,
  "program": "/usr/bin/git",
  "sha256": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
  "time": 1767268800,
  "user": {
    "gid": 1000,
    "groups": [],
    "name": "user",
    "uid": 1000
  },
  "written_in_session": false
}
)";
  CHECK(RequestToJson(r, AgentFields()) == expected);
}

TEST_CASE("request: JSON errors are precise", "[request]") {
  auto error = [](std::string_view json) {
    ErrorOr<Request> r = RequestFromJson(json, AllFields());
    return r.ok() ? std::string("ok") : r.error().message;
  };
  const std::string ok_context = R"("context": {"b": true})";
  auto with = [&](const std::string& fields) { return "{\"program\": \"/bin/x\", " + fields + "}"; };
  CHECK(error(with(ok_context)) == "ok");
  CHECK(error("[1]") == "request: the request must be a JSON object");
  CHECK(error("{").starts_with("request: invalid JSON: "));
  CHECK(error(R"({"context": {"b": true}})") == "request: missing key `program` (the absolute path of the program)");
  CHECK(error(R"({"program": "bin/x", "context": {"b": true}})") ==
        "request: `program` must be an absolute path, got `bin/x`");
  CHECK(error(R"({"program": 3})") == "request: `program` must be a string");
  CHECK(error(with(R"("argz": [], )" + ok_context)) == "request: unknown key `argz` in the request");
  CHECK(error(with(R"("sha256": "md5:00", )" + ok_context)) ==
        "request: `sha256` must be `sha256:` followed by 64 lower-case hexadecimal digits");
  CHECK(error(with(R"("args": "a b", )" + ok_context)) == "request: `args` must be an array of strings");
  CHECK(error(with(R"("args": ["a", 2], )" + ok_context)) == "request: `args[1]` must be a string");
  CHECK(error(with(R"("env": {"A": 1}, )" + ok_context)) == "request: `env.A` must be a string");
  CHECK(error(with(R"("env": "A=1", )" + ok_context)) ==
        "request: `env` must be an object of strings (or, when a name is not valid UTF-8, an array of [name, value] "
        "pairs)");
  CHECK(error(with(R"("env": ["A=1"], )" + ok_context)) == "request: `env[0]` must be a [name, value] pair");
  CHECK(error(with(R"("cwd": "repo", )" + ok_context)) == "request: `cwd` must be an absolute path, got `repo`");
  CHECK(error(with(R"("invoked": "npm", )" + ok_context)) == "request: `invoked` must be an absolute path, got `npm`");
  CHECK(error(with(R"("invoked": ["/usr/bin/npm"], )" + ok_context)) == "request: `invoked` must be a string");
  CHECK(error(with(R"("user": {"uid": "0"}, )" + ok_context)) == "request: `user.uid` must be an integer");
  CHECK(error(with(R"("user": {"uid": 1.5}, )" + ok_context)) == "request: `user.uid` must be an integer");
  CHECK(error(with(R"("user": {"id": 0}, )" + ok_context)) == "request: unknown key `id` in `user`");
  CHECK(error(with(R"("user": {"uid": 18446744073709551615}, )" + ok_context)) ==
        "request: `user.uid` does not fit in a 64-bit integer");
  CHECK(error(with(R"("time": "2024-02-30T00:00:00Z", )" + ok_context)) ==
        "request: `time` must be Unix seconds or `YYYY-MM-DDTHH:MM:SSZ` (UTC), got `2024-02-30T00:00:00Z`");
  CHECK(error(with(R"("time": -5, )" + ok_context)) ==
        "request: `time` must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z");
  CHECK(error(with(R"("parent": {"run_id": "r", "depth": 1}, )" + ok_context)) ==
        "request: missing key `program` in `parent`");
  CHECK(error(with(R"("parent": {"run_id": "r", "depth": -1, "program": "/x"}, )" + ok_context)) ==
        "request: `parent.depth` must not be negative");
  CHECK(error(with(R"("parent": null, )" + ok_context)) == "ok");
  CHECK(error(with(R"("context": {"b": true, "q": 1})")) == "request: unknown context field `q`");
  CHECK(error(with(R"("context": {})")) == "request: missing context field `b` (bool)");
  CHECK(error(with(R"("context": {"b": null})")) == "request: missing context field `b` (bool)");
  CHECK(error(with(R"("context": {"b": 1})")) == "request: `context.b` must be a bool");
  CHECK(error(with(R"("context": {"b": "maybe"})")) ==
        "request: context field `b`: expected `true` or `false`, got `maybe`");
  CHECK(error(with(R"("context": {"b": true, "i": 1.5})")) ==
        "request: `context.i` must be int (an integer or a string)");
  CHECK(error(with(R"("context": {"b": true, "d": true})")) ==
        "request: `context.d` must be duration (an integer of milliseconds or a string)");
  CHECK(error(with(R"("context": {"b": true, "z": -1})")) == "request: `context.z` must not be negative");
  CHECK(error(with(R"("context": {"b": true, "p": "rel"})")) ==
        "request: context field `p`: expected an absolute path, got `rel`");
  CHECK(error(with(R"("context": {"b": true, "s": 5})")) == "request: `context.s` must be a string (string)");
  CHECK(error(with(R"("context": [])")) == "request: `context` must be an object");
  ErrorOr<Request> none = RequestFromJson(R"({"program": "/x", "context": {"a": 1}})", {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "request: unknown context field `a` (the policy declares none)");
}

TEST_CASE("request: the docs/request.md example parses", "[request]") {
  const char* json = R"({
    "program": "/usr/bin/make",
    "args": ["release"],
    "cwd": "/work/repo",
    "env": {"HOME": "/home/dev", "PATH": "/usr/bin:/bin"},
    "user": {"name": "dev", "uid": 1000, "gid": 1000, "groups": ["dev"]},
    "time": "2026-01-01T12:00:00Z",
    "context": {"ticket": "CHG-1234"}
  })";
  ErrorOr<Request> r = RequestFromJson(json, AgentFields());
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  CHECK(r.value().time_unix == kDefaultTimeUnix);
  CHECK(r.value().context[0].text == "CHG-1234");
}

// ---- Byte strings (finding 7: invalid UTF-8 was replaced by U+FFFD) ----

TEST_CASE("request: bytes that are not UTF-8 are base64, everything else a string", "[request][bytes]") {
  Request r;
  r.program_path = "/usr/bin/echo";
  r.args = {"a\xff"};
  const std::string ff = RequestToJson(r, {});
  r.args = {"a\xfe"};
  const std::string fe = RequestToJson(r, {});
  // finding 7: these two were the same record.
  CHECK(ff != fe);
  CHECK(ff.find(R"({
      "base64": "Yf8="
    })") != std::string::npos);
  CHECK(fe.find(R"("base64": "Yf4=")") != std::string::npos);
  // The replacement character itself is text, and stays a string.
  r.args = {"a\xef\xbf\xbd"};
  CHECK(RequestToJson(r, {}).find("\"a\xef\xbf\xbd\"") != std::string::npos);
  for (const std::string& arg : {std::string("a\xff"), std::string("a\xfe"), std::string("a\xef\xbf\xbd")}) {
    r.args = {arg};
    ErrorOr<Request> back = RequestFromJson(RequestToJson(r, {}), {});
    REQUIRE(back.ok());
    CHECK(back.value().args == std::vector<std::string>{arg});
  }
}

TEST_CASE("request: byte string forms are strict", "[request][bytes]") {
  auto error = [](std::string_view json) {
    ErrorOr<Request> r = RequestFromJson(json, AllFields());
    return r.ok() ? std::string("ok") : r.error().message;
  };
  auto with = [&](const std::string& fields) {
    return R"({"program": "/bin/x", "context": {"b": true}, )" + fields + "}";
  };
  CHECK(error(with(R"("args": [{"base64": "Yf8="}])")) == "ok");
  CHECK(error(with(R"("args": [{"base64": "YWI="}])")) ==
        "request: `args[0]`: these bytes are valid UTF-8, so they must be written as a JSON string, not as base64");
  CHECK(error(with(R"("args": [{"base64": "Yf8"}])")) ==
        "request: `args[0].base64`: base64 length 3 is not a multiple of 4");
  CHECK(error(with(R"("args": [{"base64": "Yf9="}])")) ==
        "request: `args[0].base64`: non-canonical base64: the unused bits of the last character are not zero");
  CHECK(error(with(R"("args": [{"base64": "Yf8=", "x": 1}])")) ==
        "request: `args[0]` must be a string, or an object with the one key `base64` (bytes that are not UTF-8)");
  CHECK(error(with(R"("args": [{"hex": "61ff"}])")) ==
        "request: `args[0]` must be a string, or an object with the one key `base64` (bytes that are not UTF-8)");
  CHECK(error(with(R"("args": [{"base64": 5}])")) == "request: `args[0].base64` must be a string");
  CHECK(error(with(R"("cwd": {"base64": "L2T/"})")) == "ok");
  CHECK(error(with(R"("cwd": {"base64": "ZP8="})")) == "request: `cwd` must be an absolute path, got `d\xff`");
  CHECK(error(with(R"("sha256": {"base64": "/w=="})")).starts_with("request: `sha256` must be `sha256:`"));
  // env: an array of pairs only when a name is not UTF-8, sorted, unique.
  CHECK(error(with(R"("env": [[{"base64": "/w=="}, "v"], ["A", {"base64": "/g=="}]])")) ==
        "request: `env[1]`: the pairs must be sorted by name bytes, each name once");
  CHECK(error(with(R"("env": [["A", "v"], [{"base64": "/w=="}, "v"]])")) == "ok");
  CHECK(error(with(R"("env": [["A", "v"], ["A", "w"], [{"base64": "/w=="}, "v"]])")) ==
        "request: `env[1]`: the pairs must be sorted by name bytes, each name once");
  CHECK(error(with(R"("env": [["A", "v"], ["B", "w"]])")) ==
        "request: `env`: every name is valid UTF-8, so it must be an object, not an array of pairs");
  CHECK(error(with(R"("env": [["A", "v", "w"]])")) == "request: `env[0]` must be a [name, value] pair");
  CHECK(error(with(R"("env": [["A", "v"], [{"base64": "/w=="}, 3]])")) == "request: `env[1][1]` must be a string");
  CHECK(error(with(R"("env": {"A": {"base64": "/w=="}})")) == "ok");
  // Context values: the field's text form, as bytes.
  CHECK(error(R"({"program": "/bin/x", "context": {"b": true, "s": {"base64": "/w=="}}})") == "ok");
  CHECK(error(R"({"program": "/bin/x", "context": {"b": true, "p": {"base64": "L/8="}}})") == "ok");
  CHECK(error(R"({"program": "/bin/x", "context": {"b": {"base64": "/w=="}}})") ==
        "request: context field `b`: expected `true` or `false`, got `\xff`");
}

TEST_CASE("request: an env name that is not UTF-8 makes env an array of pairs", "[request][bytes]") {
  Request r;
  r.program_path = "/bin/x";
  r.env = {{"B", "2"}, {"A\xff", "1\xfe"}, {"A", "0"}, {"B", "3"}};
  const std::string json = RequestToJson(r, {});
  CHECK(json.find(R"("env": [
    [
      "A",
      "0"
    ],
    [
      {
        "base64": "Qf8="
      },
      {
        "base64": "Mf4="
      }
    ],
    [
      "B",
      "3"
    ]
  ])") != std::string::npos);
  ErrorOr<Request> back = RequestFromJson(json, {});
  REQUIRE(back.ok());
  CHECK(back.value().env ==
        std::vector<std::pair<std::string, std::string>>{{"A", "0"}, {"A\xff", "1\xfe"}, {"B", "3"}});
  CHECK(RequestToJson(back.value(), {}) == json);
}

// Random bytes, biased towards what tells the two forms apart: ASCII, JSON
// specials, valid multi-byte sequences and bytes that break UTF-8.
std::string RandomBytes(std::mt19937_64& random, std::size_t max_length) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "/",
                                                   ".",
                                                   "..",
                                                   "\"",
                                                   "\\",
                                                   "\t",
                                                   std::string(1, '\0'),
                                                   "\x7f",
                                                   "\xc3\xa9",
                                                   "\xe2\x82\xac",
                                                   "\xf0\x9f\x98\x80",
                                                   "\xef\xbf\xbd",
                                                   "\xff",
                                                   "\xfe",
                                                   "\xc0\xaf",
                                                   "\xed\xa0\x80",
                                                   "\xf4\x90\x80\x80",
                                                   "\x80",
                                                   "\xc3",
                                                   "\xe2\x82",
                                                   "\xf5\x80\x80\x80"};
  std::string out;
  const std::size_t length = random() % (max_length + 1);
  for (std::size_t i = 0; i < length; ++i) {
    if (random() % 3 == 0) {
      out.push_back(static_cast<char>(random() & 0xff));
    } else {
      out += kPieces[random() % kPieces.size()];
    }
  }
  return out;
}

// Whether nlohmann-json can write `bytes` as a string (its UTF-8 check).
bool NlohmannAccepts(const std::string& bytes) {
  try {
    (void)nlohmann::json(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

TEST_CASE("request: IsUtf8 is exactly what a JSON string can carry", "[request][bytes]") {
  std::mt19937_64 random(7);
  int utf8 = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string bytes = RandomBytes(random, 6);
    INFO(nlohmann::json(BytesToJson(bytes)).dump());
    REQUIRE(IsUtf8(bytes) == NlohmannAccepts(bytes));
    utf8 += IsUtf8(bytes) ? 1 : 0;
  }
  CHECK(utf8 > 1000);
  CHECK(utf8 < 19000);
  // Every boundary of RFC 3629.
  CHECK(IsUtf8("\x7f"));
  CHECK_FALSE(IsUtf8("\xc1\xbf"));  // overlong
  CHECK(IsUtf8("\xc2\x80"));
  CHECK_FALSE(IsUtf8("\xe0\x9f\xbf"));  // overlong
  CHECK(IsUtf8("\xe0\xa0\x80"));
  CHECK(IsUtf8("\xed\x9f\xbf"));
  CHECK_FALSE(IsUtf8("\xed\xa0\x80"));  // a surrogate
  CHECK(IsUtf8("\xee\x80\x80"));
  CHECK_FALSE(IsUtf8("\xf0\x8f\xbf\xbf"));  // overlong
  CHECK(IsUtf8("\xf0\x90\x80\x80"));
  CHECK(IsUtf8("\xf4\x8f\xbf\xbf"));
  CHECK_FALSE(IsUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(IsUtf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(IsUtf8("\xe2\x82"));  // truncated
}

// The canonical round trip for ANY bytes: a request in the form
// RequestFromJson gives (paths normalized, env sorted and unique,
// program_name derived) survives RequestToJson → RequestFromJson exactly.
TEST_CASE("request: canonical round trip with random bytes in every string", "[request][bytes]") {
  const std::vector<ir::ContextField> fields = {{"s", ir::Kind::kStr, true, Spelling::kString},
                                                {"p", ir::Kind::kStr, true, Spelling::kPath},
                                                {"i", ir::Kind::kInt, true, Spelling::kInt}};
  std::mt19937_64 random(20260113);
  auto path = [&] { return paths::Normalize("/" + RandomBytes(random, 8)); };
  auto list = [&] {
    std::vector<std::string> out(random() % 4);
    for (std::string& item : out) item = RandomBytes(random, 8);
    return out;
  };
  for (int round = 0; round < 3000; ++round) {
    Request r;
    r.program_path = path();
    r.program_name = paths::BaseName(r.program_path);
    r.invoked_path = random() % 2 == 0 ? path() : r.program_path;
    r.argv0 = RandomBytes(random, 8);
    if (r.argv0.empty()) r.argv0 = r.invoked_path;
    r.args = list();
    std::map<std::string, std::string> env;
    for (int k = static_cast<int>(random() % 4); k > 0; --k) env[RandomBytes(random, 4)] = RandomBytes(random, 8);
    r.env.assign(env.begin(), env.end());
    r.cwd = path();
    r.user_name = RandomBytes(random, 6);
    r.groups = list();
    r.host = RandomBytes(random, 6);
    r.time_unix = static_cast<std::int64_t>(random() % (kMaxJsonTimeUnix + 1));
    r.has_parent = random() % 2 == 0;
    if (r.has_parent) {
      r.parent_run_id = RandomBytes(random, 6);
      r.parent_depth = static_cast<std::int64_t>(random() % 5);
      r.parent_program = path();
    }
    r.context.assign(3, ContextValue{});
    if (random() % 2 == 0) r.context[0] = {true, 0, RandomBytes(random, 8)};
    if (random() % 2 == 0) r.context[1] = {true, 0, path()};
    if (random() % 2 == 0) r.context[2] = {true, static_cast<std::int64_t>(random()), ""};

    const std::string json = RequestToJson(r, fields);
    ErrorOr<Request> back = RequestFromJson(json, fields);
    INFO(json);
    REQUIRE(back.ok());
    REQUIRE(back.value() == r);
    REQUIRE(RequestToJson(back.value(), fields) == json);
  }
}

}  // namespace
}  // namespace gov::request
