// The console's index (console/index/): every filter answers as the viewer
// data's filter does over the same log; the index follows the log as it
// grows and is made again when the log is not what it indexed; records are
// re-read and re-checked, so a wrong index row or a tampered record never
// passes for the log.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "console/index/log_records.h"
#include "console/index/run_index.h"
#include "console/viewer/proof_viewer.h"
#include "console/viewer/query.h"
#include "runtime/lineage/report_json.h"
#include "runtime/lineage/verify.h"
#include "tests/console/viewer_log.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

std::unique_ptr<RunIndex> OpenIndex(const std::string& path) {
  auto index = RunIndex::Open(path);
  INFO((index.ok() ? "" : index.error().message));
  REQUIRE(index.ok());
  return std::move(index).value();
}

// The runs of `log` matching `filter` by the viewer data (govverify list), newest first.
std::vector<std::string> ByViewer(const ViewerLog& log, const RunFilter& filter) {
  lineage::VerifyOptions options;
  options.trusted = {log.key.public_key()};
  const lineage::Report report = lineage::Verify(log.dir.path, options);
  const std::string bytes = lineage::ReadFile(log.log_path);
  ProofViewerInput input;
  input.bytes = bytes;
  input.report = lineage::ReportToJson(report);
  const Json data = ProofViewerData(input);
  std::vector<std::string> ids;
  for (auto run = data["runs"].rbegin(); run != data["runs"].rend(); ++run) {
    if (Matches(*run, filter)) ids.push_back((*run)["id"]);
  }
  return ids;
}

std::vector<std::string> ByIndex(RunIndex& index, const RunFilter& filter) {
  auto found = index.Find(filter, 0, 1000);
  REQUIRE(found.ok());
  std::vector<std::string> ids;
  for (const RunRef& ref : found.value().runs) ids.push_back(ref.id);
  CHECK(found.value().total == ids.size());
  return ids;
}

void Sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &message);
  INFO((message != nullptr ? message : ""));
  sqlite3_free(message);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

TEST_CASE("console index: every filter finds what the viewer data's filter finds", "[console][index]") {
  const ViewerLog log;
  const std::string path = log.dir.path + "/index.sqlite";
  auto index = OpenIndex(path);
  auto updated = index->Update(log.log_path);
  REQUIRE(updated.ok());
  CHECK(!updated.value().rebuilt);
  CHECK(updated.value().indexed_bytes == std::filesystem::file_size(log.log_path));
  std::vector<RunFilter> filters(14);
  filters[1].verdict = "deny";
  filters[2].verdict = "allow";
  filters[3].program = "cc";
  filters[4].program = "/usr/bin/make";
  filters[5].program = "/usr/bin";  // neither a whole path nor a name
  filters[6].rule = "build_tools";
  filters[7].exit_status = 1;
  filters[8].exit_status = 0;
  filters[9].text = "owned";  // inside the terminal escape argument
  filters[10].text = "-j2 ";
  filters[11].text = kNotUtf8;
  filters[12].user = lineage::SampleAuthorization(lineage::NewRunId(), "", "allow").request.user_name;
  filters[13].verdict = "allow";
  filters[13].rule = "build_tools";
  filters[13].since = 0;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    INFO("filter " << i);
    CHECK(ByIndex(*index, filters[i]) == ByViewer(log, filters[i]));
  }
  CHECK(ByIndex(*index, filters[0]).size() == 5);
  CHECK(ByIndex(*index, filters[7]) == std::vector<std::string>{log.cc});
  // Paging: newest first, offset and limit, total beyond the page.
  auto page = index->Find({}, 1, 2);
  REQUIRE(page.ok());
  CHECK(page.value().total == 5);
  REQUIRE(page.value().runs.size() == 2);
  CHECK(page.value().runs[0].id == log.curl);
  auto children = index->Children(log.shell, 10);
  REQUIRE(children.ok());
  CHECK(children.value().total == 3);
  CHECK(children.value().runs[0].id == log.make);

  auto tallies = index->Tallies();
  REQUIRE(tallies.ok());
  CHECK(tallies.value().counts["verdict"]["allow"].count == 4);
  CHECK(tallies.value().counts["verdict"]["deny"].count == 1);
  CHECK(tallies.value().counts["denied_rule"]["no_network_tools"].count == 1);
  CHECK(tallies.value().counts["outcome"]["exit 1"].count == 1);
  CHECK(tallies.value().counts["hist.exec"]["count"].count == 4);
  CHECK(tallies.value().checkpoints == 1);
}

