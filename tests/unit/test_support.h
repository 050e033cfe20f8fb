// Helpers shared by tests that run the real govc binary: run a shell command
// from the repository root and capture its status, stdout and stderr.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "runtime/support/error_or.h"

namespace gov::testing {

// Expects `result` to fail with a message containing `part`.
template <typename T>
void ExpectError(const ErrorOr<T>& result, std::string_view part) {
  INFO("expected an error containing: " << part);
  REQUIRE_FALSE(result.ok());
  INFO("actual error: " << result.error().message);
  CHECK(result.error().message.find(part) != std::string::npos);
}

inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A fresh directory under the system temp directory, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gov-test-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to `name` (folders made as needed) and returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

struct Outcome {
  int status;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `command` with the repo root as working directory and NO_COLOR=1.
inline Outcome RunCommand(const std::string& command) {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path err =
      fs::temp_directory_path() / ("gov_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".err");
  std::string full = "cd '" GOV_SOURCE_DIR "' && NO_COLOR=1 " + command + " 2>'" + err.string() + "'";
  FILE* pipe = ::popen(full.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  int raw = ::pclose(pipe);
  Outcome outcome{WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), out, ReadAll(err)};
  fs::remove(err);
  return outcome;
}

}  // namespace gov::testing
