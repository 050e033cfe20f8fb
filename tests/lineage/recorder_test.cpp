// The log writer: records, chain fields, checkpoints and the env secrets rule.
#include <catch2/catch.hpp>

#include "runtime/lineage/verify.h"
#include "tests/lineage/helpers.h"

namespace gov::lineage {
namespace {

TEST_CASE("OpenLog writes a header, records and a checkpoint", "[lineage]") {
  TempDir dir;
  auto key = TestKey(7);
  auto recorder = OpenLog(dir.path, key);
  REQUIRE(recorder.ok());
  Authorization auth = SampleAuthorization(NewRunId(), "");
  REQUIRE(recorder.value()->RecordAuthorization(auth).ok());
  REQUIRE(recorder.value()->RecordStart(Start{auth.run_id, 42, 1, {}}).ok());
  End end;
  end.run_id = auth.run_id;
  end.exited = true;
  REQUIRE(recorder.value()->RecordEnd(end).ok());
  REQUIRE(recorder.value()->Checkpoint().ok());
  std::vector<std::string> lines = Lines(ReadFile(dir.path + "/lineage.log"));
  REQUIRE(lines.size() == 5);
  std::string prev = kGenesisPrev;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    SplitLine split = Split(lines[i]);
    REQUIRE(split.has_body);
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    CHECK(head.value().seq == i);
    CHECK(head.value().prev == prev);
    CHECK(head.value().body == DigestOf(split.body));
    prev = DigestOf(split.head);
  }
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

TEST_CASE("a parent run recorded in another log is reported, never authorized later", "[lineage]") {
  TempDir dir;
  auto key = TestKey(7);
  auto recorder = OpenLog(dir.path, key);
  REQUIRE(recorder.ok());
  const std::string outside = NewRunId();  // a govrun that records into another lineage_dir
  Authorization child = SampleAuthorization(NewRunId(), outside, "deny");
  REQUIRE(recorder.value()->RecordAuthorization(child).ok());
  REQUIRE(recorder.value()->Checkpoint().ok());
  VerifyOptions options;
  options.trusted = {key.public_key()};
  Report report = Verify(dir.path, options);
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
  CHECK(report.external_parents == 1);
  // The "outside" run then appearing in this log, after its child, is not a real history.
  Authorization late = SampleAuthorization(outside, "", "deny");
  REQUIRE(recorder.value()->RecordAuthorization(late).ok());
  REQUIRE(recorder.value()->Checkpoint().ok());
  Report after = Verify(dir.path, options);
  CHECK(after.failure == Failure::kChain);
  CHECK(after.message.find("after a child") != std::string::npos);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

TEST_CASE("deferred authorizations: each ticket is covered by a shared sync, in any await order", "[lineage]") {
  TempDir dir;
  auto key = TestKey(7);
  auto recorder = OpenLog(dir.path, key);
  REQUIRE(recorder.ok());
  Recorder& log = *recorder.value();
  std::vector<std::uint64_t> tickets;
  for (int i = 0; i < 50; ++i) {
    auto ticket = log.RecordAuthorizationDeferred(SampleAuthorization(NewRunId(), ""));
    REQUIRE(ticket.ok());
    if (!tickets.empty()) CHECK(ticket.value() > tickets.back());
    tickets.push_back(ticket.value());
    if (i % 7 == 3) REQUIRE(log.AwaitDurable(tickets[static_cast<std::size_t>(i / 2)]).ok());
  }
  // A ticket is the log's size just after its record: the record is in the file.
  CHECK(tickets.back() == ReadFile(dir.path + "/lineage.log").size());
  for (auto it = tickets.rbegin(); it != tickets.rend(); ++it) REQUIRE(log.AwaitDurable(*it).ok());
  // Synchronous records and checkpoints interleave with deferred ones.
  REQUIRE(log.RecordAuthorization(SampleAuthorization(NewRunId(), "")).ok());
  auto last = log.RecordAuthorizationDeferred(SampleAuthorization(NewRunId(), ""));
  REQUIRE(last.ok());
  REQUIRE(log.Checkpoint().ok());
  REQUIRE(log.AwaitDurable(last.value()).ok());
  CHECK(Lines(ReadFile(dir.path + "/lineage.log")).size() == 1 + 50 + 2 + 1);
  Report report = Verify(dir.path, Trusting(key));
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
}

TEST_CASE("appended-only authorizations become durable together with one sync in the caller's thread",
          "[lineage]") {
  TempDir dir;
  auto key = TestKey(8);
  auto recorder = OpenLog(dir.path, key);
  REQUIRE(recorder.ok());
  Recorder& log = *recorder.value();
  auto deferred = log.RecordAuthorizationDeferred(SampleAuthorization(NewRunId(), ""));
  REQUIRE(deferred.ok());
  for (int i = 0; i < 3; ++i) REQUIRE(log.AppendAuthorizationOnly(SampleAuthorization(NewRunId(), "")).ok());
  REQUIRE(log.MakeDurableNow().ok());
  // The sync covered the deferred record too, and the log's end.
  REQUIRE(log.AwaitDurable(deferred.value()).ok());
  REQUIRE(log.AwaitDurable(ReadFile(dir.path + "/lineage.log").size()).ok());
  REQUIRE(log.Checkpoint().ok());
  CHECK(Lines(ReadFile(dir.path + "/lineage.log")).size() == 1 + 4 + 1);
  Report report = Verify(dir.path, Trusting(key));
  INFO(report.message);
  CHECK(report.failure == Failure::kNone);
}

}  // namespace
}  // namespace gov::lineage

namespace gov::lineage {
namespace {

TEST_CASE("IsId accepts exactly 32 lower-case hex digits, whatever byte is wrong where", "[lineage]") {
  const std::string good = "0123456789abcdef0123456789abcdef";
  REQUIRE(IsId(good));
  CHECK_FALSE(IsId(good.substr(1)));
  CHECK_FALSE(IsId(good + "0"));
  // Every byte value at every position: the vectorized check agrees with the definition.
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string id = good;
      id[at] = static_cast<char>(byte);
      const bool hex = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f');
      INFO("position " << at << ", byte " << byte);
      REQUIRE(IsId(id) == hex);
    }
  }
}

}  // namespace
}  // namespace gov::lineage
