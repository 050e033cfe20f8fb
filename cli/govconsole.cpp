// govconsole: the live governance console over a lineage directory (its own
// process: govrun, govd and sessions never link an HTTP server; it needs
// only read access to the log). docs/console.md "The live console".
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "console/server/server.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/crypto/sha256.h"
#include "runtime/support/input_file.h"

namespace gov {
namespace {

constexpr int kExitUsage = 64;   // an unusable command line (EX_USAGE, as every gov tool)
constexpr int kExitConfig = 78;  // a configuration govconsole cannot use (a token file that is not private)
constexpr int kExitInput = 66;   // the lineage cannot be read
constexpr int kExitListen = 74;  // cannot listen

volatile std::sig_atomic_t stop_requested = 0;
void OnSignal(int) {
  stop_requested = 1;
}

std::string DefaultTokenFile() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && runtime[0] == '/') {
    return std::string(runtime) + "/govconsole.token";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && home[0] == '/' ? home : "/root") + "/.config/gov/console.token";
}

// The index's default place: one file per lineage directory under the
// user's cache directory (the index is a cache: docs/console.md "The index").
ErrorOr<std::string> DefaultIndexFile(const std::string& lineage_dir) {
  std::string cache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    cache = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    cache = std::string(home) + "/.cache";
  } else {
    return Error{"no HOME or XDG_CACHE_HOME for the index: give --index FILE"};
  }
  std::error_code error;
  const std::filesystem::path dir = std::filesystem::path(cache) / "gov" / "console";
  std::filesystem::create_directories(dir, error);
  if (error)
    return Error{"cannot make " + dir.string() + " for the index: " + error.message() + " (give --index FILE)"};
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, error);
  const std::string absolute = std::filesystem::weakly_canonical(lineage_dir, error).string();
  const std::string digest = crypto::HexEncode(crypto::Sha256Of(absolute));
  return (dir / (digest.substr(0, 32) + ".sqlite")).string();
}

// The token in `text` (64 lower-case hex digits, a line end allowed), read
// from `where`.
ErrorOr<std::string> ParseToken(std::string text, const std::string& where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Error{where + " does not hold a token (64 lower-case hex digits)"};
  }
  return text;
}

// Reads the token from `path` (`-`: standard input), creating it (0600, 32 random bytes as hex) on
// first start. An existing file must be a regular file owned by this user
// and readable by nobody else.
ErrorOr<std::string> TokenFromFile(const std::string& path) {
  if (path == "-") {
    // Piped in by whoever starts the console (e.g. from a secret store).
    ErrorOr<std::string> piped = input::ReadInputFile(path, 128);
    if (!piped.ok()) return Error{"the token: " + piped.error().message};
    return ParseToken(std::move(piped).value(), "standard input");
  }
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
    std::array<std::uint8_t, 32> random{};
    randombytes_buf(random.data(), random.size());
    const std::string token = crypto::HexEncode(std::span<const std::uint8_t>(random.data(), random.size()));
    int out = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) return Error{"cannot create the token file " + path + ": " + std::strerror(errno)};
    const bool written =
        write(out, token.data(), token.size()) == static_cast<ssize_t>(token.size()) && fsync(out) == 0;
    close(out);
    if (!written) return Error{"cannot write the token file " + path};
    return token;
  }
  if (fd < 0) return Error{"cannot open the token file " + path + ": " + std::strerror(errno)};
  struct stat st {};
  char buffer[129] = {};
  const bool stated = fstat(fd, &st) == 0;
  const ssize_t size = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (!stated || !S_ISREG(st.st_mode)) return Error{"the token file " + path + " is not a regular file"};
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    return Error{"the token file " + path +
                 " must be owned by this user with mode 0600 (anyone who reads it can use the console)"};
  }
  return ParseToken(std::string(buffer, size > 0 ? static_cast<std::size_t>(size) : 0), "the token file " + path);
}

