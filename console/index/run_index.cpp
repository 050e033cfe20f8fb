// The console's SQLite index of a lineage log (run_index.h).
#include "console/index/run_index.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "runtime/crypto/sha256.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/support/display.h"
#include "runtime/support/histogram.h"
#include "runtime/support/json_depth.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

// Bump when the schema or what a column means changes: an index of another
// format is made again.
constexpr const char* kIndexFormat = "gov-console-index-4";
// The log is read and committed in chunks of this many bytes.
constexpr std::size_t kChunkBytes = 32u << 20;
// Threads that read a chunk's lines (at most; fewer on fewer cores).
constexpr std::size_t kReaders = 4;

// An SQLite failure inside this file; public methods turn it into an Error.
struct SqlFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    throw SqlFailure(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

void Exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw SqlFailure(text);
  }
}

// One prepared statement; Bind* take 1-based positions.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    Check(db, sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr), "prepare");
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Int(int at, std::int64_t value) {
    Check(db_, sqlite3_bind_int64(statement_, at, value), "bind");
    return *this;
  }
  Statement& Real(int at, double value) {
    Check(db_, sqlite3_bind_double(statement_, at, value), "bind");
    return *this;
  }
  Statement& Text(int at, std::string_view value) {
    Check(db_, sqlite3_bind_text(statement_, at, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT),
          "bind");
    return *this;
  }
  // Bytes compared as bytes (program paths, user and rule names need not be UTF-8).
  Statement& Blob(int at, std::string_view value) {
    Check(db_, sqlite3_bind_blob(statement_, at, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT),
          "bind");
    return *this;
  }
  Statement& Null(int at) {
    Check(db_, sqlite3_bind_null(statement_, at), "bind");
    return *this;
  }
  // True while there is a row.
  bool Step() {
    const int rc = sqlite3_step(statement_);
    Check(db_, rc, "step");
    return rc == SQLITE_ROW;
  }
  void Run() {
    Step();
    Reset();
  }
  void Reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  std::int64_t ColumnInt(int at) const { return sqlite3_column_int64(statement_, at); }
  double ColumnReal(int at) const { return sqlite3_column_double(statement_, at); }
  bool ColumnNull(int at) const { return sqlite3_column_type(statement_, at) == SQLITE_NULL; }
  std::string ColumnText(int at) const {
    const auto* text = static_cast<const char*>(sqlite3_column_blob(statement_, at));
    return text == nullptr ? std::string()
                           : std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, at)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

// Runs `body`, turning an SQLite failure into an Error.
template <typename F>
auto Guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SqlFailure& failure) {
    return Error{std::string("the console's index: ") + failure.what()};
  }
}

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE runs (
  n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, parent TEXT NOT NULL,
  time INTEGER, verdict TEXT NOT NULL, program BLOB, program_name BLOB, user BLOB, exit_status INTEGER,
  a_seq INTEGER NOT NULL, a_off INTEGER NOT NULL, a_len INTEGER NOT NULL,
  s_seq INTEGER, s_off INTEGER, s_len INTEGER,
  e_seq INTEGER, e_off INTEGER, e_len INTEGER,
  rules BLOB NOT NULL, line BLOB NOT NULL);
