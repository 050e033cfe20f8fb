// Unit tests for runtime/support/output_file (the one writer of output
// files): every kind of target — regular file, symlink to one, dangling
// symlink, character device, FIFO with a reader, `-`, directory, socket —
// and private keys; then govc build, fmt and keygen end to end over the real
// binary (finding 15: targets that are not regular files were replaced).
#include "runtime/support/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/test_support.h"

namespace gov::output {
namespace {

namespace fs = std::filesystem;
using gov::testing::ReadAll;
using gov::testing::RunCommand;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "gov_output_test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  // Names in the directory (to see that no temporary file is left).
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct stat Lstat(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

void ExpectError(const ErrorOr<void>& result, const std::string& part) {
  REQUIRE_FALSE(result.ok());
  INFO("error: " << result.error().message);
  CHECK(result.error().message.find(part) != std::string::npos);
}

// Reads everything from the FIFO at `path` on a thread (the writer blocks
// in open() until a reader is there).
struct FifoReader {
  std::string got;
  std::thread thread;
  explicit FifoReader(const std::string& path) : path_(path) {
    thread = std::thread([this, path] {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(fd, buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<std::size_t>(n));
      ::close(fd);
    });
  }
  std::string Join() {
    thread.join();
    return got;
  }
  ~FifoReader() {
    if (!thread.joinable()) return;
    // The test failed before writing: release the reader blocked in open().
    for (int attempt = 0; attempt < 500; ++attempt) {
      const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) {
        ::close(fd);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    thread.join();
  }
  std::string path_;
};

// Captures what is written to file descriptor 1 while alive.
struct StdoutCapture {
  TempDir dir;
  int saved = -1;
  StdoutCapture() {
    std::fflush(stdout);
    saved = ::dup(1);
    const int fd = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    ::dup2(fd, 1);
    ::close(fd);
  }
  std::string Finish() {
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    return ReadAll(dir / "out");
  }
};

TEST_CASE("output: a regular file is replaced atomically, keeping its mode", "[output]") {
  TempDir dir;
  const std::string path = dir / "out.govb";
  // New: created with the default mode less the umask, nothing else left.
  const mode_t old_umask = ::umask(022);
  REQUIRE(WriteOutputFile(path, "first").ok());
  CHECK(ReadAll(path) == "first");
  CHECK((Lstat(path).st_mode & 07777) == 0644);
  ::umask(077);
  REQUIRE(WriteOutputFile(dir / "private-by-umask", "x").ok());
  CHECK((Lstat(dir / "private-by-umask").st_mode & 07777) == 0600);
  ::umask(old_umask);

  // Existing: a new inode (renamed over), its permission bits kept, set-id bits dropped.
  REQUIRE(::chmod(path.c_str(), 04750) == 0);
  const ino_t before = Lstat(path).st_ino;
  REQUIRE(WriteOutputFile(path, "second").ok());
  CHECK(ReadAll(path) == "second");
  CHECK(Lstat(path).st_ino != before);
  CHECK((Lstat(path).st_mode & 07777) == 0750);
  CHECK(dir.Names() == std::vector<std::string>{"out.govb", "private-by-umask"});
}

TEST_CASE("output: through a symlink the real file is replaced, the link stays", "[output]") {
  TempDir dir;
  REQUIRE(::mkdir((dir / "real").c_str(), 0700) == 0);
  WriteText(dir / "real/target.gov", "old");
  REQUIRE(::chmod((dir / "real/target.gov").c_str(), 0640) == 0);
  REQUIRE(::symlink("real/target.gov", (dir / "link.gov").c_str()) == 0);
  REQUIRE(::symlink("link.gov", (dir / "link2.gov").c_str()) == 0);  // a chain of two

  REQUIRE(WriteOutputFile(dir / "link2.gov", "new").ok());
  CHECK(S_ISLNK(Lstat(dir / "link2.gov").st_mode));
  CHECK(S_ISLNK(Lstat(dir / "link.gov").st_mode));
  CHECK(ReadAll(dir / "real/target.gov") == "new");
  CHECK((Lstat(dir / "real/target.gov").st_mode & 07777) == 0640);
  // The temporary file was made in the target's directory, and is gone.
  CHECK(dir.Names() == std::vector<std::string>{"link.gov", "link2.gov", "real"});
  CHECK(fs::directory_iterator(dir.path / "real")->path().filename() == "target.gov");
}

TEST_CASE("output: a dangling symlink gets its target created", "[output]") {
  TempDir dir;
  REQUIRE(::symlink((dir / "made.govb").c_str(), (dir / "link.govb").c_str()) == 0);
  REQUIRE(WriteOutputFile(dir / "link.govb", "bytes").ok());
  CHECK(S_ISLNK(Lstat(dir / "link.govb").st_mode));
  CHECK(S_ISREG(Lstat(dir / "made.govb").st_mode));
  CHECK(ReadAll(dir / "made.govb") == "bytes");
  // Into a directory that does not exist: an error, the link untouched.
  REQUIRE(::symlink("nowhere/x", (dir / "deep").c_str()) == 0);
  ExpectError(WriteOutputFile(dir / "deep", "bytes"), "cannot create a temporary file in");
  CHECK(S_ISLNK(Lstat(dir / "deep").st_mode));
  // Not when existing entries must not be written: an error.
  ExpectError(WriteOutputFile(dir / "link.govb", "x", {.replace_existing = false}),
              "already exists; refusing to overwrite it");
}

TEST_CASE("output: a character device is written to, never replaced", "[output]") {
  REQUIRE(WriteOutputFile("/dev/null", "discarded").ok());
  CHECK(S_ISCHR(Lstat("/dev/null").st_mode));
  // Through a symlink to it, too.
  TempDir dir;
  REQUIRE(::symlink("/dev/null", (dir / "sink").c_str()) == 0);
  REQUIRE(WriteOutputFile(dir / "sink", "discarded").ok());
  CHECK(S_ISLNK(Lstat(dir / "sink").st_mode));
  CHECK(dir.Names() == std::vector<std::string>{"sink"});
}

TEST_CASE("output: a FIFO with a reader receives the bytes and stays a FIFO", "[output]") {
  TempDir dir;
  const std::string fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string big(1 << 20, 'g');  // more than a pipe buffer
  FifoReader reader(fifo);
  REQUIRE(WriteOutputFile(fifo, big).ok());
  CHECK(reader.Join() == big);
  CHECK(S_ISFIFO(Lstat(fifo).st_mode));
  CHECK(dir.Names() == std::vector<std::string>{"pipe"});
}

TEST_CASE("output: `-` is standard output", "[output]") {
  StdoutCapture capture;
  std::printf("before ");
  const auto written = WriteOutputFile("-", "the bytes");
  const std::string out = capture.Finish();
  REQUIRE(written.ok());
  CHECK(out == "before the bytes");
}

TEST_CASE("output: directories, sockets and block devices are refused, nothing lost", "[output]") {
  TempDir dir;
  REQUIRE(::mkdir((dir / "d").c_str(), 0700) == 0);
  WriteText(dir / "d/keep", "kept");
  ExpectError(WriteOutputFile(dir / "d", "x"), dir / "d is a directory, not a file to write; nothing was written");
  CHECK(ReadAll(dir / "d/keep") == "kept");
  // Through a symlink as well.
  REQUIRE(::symlink("d", (dir / "to-d").c_str()) == 0);
  ExpectError(WriteOutputFile(dir / "to-d", "x"), "is a directory");
  CHECK(S_ISLNK(Lstat(dir / "to-d").st_mode));

  const std::string socket_path = dir / "s";
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof address.sun_path);
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  ExpectError(WriteOutputFile(socket_path, "x"), "is a socket, not a file to write");
  CHECK(S_ISSOCK(Lstat(socket_path).st_mode));
  ::close(sock);

  // A block device, when this machine has one to name (only stat'ed).
  for (const char* device : {"/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/ram0"}) {
    struct stat st {};
    if (::stat(device, &st) != 0 || !S_ISBLK(st.st_mode)) continue;
    ExpectError(WriteOutputFile(device, "x"), "is a block device, not a file to write");
    break;
  }
  CHECK(dir.Names() == std::vector<std::string>{"d", "s", "to-d"});
}

TEST_CASE("output: a failed write leaves the target as it was", "[output]") {
  TempDir dir;
  WriteText(dir / "f", "old");
  // A write that fails half way (a file size limit, which binds root too),
  // in a child process: the target keeps its bytes, no temporary file stays.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4, 4};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    const auto written = WriteOutputFile(dir / "f", "more than four bytes");
    ::_exit(!written.ok() && written.error().message.find("write failed: File too large") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(ReadAll(dir / "f") == "old");
  CHECK(dir.Names() == std::vector<std::string>{"f"});
  if (::geteuid() == 0) return;  // root ignores directory permissions
  REQUIRE(::mkdir((dir / "ro").c_str(), 0700) == 0);
  WriteText(dir / "ro/f", "old");
  REQUIRE(::chmod((dir / "ro").c_str(), 0500) == 0);
  ExpectError(WriteOutputFile(dir / "ro/f", "new"), "cannot create a temporary file in");
  CHECK(ReadAll(dir / "ro/f") == "old");
}

TEST_CASE("output: private keys go only to regular files, mode 0600", "[output]") {
  TempDir dir;
  const OutputOptions key{.mode = 0600, .private_key = true};
  // Replacing a world-readable file narrows it to 0600.
  WriteText(dir / "k.key", "old");
  REQUIRE(::chmod((dir / "k.key").c_str(), 0644) == 0);
  REQUIRE(WriteOutputFile(dir / "k.key", "secret", key).ok());
  CHECK((Lstat(dir / "k.key").st_mode & 07777) == 0600);
  // Through a symlink to a regular file: allowed, 0600.
  REQUIRE(::symlink("k.key", (dir / "link.key").c_str()) == 0);
  REQUIRE(WriteOutputFile(dir / "link.key", "secret2", key).ok());
  CHECK(ReadAll(dir / "k.key") == "secret2");
  CHECK((Lstat(dir / "k.key").st_mode & 07777) == 0600);
  // Never to standard output, a character device or a FIFO (nor a directory).
  ExpectError(WriteOutputFile("-", "secret", key), "refusing to write a private key to standard output");
  ExpectError(WriteOutputFile("/dev/null", "secret", key),
              "/dev/null is a character device; refusing to write a private key anywhere but a regular file");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  ExpectError(WriteOutputFile(dir / "fifo", "secret", key), "is a FIFO; refusing to write a private key");
  CHECK(S_ISFIFO(Lstat(dir / "fifo").st_mode));
}

// ---- govc end to end ----

std::string Govc(const std::string& arguments) {
  return "'" GOV_GOVC "' " + arguments;
}

// In govc fmt's canonical layout.
constexpr const char* kPolicy = "policy out version \"1.0.0\"\n\nallow ls when\n    program.path == \"/bin/ls\"\n";

TEST_CASE("govc build -o: symlink, FIFO, `-`, directory", "[output][govc]") {
  TempDir dir;
  WriteText(dir / "p.gov", kPolicy);
  REQUIRE(RunCommand(Govc("keygen " + dir / "k")).status == 0);
  const std::string build =
      "SOURCE_DATE_EPOCH=1700000000 " + Govc("build --no-native " + dir / "p.gov" + " --key " + dir / "k.key" + " -o ");

  REQUIRE(RunCommand(build + dir / "real.govb").status == 0);
  const std::string bundle = ReadAll(dir / "real.govb");
  REQUIRE(bundle.starts_with(std::string("GOVBNDL\0", 8)));

  // Through a symlink: the real file is rewritten, the link kept.
  REQUIRE(::symlink("real.govb", (dir / "link.govb").c_str()) == 0);
  REQUIRE(::chmod((dir / "real.govb").c_str(), 0600) == 0);
  REQUIRE(RunCommand(build + dir / "link.govb").status == 0);
  CHECK(S_ISLNK(Lstat(dir / "link.govb").st_mode));
  CHECK(ReadAll(dir / "real.govb") == bundle);
  CHECK((Lstat(dir / "real.govb").st_mode & 07777) == 0600);

  // A FIFO with a reader gets the bundle and stays a FIFO.
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  FifoReader reader(dir / "fifo");
  auto to_fifo = RunCommand(build + dir / "fifo");
  CHECK(reader.Join() == bundle);
  CHECK(to_fifo.status == 0);
  CHECK(S_ISFIFO(Lstat(dir / "fifo").st_mode));

  // `-`: the bundle is standard output, the summary goes to stderr.
  auto to_stdout = RunCommand(build + "-");
  CHECK(to_stdout.status == 0);
  CHECK(to_stdout.stdout_text == bundle);
  CHECK(to_stdout.stderr_text.find("wrote standard output: policy out 1.0.0") != std::string::npos);

  // /dev/null stays a character device (as root it used to be replaced).
  CHECK(RunCommand(build + "/dev/null").status == 0);
  CHECK(S_ISCHR(Lstat("/dev/null").st_mode));

  // A directory: a clear error, nothing written.
  REQUIRE(::mkdir((dir / "d").c_str(), 0700) == 0);
  auto to_dir = RunCommand(build + dir / "d");
  CHECK(to_dir.status == 2);
  CHECK(to_dir.stderr_text.find("is a directory, not a file to write") != std::string::npos);
  CHECK(fs::is_empty(dir.path / "d"));
}

TEST_CASE("govc fmt through a symlink formats the real file", "[output][govc]") {
  TempDir dir;
  REQUIRE(::mkdir((dir / "src").c_str(), 0700) == 0);
  WriteText(dir / "src/p.gov", "policy   out version \"1.0.0\"\nallow ls   when program.path == \"/bin/ls\"\n");
  REQUIRE(::chmod((dir / "src/p.gov").c_str(), 0640) == 0);
  REQUIRE(::symlink("src/p.gov", (dir / "link.gov").c_str()) == 0);
  auto formatted = RunCommand(Govc("fmt " + dir / "link.gov"));
  INFO(formatted.stderr_text);
  REQUIRE(formatted.status == 0);
  CHECK(S_ISLNK(Lstat(dir / "link.gov").st_mode));
  CHECK(ReadAll(dir / "src/p.gov") == kPolicy);
  CHECK((Lstat(dir / "src/p.gov").st_mode & 07777) == 0640);
}

TEST_CASE("govc keygen --force: through a symlink 0600, never into a FIFO", "[output][govc]") {
  TempDir dir;
  REQUIRE(RunCommand(Govc("keygen " + dir / "k")).status == 0);
  REQUIRE(::mkdir((dir / "keys").c_str(), 0700) == 0);
  REQUIRE(::rename((dir / "k.key").c_str(), (dir / "keys/k.key").c_str()) == 0);
  REQUIRE(::symlink("keys/k.key", (dir / "k.key").c_str()) == 0);
  const std::string before = ReadAll(dir / "keys/k.key");
  REQUIRE(RunCommand(Govc("keygen --force " + dir / "k")).status == 0);
  CHECK(S_ISLNK(Lstat(dir / "k.key").st_mode));
  CHECK(ReadAll(dir / "keys/k.key") != before);
  CHECK((Lstat(dir / "keys/k.key").st_mode & 07777) == 0600);

  REQUIRE(::mkfifo((dir / "f.key").c_str(), 0600) == 0);
  auto to_fifo = RunCommand(Govc("keygen --force " + dir / "f"));
  CHECK(to_fifo.status == 2);
  CHECK(to_fifo.stderr_text.find("is a FIFO; refusing to write a private key") != std::string::npos);
  CHECK(S_ISFIFO(Lstat(dir / "f.key").st_mode));
}

}  // namespace
}  // namespace gov::output