int Main(int argc, char** argv) {
  CLI::App app{"govconsole: the live governance console over a lineage directory (docs/console.md)"};
  std::string lineage_dir, listen = "127.0.0.1:8470", token_file;
  std::vector<std::string> lineage_keys, trust_keys;
  app.add_option("--lineage", lineage_dir, "the lineage directory (read only)")->required();
  app.add_option("--lineage-key", lineage_keys, "a key trusted to sign its checkpoints");
  app.add_option("--trust", trust_keys, "a key trusted to sign checkpoints and policies");
  std::vector<std::string> policy_keys, policy_files;
  app.add_option("--policy-key", policy_keys, "a key trusted to sign the --policy bundles (and nothing else)");
  app.add_option("--policy", policy_files,
                 "a policy bundle to show in Policies: its signer and every rule (verified at start; repeatable)");
  auto* listen_option = app.add_option("--listen", listen, "loopback address and port (port 0: any free port)");
  std::string unix_socket;
  app.add_option("--socket", unix_socket,
                 "listen on this Unix socket instead (created 0600; a stale socket there is replaced)")
      ->excludes(listen_option);
  app.add_option("--token-file", token_file,
                 "the bearer token (created 0600 on first start; `-`: read from standard input)");
  std::string approvals_socket;
  app.add_option("--approvals-socket", approvals_socket,
                 "govd's approvals socket: answer asks as this user (docs/govd.md \"Approvals\")");
  std::string index_file;
  app.add_option("--index", index_file,
                 "the index of the log, a cache made and kept up to date here (default: one per lineage directory "
                 "under ~/.cache/gov/console; `:memory:` keeps none)");
  app.set_version_flag("--version", "govconsole 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (lineage_keys.empty() && trust_keys.empty()) {
    std::fprintf(stderr, "govconsole: no --lineage-key: the log is verified only against pinned keys\n");
    return kExitUsage;
  }
  if (sodium_init() < 0) return 70;
  console::ConsoleOptions options;
  options.lineage_dir = lineage_dir;
  options.approvals_socket = approvals_socket;
  for (const auto& [files, role] :
       {std::pair{&lineage_keys, "lineage"}, std::pair{&trust_keys, "both"}, std::pair{&policy_keys, "policy"}}) {
    for (const auto& file : *files) {
      auto key = crypto::ReadPublicKeyFile(file);
      if (!key.ok()) {
        std::fprintf(stderr, "govconsole: %s: %s\n", file.c_str(), key.error().message.c_str());
        return kExitConfig;
      }
      options.keys.push_back({role, file, key.value()});
    }
  }
  if (!policy_keys.empty() && policy_files.empty()) {
    std::fprintf(stderr, "govconsole: --policy-key without --policy: it would verify nothing\n");
    return kExitUsage;
  }
  for (const auto& file : policy_files) {
    auto known = console::ReadKnownPolicy(file, options.keys);
    if (!known.ok()) {
      std::fprintf(stderr, "govconsole: %s\n", known.error().message.c_str());
      return kExitConfig;
    }
    options.policies.push_back(std::move(known).value());
  }
  options.unix_socket = unix_socket;
  if (unix_socket.empty()) {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "govconsole: --listen is HOST:PORT\n");
      return kExitConfig;
    }
    options.host = listen.substr(0, colon);
    if (options.host != "127.0.0.1" && options.host != "localhost" && options.host != "::1") {
      std::fprintf(stderr,
                   "govconsole: --listen %s: only loopback addresses (127.0.0.1, ::1); reach it remotely through an "
                   "SSH tunnel or a TLS reverse proxy\n",
                   options.host.c_str());
      return kExitConfig;
    }
    try {
      options.port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      options.port = -1;
    }
    if (options.port < 0 || options.port > 65535) {
      std::fprintf(stderr, "govconsole: --listen: bad port\n");
      return kExitConfig;
    }
  }
  if (token_file.empty()) token_file = DefaultTokenFile();
  auto token = TokenFromFile(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "govconsole: %s\n", token.error().message.c_str());
    return kExitConfig;
  }
  options.token = token.value();
  if (access(options.lineage_dir.c_str(), R_OK | X_OK) != 0) {
    std::fprintf(stderr, "govconsole: --lineage %s: %s\n", options.lineage_dir.c_str(), std::strerror(errno));
    return kExitInput;
  }
  if (index_file.empty()) {
    auto default_index = DefaultIndexFile(options.lineage_dir);
    if (!default_index.ok()) {
      std::fprintf(stderr, "govconsole: %s\n", default_index.error().message.c_str());
      return kExitConfig;
    }
    index_file = default_index.value();
  }
  options.index_path = index_file;
  int shown_percent = -1;
  options.index_progress = [&](std::uint64_t done, std::uint64_t total) {
    // Only a long first indexing says how far it is (every tenth).
    if (total < (256u << 20)) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent / 10 == shown_percent / 10) return;
    shown_percent = percent;
    std::fprintf(stderr, "govconsole: indexing %s: %d%%\n", options.lineage_dir.c_str(), percent);
  };
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  auto served = console::ServeConsole(
      options,
      [&](int port) {
        if (!options.unix_socket.empty()) {
          std::printf("govconsole: serving %s on unix:%s (token in %s)\n", options.lineage_dir.c_str(),
                      options.unix_socket.c_str(), input::DisplayName(token_file).c_str());
          std::printf(
              "the socket takes HTTP with the token, e.g. curl --unix-socket %s -H \"Authorization: Bearer "
              "$TOKEN\" http://localhost/api/overview, or a reverse proxy in front of it\n",
              options.unix_socket.c_str());
          std::fflush(stdout);
          return;
        }
        const std::string host = options.host == "::1" ? "[::1]" : options.host;
        std::printf("govconsole: serving %s on http://%s:%d/ (token in %s)\n", options.lineage_dir.c_str(),
                    host.c_str(), port, input::DisplayName(token_file).c_str());
        std::printf("open http://%s:%d/#token=%s\n", host.c_str(), port, options.token.c_str());
        std::fflush(stdout);
      },
      [] { return stop_requested != 0; });
  if (!served.ok()) {
    std::fprintf(stderr, "govconsole: %s\n", served.error().message.c_str());
    if (served.error().message.starts_with("--index ")) return kExitConfig;
    return served.error().message.starts_with("cannot listen") ? kExitListen : kExitInput;
  }
  return 0;
}

}  // namespace
}  // namespace gov

int main(int argc, char** argv) {
  try {
    return gov::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "govconsole: internal error: %s\n", e.what());
    return 70;
  }
}
