// End-to-end tests of govc keygen / build / eval / test over the real binary:
// key file modes, bundles the runtime loader accepts (and rejects with the
// wrong key), reproducible builds, errors that write nothing, the exact
// --coverage-min comparison.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <string>

#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/request/request.h"
#include "tests/unit/test_support.h"

namespace {

namespace fs = std::filesystem;
using gov::testing::RunCommand;

// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gov_govc_test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string Govc(const std::string& arguments) { return "'" GOV_GOVC "' " + arguments; }

const char* const kPolicy = R"(policy small version "2.0.0"

allow ls when program.path == "/bin/ls" because "listing"
allow cat when program.path == "/bin/cat"
deny rm when program.name == "rm" because "no deleting"

test "cases" {
  exec ["/bin/ls"] => allow by ls
  exec ["/bin/rm", "x"] => deny by rm
}
)";

}  // namespace

TEST_CASE("govc keygen writes a 0600 private key and refuses to overwrite", "[govc]") {
  TempDir dir;
  auto made = RunCommand(Govc("keygen " + dir / "k"));
  REQUIRE(made.status == 0);
  CHECK(made.stdout_text.find("key id") != std::string::npos);
  struct stat info {};
  REQUIRE(::stat((dir / "k.key").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  REQUIRE(gov::crypto::ReadPrivateKeyFile(dir / "k.key").ok());
  REQUIRE(gov::crypto::ReadPublicKeyFile(dir / "k.pub").ok());
  std::string before = gov::testing::ReadAll(dir / "k.key");
  auto again = RunCommand(Govc("keygen " + dir / "k"));
  CHECK(again.status == 2);
  CHECK(again.stderr_text.find("exists") != std::string::npos);
  CHECK(gov::testing::ReadAll(dir / "k.key") == before);
  CHECK(RunCommand(Govc("keygen --force " + dir / "k")).status == 0);
  CHECK(gov::testing::ReadAll(dir / "k.key") != before);
}

TEST_CASE("govc build writes a bundle the runtime loader verifies, decides with and rejects under another key",
          "[govc]") {
  TempDir dir;
  WriteText(dir / "small.gov", kPolicy);
  REQUIRE(RunCommand(Govc("keygen " + dir / "ops")).status == 0);
  REQUIRE(RunCommand(Govc("keygen " + dir / "other")).status == 0);
  auto built = RunCommand(Govc("build " + dir / "small.gov" + " --key " + dir / "ops.key" + " -o " + dir / "s.govb"));
  INFO(built.stderr_text);
  REQUIRE(built.status == 0);

  auto ops = gov::crypto::ReadPublicKeyFile(dir / "ops.pub");
  auto other = gov::crypto::ReadPublicKeyFile(dir / "other.pub");
  REQUIRE(ops.ok());
  REQUIRE(other.ok());
  auto loaded = gov::bundle::LoadBundleFile(dir / "s.govb", {ops.value()});
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  CHECK(loaded.value().native());
  CHECK(loaded.value().manifest().policy_name == "small");
  CHECK(loaded.value().manifest().policy_version == "2.0.0");
  CHECK(loaded.value().manifest().sources.size() == 1);

  gov::request::Request request;
  request.program_path = "/bin/cat";
  gov::request::RequestView view(request);
  gov_decision decision{};
  CHECK(loaded.value().Decide(view.get(), decision) == GOV_ALLOW);
  REQUIRE(decision.rule_count == 1);
  CHECK(decision.rules[0] == 1);

  auto refused = gov::bundle::LoadBundleFile(dir / "s.govb", {other.value()});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("not trusted") != std::string::npos);

  // govc eval uses the same loader and insists on a trusted key.
  WriteText(dir / "req.json", R"({"program": "/bin/rm", "args": ["-r", "x"]})");
  auto untrusted = RunCommand(Govc("eval --bundle " + dir / "s.govb" + " --request " + dir / "req.json"));
  CHECK(untrusted.status == 2);
  CHECK(untrusted.stderr_text.find("--trust") != std::string::npos);
  auto evaluated = RunCommand(Govc("eval --bundle " + dir / "s.govb" + " --trust " + dir / "ops.pub" +
                                   " --request " + dir / "req.json"));
  CHECK(evaluated.status == 0);
  CHECK(evaluated.stdout_text.find("deny by rm (no deleting)") != std::string::npos);
  auto wrong_key = RunCommand(Govc("eval --bundle " + dir / "s.govb" + " --trust " + dir / "other.pub" +
                                   " --request " + dir / "req.json"));
  CHECK(wrong_key.status == 2);
}

TEST_CASE("govc build is reproducible with SOURCE_DATE_EPOCH and writes nothing for a broken policy", "[govc]") {
  TempDir dir;
  WriteText(dir / "small.gov", kPolicy);
  REQUIRE(RunCommand(Govc("keygen " + dir / "ops")).status == 0);
  std::string build = "build " + dir / "small.gov" + " --key " + dir / "ops.key" + " -o ";
  REQUIRE(RunCommand("SOURCE_DATE_EPOCH=1767268800 " + Govc(build + dir / "a.govb")).status == 0);
  REQUIRE(RunCommand("SOURCE_DATE_EPOCH=1767268800 " + Govc(build + dir / "b.govb")).status == 0);
  CHECK(gov::testing::ReadAll(dir / "a.govb") == gov::testing::ReadAll(dir / "b.govb"));
  CHECK(RunCommand("SOURCE_DATE_EPOCH=yesterday " + Govc(build + dir / "c.govb")).status == 2);
  CHECK_FALSE(fs::exists(dir / "c.govb"));

  WriteText(dir / "broken.gov", "policy broken version \"1\"\nallow x when program.name == 3\n");
  auto broken = RunCommand(Govc("build " + dir / "broken.gov" + " --key " + dir / "ops.key" + " -o " + dir / "x.govb"));
  CHECK(broken.status == 1);
  CHECK(broken.stderr_text.find("GOV2007") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.govb"));
  auto no_key = RunCommand(Govc("build " + dir / "small.gov" + " --key " + dir / "missing.key" + " -o " + dir / "y.govb"));
  CHECK(no_key.status == 2);
  CHECK_FALSE(fs::exists(dir / "y.govb"));
}

TEST_CASE("govc test --coverage-min compares the exact percentage", "[govc]") {
  TempDir dir;
  // Three rules, two decide a test case: exactly 66.666…%.
  WriteText(dir / "small.gov", kPolicy);
  auto run = [&](const std::string& minimum) {
    return RunCommand(Govc("test --coverage-min " + minimum + " " + dir / "small.gov")).status;
  };
  CHECK(run("66") == 0);
  CHECK(run("66.666666") == 0);
  CHECK(run("66.67") == 1);
  CHECK(run("67") == 1);
  CHECK(run("100") == 1);
  CHECK(run("0") == 0);
  CHECK(run("abc") == 2);
  CHECK(run("101") == 2);
  CHECK(run("-5") == 2);
  CHECK(run("66.6666666") == 2);  // more than 6 decimals
  auto interp = RunCommand(Govc("test --interp " + dir / "small.gov"));
  CHECK(interp.status == 0);
  CHECK(interp.stdout_text.find("IR interpreter") != std::string::npos);
  CHECK(interp.stdout_text.find("rule cat decided no test case") != std::string::npos);
}

// Finding 7: evaluation is byte-exact. The policy compares bytes, so
// `args[0] == "a\u{FFFD}"` (the UTF-8 of U+FFFD) must not match the argument
// `a\xff` — neither in the interpreter, nor in native code (JIT, and a
// bundle's), and the request reader hands the policy the exact bytes.
TEST_CASE("govc eval: a policy sees bytes, U+FFFD is not a wildcard for invalid UTF-8", "[govc][bytes]") {
  TempDir dir;
  WriteText(dir / "bytes.gov",
            "policy bytes version \"1.0.0\"\n\n"
            "deny fffd when args[0] == \"a\\u{FFFD}\" because \"the replacement character\"\n\n"
            "allow echo when program.name == \"echo\"\n");
  REQUIRE(RunCommand(Govc("keygen " + dir / "k")).status == 0);
  REQUIRE(RunCommand(Govc("build " + dir / "bytes.gov" + " --key " + dir / "k.key" + " -o " + dir / "b.govb")).status ==
          0);
  WriteText(dir / "ff.json", R"({"program": "/bin/echo", "args": [{"base64": "Yf8="}]})");
  WriteText(dir / "fe.json", R"({"program": "/bin/echo", "args": [{"base64": "Yf4="}]})");
  WriteText(dir / "fffd.json", R"({"program": "/bin/echo", "args": ["a\ufffd"]})");
  for (const std::string engine : {"--interp", "", "--bundle"}) {
    auto eval = [&](const std::string& request) {
      const std::string source = engine == "--bundle" ? "--bundle " + dir / "b.govb" + " --trust " + dir / "k.pub"
                                                      : dir / "bytes.gov" + " " + engine;
      return RunCommand(Govc("eval " + source + " --request " + dir / request));
    };
    INFO("engine " << engine);
    for (const char* request : {"ff.json", "fe.json"}) {
      auto allowed = eval(request);
      INFO(allowed.stdout_text << allowed.stderr_text);
      CHECK(allowed.status == 0);
      CHECK(allowed.stdout_text.find("allow by echo") != std::string::npos);
    }
    auto denied = eval("fffd.json");
    INFO(denied.stdout_text << denied.stderr_text);
    CHECK(denied.stdout_text.find("deny by fffd (the replacement character)") != std::string::npos);
  }
}
