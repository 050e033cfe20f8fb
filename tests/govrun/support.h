// Shared support of the govrun end-to-end tests: starting processes with
// captured output, a Fixture with keys, a govc-built signed policy, a
// lineage directory and a config, and a pseudo-terminal driver. Runs as root
// in CI: tests that need an unprivileged caller drop to uid/gid 65534.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"

namespace gov_test {

namespace fs = std::filesystem;

// The helpers of the session tests (session_test.cpp): runs helper `name`
// with `args` and returns its exit status, or -1 when `name` is not one.
int SessionHelper(const std::string& name, int argc, char** args);

constexpr uid_t kNobody = 65534;

// govc: GOVRUN_TEST_GOVC overrides the build's (e.g. a snapshot while the
// shared build directory relinks it).
inline std::string Govc() {
  const char* override_path = std::getenv("GOVRUN_TEST_GOVC");
  return override_path != nullptr ? override_path : GOV_GOVC;
}

// govrun under test: GOVRUN_TEST_GOVRUN overrides the build's.
inline std::string Govrun() {
  const char* override_path = std::getenv("GOVRUN_TEST_GOVRUN");
  return override_path != nullptr ? override_path : GOV_GOVRUN;
}

// This test program (the helpers' host): GOVRUN_TEST_SELF overrides it.
inline std::string Self() {
  const char* override_path = std::getenv("GOVRUN_TEST_SELF");
  return override_path != nullptr ? override_path : fs::read_symlink("/proc/self/exe").string();
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteText(const std::string& path, const std::string& text, mode_t mode = 0644) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  chmod(path.c_str(), mode);
}

inline bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// True when every directory above `path` lets others search it (uid 65534
// can reach the file).
inline bool ReachableByOthers(const fs::path& path) {
  for (fs::path dir = path.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
      return false;
    }
    if (dir == dir.root_path()) {
      break;
    }
  }
  return true;
}

// A path uid 65534 can execute holding the same file as `binary`: the
// file itself when reachable, else a hard link (a copy across file
// systems) under a root-owned 0755 directory of /tmp, made once per build
// of the file. Empty when none can be made.
inline std::string ReachableCopy(const std::string& binary) {
  if (ReachableByOthers(binary)) {
    return binary;
  }
  struct stat st {};
  if (stat(binary.c_str(), &st) != 0) {
    return "";
  }
  const std::string dir = "/tmp/gov-test-binaries";
  mkdir(dir.c_str(), 0755);
  struct stat dir_st {};
  if (lstat(dir.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode) || dir_st.st_uid != 0 ||
      (dir_st.st_mode & 07777) != 0755 || !ReachableByOthers(dir + "/x")) {
    return "";
  }
  // The same file name (policies match program.name), in a directory per build.
  const std::string build_dir = dir + "/" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino) + "-" +
                                std::to_string(st.st_mtim.tv_sec);
  mkdir(build_dir.c_str(), 0755);
  const std::string target = build_dir + "/" + fs::path(binary).filename().string();
  if (Exists(target)) {
    return target;
  }
  const std::string temporary = target + ".tmp" + std::to_string(getpid());
  std::error_code error;
  if (link(binary.c_str(), temporary.c_str()) != 0) {
    fs::copy_file(binary, temporary, fs::copy_options::overwrite_existing, error);
    if (error || chmod(temporary.c_str(), 0755) != 0) {
      return "";
    }
  }
  return rename(temporary.c_str(), target.c_str()) == 0 ? target : "";
}