CREATE INDEX runs_parent ON runs (parent, n);
CREATE TABLE tallies (kind TEXT NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL, total REAL NOT NULL,
  PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE labels (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE minutes (minute INTEGER NOT NULL, verdict TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (minute, verdict)) WITHOUT ROWID;
)sql";

std::string Shown(const Json& value) {
  return EscapeForDisplay(BytesOf(value));
}

// A run as one chunk of the log found it, until the chunk is committed.
struct PendingRun {
  std::uint64_t n = 0;
  std::string id, parent, verdict;
  std::optional<std::int64_t> time;
  std::string program, program_name, user, text;
  std::vector<std::string> rules;
  std::optional<int> exit_status;
  RecordRef authorization, start, end;
  bool inserted = false;  // committed before: start and end are updates
};

// A deciding rule as an authorization names it.
struct RuleFacts {
  std::string name;  // raw bytes
  std::string verdict;
  std::string reason;  // shown (escaped)
  std::optional<std::uint64_t> id;
};

// What the index takes from one line of the log. Read without the index's
// state, so the lines of a chunk are read by several threads.
struct LineFacts {
  enum class Kind { kUnreadable, kSkipped, kHeader, kAuthorization, kStart, kEnd, kCheckpoint };
  Kind kind = Kind::kUnreadable;
  RecordRef ref;
  std::string_view log, run, parent, verdict, policy;  // from the HEAD (views into the chunk)
  std::string_view checkpoint_body;
  std::int64_t created_unix_ns = 0;
  // Authorization.
  std::optional<std::int64_t> time;
  std::string program, user, text, ask_answer = "-";
  std::vector<RuleFacts> rules;
  std::string policy_digest, policy_name, policy_version;
  Json engine;
  // Start.
  std::optional<std::uint64_t> decision_ns, exec_latency_ns;
  // End.
  bool exited = false;
  int exit_status = 0, signal = 0;
  std::string killed_by;
  std::int64_t duration_ns = 0;
};

// Which members of a BODY the index reads: `depth` 1 for the body's own
// members, `top` the body's member being read (for deeper ones).
using KeepMember = bool (*)(std::size_t depth, const std::string& top, const std::string& key);

// Builds the JSON of a BODY with only the members `keep` admits; the others
// are read past without being built (most of a body is what the index does
// not need: the environment, obligations, hashes).
class KeptDom final : public nlohmann::json_sax<Json> {
 public:
  explicit KeptDom(KeepMember keep) : keep_(keep) {}
  Json& result() { return root_; }

  bool null() override { return Add(nullptr); }
  bool boolean(bool value) override { return Add(value); }
  bool number_integer(number_integer_t value) override { return Add(value); }
  bool number_unsigned(number_unsigned_t value) override { return Add(value); }
  bool number_float(number_float_t value, const string_t&) override { return Add(value); }
  bool string(string_t& value) override { return Add(std::move(value)); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return Open(Json::object()); }
  bool start_array(std::size_t) override { return Open(Json::array()); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& key) override {
    if (skipping_ > 0) return true;
    if (stack_.size() == 1) top_ = key;
    if (!keep_(stack_.size(), top_, key)) {
      skip_next_ = true;
      return true;
    }
    key_ = std::move(key);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  // Where the next value goes; null when it is skipped.
  Json* Slot() {
    if (skipping_ > 0) return nullptr;
    if (skip_next_) {
      skip_next_ = false;
      return nullptr;
    }
    if (stack_.empty()) return &root_;
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(nullptr);
      return &parent.back();
    }
    return &parent[key_];
  }
  template <typename T>
  bool Add(T&& value) {
    if (Json* slot = Slot()) *slot = std::forward<T>(value);
    return true;
  }
  bool Open(Json empty) {
    if (skipping_ > 0) {
      ++skipping_;
      return true;
    }
    Json* slot = Slot();
    if (slot == nullptr) {
      skipping_ = 1;
      return true;
    }
    *slot = std::move(empty);
    stack_.push_back(slot);
    return true;
  }
  bool Close() {
    if (skipping_ > 0) {
      --skipping_;
    } else if (!stack_.empty()) {
      stack_.pop_back();
    }
    return true;
  }

  KeepMember keep_;
  Json root_;
  std::vector<Json*> stack_;
  std::string key_, top_;
  bool skip_next_ = false;
  std::size_t skipping_ = 0;  // depth inside a skipped container
};

// A record's BODY with the members `keep` admits; null when it does not
// parse or nests too deep.
Json ParseBody(std::string_view text, KeepMember keep) {
  if (JsonNestsDeeperThan(text, 32)) return nullptr;
  KeptDom dom(keep);
  if (!Json::sax_parse(text, &dom, nlohmann::detail::input_format_t::json, true, false)) return nullptr;
  return std::move(dom.result());
}

// An authorization: the request's program, argv0, args, user and time, the
// rules, the policy, the engine and the ask's answer.
bool KeepOfAuthorization(std::size_t depth, const std::string& top, const std::string& key) {
  if (depth == 1) {
    return key == "request" || key == "rules" || key == "policy" || key == "engine" || key == "ask_answer";
  }
  if (depth == 2 && top == "request") {
    return key == "program" || key == "argv0" || key == "args" || key == "user" || key == "time";
  }
  return true;
}

// A header, start or end: its own scalar members (not the limits).
bool KeepOfOthers(std::size_t depth, const std::string&, const std::string& key) {
  return depth > 1 || key != "limits";
}

LineFacts ReadLine(std::string_view text, std::uint64_t offset) {
  LineFacts facts;
  facts.ref = {0, offset, text.size()};
  const lineage::SplitLine split = lineage::Split(text);
  auto parsed_head = lineage::ParseHead(split.head);
  if (!parsed_head.ok()) return facts;
  const lineage::Head& head = parsed_head.value();
  facts.ref.seq = head.seq;
  facts.log = head.log;
  facts.run = head.run;
  facts.parent = head.parent;
  facts.verdict = head.verdict;
  facts.policy = head.policy;
  if (!split.has_body || head.type == lineage::RecordType::kRecovery) {
    facts.kind = LineFacts::Kind::kSkipped;  // a withheld body (bundles only), a recovery record
    return facts;
  }
  if (head.type == lineage::RecordType::kCheckpoint) {
    facts.kind = LineFacts::Kind::kCheckpoint;
    facts.checkpoint_body = split.body;
    return facts;
  }
  Json body =
      ParseBody(split.body, head.type == lineage::RecordType::kAuthorization ? &KeepOfAuthorization : &KeepOfOthers);
  if (!body.is_object()) return facts;
  switch (head.type) {
    case lineage::RecordType::kHeader:
      facts.kind = LineFacts::Kind::kHeader;
      facts.created_unix_ns = body.value("created_unix_ns", std::int64_t{0});
      break;
    case lineage::RecordType::kAuthorization: {
      facts.kind = LineFacts::Kind::kAuthorization;
      const Json& request = body.value("request", Json::object());
      facts.time = RunTime(body);
      facts.program = BytesOf(request.value("program", Json()));
      facts.user = BytesOf(request.value("user", Json::object()).value("name", Json()));
      facts.text = SearchText(body);
      for (const auto& rule : body.value("rules", Json::array())) {
        RuleFacts named{BytesOf(rule.value("name", Json())), rule.value("verdict", ""),
                        Shown(rule.value("reason", Json())), std::nullopt};
        if (rule.contains("id") && rule["id"].is_number_unsigned()) named.id = rule["id"].get<std::uint64_t>();
        facts.rules.push_back(std::move(named));
      }
      if (const Json& answer = body.value("ask_answer", Json("-")); answer.is_string()) facts.ask_answer = answer;
      const Json& policy = body.value("policy", Json::object());
      facts.policy_digest = policy.value("digest", std::string(head.policy));
      facts.policy_name = Shown(policy.value("name", Json()));
      facts.policy_version = Shown(policy.value("version", Json()));
      facts.engine = body.value("engine", Json(""));
      break;
    }
    case lineage::RecordType::kStart: {
      facts.kind = LineFacts::Kind::kStart;
      const Json& decided = body.value("decision_ns", Json());
      const Json& held = body.value("exec_latency_ns", Json());
      if (decided.is_number_unsigned() && held.is_number_unsigned()) {
        facts.decision_ns = decided.get<std::uint64_t>();
        facts.exec_latency_ns = held.get<std::uint64_t>();
      }
      break;
    }
    case lineage::RecordType::kEnd:
      facts.kind = LineFacts::Kind::kEnd;
      facts.exited = body.value("exited", false);
      facts.exit_status = body.value("exit_status", facts.exited ? -1 : 0);
      facts.signal = body.value("signal", 0);
      facts.killed_by = body.value("killed_by", std::string());
      facts.duration_ns = body.value("duration_ns", std::int64_t{0});
      break;
    default:
      facts.kind = LineFacts::Kind::kSkipped;
  }
  return facts;
}

// What one chunk adds to the index, written in one transaction.
class Batch {
 public:
  explicit Batch(std::uint64_t next_n) : next_n_(next_n) {}

  void Count(const std::string& kind, const std::string& key, double total = 0) {
    Tally& tally = tallies_[{kind, key}];
    ++tally.count;
    tally.total += total;
  }
  bool Labelled(const std::string& kind, const std::string& key) const { return labels_.contains({kind, key}); }
  void Label(const std::string& kind, const std::string& key, const std::string& value) {
    labels_.try_emplace({kind, key}, value);
  }
  void Observe(const char* kind, double seconds, const std::vector<double>& bounds) {
    auto [found, added] = histograms_.try_emplace(kind, bounds);
    found->second.Observe(seconds);
  }

  void Authorization(LineFacts& facts) {
    std::string id(facts.run);
    if (by_id_.contains(id)) return;  // a second authorization: the verifier reports it
    PendingRun run;
    run.n = next_n_++;
    run.id = std::move(id);
    run.parent = std::string(facts.parent);
    run.verdict = std::string(facts.verdict);
    run.authorization = facts.ref;
    run.time = facts.time;
    run.program = std::move(facts.program);
    run.program_name = run.program.substr(run.program.rfind('/') + 1);
    run.user = std::move(facts.user);
    run.text = std::move(facts.text);
    for (const RuleFacts& rule : facts.rules) run.rules.push_back(rule.name);

    Count("verdict", run.verdict);
    if (run.time) ++minutes_[{*run.time / 60 * 60, run.verdict}];
    if (run.verdict == "deny") {
      Count("denied_program", EscapeForDisplay(run.program));
      for (const RuleFacts& rule : facts.rules) {
        if (rule.verdict == "deny") Count("denied_rule", EscapeForDisplay(rule.name));
      }
    }
    if (run.verdict == "ask") Count("ask_outcome", facts.ask_answer);
    Count("decision", KeyOf(run.verdict, run.rules.empty() ? "" : run.rules[0]));
    const std::string& digest = facts.policy_digest;
    Count("policy", digest);
    if (!Labelled("policy", digest)) {
      Label("policy", digest,
            Json{{"name", facts.policy_name}, {"version", facts.policy_version}, {"engine", facts.engine}}.dump(
                -1, ' ', false, Json::error_handler_t::replace));
    }
    for (const RuleFacts& rule : facts.rules) {
      const std::string key = KeyOf(digest, rule.name, true);
      Count("rule", key);
      if (!Labelled("rule", key)) {
        Label("rule", key,
              Json{{"verdict", rule.verdict}, {"reason", rule.reason}}.dump(-1, ' ', false,
                                                                            Json::error_handler_t::replace));
      }
      if (rule.id) Count("rule_id", "[\"" + digest + "\"," + std::to_string(*rule.id) + "]");
    }
    by_id_.emplace(run.id, runs_.size());
    runs_.push_back(std::move(run));
  }

  // The JSON array [first, second] (second shown escaped when `shown`),
  // made once per distinct pair: tally keys repeat for most runs.
  const std::string& KeyOf(const std::string& first, const std::string& second, bool shown = false) {
    std::string raw = first;
    raw += '\0';
    raw += second;
    raw += shown ? '1' : '0';
    auto [found, added] = keys_.try_emplace(std::move(raw));
    if (added) {
      found->second = Json::array({first, shown ? EscapeForDisplay(second) : second})
                          .dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    return found->second;
  }

  // The run `id` for a start or end record: in this chunk, or committed
  // (looked up with `find`); null when it was never authorized.
  PendingRun* RunOf(std::string_view id, Statement& find) {
    const std::string key(id);
    if (auto found = by_id_.find(key); found != by_id_.end()) return &runs_[found->second];
    find.Text(1, key);
    if (!find.Step()) {
      find.Reset();
      return nullptr;
    }
    PendingRun run;
    run.n = static_cast<std::uint64_t>(find.ColumnInt(0));
    run.id = key;
    run.inserted = true;
    find.Reset();
    by_id_.emplace(key, runs_.size());
    runs_.push_back(std::move(run));
    return &runs_.back();
  }

  void Start(PendingRun& run, const LineFacts& facts) {
    run.start = facts.ref;
    if (facts.decision_ns && facts.exec_latency_ns) {
      Observe("hist.decision", static_cast<double>(*facts.decision_ns) / 1e9, Histogram::LatencyBounds());
      Observe("hist.exec", static_cast<double>(*facts.exec_latency_ns) / 1e9, Histogram::LatencyBounds());
    }
  }

  void End(PendingRun& run, const LineFacts& facts) {
    run.end = facts.ref;
    if (facts.exited) run.exit_status = facts.exit_status;
    if (!facts.killed_by.empty()) {
      Count("outcome", "killed (" + facts.killed_by + ")");
    } else if (facts.exited) {
      Count("outcome", "exit " + std::to_string(facts.exit_status));
    } else {
      Count("outcome", "signal " + std::to_string(facts.signal));
    }
    Count("ended", facts.killed_by.empty() ? (facts.exited ? "exited" : "signaled") : facts.killed_by);
    Observe("hist.duration", static_cast<double>(facts.duration_ns) / 1e9, RunIndex::DurationBounds());
  }

  void Checkpoint(std::uint64_t seq, std::string_view body) {
    ++checkpoints_;
    last_checkpoint_head_seq_ = seq;
    last_checkpoint_body_ = std::string(body);
  }

  void Unreadable() { ++unreadable_; }

  // Writes everything to `db` (inside the caller's transaction).
  void Write(sqlite3* db) {
    Statement insert(db,
                     "INSERT OR IGNORE INTO runs (n, id, parent, time, verdict, program, program_name, user, "
                     "exit_status, a_seq, a_off, a_len, s_seq, s_off, s_len, e_seq, e_off, e_len, rules, line) VALUES "
                     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    Statement start(db, "UPDATE runs SET s_seq = ?, s_off = ?, s_len = ? WHERE n = ?");
    Statement end(db, "UPDATE runs SET e_seq = ?, e_off = ?, e_len = ?, exit_status = ? WHERE n = ?");
    auto bind_ref = [](Statement& statement, int at, const RecordRef& ref) {
      if (ref.length == 0) {
        statement.Null(at).Null(at + 1).Null(at + 2);
      } else {
        statement.Int(at, static_cast<std::int64_t>(ref.seq))
            .Int(at + 1, static_cast<std::int64_t>(ref.offset))
            .Int(at + 2, static_cast<std::int64_t>(ref.length));
      }
    };
    for (const PendingRun& run : runs_) {
      const auto n = static_cast<std::int64_t>(run.n);
      if (run.inserted) {
        if (run.start.length != 0) {
          bind_ref(start, 1, run.start);
          start.Int(4, n).Run();
        }
        if (run.end.length != 0) {
          bind_ref(end, 1, run.end);
          if (run.exit_status) {
            end.Int(4, *run.exit_status);
          } else {
            end.Null(4);
          }
          end.Int(5, n).Run();
        }
        continue;
      }
      insert.Int(1, n).Text(2, run.id).Text(3, run.parent);
      if (run.time) {
        insert.Int(4, *run.time);
      } else {
        insert.Null(4);
      }
      insert.Text(5, run.verdict).Blob(6, run.program).Blob(7, run.program_name).Blob(8, run.user);
      if (run.exit_status) {
        insert.Int(9, *run.exit_status);
      } else {
        insert.Null(9);
      }
      bind_ref(insert, 10, run.authorization);
      bind_ref(insert, 13, run.start);
      bind_ref(insert, 16, run.end);
      std::string rules = "|";
      for (const std::string& name : run.rules) rules += crypto::HexEncode(name) + "|";
      insert.Blob(19, rules).Blob(20, run.text).Run();
    }
    for (const auto& [kind, histogram] : histograms_) {
      for (std::size_t i = 0; i < histogram.counts().size(); ++i) {
        tallies_[{kind, std::to_string(i)}].count += histogram.counts()[i];
      }
      tallies_[{kind, "count"}].count += histogram.count();
      tallies_[{kind, "sum"}].total += histogram.sum();
    }
    Statement tally(db,
                    "INSERT INTO tallies (kind, key, count, total) VALUES (?, ?, ?, ?) ON CONFLICT (kind, key) DO "
                    "UPDATE SET count = count + excluded.count, total = total + excluded.total");
    for (const auto& [key, value] : tallies_) {
      tally.Text(1, key.first).Text(2, key.second).Int(3, static_cast<std::int64_t>(value.count)).Real(4, value.total);
      tally.Run();
    }
    Statement label(db, "INSERT OR IGNORE INTO labels (kind, key, value) VALUES (?, ?, ?)");
    for (const auto& [key, value] : labels_) label.Text(1, key.first).Text(2, key.second).Text(3, value).Run();
    Statement minute(db,
                     "INSERT INTO minutes (minute, verdict, count) VALUES (?, ?, ?) ON CONFLICT (minute, verdict) DO "
                     "UPDATE SET count = count + excluded.count");
    for (const auto& [key, count] : minutes_) {
      minute.Int(1, key.first).Text(2, key.second).Int(3, static_cast<std::int64_t>(count)).Run();
    }
  }

  std::uint64_t next_n() const { return next_n_; }
  std::uint64_t checkpoints() const { return checkpoints_; }
  std::uint64_t unreadable() const { return unreadable_; }
  // The newest checkpoint of the chunk as the overview shows it (without
  // "certified", which depends on the verification); "" when none.
  std::string LastCheckpoint() const {
    if (last_checkpoint_body_.empty()) return "";
    Json shown = {{"seq", last_checkpoint_head_seq_}};
    auto body = lineage::ParseUntrusted(last_checkpoint_body_);
    if (body.ok() && body.value().is_object() && body.value().value("envelope", Json()).is_object()) {
      const Json& envelope = body.value()["envelope"];
      const Json& payload = envelope.value("payload", Json());
      auto decoded = payload.is_string() ? crypto::Base64Decode(payload.get<std::string>())
                                         : ErrorOr<std::string>(Error{"no payload"});
      auto statement = decoded.ok() ? lineage::ParseUntrusted(decoded.value()) : ErrorOr<Json>(decoded.error());
      if (statement.ok() && statement.value().is_object() && statement.value().value("predicate", Json()).is_object()) {
        const Json& predicate = statement.value()["predicate"];
        shown["count"] = predicate.value("count", std::uint64_t{0});
        shown["runs"] = predicate.value("runs", Json::array()).size();
        shown["type"] = statement.value().value("predicateType", "");
        shown["root"] = predicate.value("root", "");
      }
      const Json& signatures = envelope.value("signatures", Json::array());
      if (signatures.is_array() && !signatures.empty() && signatures[0].is_object()) {
        shown["key"] = signatures[0].value("keyid", "");
      }
    }
    return shown.dump(-1, ' ', false, Json::error_handler_t::replace);
  }

 private:
  std::uint64_t next_n_;
  std::vector<PendingRun> runs_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::map<std::pair<std::string, std::string>, Tally> tallies_;
  std::map<std::pair<std::string, std::string>, std::string> labels_;
  std::map<std::pair<std::int64_t, std::string>, std::uint64_t> minutes_;
  std::map<std::string, Histogram> histograms_;
  std::unordered_map<std::string, std::string> keys_;
  std::uint64_t checkpoints_ = 0, unreadable_ = 0, last_checkpoint_head_seq_ = 0;
  std::string last_checkpoint_body_;
};

// gov_contains(HAYSTACK, NEEDLE): whether the bytes NEEDLE occur in the
// bytes HAYSTACK (memmem: SQLite's instr compares at every position).
void Contains(sqlite3_context* context, int, sqlite3_value** values) {
  const void* haystack = sqlite3_value_blob(values[0]);
  const auto haystack_size = static_cast<std::size_t>(sqlite3_value_bytes(values[0]));
  const void* needle = sqlite3_value_blob(values[1]);
  const auto needle_size = static_cast<std::size_t>(sqlite3_value_bytes(values[1]));
  if (needle_size == 0) {
    sqlite3_result_int(context, 1);
    return;
  }
  sqlite3_result_int(context, haystack != nullptr && needle != nullptr &&
                                      memmem(haystack, haystack_size, needle, needle_size) != nullptr
                                  ? 1
                                  : 0);
}

void SetMeta(sqlite3* db, const std::string& key, const std::string& value) {
  Statement(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").Text(1, key).Text(2, value).Run();
}

void SetMeta(sqlite3* db, const std::string& key, std::int64_t value) {
  Statement(db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").Text(1, key).Int(2, value).Run();
}

// Journalled writes (WAL, synced at checkpoints) for updates; none while a
// build from nothing runs.
void SetJournal(sqlite3* db, bool building) {
  Exec(db, building ? "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                    : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
}

// Reads up to `length` bytes at `offset` into `out` (fewer at the end of
// the file); returns how many.
ErrorOr<std::size_t> ReadInto(int fd, std::uint64_t offset, char* out, std::size_t length) {
  std::size_t done = 0;
  while (done < length) {
    const ssize_t got = pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Error{std::string("cannot read the log: ") + std::strerror(errno)};
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

ErrorOr<std::string> ReadAt(int fd, std::uint64_t offset, std::size_t length) {
  std::string bytes(length, '\0');
  auto got = ReadInto(fd, offset, bytes.data(), length);
  if (!got.ok()) return got.error();
  bytes.resize(got.value());
  return bytes;
}

}  // namespace

const std::vector<double>& RunIndex::DurationBounds() {
  static const std::vector<double> bounds = {0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 600};
  return bounds;
}

ErrorOr<std::unique_ptr<RunIndex>> RunIndex::Open(const std::string& path) {
  if (path != ":memory:") {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
      if (!S_ISREG(st.st_mode)) return Error{"the index " + path + " is not a regular file (left as it is)"};
      if (st.st_uid != geteuid()) return Error{"the index " + path + " belongs to another user (left as it is)"};
      // It holds command lines: private, as when it is created.
      if ((st.st_mode & 077) != 0 && chmod(path.c_str(), 0600) != 0) {
        return Error{"cannot make the index " + path + " private: " + std::strerror(errno)};
      }
    } else if (errno == ENOENT) {
      const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0) return Error{"cannot create the index " + path + ": " + std::strerror(errno)};
      close(fd);
    } else {
      return Error{"cannot use the index " + path + ": " + std::strerror(errno)};
    }
  }
  auto connect = [&path]() -> ErrorOr<std::unique_ptr<RunIndex>> {
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return Error{"cannot open the index " + path + ": " + message};
    }
    return std::unique_ptr<RunIndex>(new RunIndex(db));
  };
  auto prepare = [](RunIndex& index) {
    return Guarded([&]() -> ErrorOr<void> {
      Check(index.db_,
            sqlite3_create_function(index.db_, "gov_contains", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                    &Contains, nullptr, nullptr),
            "gov_contains");
      Exec(index.db_, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;");
      SetJournal(index.db_, false);
      bool current = false;
      {
        Statement has_meta(index.db_, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'");
        current = has_meta.Step() && has_meta.ColumnInt(0) == 1;
      }
      if (current) {
        Statement format(index.db_, "SELECT value FROM meta WHERE key = 'format'");
        current = format.Step() && format.ColumnText(0) == kIndexFormat;
      }
      if (!current) return index.CreateSchema();
      return index.LoadMeta();
    });
  };
  auto index = connect();
  if (!index.ok()) return index.error();
  if (prepare(*index.value()).ok()) return index;
  // Not an index at all (or a damaged one): emptied and made again. The
  // file was checked above to be this user's regular file.
  index.value().reset();
  if (path != ":memory:") {
    const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Error{"cannot empty the damaged index " + path + ": " + std::strerror(errno)};
    close(fd);
    for (const char* suffix : {"-wal", "-shm"}) {
      struct stat st {};
      const std::string side = path + suffix;
      if (lstat(side.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) unlink(side.c_str());
    }
  }
  index = connect();
  if (!index.ok()) return index.error();
  if (auto made = prepare(*index.value()); !made.ok()) {
    return Error{"cannot use the index " + path + ": " + made.error().message};
  }
  return index;
}

RunIndex::~RunIndex() {
  sqlite3_close(db_);
}

ErrorOr<void> RunIndex::CreateSchema() {
  // Whatever is there goes: every table and index of the file.
  std::vector<std::pair<std::string, std::string>> objects;
  try {
    Statement list(db_, "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
    while (list.Step()) objects.emplace_back(list.ColumnText(0), list.ColumnText(1));
  } catch (const SqlFailure&) {
  }
  Exec(db_, "BEGIN");
  for (const auto& [type, name] : objects) {
    if (type == "table") Exec(db_, ("DROP TABLE IF EXISTS \"" + name + "\"").c_str());
  }
  Exec(db_, kSchema);
  SetMeta(db_, "format", kIndexFormat);
  Exec(db_, "COMMIT");
  log_id_.clear();
  indexed_bytes_ = indexed_lines_ = last_line_offset_ = 0;
  last_head_digest_.clear();
  next_n_ = 1;
  building_ = false;
  return {};
}

ErrorOr<void> RunIndex::LoadMeta() {
  Statement meta(db_, "SELECT key, value FROM meta");
  while (meta.Step()) {
    const std::string key = meta.ColumnText(0);
    if (key == "log_id") log_id_ = meta.ColumnText(1);
    if (key == "indexed_bytes") indexed_bytes_ = static_cast<std::uint64_t>(meta.ColumnInt(1));
    if (key == "indexed_lines") indexed_lines_ = static_cast<std::uint64_t>(meta.ColumnInt(1));
    if (key == "last_line_offset") last_line_offset_ = static_cast<std::uint64_t>(meta.ColumnInt(1));
    if (key == "last_head_digest") last_head_digest_ = meta.ColumnText(1);
  }
  Statement next(db_, "SELECT coalesce(max(n), 0) + 1 FROM runs");
  next.Step();
  next_n_ = static_cast<std::uint64_t>(next.ColumnInt(0));
  return {};
}

ErrorOr<void> RunIndex::Clear() {
  return Guarded([&]() -> ErrorOr<void> { return CreateSchema(); });
}

ErrorOr<IndexUpdate> RunIndex::Update(const std::string& log_path,
                                      const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  const int fd = open(log_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return Error{"cannot read " + log_path + ": " + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return Error{log_path + " is not a regular file"};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  return Guarded([&]() -> ErrorOr<IndexUpdate> {
    IndexUpdate update;
    // Does the log still start with what was indexed? Its last indexed
    // line must be where it was, with the same HEAD.
    if (indexed_bytes_ > 0) {
      bool same = size >= indexed_bytes_ && indexed_bytes_ > last_line_offset_;
      if (same) {
        auto line = ReadAt(fd, last_line_offset_, indexed_bytes_ - last_line_offset_);
        if (!line.ok()) return line.error();
        std::string_view text = line.value();
        same = !text.empty() && text.back() == '\n';
        if (same) {
          text.remove_suffix(1);
          same = lineage::DigestOf(lineage::Split(text).head) == last_head_digest_;
        }
      }
      if (!same) {
        if (auto made = CreateSchema(); !made.ok()) return made.error();
        update.rebuilt = true;
      }
    }
    std::uint64_t offset = indexed_bytes_;
    // A build from nothing writes without a journal (about a third faster)
    // and marks the file as an index of this format only when it is done:
    // a build cut short is redone from the start by the next Open.
    if (offset == 0 && offset < size && !building_) {
      Exec(db_, "DELETE FROM meta WHERE key = 'format'");
      SetJournal(db_, true);
      building_ = true;  // until an update reaches the end of the log
    }
    // One chunk buffer for the whole update, never zero-filled.
    const std::unique_ptr<char[]> chunk_buffer(new char[kChunkBytes]);
    std::string long_line;
    while (offset < size) {
      auto got = ReadInto(fd, offset, chunk_buffer.get(),
                          static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, size - offset)));
      if (!got.ok()) return got.error();
      std::string_view buffer(chunk_buffer.get(), got.value());
      std::size_t end = buffer.rfind('\n');
      if (end == std::string_view::npos) {
        if (buffer.size() < kChunkBytes) break;  // a torn or growing last line: next time
        // A line longer than a chunk (up to the record limit): read it whole.
        const std::size_t most = lineage::kMaxRecordBytes + 2;
        auto longer = ReadAt(fd, offset, static_cast<std::size_t>(std::min<std::uint64_t>(most, size - offset)));
        if (!longer.ok()) return longer.error();
        long_line = std::move(longer).value();
        buffer = long_line;
        end = buffer.find('\n');
        if (end == std::string_view::npos) {
          if (buffer.size() < most) break;
          return Error{"the log has a line longer than any record at byte " + std::to_string(offset)};
        }
      }
      Batch batch(next_n_);
      Statement find(db_, "SELECT n FROM runs WHERE id = ?");
      // The chunk's whole lines, read by up to kReaders threads, then
      // merged in log order.
      std::vector<std::pair<std::size_t, std::size_t>> lines;  // (start, length) in `buffer`
      for (std::size_t start = 0; start <= end;) {
        const std::size_t stop = buffer.find('\n', start);
        lines.emplace_back(start, stop - start);
        start = stop + 1;
      }
      std::vector<LineFacts> facts(lines.size());
      const std::size_t readers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, kReaders);
      const std::size_t share = (lines.size() + readers - 1) / readers;
      auto read_lines = [&](std::size_t first) {
        for (std::size_t i = first; i < std::min(lines.size(), first + share); ++i) {
          facts[i] = ReadLine(buffer.substr(lines[i].first, lines[i].second), offset + lines[i].first);
        }
      };
      std::vector<std::thread> helpers;
      for (std::size_t reader = 1; reader < readers && reader * share < lines.size(); ++reader) {
        helpers.emplace_back(read_lines, reader * share);
      }
      read_lines(0);
      for (std::thread& helper : helpers) helper.join();
      for (LineFacts& line : facts) {
        if (line.kind == LineFacts::Kind::kUnreadable) {
          batch.Unreadable();
          continue;
        }
        if (log_id_.empty()) log_id_ = std::string(line.log);
        if (line.log != log_id_) {
          batch.Unreadable();  // another log's record
          continue;
        }
        switch (line.kind) {
          case LineFacts::Kind::kHeader:
            SetMeta(db_, "created_unix_ns", line.created_unix_ns);
            break;
          case LineFacts::Kind::kAuthorization:
            batch.Authorization(line);
            break;
          case LineFacts::Kind::kStart:
          case LineFacts::Kind::kEnd: {
            PendingRun* run = batch.RunOf(line.run, find);
            if (run == nullptr) {
              batch.Unreadable();
            } else if (line.kind == LineFacts::Kind::kStart) {
              batch.Start(*run, line);
            } else {
              batch.End(*run, line);
            }
            break;
          }
          case LineFacts::Kind::kCheckpoint:
            batch.Checkpoint(line.ref.seq, line.checkpoint_body);
            break;
          default:
            break;
        }
      }
      const std::uint64_t at = offset + end + 1;
      const std::uint64_t last_offset = offset + lines.back().first;
      const std::string_view last_head = lineage::Split(buffer.substr(lines.back().first, lines.back().second)).head;
      Exec(db_, "BEGIN");
      batch.Write(db_);
      const std::string last_checkpoint = batch.LastCheckpoint();
      if (!last_checkpoint.empty()) SetMeta(db_, "last_checkpoint", last_checkpoint);
      auto add = [&](const char* key, std::uint64_t value) {
        Statement(db_,
                  "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + "
                  "excluded.value")
            .Text(1, key)
            .Int(2, static_cast<std::int64_t>(value))
            .Run();
      };
      add("checkpoints", batch.checkpoints());
      add("unreadable", batch.unreadable());
      SetMeta(db_, "log_id", log_id_);
      SetMeta(db_, "indexed_bytes", static_cast<std::int64_t>(at));
      SetMeta(db_, "indexed_lines", static_cast<std::int64_t>(indexed_lines_ + lines.size()));
      SetMeta(db_, "last_line_offset", static_cast<std::int64_t>(last_offset));
      const std::string head_digest = lineage::DigestOf(last_head);
      SetMeta(db_, "last_head_digest", head_digest);
      Exec(db_, "COMMIT");
      indexed_bytes_ = at;
      indexed_lines_ += lines.size();
      last_line_offset_ = last_offset;
      last_head_digest_ = head_digest;
      next_n_ = batch.next_n();
      update.new_records += lines.size();
      offset = at;
      if (progress) progress(offset, size);
    }
    if (building_) {
      SetJournal(db_, false);
      SetMeta(db_, "format", kIndexFormat);
      building_ = false;
    }
    update.indexed_bytes = indexed_bytes_;
    return update;
  });
}

namespace {

// The WHERE clause of `filter` over runs `r`, and its parameters in order.
struct Where {
  std::string sql;
  std::vector<std::pair<bool, std::string>> blobs_and_texts;  // (blob?, value)
  std::vector<std::int64_t> numbers;
  std::vector<int> order;  // 0: next text/blob, 1: next number
};

// How a rule name is looked for in a run's `rules`: "|" + hex + "|" each.
std::string RulePattern(const std::string& name) {
  return "|" + crypto::HexEncode(name) + "|";
}

Where WhereOf(const RunFilter& filter) {
  Where where;
  auto add = [&where](const std::string& clause) { where.sql += (where.sql.empty() ? " WHERE " : " AND ") + clause; };
  auto bytes = [&where](bool blob, const std::string& value) {
    where.blobs_and_texts.emplace_back(blob, value);
    where.order.push_back(0);
  };
  auto number = [&where](std::int64_t value) {
    where.numbers.push_back(value);
    where.order.push_back(1);
  };
  if (!filter.verdict.empty()) {
    add("r.verdict = ?");
    bytes(false, filter.verdict);
  }
  if (!filter.program.empty()) {
    add("(r.program = ? OR r.program_name = ?)");
    bytes(true, filter.program);
    bytes(true, filter.program);
  }
  if (filter.since) {
    add("r.time >= ?");
    number(*filter.since);
  }
  if (filter.until) {
    add("r.time < ?");
    number(*filter.until);
  }
  if (!filter.user.empty()) {
    add("r.user = ?");
    bytes(true, filter.user);
  }
  if (!filter.rule.empty()) {
    add("gov_contains(r.rules, ?)");
    bytes(true, RulePattern(filter.rule));
  }
  if (filter.exit_status) {
    add("r.exit_status = ?");
    number(*filter.exit_status);
  }
  if (!filter.text.empty()) {
    add("gov_contains(r.line, ?)");
    bytes(true, filter.text);
  }
  return where;
}

void BindWhere(Statement& statement, const Where& where) {
  std::size_t next_bytes = 0, next_number = 0;
  int at = 1;
  for (const int kind : where.order) {
    if (kind == 0) {
      const auto& [blob, value] = where.blobs_and_texts[next_bytes++];
      if (blob) {
        statement.Blob(at++, value);
      } else {
        statement.Text(at++, value);
      }
    } else {
      statement.Int(at++, where.numbers[next_number++]);
    }
  }
}

constexpr const char* kRefColumns =
    "r.n, r.id, r.a_seq, r.a_off, r.a_len, r.s_seq, r.s_off, r.s_len, r.e_seq, r.e_off, r.e_len";

RunRef RefOf(const Statement& row) {
  RunRef ref;
  ref.n = static_cast<std::uint64_t>(row.ColumnInt(0));
  ref.id = row.ColumnText(1);
  auto record = [&row](int at) {
    RecordRef out;
    if (row.ColumnNull(at)) return out;
    out.seq = static_cast<std::uint64_t>(row.ColumnInt(at));
    out.offset = static_cast<std::uint64_t>(row.ColumnInt(at + 1));
    out.length = static_cast<std::uint64_t>(row.ColumnInt(at + 2));
    return out;
  };
  ref.authorization = record(2);
  ref.start = record(5);
  ref.end = record(8);
  return ref;
}

}  // namespace

ErrorOr<RunList> RunIndex::Find(const RunFilter& filter, std::uint64_t offset, std::uint64_t limit) {
  return Guarded([&]() -> ErrorOr<RunList> {
    const Where where = WhereOf(filter);
    const std::string from = " FROM runs r";
    RunList list;
    Statement count(db_, "SELECT count(*)" + from + where.sql);
    BindWhere(count, where);
    count.Step();
    list.total = static_cast<std::uint64_t>(count.ColumnInt(0));
    if (offset >= list.total || limit == 0) return list;
    Statement page(db_, std::string("SELECT ") + kRefColumns + from + where.sql + " ORDER BY r.n DESC LIMIT " +
                            std::to_string(limit) + " OFFSET " + std::to_string(offset));
    BindWhere(page, where);
    while (page.Step()) list.runs.push_back(RefOf(page));
    return list;
  });
}

ErrorOr<std::optional<RunRef>> RunIndex::Run(const std::string& id) {
  return Guarded([&]() -> ErrorOr<std::optional<RunRef>> {
    Statement find(db_, std::string("SELECT ") + kRefColumns + " FROM runs r WHERE r.id = ?");
    find.Text(1, id);
    if (!find.Step()) return std::optional<RunRef>();
    return std::optional<RunRef>(RefOf(find));
  });
}

ErrorOr<RunList> RunIndex::Children(const std::string& id, std::uint64_t limit) {
  return Guarded([&]() -> ErrorOr<RunList> {
    RunList list;
    Statement count(db_, "SELECT count(*) FROM runs r WHERE r.parent = ?");
    count.Text(1, id);
    count.Step();
    list.total = static_cast<std::uint64_t>(count.ColumnInt(0));
    Statement page(db_, std::string("SELECT ") + kRefColumns + " FROM runs r WHERE r.parent = ? ORDER BY r.n LIMIT " +
                            std::to_string(limit));
    page.Text(1, id);
    while (page.Step()) list.runs.push_back(RefOf(page));
    return list;
  });
}

ErrorOr<IndexTallies> RunIndex::Tallies() {
  return Guarded([&]() -> ErrorOr<IndexTallies> {
    IndexTallies out;
    Statement tallies(db_, "SELECT kind, key, count, total FROM tallies");
    while (tallies.Step()) {
      out.counts[tallies.ColumnText(0)][tallies.ColumnText(1)] = {static_cast<std::uint64_t>(tallies.ColumnInt(2)),
                                                                  tallies.ColumnReal(3)};
    }
    Statement labels(db_, "SELECT kind, key, value FROM labels");
    while (labels.Step()) out.labels[labels.ColumnText(0)][labels.ColumnText(1)] = labels.ColumnText(2);
    Statement minutes(db_,
                      "SELECT minute, verdict, count FROM minutes WHERE minute > (SELECT coalesce(max(minute), 0) "
                      "FROM minutes) - 3600");
    while (minutes.Step()) {
      out.minutes[minutes.ColumnInt(0)][minutes.ColumnText(1)] = static_cast<std::uint64_t>(minutes.ColumnInt(2));
    }
    Statement meta(db_,
                   "SELECT key, value FROM meta WHERE key IN ('checkpoints', 'last_checkpoint', 'unreadable', "
                   "'indexed_lines')");
    while (meta.Step()) {
      const std::string key = meta.ColumnText(0);
      if (key == "checkpoints") out.checkpoints = static_cast<std::uint64_t>(meta.ColumnInt(1));
      if (key == "last_checkpoint") out.last_checkpoint = meta.ColumnText(1);
      if (key == "unreadable") out.unreadable = static_cast<std::uint64_t>(meta.ColumnInt(1));
      if (key == "indexed_lines") out.records = static_cast<std::uint64_t>(meta.ColumnInt(1));
    }
    return out;
  });
}

}  // namespace gov::console