TEST_CASE("console index: follows the log as it grows, and is made again when the log is not what it indexed",
          "[console][index]") {
  const ViewerLog log;
  const std::string path = log.dir.path + "/index.sqlite";
  {
    auto index = OpenIndex(path);
    REQUIRE(index->Update(log.log_path).ok());
  }
  // Reopened: nothing new to read.
  auto index = OpenIndex(path);
  auto again = index->Update(log.log_path);
  REQUIRE(again.ok());
  CHECK(again.value().new_records == 0);
  CHECK(!again.value().rebuilt);

  // Grows: only the new records are read.
  {
    auto opened = lineage::OpenLog(log.dir.path, log.key);
    REQUIRE(opened.ok());
    auto auth = lineage::SampleAuthorization(lineage::NewRunId(), log.shell, "deny");
    REQUIRE(opened.value()->RecordAuthorization(auth).ok());
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  auto grown = index->Update(log.log_path);
  REQUIRE(grown.ok());
  CHECK(grown.value().new_records == 2);
  CHECK(!grown.value().rebuilt);
  CHECK(ByIndex(*index, {}).size() == 6);
  RunFilter denies;
  denies.verdict = "deny";
  CHECK(ByIndex(*index, denies).size() == 2);

  // A torn last line waits for its end.
  const std::string whole = lineage::ReadFile(log.log_path);
  lineage::WriteFile(log.log_path, whole + "{\"partial");
  auto torn = index->Update(log.log_path);
  REQUIRE(torn.ok());
  CHECK(torn.value().new_records == 0);

  // Truncated below what was indexed: made again.
  lineage::WriteFile(log.log_path, whole.substr(0, whole.rfind('\n', whole.size() - 2) + 1));
  auto truncated = index->Update(log.log_path);
  REQUIRE(truncated.ok());
  CHECK(truncated.value().rebuilt);

  // Its last indexed record rewritten in place (same size): made again.
  std::string rewritten = lineage::ReadFile(log.log_path);
  const std::size_t last = rewritten.rfind('\n', rewritten.size() - 2) + 1;
  rewritten[rewritten.find("\"seq\":", last) + 6] ^= 1;
  lineage::WriteFile(log.log_path, rewritten);
  auto changed = index->Update(log.log_path);
  REQUIRE(changed.ok());
  CHECK(changed.value().rebuilt);

  // Another log in its place: made again, of the other log.
  const ViewerLog other;
  std::filesystem::copy_file(other.log_path, log.log_path, std::filesystem::copy_options::overwrite_existing);
  auto replaced = index->Update(log.log_path);
  REQUIRE(replaced.ok());
  CHECK(replaced.value().rebuilt);
  CHECK(ByIndex(*index, {}).front() == other.hostile);
}

TEST_CASE("console index: a line longer than a read chunk, and lines that are no record, are counted and passed",
          "[console][index]") {
  const ViewerLog log;
  const std::string whole = lineage::ReadFile(log.log_path);
  // 40 MiB of garbage (longer than the 32 MiB the index reads at a time), then a line of another log.
  lineage::WriteFile(log.log_path, whole + std::string(40u << 20, 'x') + "\n" + "{\"not\":\"a head\"}\n");
  auto index = OpenIndex(log.dir.path + "/index.sqlite");
  auto updated = index->Update(log.log_path);
  REQUIRE(updated.ok());
  CHECK(updated.value().indexed_bytes == std::filesystem::file_size(log.log_path));
  CHECK(ByIndex(*index, {}).size() == 5);
  auto tallies = index->Tallies();
  REQUIRE(tallies.ok());
  CHECK(tallies.value().unreadable == 2);
}

TEST_CASE("console index: a damaged or foreign index file is made again, a link or another user's file is refused",
          "[console][index]") {
  const ViewerLog log;
  const std::string path = log.dir.path + "/index.sqlite";
  lineage::WriteFile(path, std::string(8192, 'x'));
  {
    auto index = OpenIndex(path);
    REQUIRE(index->Update(log.log_path).ok());
    CHECK(ByIndex(*index, {}).size() == 5);
  }
  // An index of another format version.
  Sql(path, "UPDATE meta SET value = 'gov-console-index-0' WHERE key = 'format'");
  {
    auto index = OpenIndex(path);
    auto update = index->Update(log.log_path);
    REQUIRE(update.ok());
    CHECK(update.value().new_records > 0);  // read from the start again
    CHECK(ByIndex(*index, {}).size() == 5);
  }
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string link = log.dir.path + "/link.sqlite";
  REQUIRE(symlink(path.c_str(), link.c_str()) == 0);
  auto linked = RunIndex::Open(link);
  REQUIRE(!linked.ok());
  CHECK(linked.error().message.find("not a regular file") != std::string::npos);
  if (geteuid() == 0) {
    const std::string foreign = log.dir.path + "/foreign.sqlite";
    lineage::WriteFile(foreign, "");
    REQUIRE(chown(foreign.c_str(), 65534, 65534) == 0);
    auto refused = RunIndex::Open(foreign);
    REQUIRE(!refused.ok());
    CHECK(refused.error().message.find("another user") != std::string::npos);
  }
}

TEST_CASE("console index: records are re-read and checked, a wrong row or a tampered record never passes",
          "[console][index]") {
  const ViewerLog log;
  const std::string path = log.dir.path + "/index.sqlite";
  auto index = OpenIndex(path);
  REQUIRE(index->Update(log.log_path).ok());
  const std::vector<crypto::PublicKey> keys = {log.key.public_key()};
  auto records = LogRecords::Open(log.dir.path, index->log_id(), keys);
  REQUIRE(records.ok());
  CHECK(records.value()->tree_size() == 15);
  auto curl = index->Run(log.curl);
  REQUIRE(curl.ok());
  REQUIRE(curl.value());
  const RunRef ref = *curl.value();
  auto read = records.value()->Read(ref.authorization, lineage::RecordType::kAuthorization, log.curl);
  REQUIRE(read.ok());
  CHECK(read.value().certified);
  CHECK(read.value().problem.empty());
  CHECK(read.value().body["rules"][0]["name"] == "no_network_tools");

  // The index pointing at another run's record, at the wrong type, or off a line start.
  auto make = index->Run(log.make);
  REQUIRE(make.ok());
  CHECK(!records.value()->Read(make.value()->authorization, lineage::RecordType::kAuthorization, log.curl).ok());
  CHECK(!records.value()->Read(make.value()->start, lineage::RecordType::kEnd, log.make).ok());
  RecordRef shifted = ref.authorization;
  shifted.offset += 1;
  CHECK(!records.value()->Read(shifted, lineage::RecordType::kAuthorization, log.curl).ok());
  RecordRef beyond = ref.authorization;
  beyond.offset = std::filesystem::file_size(log.log_path);
  CHECK(!records.value()->Read(beyond, lineage::RecordType::kAuthorization, log.curl).ok());

  // No trusted key for the note: readable, certified by nothing.
  auto untrusted = LogRecords::Open(log.dir.path, index->log_id(), {lineage::TestKey(99).public_key()});
  REQUIRE(untrusted.ok());
  CHECK(untrusted.value()->tree_size() == 0);
  CHECK(!untrusted.value()->note_problem().empty());
  auto unvouched = untrusted.value()->Read(ref.authorization, lineage::RecordType::kAuthorization, log.curl);
  REQUIRE(unvouched.ok());
  CHECK(!unvouched.value().certified);

  // A tampered BODY: flagged, never certified.
  std::string bytes = lineage::ReadFile(log.log_path);
  bytes[bytes.find("curl can send")] = 'C';
  lineage::WriteFile(log.log_path, bytes);
  auto reopened = LogRecords::Open(log.dir.path, index->log_id(), keys);
  REQUIRE(reopened.ok());
  auto tampered = reopened.value()->Read(ref.authorization, lineage::RecordType::kAuthorization, log.curl);
  REQUIRE(tampered.ok());
  CHECK(!tampered.value().certified);
  CHECK(tampered.value().problem.find("BODY is not the one its HEAD names") != std::string::npos);

  // A record rewritten with a consistent HEAD (its body digest updated): not in the signed tree.
  const std::size_t line_start = ref.authorization.offset;
  const std::string line = bytes.substr(line_start, ref.authorization.length);
  const lineage::SplitLine split = lineage::Split(line);
  auto head = lineage::ParseHead(split.head);
  REQUIRE(head.ok());
  lineage::Head forged = head.value();
  const std::string digest = lineage::DigestOf(split.body);
  forged.body = digest;
  const std::string forged_line = lineage::HeadText(forged) + "\t" + std::string(split.body);
  REQUIRE(forged_line.size() == line.size());
  bytes.replace(line_start, line.size(), forged_line);
  lineage::WriteFile(log.log_path, bytes);
  auto again = LogRecords::Open(log.dir.path, index->log_id(), keys);
  REQUIRE(again.ok());
  auto unproven = again.value()->Read(ref.authorization, lineage::RecordType::kAuthorization, log.curl);
  REQUIRE(unproven.ok());
  CHECK(!unproven.value().certified);
  CHECK(unproven.value().problem.find("not in the tree of the signed checkpoint note") != std::string::npos);
}

}  // namespace
}  // namespace gov::console