// The tests that run govrun as uid 65534 need it (and this program, whose
// helpers it runs) reachable: a checkout under a 0700 directory (mktemp -d)
// is not. Points GOVRUN_TEST_GOVRUN and GOVRUN_TEST_SELF at reachable
// paths of the same files when needed.
inline void MakeBinariesReachableByNobody() {
  if (geteuid() != 0) {
    return;
  }
  const std::string govrun = ReachableCopy(Govrun());
  const std::string self = ReachableCopy(Self());
  if (!govrun.empty()) {
    setenv("GOVRUN_TEST_GOVRUN", govrun.c_str(), 1);
  }
  if (!self.empty()) {
    setenv("GOVRUN_TEST_SELF", self.c_str(), 1);
  }
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

struct RunOptions {
  std::string cwd;
  std::map<std::string, std::string> set_env;
  std::vector<std::string> unset_env;
  std::string stdin_file = "/dev/null";
  bool as_nobody = false;
  bool pending_sigterm = false;
  bool close_stdio = false;  // start govrun with 0, 1 and 2 closed
};

// A started process whose stdout/stderr go to files.
struct Started {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
};

// Starts `argv` with stdout/stderr captured in files of `dir`.
inline Started StartProcess(const std::vector<std::string>& argv, const std::string& dir,
                            const RunOptions& options = {}) {
  static int counter = 0;
  const std::string out_path = dir + "/.out" + std::to_string(++counter);
  const std::string err_path = dir + "/.err" + std::to_string(counter);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int in = open(options.stdin_file.c_str(), O_RDONLY);
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (in < 0 || out < 0 || err < 0) {
      _exit(200);
    }
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) {
      _exit(201);
    }
    for (const char* name : {"GOV_RUN_ID", "GOV_RUN_RECORD", "GOV_CONFIG"}) {
      unsetenv(name);
    }
    for (const std::string& name : options.unset_env) {
      unsetenv(name.c_str());
    }
    for (const auto& [name, value] : options.set_env) {
      setenv(name.c_str(), value.c_str(), 1);
    }
    if (options.as_nobody) {
      if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
          setresuid(kNobody, kNobody, kNobody) != 0) {
        _exit(202);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.pending_sigterm) {
      sigset_t term;
      sigemptyset(&term);
      sigaddset(&term, SIGTERM);
      sigprocmask(SIG_BLOCK, &term, nullptr);
      raise(SIGTERM);
    }
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    if (options.close_stdio) {
      close(0);
      close(1);
      close(2);
    }
    execv(args[0], args.data());
    _exit(203);
  }
  return Started{pid, out_path, err_path};
}

// Waits for a started process and collects its output.
inline Result Finish(const Started& started) {
  int status = 0;
  REQUIRE(waitpid(started.pid, &status, 0) == started.pid);
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadText(started.out_path);
  result.err = ReadText(started.err_path);
  fs::remove(started.out_path);
  fs::remove(started.err_path);
  return result;
}

inline Result RunProcess(const std::vector<std::string>& argv, const std::string& dir, const RunOptions& options = {}) {
  return Finish(StartProcess(argv, dir, options));
}

// Polls until `path` contains `text` (10 s at most).
inline bool WaitForText(const std::string& path, const std::string& text) {
  for (int i = 0; i < 1000; ++i) {
    if (ReadText(path).find(text) != std::string::npos) {
      return true;
    }
    usleep(10000);
  }
  return false;
}

inline std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A temporary directory with keys, a policy built and signed by govc, a
// lineage directory and a config.toml pointing at them.
class Fixture {
 public:
  // `body` follows `policy t version "1.0.0"`; @DIR@ stands for the directory.
  explicit Fixture(const std::string& body, bool native = false, bool for_nobody = false) {
    char pattern[] = "/tmp/govrun-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    chmod(dir.c_str(), 0755);
    for (const char* name : {"pol", "lin", "other"}) {
      auto key = gov::crypto::PrivateKey::Generate();
      REQUIRE(key.ok());
      REQUIRE(gov::crypto::WritePrivateKeyFile(dir + "/" + name + ".key", key.value()).ok());
      REQUIRE(gov::crypto::WritePublicKeyFile(dir + "/" + name + ".pub", key.value().public_key()).ok());
    }
    source = "policy t version \"1.0.0\"\n" + Replace(body, "@DIR@", dir);
    WriteText(dir + "/p.gov", source);
    std::vector<std::string> build = {Govc(),           "build", dir + "/p.gov", "--key",
                                      dir + "/pol.key", "-o",    dir + "/p.govb"};
    if (!native) {
      build.push_back("--no-native");
    }
    const Result built = RunProcess(build, dir);
    INFO(source << "\n" << built.err << built.out);
    REQUIRE(built.code == 0);
    fs::create_directory(dir + "/lineage");
    config = dir + "/config.toml";
    WriteConfig(
        "policy = \"p.govb\"\ntrusted_keys = [\"pol.pub\"]\nlineage_dir = \"lineage\"\n"
        "signing_key = \"lin.key\"\nkill_grace = \"300ms\"\n");
    if (for_nobody) {
      for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        REQUIRE(lchown(entry.path().c_str(), kNobody, kNobody) == 0);
      }
      REQUIRE(chown(dir.c_str(), kNobody, kNobody) == 0);
    }
  }
  ~Fixture() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  void WriteConfig(const std::string& text) const { WriteText(config, text); }
  std::string Marker() const { return dir + "/marker"; }

  // govrun [pre…] --config CONFIG -- command…
  Result Run(const std::vector<std::string>& command, const RunOptions& options = {},
             const std::vector<std::string>& pre = {}) const {
    std::vector<std::string> argv = {Govrun()};
    argv.insert(argv.end(), pre.begin(), pre.end());
    argv.push_back("--config");
    argv.push_back(config);
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    RunOptions with_cwd = options;
    if (with_cwd.cwd.empty()) {
      with_cwd.cwd = dir;
    }
    return RunProcess(argv, dir, with_cwd);
  }

  // Starts govrun in the background (see Run).
  Started Start(const std::vector<std::string>& command, const RunOptions& options = {}) const {
    std::vector<std::string> argv = {Govrun(), "--config", config, "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    RunOptions with_cwd = options;
    if (with_cwd.cwd.empty()) {
      with_cwd.cwd = dir;
    }
    return StartProcess(argv, dir, with_cwd);
  }

  std::string dir;
  std::string config;
  std::string source;
};

