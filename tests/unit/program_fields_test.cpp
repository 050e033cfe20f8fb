// One meaning of "the program" everywhere (issue 13, finding 14): the request
// a policy's test case describes and the request govrun builds for the same
// command on this machine agree on the program fields. For every test case of
// every .gov file in the repository, the case's command is resolved exactly as
// govrun resolves it (exec::ResolveProgram on the case's argv0 with the
// case's PATH, then exec::FillProgramFields) and compared field by field:
// program.path, program.name, invoked.path, invoked.name, argv0, and
// program.sha256 where the case states one. A case whose program does not
// exist on this machine, or whose link goes through one of Debian's
// alternatives that this machine set to another program (awk: gawk instead
// of mawk), is skipped; the cases checked are counted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/driver/build.h"
#include "compiler/driver/driver.h"
#include "runtime/exec/program.h"
#include "runtime/request/request.h"

namespace {

using gov::request::Request;
using gov::request::RequestView;

std::string View(gov_str s) {
  return std::string(s.data == nullptr ? "" : s.data, s.size);
}

// Restores the working directory when it goes out of scope.
class CwdGuard {
 public:
  CwdGuard() : fd_(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) { REQUIRE(fd_ >= 0); }
  ~CwdGuard() {
    [[maybe_unused]] int ignored = fchdir(fd_);
    close(fd_);
  }
  CwdGuard(const CwdGuard&) = delete;
  CwdGuard& operator=(const CwdGuard&) = delete;

 private:
  int fd_;
};

// The PATH of a request as govrun sees it (its own environment, which it also
// passes on as the request's env): the last PATH entry, or unset.
std::optional<std::string> PathOf(const Request& request) {
  std::optional<std::string> path;
  for (const auto& [key, value] : request.env) {
    if (key == "PATH") path = value;
  }
  return path;
}

bool ExistsHere(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// True when a link on the way from `path` to its file is one of Debian's
// alternatives (/etc/alternatives/NAME): which program it names is the
// machine's choice, not the test case's.
bool ThroughAlternatives(std::string path) {
  for (int hop = 0; hop < 40; ++hop) {
    if (path.rfind("/etc/alternatives/", 0) == 0) return true;
    std::error_code error;
    const std::filesystem::path target = std::filesystem::read_symlink(path, error);
    if (error) return false;
    path = (std::filesystem::path(path).parent_path() / target).lexically_normal().string();
  }
  return false;
}

struct Tally {
  std::size_t files = 0;
  std::size_t files_with_errors = 0;
  std::size_t cases = 0;
  std::size_t checked = 0;
  std::size_t links = 0;  // checked cases whose program is not the invoked path
  std::size_t skipped = 0;
  std::size_t alternatives = 0;  // skipped: an alternative of this machine's choosing
  std::vector<std::string> mismatches;
};

// Builds govrun's request for `want`'s command and compares the program fields.
void CheckCase(const std::string& where, const Request& want, Tally& tally) {
  const std::string invoked = want.invoked_path.empty() ? want.program_path : want.invoked_path;
  const std::string argv0 = want.argv0.empty() ? invoked : want.argv0;
  if (!ExistsHere(invoked)) {
    ++tally.skipped;
    return;
  }
  CwdGuard guard;
  if (argv0.find('/') != std::string::npos && argv0.front() != '/' && chdir(want.cwd.c_str()) != 0) {
    ++tally.skipped;  // a relative name in a working directory this machine lacks
    return;
  }
  const std::optional<std::string> path = PathOf(want);
  auto resolved = gov::exec::ResolveProgram(argv0, path.value_or(""), path.has_value());
  if (!resolved.ok()) {
    tally.mismatches.push_back(where + ": govrun cannot run it here: " + resolved.failure().message);
    return;
  }
  Request got;
  gov::exec::FillProgramFields(resolved.value(), argv0, got);
  if (got.program_path != want.program_path && ThroughAlternatives(invoked)) {
    ++tally.skipped;  // this machine's administrator chose another alternative (awk: gawk, not mawk)
    ++tally.alternatives;
    return;
  }
  ++tally.checked;
  const RequestView expected_view(want);
  const RequestView actual_view(got);
  const gov_request& e = expected_view.get();
  const gov_request& a = actual_view.get();
  if (View(e.program_path) != View(e.invoked_path)) ++tally.links;
  auto compare = [&](std::string_view field, const std::string& test, const std::string& govrun) {
    if (test != govrun) {
      tally.mismatches.push_back(where + ": " + std::string(field) + ": the test says `" + test + "`, govrun `" +
                                 govrun + "`");
    }
  };
  compare("program.path", View(e.program_path), View(a.program_path));
  compare("program.name", View(e.program_name), View(a.program_name));
  compare("invoked.path", View(e.invoked_path), View(a.invoked_path));
  compare("invoked.name", View(e.invoked_name), View(a.invoked_name));
  compare("argv0", View(e.argv0), View(a.argv0));
  if (want.program_sha256 != Request{}.program_sha256) {
    compare("program.sha256", View(e.program_sha256), View(a.program_sha256));
  }
}

TEST_CASE("differential: govrun's program fields equal every test case's", "[differential][program]") {
  ::setenv("GOV_STDLIB", GOV_SOURCE_DIR "/stdlib", 1);
  auto files =
      gov::driver::ExpandPaths({GOV_SOURCE_DIR "/examples", GOV_SOURCE_DIR "/stdlib", GOV_SOURCE_DIR "/tests"});
  REQUIRE(files.ok());
  Tally tally;
  for (const std::string& file : files.value()) {
    std::optional<gov::ErrorOr<gov::driver::LoweredPolicy>> lowered;
    gov::driver::RunWithLargeStack([&] { lowered.emplace(gov::driver::LowerPolicy(file)); });
    if (!lowered->ok() || !lowered->value().ok()) {
      ++tally.files_with_errors;  // the golden tests of diagnostics
      continue;
    }
    const gov::driver::LoweredPolicy& policy = lowered->value();
    ++tally.files;
    for (const gov::lower::LoweredTest& test : policy.tests) {
      ++tally.cases;
      const gov::source::SourceFile& source = policy.compilation->sources.file(test.span.file);
      const gov::source::LineColumn at = source.Locate(test.span.begin);
      CheckCase(source.path() + ":" + std::to_string(at.line), test.request, tally);
    }
  }
  std::string report;
  for (const std::string& mismatch : tally.mismatches) report += mismatch + "\n";
  INFO(report);
  WARN("checked " << tally.checked << " of " << tally.cases << " test cases in " << tally.files
                  << " policy files against govrun's request (" << tally.links << " of them a link, " << tally.skipped
                  << " skipped: program not on this machine or another alternative chosen (" << tally.alternatives
                  << "); " << tally.files_with_errors << " files with errors not lowered)");
  CHECK(tally.mismatches.empty());
  // Enough of the repository's cases are checked here for the comparison to
  // mean something, links (npm, /bin/sh, python3, reboot, ...) among them.
  CHECK(tally.checked >= 300);
  CHECK(tally.links >= 40);
}

}  // namespace
