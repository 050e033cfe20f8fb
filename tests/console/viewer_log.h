// A governed session's lineage for the console's tests, written by the real
// recorder, with a corpus of hostile command-line arguments.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/lineage/helpers.h"

namespace gov::console {

inline const std::string kXssScript = "</script><script>window.__xss=1</script>";
inline const std::string kXssImage = "<img src=x onerror=\"window.__xss=1\">";
inline const std::string kEntities = "&lt;b&gt; &amp; &#x3c;";
inline const std::string kBidi = "\xE2\x80\xAEhs.live";  // U+202E RIGHT-TO-LEFT OVERRIDE, then "hs.live"
inline const std::string kNotUtf8 = "\xff\xfe\x80ok";
inline const std::string kTerminal = "\x1b[2J\x1b]0;owned\x07";  // clears a terminal, sets its title
inline const std::size_t kHugeArgument = 1 << 20;

// A governed session's lineage written by the real recorder:
//   bash (allow) ─┬─ make (allow) ── cc (allow, exit 1)
//                 ├─ curl (deny by no_network_tools)
//                 └─ echo with hostile arguments (allow)
struct ViewerLog {
  lineage::TempDir dir;
  crypto::PrivateKey key = lineage::TestKey(7);
  std::string shell, make, cc, curl, hostile;
  std::string log_path, key_path;

  std::string Run(lineage::Recorder& recorder, const std::string& parent, const std::string& program,
                  std::vector<std::string> args, const std::string& verdict, lineage::RecordedRule rule,
                  int exit_status) {
    lineage::Authorization auth = lineage::SampleAuthorization(lineage::NewRunId(), parent, verdict);
    auth.request.program_path = program;
    auth.request.args = std::move(args);
    auth.rules = {std::move(rule)};
    auth.obligations.timeout_ms = 600000;
    REQUIRE(recorder.RecordAuthorization(auth).ok());
    if (auth.execute) {
      lineage::Start start{
          auth.run_id, 4242, 1767268800000000000, {{"timeout", "govrun timer (SIGKILL)", "600000 ms"}}};
      start.program = program;
      start.decision_ns = 300000;       // 0.3 ms
      start.exec_latency_ns = 2000000;  // 2 ms
      REQUIRE(recorder.RecordStart(start).ok());
      lineage::End end;
      end.run_id = auth.run_id;
      end.time_unix_ns = 1767268800250000000;
      end.duration_ns = 250000000;
      end.exited = true;
      end.exit_status = exit_status;
      REQUIRE(recorder.RecordEnd(end).ok());
    }
    return auth.run_id;
  }

  ViewerLog() {
    auto opened = lineage::OpenLog(dir.path, key);
    REQUIRE(opened.ok());
    lineage::Recorder& recorder = *opened.value();
    shell = Run(recorder, "", "/usr/bin/bash", {"-c", "make && curl https://example.com"}, "allow",
                {0, "agent_shell", "allow", "the agent's shell runs in a governed session"}, 0);
    make =
        Run(recorder, shell, "/usr/bin/make", {"-j2"}, "allow", {1, "build_tools", "allow", "builds are allowed"}, 0);
    cc = Run(recorder, make, "/usr/bin/cc", {"-c", "main.c"}, "allow",
             {1, "build_tools", "allow", "builds are allowed"}, 1);
    curl = Run(recorder, shell, "/usr/bin/curl", {"https://example.com"}, "deny",
               {2, "no_network_tools", "deny", "curl can send the workspace anywhere"}, 0);
    hostile = Run(recorder, shell, "/usr/bin/echo",
                  {kXssScript, kXssImage, kEntities, kBidi, kNotUtf8, std::string(kHugeArgument, 'A'), kTerminal},
                  "allow", {3, "echo", "allow", "harmless"}, 0);
    REQUIRE(recorder.Checkpoint().ok());
    log_path = dir.path + "/lineage.log";
    key_path = dir.path + "/lineage.pub";
    lineage::WriteFile(key_path, key.public_key().ToPem());
  }

  // govverify --html, as a user runs it.
  lineage::Ran WriteHtml(const std::string& page) const {
    return lineage::RunProgram({GOV_GOVVERIFY, "--lineage-key", key_path, "--html", page, dir.path}, dir.path);
  }
};

// With GOV_UPDATE_SCREENSHOTS=1, copies the browser test's screenshot `name`
// to docs/img/, where the README and docs/console.md show it.
inline void PublishScreenshot(const std::string& name) {
  const char* update = std::getenv("GOV_UPDATE_SCREENSHOTS");
  if (update == nullptr || std::string(update) != "1") return;
  std::filesystem::create_directories(std::string(GOV_SOURCE_DIR) + "/docs/img");
  std::filesystem::copy_file(std::string(GOV_TEST_OUTPUT_DIR) + "/" + name,
                             std::string(GOV_SOURCE_DIR) + "/docs/img/" + name,
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace gov::console