// govverify --replay of the fixture's log: 0 when it verifies and replays.
inline int VerifyAndReplay(const Fixture& fixture) {
#ifdef GOV_GOVVERIFY
  const Result verified =
      RunProcess({GOV_GOVVERIFY, "--trust", fixture.dir + "/lin.pub", "--trust", fixture.dir + "/pol.pub", "--policy",
                  fixture.dir + "/p.govb", "--replay", fixture.dir + "/lineage"},
                 fixture.dir);
  INFO(verified.out << verified.err);
  return verified.code;
#else
  (void)fixture;
  return 0;
#endif
}

// Allows the tools the tests use; `touch` is the marker writer.
inline const char* const kTools =
    "allow tools when program.name in {\"true\", \"false\", \"echo\", \"env\", \"cat\", \"touch\", \"dash\", "
    "\"bash\", \"sleep\", \"xtool\", \"prog\", \"govrun\", \"script.sh\"}\n"
    "    because \"test tools\"\n";

inline void ExpectNotRun(const Fixture& fixture, const Result& result, int code, const std::string& message) {
  INFO("stderr: " << result.err);
  CHECK(result.code == code);
  CHECK(result.err.find(message) != std::string::npos);
  CHECK_FALSE(Exists(fixture.Marker()));
}

inline std::vector<std::string> TouchMarker(const Fixture& fixture) {
  return {"touch", fixture.Marker()};
}

inline bool Alive(pid_t pid) {
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) {
    return false;
  }
  const std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// Runs govrun on a pseudo-terminal (its controlling terminal) and answers
// its prompt with `answer` (empty: never answers). `pretyped` is in the
// terminal's input queue before govrun starts (typed ahead, or by a harness
// that owns the terminal); `stdin_text`, when set, is govrun's stdin instead
// of the terminal (a pipe); `pre` are govrun options before `--config`.
inline Result RunOnTerminal(const Fixture& fixture, const std::vector<std::string>& command, const std::string& answer,
                            const std::string& pretyped = "", const std::string* stdin_text = nullptr,
                            const std::vector<std::string>& pre = {}) {
  int ready_pipe[2];
  REQUIRE(pipe(ready_pipe) == 0);
  int stdin_pipe[2] = {-1, -1};
  if (stdin_text != nullptr) {
    REQUIRE(pipe(stdin_pipe) == 0);
    REQUIRE(write(stdin_pipe[1], stdin_text->data(), stdin_text->size()) == static_cast<ssize_t>(stdin_text->size()));
    close(stdin_pipe[1]);
  }
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(ready_pipe[1]);
    char go = 0;
    if (read(ready_pipe[0], &go, 1) != 1) {
      _exit(204);
    }
    if (stdin_text != nullptr && dup2(stdin_pipe[0], 0) != 0) {
      _exit(205);
    }
    if (chdir(fixture.dir.c_str()) != 0) {
      _exit(201);
    }
    std::vector<std::string> argv = {Govrun()};
    argv.insert(argv.end(), pre.begin(), pre.end());
    argv.insert(argv.end(), {"--config", fixture.config, "--"});
    argv.insert(argv.end(), command.begin(), command.end());
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(203);
  }
  close(ready_pipe[0]);
  if (stdin_pipe[0] >= 0) {
    close(stdin_pipe[0]);
  }
  if (!pretyped.empty()) {
    REQUIRE(write(master, pretyped.data(), pretyped.size()) == static_cast<ssize_t>(pretyped.size()));
  }
  REQUIRE(write(ready_pipe[1], "g", 1) == 1);
  close(ready_pipe[1]);
  std::string seen;
  bool answered = false;
  while (true) {
    pollfd poll_fd{master, POLLIN, 0};
    if (poll(&poll_fd, 1, 20000) <= 0) {
      break;
    }
    char buffer[512];
    const ssize_t got = read(master, buffer, sizeof buffer);
    if (got <= 0) {
      break;
    }
    seen.append(buffer, static_cast<std::size_t>(got));
    if (!answered && !answer.empty() && seen.find("[y/N]") != std::string::npos) {
      REQUIRE(write(master, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size()));
      answered = true;
    }
  }
  close(master);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.err = seen;
  return result;
}

}  // namespace gov_test
