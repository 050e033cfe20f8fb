// Shared helpers of the lineage tests: temporary directories, keys, sample
// records, file I/O and running programs.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/recorder.h"

namespace gov::lineage {

// A fresh directory under $TMPDIR, removed with its contents.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gov-lineage-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline crypto::PrivateKey TestKey(std::uint8_t fill) {
  std::array<std::uint8_t, crypto::kEd25519SeedSize> seed{};
  seed.fill(fill);
  auto key = crypto::PrivateKey::FromSeed(seed);
  REQUIRE(key.ok());
  return key.value();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Lines of `text` without their LF (a final fragment is kept).
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t lf = text.find('\n', pos);
    if (lf == std::string::npos) {
      out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, lf - pos));
    pos = lf + 1;
  }
  return out;
}

inline Authorization SampleAuthorization(const std::string& run_id, const std::string& parent,
                                         const std::string& verdict = "allow") {
  Authorization auth;
  auth.run_id = run_id;
  auth.parent_run_id = parent;
  auth.request.program_path = "/usr/bin/git";
  auth.request.program_sha256 = "sha256:" + std::string(64, 'a');
  auth.request.args = {"status"};
  auth.request.env = {{"HOME", "/home/agent"}, {"API_TOKEN", "s3cr3t-value-never-in-clear"}};
  if (!parent.empty()) {
    auth.request.has_parent = true;
    auth.request.parent_run_id = parent;
    auth.request.parent_depth = 0;
    auth.request.parent_program = "/bin/sh";
  }
  auth.policy_digest = "sha256:" + std::string(64, 'b');
  auth.policy_name = "test";
  auth.policy_version = "1";
  auth.engine = "IR interpreter";
  auth.verdict = verdict;
  auth.execute = verdict != "deny";
  auth.rules.push_back(RecordedRule{0, "git", verdict, "read-only git"});
  return auth;
}

}  // namespace gov::lineage
