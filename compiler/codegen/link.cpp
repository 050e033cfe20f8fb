// Shared-object linking through posix_spawn (see link.h).
#include "compiler/codegen/link.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace gov::codegen {
namespace {

// A directory created with mkdtemp and removed (with the files we put in it)
// when this object dies.
class TempDir {
 public:
  ErrorOr<void> Create() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && base[0] == '/' ? base : "/tmp") + "/gov-link-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      return Error{"cannot create a temporary directory for linking: " + std::string(std::strerror(errno))};
    }
    path_ = buffer.data();
    return {};
  }
  ~TempDir() {
    if (path_.empty()) return;
    for (const std::string& file : files_) unlink(file.c_str());
    rmdir(path_.c_str());
  }
  // The path of `name` inside the directory; removed with it.
  std::string File(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

ErrorOr<void> WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Error{"cannot write " + path};
  return {};
}

ErrorOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for `pid` at most `timeout_seconds`; kills it after that. Returns the
// wait status, or an Error on timeout.
ErrorOr<int> WaitWithTimeout(pid_t pid, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return Error{"waiting for the linker failed: " + std::string(std::strerror(errno))};
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return Error{"the linker did not finish within " + std::to_string(timeout_seconds) + " s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

ErrorOr<std::string> LinkSharedObject(std::string_view object, const std::string& linker, std::string_view exported,
                                      int timeout_seconds) {
  TempDir dir;
  GOV_RETURN_IF_ERROR(dir.Create());
  std::string input = dir.File("policy.o");
  std::string script = dir.File("exports.map");
  std::string output = dir.File("policy.so");
  std::string log = dir.File("ld.log");
  GOV_RETURN_IF_ERROR(WriteFile(input, object));
  GOV_RETURN_IF_ERROR(WriteFile(script, "{\n  global: " + std::string(exported) + ";\n  local: *;\n};\n"));

  std::vector<std::string> args = {linker,
                                   "-shared",
                                   "-z",
                                   "noexecstack",
                                   "-z",
                                   "now",
                                   "-z",
                                   "relro",
                                   "-z",
                                   "defs",
                                   "--hash-style=gnu",
                                   "--version-script=" + script,
                                   "-soname",
                                   "gov_policy.so",
                                   "-o",
                                   output,
                                   input};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int spawn_error = posix_spawn(&pid, linker.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    return Error{"cannot run the linker " + linker + ": " + std::string(std::strerror(spawn_error))};
  }
  GOV_ASSIGN_OR_RETURN(int status, WaitWithTimeout(pid, timeout_seconds));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto text = ReadFile(log);
    std::string detail = text.ok() ? text.value() : std::string();
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "was killed by signal " + std::to_string(WTERMSIG(status));
    return Error{"the linker " + linker + " " + how + (detail.empty() ? "" : ": " + detail)};
  }
  return ReadFile(output);
}

}  // namespace gov::codegen
