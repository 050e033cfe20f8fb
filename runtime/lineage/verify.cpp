// Verification of lineage logs and bundles (docs/lineage-format.md
// "Verifying a log", "Verifying a bundle").
#include "runtime/lineage/verify.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/request/byte_string.h"
#include "runtime/request/request.h"
#include "runtime/support/display.h"
#include "runtime/tlog/checkpoint.h"
#include "runtime/tlog/cosignature.h"
#include "runtime/tlog/note.h"
#include "runtime/tlog/tile.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gov::lineage {
namespace {

using Json = nlohmann::json;

// The checkpoint a note states, its signatures not checked (yet).
ErrorOr<tlog::Checkpoint> UnverifiedCheckpoint(std::string_view text) {
  GOV_ASSIGN_OR_RETURN(tlog::Note note, tlog::ParseNote(text));
  return tlog::ParseCheckpoint(note.text);
}

// True iff `text` ("sha256:<64 hex>", already validated) spells `digest`.
bool SameDigest(std::string_view text, const crypto::Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (text.size() != 71) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    if (text[7 + 2 * i] != kHex[digest[i] >> 4] || text[8 + 2 * i] != kHex[digest[i] & 15]) return false;
  }
  return true;
}

// `text` ("sha256:<64 lower-case hex>", validated by ParseHead) as bytes.
void DecodeDigest(std::string_view text, crypto::Sha256Digest& digest) {
  auto nibble = [](char c) { return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i < 32 && 8 + 2 * i < text.size(); ++i) {
    digest[i] = static_cast<std::uint8_t>(nibble(text[7 + 2 * i]) << 4 | nibble(text[8 + 2 * i]));
  }
}

// A strict one-pass reader of canonical JSON (docs/lineage-format.md
// "Canonical JSON"): accepts exactly the texts that parse and re-encode to
// themselves (integers in [-2^63, 2^64 - 1], nesting at most 32 deep, as
// ParseUntrusted), builds no tree, and keeps the raw text of the members a
// record body shares with its HEAD.
class CanonicalScan {
 public:
  // Raw value texts (a string with its quotes); empty when absent.
  std::string_view run, parent, verdict, execute, policy_digest;
  // An authorization's ask answer and its approval by govd's approvers.
  std::string_view ask_answer, approval;
  std::string why;

  // Scans `text`; true iff it is canonical JSON.
  bool Scan(std::string_view text) {
    text_ = text;
    pos_ = 0;
    run = parent = verdict = execute = policy_digest = ask_answer = approval = {};
    if (!Value(0, kTop)) return false;
    if (pos_ != text_.size()) return Bad("bytes after the JSON value");
    return true;
  }
  bool IsObject() const { return !text_.empty() && text_[0] == '{'; }

 private:
  enum Capture { kNone, kTop, kPolicy };
  static constexpr int kMaxDepth = 32;

  bool Bad(const char* message) {
    why = fmt::format("{} at byte {}", message, pos_);
    return false;
  }
  bool At(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool Value(int depth, Capture capture) {
    if (pos_ >= text_.size()) return Bad("truncated JSON");
    switch (text_[pos_]) {
      case '{':
        return Object(depth + 1, capture);
      case '[':
        return Array(depth + 1);
      case '"':
        return String(nullptr, nullptr);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Bad("not a JSON value");
    pos_ += word.size();
    return true;
  }

  // -?(0|[1-9][0-9]*), not -0, within 64 bits (nlohmann reads larger ones as
  // floating point, which re-encodes differently).
  bool Number() {
    const bool negative = At('-');
    if (negative) ++pos_;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    std::string_view digits = text_.substr(start, pos_ - start);
    if (digits.empty()) return Bad("not a JSON value");
    if (digits.size() > 1 && digits[0] == '0') return Bad("a number with a leading zero");
    if (negative && digits == "0") return Bad("-0 is not canonical");
    static constexpr std::string_view kMaxUnsigned = "18446744073709551615";
    static constexpr std::string_view kMaxNegative = "9223372036854775808";
    const std::string_view limit = negative ? kMaxNegative : kMaxUnsigned;
    if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) {
      return Bad("an integer outside 64 bits");
    }
    if (At('.') || At('e') || At('E')) return Bad("a number that is not an integer");
    return true;
  }

  // A string; `key` (when non-null) receives its text: a view of the JSON
  // text when it has no escapes, else its bytes decoded into `scratch`.
  bool String(std::string_view* key, std::string* scratch) {
    ++pos_;  // the opening quote
    const std::size_t start = pos_;
    bool escaped = false;
    while (true) {
#if defined(__SSE2__)
      // 16 bytes at a time while none is a quote, a backslash, a control
      // character or non-ASCII (the signed compare catches both).
      while (pos_ + 16 <= text_.size()) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text_.data() + pos_));
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('"')), _mm_cmpeq_epi8(bytes, _mm_set1_epi8('\\'))),
            _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20)));
        const int mask = _mm_movemask_epi8(special);
        if (mask != 0) {
          pos_ += static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
          break;
        }
        pos_ += 16;
      }
#endif
      if (pos_ >= text_.size()) return Bad("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return Bad("a control character in a string");
      if (c == '\\') {
        escaped = true;
        if (pos_ + 1 >= text_.size()) return Bad("unterminated string");
        const char e = text_[pos_ + 1];
        if (e == '"' || e == '\\' || e == 'b' || e == 't' || e == 'n' || e == 'f' || e == 'r') {
          pos_ += 2;
          continue;
        }
        if (e != 'u') return Bad("an escape canonical JSON does not use");
        // Only \u00XX below 0x20, lower-case, for what has no short escape.
        std::string_view hex = text_.substr(pos_ + 2, 4);
        auto digit = [](char h) {
          return (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : -1;
        };
        if (hex.size() != 4 || hex[0] != '0' || hex[1] != '0' || digit(hex[2]) < 0 || digit(hex[2]) > 1 ||
            digit(hex[3]) < 0) {
          return Bad("an escape canonical JSON does not use");
        }
        const int code = digit(hex[2]) * 16 + digit(hex[3]);
        if (code == 0x08 || code == 0x09 || code == 0x0a || code == 0x0c || code == 0x0d) {
          return Bad("a \\u escape where canonical JSON has a short one");
        }
        pos_ += 6;
        continue;
      }
      if (c < 0x80) {
        ++pos_;
        continue;
      }
      // Well-formed UTF-8 (Unicode Table 3-7): no overlongs, surrogates or
      // code points above U+10FFFF.
      std::size_t length = 0;
      unsigned char low = 0x80, high = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
      } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0) low = 0xA0;
        if (c == 0xED) high = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0) low = 0x90;
        if (c == 0xF4) high = 0x8F;
      } else {
        return Bad("a string that is not UTF-8");
      }
      if (pos_ + length > text_.size()) return Bad("a string that is not UTF-8");
      for (std::size_t k = 1; k < length; ++k) {
        const auto b = static_cast<unsigned char>(text_[pos_ + k]);
        if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return Bad("a string that is not UTF-8");
      }
      pos_ += length;
    }
    if (key != nullptr) {
      std::string_view raw = text_.substr(start, pos_ - start);
      if (!escaped) {
        *key = raw;
      } else {
        scratch->clear();
        for (std::size_t k = 0; k < raw.size(); ++k) {
          if (raw[k] != '\\') {
            scratch->push_back(raw[k]);
            continue;
          }
          const char e = raw[++k];
          if (e == 'u') {
            scratch->push_back(static_cast<char>(std::stoi(std::string(raw.substr(k + 1, 4)), nullptr, 16)));
            k += 4;
          } else {
            scratch->push_back(e == 'b'   ? '\b'
                               : e == 't' ? '\t'
                               : e == 'n' ? '\n'
                               : e == 'f' ? '\f'
                               : e == 'r' ? '\r'
                                          : e);
          }
        }
        *key = *scratch;
      }
    }
    ++pos_;  // the closing quote
    return true;
  }

  bool Array(int depth) {
    if (depth > kMaxDepth) return Bad("JSON nested deeper than 32 levels");
    ++pos_;
    if (At(']')) {
      ++pos_;
      return true;
    }
    while (true) {
      if (!Value(depth, kNone)) return false;
      if (At(']')) {
        ++pos_;
        return true;
      }
      if (!At(',')) return Bad("expected `,` or `]`");
      ++pos_;
    }
  }

  bool Object(int depth, Capture capture) {
    if (depth > kMaxDepth) return Bad("JSON nested deeper than 32 levels");
    ++pos_;
    if (At('}')) {
      ++pos_;
      return true;
    }
    // Names with escapes are decoded into the depth's two buffers in turn, so
    // that `last` survives the next name's decoding.
    std::array<std::string, 2>& buffers = keys_[static_cast<std::size_t>(depth)];
    std::size_t buffer = 0;
    std::string_view key, last;
    bool first = true;
    while (true) {
      if (!At('"')) return Bad("expected a member name");
      if (!String(&key, &buffers[buffer])) return false;
      if (key.data() == buffers[buffer].data()) buffer ^= 1;
      // Member names strictly increasing by their bytes: sorted, no duplicates.
      if (!first && !(last < key)) return Bad("members not sorted by name, or a name repeated");
      last = key;
      first = false;
      if (!At(':')) return Bad("expected `:`");
      ++pos_;
      const std::size_t value_start = pos_;
      if (!Value(depth, capture == kTop && key == "policy" ? kPolicy : kNone)) return false;
      const std::string_view value = text_.substr(value_start, pos_ - value_start);
      if (capture == kTop) {
        if (key == "run") run = value;
        if (key == "parent") parent = value;
        if (key == "verdict") verdict = value;
        if (key == "execute") execute = value;
        if (key == "ask_answer") ask_answer = value;
        if (key == "approval") approval = value;
      } else if (capture == kPolicy && key == "digest") {
        policy_digest = value;
      }
      if (At('}')) {
        ++pos_;
        return true;
      }
      if (!At(',')) return Bad("expected `,` or `}`");
      ++pos_;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  // Per depth: buffers for member names with escapes.
  std::array<std::array<std::string, 2>, kMaxDepth + 1> keys_;
};

// Re-decides one authorization body. Returns kNone, kReplay or kMalformed.
Failure Replay(std::string_view body_text, const interp::PreparedPolicy& prepared, const EnvReads& env_reads,
               std::string& why) {
  const ir::Policy& policy = prepared.policy();
  auto parsed_body = ParseUntrusted(body_text);
  if (!parsed_body.ok()) {
    why = "authorization body: " + parsed_body.error().message;
    return Failure::kMalformed;
  }
  const Json body = std::move(parsed_body).value();
  if (Canonical(body) != body_text) {
    why = "authorization body is not canonical JSON";
    return Failure::kMalformed;
  }
  request::Request request;
  try {
    auto parsed = request::RequestFromJsonValue(body.at("request"), policy.context);
    if (!parsed.ok()) {
      why = "replay: the recorded request does not fit the policy: " + parsed.error().message;
      return Failure::kReplay;
    }
    request = parsed.value();
    auto hashed = request::NamedFromJson(body.at("env_hashed"), "env_hashed");
    if (!hashed.ok()) {
      why = "authorization body: " + hashed.error().message;
      return Failure::kMalformed;
    }
    for (const auto& [name, value] : hashed.value()) {
      (void)value;
      if (env_reads.all || std::binary_search(env_reads.names.begin(), env_reads.names.end(), name)) {
        why = fmt::format("replay: the policy reads env {} but its value was recorded as a salted hash",
                          request::IsUtf8(name) ? name : request::BytesToJson(name).dump());
        return Failure::kReplay;
      }
      request.env.emplace_back(name, "");
    }
    request::RequestView view(request);
    gov_decision decision{};
    interp::Decide(prepared, view.get(), decision);
    interp::Explanation explained = interp::Explain(policy, decision);
    const std::string error = decision.error == GOV_OK ? "" : interp::ErrorName(decision.error);
    if (body.at("verdict").get<std::string>() != explained.verdict) {
      why = fmt::format("replay: recorded verdict {} but the policy decides {}", body.at("verdict").get<std::string>(),
                        explained.summary);
      return Failure::kReplay;
    }
    if (body.at("error").get<std::string>() != error) {
      why = fmt::format("replay: recorded error '{}' but the policy gives '{}'", body.at("error").get<std::string>(),
                        error);
      return Failure::kReplay;
    }
    Json rules = Json::array();
    for (const RecordedRule& rule : RecordedRules(explained)) {
      rules.push_back({{"id", rule.id},
                       {"name", request::BytesToJson(rule.name)},
                       {"verdict", rule.verdict},
                       {"reason", request::BytesToJson(rule.reason)}});
    }
    if (body.at("rules") != rules) {
      why = fmt::format("replay: recorded deciding rules {} but the policy gives {}", body.at("rules").dump(),
                        rules.dump());
      return Failure::kReplay;
    }
    Json obligations = ObligationsToJson(interp::MergeObligations(policy, decision));
    if (body.at("obligations") != obligations) {
      why = fmt::format("replay: recorded obligations {} but the policy gives {}", body.at("obligations").dump(),
                        obligations.dump());
      return Failure::kReplay;
    }
  } catch (const Json::exception& e) {
    why = fmt::format("authorization body: {}", e.what());
    return Failure::kMalformed;
  }
  return Failure::kNone;
}

// A run id (32 hex digits, validated by ParseHead) as 128 bits.
struct RunKey {
  std::uint64_t hi = 0, lo = 0;
  bool operator==(const RunKey&) const = default;
};
struct RunKeyHash {
  std::size_t operator()(const RunKey& key) const { return key.hi ^ (key.lo * 0x9e3779b97f4a7c15ULL); }
};
RunKey KeyOf(std::string_view id) {
  RunKey key;
  for (std::size_t i = 0; i < 32 && i < id.size(); ++i) {
    const char c = id[i];
    const std::uint64_t nibble = static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    (i < 16 ? key.hi : key.lo) = ((i < 16 ? key.hi : key.lo) << 4) | nibble;
  }
  return key;
}
std::string IdOf(const RunKey& key) {
  return fmt::format("{:016x}{:016x}", key.hi, key.lo);
}

// What the verifier keeps per run.
struct RunState {
  char verdict = 'd';  // a(llow), d(eny), k (ask)
  bool exec = false;
  bool started = false;
  bool ended = false;
  std::uint64_t seq = 0;
  std::uint64_t end_seq = 0;
};

// The runs of a log by id, in the order of their authorizations: a vector
// and an open-addressing index into it (a million-record log looks a run up
// for nearly every record).
class RunTable {
 public:
  RunState* Find(const RunKey& key) {
    if (index_.empty()) return nullptr;
    for (std::size_t i = Slot(key);; i = (i + 1) & (index_.size() - 1)) {
      if (index_[i] == 0) return nullptr;
      auto& [stored, state] = runs_[index_[i] - 1];
      if (stored == key) return &state;
    }
  }
  bool Contains(const RunKey& key) { return Find(key) != nullptr; }
  // Adds a run not in the table.
  void Insert(const RunKey& key, const RunState& state) {
    if (2 * (runs_.size() + 1) > index_.size()) {
      index_.assign(std::max<std::size_t>(64, 2 * index_.size()), 0);
      for (std::size_t k = 0; k < runs_.size(); ++k) Place(runs_[k].first, k + 1);
    }
    runs_.emplace_back(key, state);
    Place(key, runs_.size());
  }
  const std::vector<std::pair<RunKey, RunState>>& InOrder() const { return runs_; }

 private:
  std::size_t Slot(const RunKey& key) const {
    std::uint64_t h = RunKeyHash()(key);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h) & (index_.size() - 1);
  }
  void Place(const RunKey& key, std::size_t at) {
    std::size_t i = Slot(key);
    while (index_[i] != 0) i = (i + 1) & (index_.size() - 1);
    index_[i] = at;
  }
  std::vector<std::pair<RunKey, RunState>> runs_;
  std::vector<std::size_t> index_;  // 0: empty, else 1 + an index into runs_
};

class Verifier {
 public:
  // `fd` (or -1): the file `data` maps, read again in chunks for speed.
  Verifier(std::string_view data, const VerifyOptions& options, Report& report, int fd = -1)
      : data_(data), fd_(fd), options_(options), report_(report) {
    for (const ReplayPolicy& policy : options.policies) {
      env_reads_.push_back(policy.prepared != nullptr ? ir::EnvReadsOf(policy.prepared->policy()) : EnvReads{});
    }
  }

  void Run() {
    if (data_.empty()) return Fail(Failure::kMalformed, "empty file", 0, 0);
    // A bundle header's first key is `format` (version 1) or `checkpoint`
    // (version 2); a log's first HEAD key is `body`.
    if (data_.substr(0, 10) == "{\"format\":" || data_.substr(0, 14) == "{\"checkpoint\":") {
      report_.kind = "bundle";
      if (!options_.since_checkpoint.empty()) {
        return Fail(Failure::kUsage, "--since applies to logs, not to bundles", 0, 0);
      }
      VerifyBundle();
    } else {
      report_.kind = "log";
      if (options_.note) {
        // The size tells which tree head to keep; CheckNote verifies it.
        auto checkpoint = UnverifiedCheckpoint(*options_.note);
        if (checkpoint.ok()) note_size_ = checkpoint.value().size;
        if (checkpoint.ok() && !options_.published_dir.empty()) published_.emplace(options_.published_dir, *note_size_);
      }
      if (!options_.since_checkpoint.empty() && options_.since_checkpoint.substr(0, 1) != "{") {
        // A checkpoint note: its signature is checked once the log id is known.
        auto checkpoint = UnverifiedCheckpoint(options_.since_checkpoint);
        if (!checkpoint.ok()) return Fail(Failure::kUsage, "--since: " + checkpoint.error().message, 0, 0);
        since_note_ = SinceNote{checkpoint.value().size, checkpoint.value().origin, {}};
      } else if (!options_.since_checkpoint.empty()) {
        // The line as written to the file: HEAD TAB BODY, no line end.
        std::string_view text = options_.since_checkpoint;
        if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        const SplitLine split = Split(text);
        auto head = ParseHead(split.head);
        if (!split.has_body || !head.ok() || head.value().type != RecordType::kCheckpoint) {
          return Fail(Failure::kUsage, "--since: not a checkpoint record line (HEAD TAB BODY) of a lineage log", 0, 0);
        }
        since_ =
            Since{head.value().seq, std::string(head.value().log), std::string(split.head), std::string(split.body)};
      }
      if (!options_.witnesses.empty() && !since_note_) {
        return Fail(Failure::kUsage, "--witness needs --since with a cosigned checkpoint note", 0, 0);
      }
      VerifyLog();
      if (!failed()) CheckNote();
      if (!failed()) CheckSince();
    }
  }

 private:
  bool failed() const { return report_.failure != Failure::kNone; }

  // What VerifyLog's workers find out about one complete line, reading
  // nothing but the line: everything about a record that does not depend on
  // the records before it.
  struct LineFacts {
    std::size_t start = 0;             // the line's first byte
    std::size_t end = 0;               // its LF
    bool ok = false;                   // a TAB, a HEAD that parses and a BODY that matches its digest
    bool body_ok = false;              // (ok) CheckBody finds nothing wrong
    std::size_t tab = 0;               // (ok) the TAB's offset in the line
    const char* text = nullptr;        // (ok) the line as examined: Head's views point into it
    Head head;                         // (ok)
    crypto::Sha256Digest head_hash{};  // (ok) SHA-256(HEAD): what the next record's prev must be
    crypto::Sha256Digest prev{};       // (ok) HEAD's prev, decoded
    RunKey log, run, parent;           // (ok) HEAD's log, run and parent ids (zero when absent)
    tlog::Hash leaf{};                 // (ok) the record's Merkle leaf hash
  };

  void Fail(Failure failure, std::string message, std::uint64_t line, std::uint64_t offset, std::int64_t seq = -1) {
    if (failed()) return;
    report_.failure = failure;
    report_.message = std::move(message);
    report_.failure_line = line;
    report_.failure_offset = offset;
    report_.failure_seq = seq;
  }

  void Progress(std::uint64_t done) {
    if (options_.progress && done - last_progress_ >= (64u << 20)) {
      last_progress_ = done;
      options_.progress(done, data_.size());
    }
  }

  // Checks one chained record (HEAD parsed, body digest checked by the
  // caller). `body` is empty when `has_body` is false (bundles).
  // `facts` (logs): what VerifyLog's workers found out about the line.
  void Record(const Head& head, std::string_view head_text, std::string_view body, bool has_body, std::uint64_t line,
              std::uint64_t offset, bool bundle, const LineFacts* facts = nullptr) {
    const auto seq = static_cast<std::int64_t>(head.seq);
    if (facts != nullptr ? facts->log != log_key_ : head.log != log_id_) {
      return Fail(Failure::kChain, fmt::format("record {} belongs to log {}, not {}", head.seq, head.log, log_id_),
                  line, offset, seq);
    }
    if (have_prev_ || !bundle) {
      if (head.seq != expected_seq_) {
        return Fail(Failure::kChain,
                    fmt::format("expected record {} but found record {} (gap, reorder, duplicate or insertion)",
                                expected_seq_, head.seq),
                    line, offset, seq);
      }
      if (facts != nullptr ? facts->prev != prev_ : !SameDigest(head.prev, prev_)) {
        return Fail(
            Failure::kChain,
            fmt::format("record {} does not link to the previous record (prev {} differs)", head.seq, head.prev), line,
            offset, seq);
      }
    }
    if (since_ && !bundle && head.seq == since_->seq) {
      if (head_text != since_->head_text || body != since_->body) {
        return Fail(Failure::kChain,
                    fmt::format("fork: record {} differs from the checkpoint seen there earlier (--since); this log is "
                                "not an extension of the log that checkpoint signed",
                                head.seq),
                    line, offset, seq);
      }
      since_matched_ = true;
    }
    have_prev_ = true;
    prev_ = facts != nullptr ? facts->head_hash : crypto::FastSha256(head_text);
    expected_seq_ = head.seq + 1;
    ++report_.records;
    if (has_body && (facts == nullptr || !facts->body_ok)) {
      CheckBody(head, body, line, offset);
      if (failed()) return;
    }
    switch (head.type) {
      case RecordType::kHeader:
        if (head.seq != 0)
          return Fail(Failure::kChain, "a header record after the start of the log", line, offset, seq);
        break;
      case RecordType::kAuthorization: {
        const RunKey key = facts != nullptr ? facts->run : KeyOf(head.run);
        if (head.parent == head.run) {
          return Fail(Failure::kChain, fmt::format("run {} names itself as its parent", head.run), line, offset, seq);
        }
        if (runs_.Contains(key)) {
          return Fail(Failure::kChain, fmt::format("run {} is authorized twice", head.run), line, offset, seq);
        }
        if (!bundle && external_parents_.count(key) != 0) {
          return Fail(Failure::kChain,
                      fmt::format("run {} is authorized after a child that names it as parent", head.run), line, offset,
                      seq);
        }
        bool in_tree = true;
        if (!head.parent.empty() && !runs_.Contains(facts != nullptr ? facts->parent : KeyOf(head.parent))) {
          if (bundle && head.run == root_) {
            in_tree = true;  // the bundle's root may have a parent outside it
          } else if (bundle) {
            in_tree = false;
          } else {
            // A parent recorded in another log (a nested govrun with another
            // lineage_dir): reported; it must not appear later in this one.
            external_parents_.insert(KeyOf(head.parent));
            ++report_.external_parents;
          }
        }
        if (bundle && head.parent.empty() && head.run != root_) in_tree = false;
        if (bundle && in_tree && !has_body) {
          return Fail(Failure::kChain,
                      fmt::format("the bundle withholds the authorization of run {} (of its tree)", head.run), line,
                      offset, seq);
        }
        if (bundle && !in_tree && has_body) {
          return Fail(Failure::kMalformed,
                      fmt::format("the bundle carries a record of run {}, outside its tree", head.run), line, offset,
                      seq);
        }
        if (bundle && !in_tree) break;
        RunState state;
        state.verdict = head.verdict == "allow" ? 'a' : head.verdict == "ask" ? 'k' : 'd';
        state.exec = head.exec;
        state.seq = head.seq;
        runs_.Insert(key, state);
        if (!options_.policies.empty()) {
          ++report_.bound;
          std::size_t match = 0;
          while (match < options_.policies.size() && head.policy != options_.policies[match].digest) ++match;
          if (match == options_.policies.size()) {
            return Fail(Failure::kBinding,
                        options_.policies.size() == 1
                            ? fmt::format("run {} was decided by policy {}, not the given policy {}", head.run,
                                          head.policy, options_.policies[0].digest)
                            : fmt::format("run {} was decided by policy {}, none of the {} given policies", head.run,
                                          head.policy, options_.policies.size()),
                        line, offset, seq);
          }
          if (options_.policies[match].prepared != nullptr) {
            std::string why;
            Failure result = Replay(body, *options_.policies[match].prepared, env_reads_[match], why);
            if (result != Failure::kNone)
              return Fail(result, fmt::format("run {}: {}", head.run, why), line, offset, seq);
            ++report_.replayed;
          }
        }
        break;
      }
      case RecordType::kStart:
      case RecordType::kEnd: {
        RunState* found = runs_.Find(facts != nullptr ? facts->run : KeyOf(head.run));
        if (found == nullptr) {
          if (bundle) {
            if (has_body) {
              return Fail(Failure::kMalformed,
                          fmt::format("the bundle carries a record of run {}, outside its tree", head.run), line,
                          offset, seq);
            }
            break;
          }
          return Fail(Failure::kChain,
                      fmt::format("{} record of run {} without its authorization", RecordTypeName(head.type), head.run),
                      line, offset, seq);
        }
        if (bundle && !has_body) {
          return Fail(Failure::kChain,
                      fmt::format("the bundle withholds the {} record of run {}", RecordTypeName(head.type), head.run),
                      line, offset, seq);
        }
        RunState& run = *found;
        if (!run.exec) {
          return Fail(Failure::kChain,
                      fmt::format("run {} was not executed but has a {} record", head.run, RecordTypeName(head.type)),
                      line, offset, seq);
        }
        if (head.type == RecordType::kStart) {
          if (run.started || run.ended) {
            return Fail(Failure::kChain, fmt::format("run {} has a duplicate or late start record", head.run), line,
                        offset, seq);
          }
          run.started = true;
        } else {
          if (run.ended) return Fail(Failure::kChain, fmt::format("run {} ends twice", head.run), line, offset, seq);
          run.ended = true;
          run.end_seq = head.seq;
        }
        break;
      }
      case RecordType::kCheckpoint:
        ++report_.checkpoints;
        if (has_body) {
          last_checkpoint_ = Checkpoint{head.seq, std::string(head.prev), body, line, offset, tree_};
          if (options_.all_signatures) CheckCheckpoint(*last_checkpoint_);
        } else if (!bundle) {
          return Fail(Failure::kMalformed, "checkpoint without body", line, offset, seq);
        }
        break;
      case RecordType::kRecovery:
        ++report_.recoveries;
        break;
    }
    if (!bundle) AddLeaf(facts != nullptr ? facts->leaf : tlog::LeafHash(head_text), head_text, head.type);
  }

  // The Merkle tree over the log's HEADs (docs/lineage-format.md
  // "Transparency log"), with the heads a note or --since asks about.
  void AddLeaf(const tlog::Hash& leaf, std::string_view head_text, RecordType type) {
    tree_.AppendLeafHash(leaf);
    if (published_ && tree_.size() <= *note_size_) published_->Add(leaf, head_text, tree_.size() == *note_size_);
    if (note_size_ && tree_.size() == *note_size_) {
      note_root_ = tree_.RootHash();
      note_ends_at_checkpoint_ = type == RecordType::kCheckpoint;
    }
    if (since_note_ && tree_.size() == since_note_->size) since_note_->root = tree_.RootHash();
  }

  // A present BODY: canonical JSON, an object, and for authorization, start
  // and end records the members HEAD repeats equal to HEAD's (statistics and
  // the run rules read HEAD, replay reads BODY: they must be one record).
  void CheckBody(const Head& head, std::string_view body, std::uint64_t line, std::uint64_t offset) {
    CanonicalScan scan;
    std::string why;
    const Failure failure = BodyProblem(head, body, scan, &why);
    if (failure != Failure::kNone) Fail(failure, std::move(why), line, offset, static_cast<std::int64_t>(head.seq));
  }

  // What CheckBody finds wrong with `body` (kNone: nothing); `why` (when
  // given) receives the message. Reads nothing but its arguments: the
  // workers of VerifyLog call it with their own `scan`.
  static Failure BodyProblem(const Head& head, std::string_view body, CanonicalScan& scan, std::string* why) {
    if (!scan.Scan(body)) {
      if (why != nullptr) *why = fmt::format("the body of record {} is not canonical JSON: {}", head.seq, scan.why);
      return Failure::kMalformed;
    }
    if (!scan.IsObject()) {
      if (why != nullptr) *why = fmt::format("the body of record {} is not a JSON object", head.seq);
      return Failure::kMalformed;
    }
    if (head.type != RecordType::kAuthorization && head.type != RecordType::kStart && head.type != RecordType::kEnd) {
      return Failure::kNone;
    }
    // The member's raw value text against HEAD's (a string, quoted unless
    // `quote` is false).
    Failure failure = Failure::kNone;
    auto differs = [&](std::string_view member, std::string_view in_body, std::string_view in_head, bool quote) {
      if (in_body.empty()) {
        if (why != nullptr) *why = fmt::format("the body of record {} lacks `{}`", head.seq, member);
        failure = Failure::kMalformed;
        return true;
      }
      const bool same = quote ? in_body.size() == in_head.size() + 2 && in_body.front() == '"' &&
                                    in_body.back() == '"' && in_body.substr(1, in_head.size()) == in_head
                              : in_body == in_head;
      if (same) return false;
      if (why != nullptr) {
        *why = fmt::format("record {}: the body's `{}` is {} but its HEAD says {}", head.seq, member, in_body,
                           quote ? fmt::format("\"{}\"", in_head) : std::string(in_head));
      }
      failure = Failure::kChain;
      return true;
    };
    if (differs("run", scan.run, head.run, true)) return failure;
    if (head.type != RecordType::kAuthorization) return Failure::kNone;
    if (differs("parent", scan.parent, head.parent, true)) return failure;
    if (differs("verdict", scan.verdict, head.verdict, true)) return failure;
    if (differs("execute", scan.execute, head.exec ? "true" : "false", false)) return failure;
    if (differs("policy.digest", scan.policy_digest, head.policy, true)) return failure;
    if (!scan.approval.empty()) {
      if (std::string problem = ApprovalProblem(scan); !problem.empty()) {
        if (why != nullptr) *why = fmt::format("record {}: its approval {}", head.seq, problem);
        return Failure::kMalformed;
      }
    }
    return Failure::kNone;
  }

  // What is wrong with an authorization's `approval` (docs/lineage-format.md):
  // exactly its five members, the answer the body's ask_answer, an ask's
  // id, a uid (-1 exactly for a timeout); "" when nothing.
  static std::string ApprovalProblem(const CanonicalScan& scan) {
    if (scan.verdict != "\"ask\"") return "belongs to a verdict that is not ask";
    auto parsed = ParseUntrusted(scan.approval);
    if (!parsed.ok() || !parsed.value().is_object() || parsed.value().size() != 5) {
      return "is not an object of answer, ask, at_unix_ns, by_uid and by_user";
    }
    const Json& approval = parsed.value();
    const auto text = [&](const char* name) {
      const auto found = approval.find(name);
      return found != approval.end() && found->is_string() ? found->get<std::string>() : std::string("\x01");
    };
    const auto integer = [&](const char* name) -> std::optional<std::int64_t> {
      const auto found = approval.find(name);
      if (found == approval.end() || !found->is_number_integer()) return std::nullopt;
      return found->get<std::int64_t>();
    };
    const std::string answer = text("answer");
    if (answer != "yes" && answer != "no" && answer != "timeout") return "has an answer that is not yes, no or timeout";
    if (scan.ask_answer != "\"" + answer + "\"") return "says " + answer + " but the body's ask_answer does not";
    const std::string ask = text("ask");
    if (ask.size() != 32 || ask.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return "names no ask id (32 lower-case hex digits)";
    }
    const auto by_uid = integer("by_uid");
    const auto at = integer("at_unix_ns");
    if (!by_uid || *by_uid < -1 || (*by_uid == -1) != (answer == "timeout") || !at || *at < 0) {
      return "has a by_uid or at_unix_ns out of range (by_uid is -1 exactly for a timeout)";
    }
    const auto by_user = approval.find("by_user");
    if (by_user == approval.end() || !request::BytesFromJson(*by_user, "by_user").ok()) {
      return "has no by_user byte string";
    }
    return "";
  }

  // The log's checkpoint note: signed by a pinned lineage key, for this
  // log, over a prefix of the log that ends at a checkpoint.
  void CheckNote() {
    if (!options_.note) {
      if (options_.note_required && last_claim_has_root_) {
        Fail(Failure::kSignature,
             "no checkpoint note: the log's last checkpoint is version 2, and its published signed tree head "
             "(`checkpoint` in the directory) is missing",
             0, 0);
      }
      return;
    }
    bool signature_failure = false;
    auto note = OpenLineageNote(*options_.note, log_id_, options_.trusted, signature_failure);
    if (!note.ok())
      return Fail(signature_failure ? Failure::kSignature : Failure::kMalformed, note.error().message, 0, 0);
    const tlog::Checkpoint& checkpoint = note.value();
    if (!note_root_) {
      return Fail(Failure::kChain,
                  fmt::format("the checkpoint note publishes {} records but the log has {} (rolled back, or the note "
                              "belongs to a longer log)",
                              checkpoint.size, tree_.size()),
                  0, 0);
    }
    if (*note_root_ != checkpoint.root_hash) {
      return Fail(
          Failure::kChain,
          fmt::format("the checkpoint note's tree head is not the one of the log's first {} records", checkpoint.size),
          0, 0);
    }
    if (!note_ends_at_checkpoint_) {
      return Fail(
          Failure::kChain,
          fmt::format("the checkpoint note's tree ends at record {}, which is not a checkpoint", checkpoint.size - 1),
          0, 0);
    }
    if (published_ && !published_->error.empty()) {
      return Fail(Failure::kChain, "the published tiles are not the log's: " + published_->error, 0, 0);
    }
    report_.published = checkpoint.size;
    report_.last_note = *options_.note;
  }

  // --since: the checkpoint seen earlier.
  struct Since {
    std::uint64_t seq;
    std::string log;
    std::string head_text;
    std::string body;
  };

  // After a verified log: the checkpoint seen earlier must have been found.
  void CheckSince() {
    if (since_note_) {
      if (since_note_->origin != LogOrigin(log_id_)) {
        return Fail(Failure::kChain,
                    fmt::format("the checkpoint seen earlier (--since) is of {}, not of this log ({}): another log "
                                "was put in this one's place",
                                EscapeForDisplay(since_note_->origin), LogOrigin(log_id_)),
                    0, 0);
      }
      bool signature_failure = false;
      auto seen = OpenLineageNote(options_.since_checkpoint, log_id_, options_.trusted, signature_failure);
      if (!seen.ok()) {
        return Fail(signature_failure ? Failure::kSignature : Failure::kMalformed, "--since: " + seen.error().message,
                    0, 0);
      }
      auto lines = tlog::ParseNote(options_.since_checkpoint);
      for (const crypto::PublicKey& witness : options_.witnesses) {
        auto cosigned = lines.ok() ? tlog::FindCosignature(lines.value(), witness)
                                   : ErrorOr<tlog::VerifiedCosignature>(lines.error());
        if (!cosigned.ok()) {
          return Fail(Failure::kSignature,
                      fmt::format("--since: witness key {}: {}", witness.IdHex(), cosigned.error().message), 0, 0);
        }
        report_.witnessed_by.push_back(
            fmt::format("{} at {}", EscapeForDisplay(cosigned.value().name), cosigned.value().timestamp));
      }
      if (!since_note_->root) {
        return Fail(Failure::kChain,
                    fmt::format("rollback: the log has {} records, fewer than the {} of the checkpoint seen earlier "
                                "(--since)",
                                tree_.size(), since_note_->size),
                    0, 0);
      }
      if (*since_note_->root != seen.value().root_hash) {
        return Fail(Failure::kChain,
                    fmt::format("fork: the log's first {} records are not the tree the checkpoint seen earlier "
                                "(--since) signed",
                                since_note_->size),
                    0, 0);
      }
      if (last_checkpoint_) report_.last_checkpoint_line = LineAt(last_checkpoint_->offset);
      return;
    }
    if (!since_) {
      if (last_checkpoint_) report_.last_checkpoint_line = LineAt(last_checkpoint_->offset);
      return;
    }
    if (since_->log != log_id_) {
      return Fail(Failure::kChain,
                  fmt::format("the checkpoint seen earlier (--since) belongs to log {}, not {}: another log was put "
                              "in this one's place",
                              since_->log, log_id_),
                  0, 0);
    }
    if (!since_matched_) {
      return Fail(Failure::kChain,
                  fmt::format("rollback: the log ends at record {}, before checkpoint {} seen earlier (--since)",
                              expected_seq_ == 0 ? 0 : expected_seq_ - 1, since_->seq),
                  0, 0);
    }
    if (last_checkpoint_) report_.last_checkpoint_line = LineAt(last_checkpoint_->offset);
  }

  // The line (without its end) that starts at byte `offset`.
  std::string LineAt(std::uint64_t offset) const {
    const std::size_t end = data_.find('\n', offset);
    return std::string(data_.substr(offset, end == std::string_view::npos ? std::string_view::npos : end - offset));
  }

  struct Checkpoint {
    std::uint64_t seq;
    std::string prev;
    std::string_view body;
    std::uint64_t line;
    std::uint64_t offset;
    tlog::CompactTree tree;  // logs: the records before it
  };

  void CheckCheckpoint(const Checkpoint& checkpoint) {
    if (failed()) return;
    bool signature_failure = false;
    ++report_.signatures_checked;
    auto claim = OpenCheckpoint(checkpoint.body, options_.trusted, signature_failure);
    const auto seq = static_cast<std::int64_t>(checkpoint.seq);
    if (!claim.ok()) {
      return Fail(signature_failure ? Failure::kSignature : Failure::kMalformed,
                  fmt::format("checkpoint {}: {}", checkpoint.seq, claim.error().message), checkpoint.line,
                  checkpoint.offset, seq);
    }
    if (claim.value().log != log_id_ || claim.value().count != checkpoint.seq ||
        claim.value().head != checkpoint.prev) {
      return Fail(Failure::kChain,
                  fmt::format("checkpoint {} signs log {} at {} records with head {}, which is not this chain",
                              checkpoint.seq, claim.value().log, claim.value().count, claim.value().head),
                  checkpoint.line, checkpoint.offset, seq);
    }
    last_claim_has_root_ = claim.value().root.has_value();
    // In a bundle the tree is not whole: there the note's proof binds it.
    if (claim.value().root && report_.kind == "log" && *claim.value().root != checkpoint.tree.RootHash()) {
      return Fail(Failure::kChain,
                  fmt::format("checkpoint {} signs a Merkle tree head that is not the one of the records before it",
                              checkpoint.seq),
                  checkpoint.line, checkpoint.offset, seq);
    }
    for (const std::string& run : claim.value().runs) {
      if (IsId(run)) attributed_.insert(KeyOf(run));
    }
  }

  // After the last record: the final checkpoint, certified counts, runs.
  void Finish(bool bundle) {
    if (failed()) return;
    if (!last_checkpoint_) {
      if (bundle || report_.records > 1) {
        return Fail(Failure::kSignature, "no signed checkpoint covers the records", 0, 0);
      }
      report_.certified = report_.records;
      return;
    }
    if (!options_.all_signatures) CheckCheckpoint(*last_checkpoint_);
    if (failed()) return;
    const std::uint64_t covered = last_checkpoint_->seq;  // seqs below are certified
    report_.certified = bundle ? report_.records : covered + 1 - first_seq_;
    report_.uncertified = report_.records - report_.certified;
    for (const auto& [key, run] : runs_.InOrder()) {
      if (run.seq >= covered) continue;
      ++report_.runs;
      if (run.verdict == 'a') ++report_.allow;
      if (run.verdict == 'd') ++report_.deny;
      if (run.verdict == 'k') ++report_.ask;
      if (run.exec && (!run.ended || run.end_seq >= covered)) report_.incomplete.push_back(IdOf(key));
      if (options_.all_signatures && !bundle && attributed_.count(key) == 0) report_.unattributed.push_back(IdOf(key));
    }
    // A bundle is the whole tree or nothing: one cut at a checkpoint before
    // the tree ended (which still verifies as a prefix) would withhold the
    // ends of its runs and whatever their children did after the cut.
    if (bundle && !report_.incomplete.empty()) {
      return Fail(Failure::kChain,
                  fmt::format("the bundle does not carry the end of run {}: it was cut before its tree ended, or "
                              "the end was withheld (verify the log instead)",
                              report_.incomplete.front()),
                  0, 0);
    }
  }

  // The lines of `bytes` (the log's bytes from offset `base`, ending after
  // an LF or at the end of the log) into `out`; a final fragment without LF
  // is left out.
  // The digests of a chunk's records are computed in one batch
  // (crypto::FastSha256Batch: two messages at a time).
  static void Examine(std::string_view bytes, std::size_t base, std::vector<LineFacts>& out, CanonicalScan& scan) {
    struct Candidate {
      std::size_t index = 0;  // in `out`
      SplitLine split;
      Head head;
    };
    std::vector<Candidate> candidates;
    std::string leaves;  // 0x00 || HEAD of each candidate: its Merkle leaf
    std::vector<std::string_view> messages;
    out.clear();
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      const void* lf = std::memchr(bytes.data() + pos, '\n', bytes.size() - pos);
      if (lf == nullptr) break;
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data());
      LineFacts& facts = out.emplace_back();
      facts.start = base + pos;
      facts.end = base + end;
      const SplitLine split = Split(bytes.substr(pos, end - pos));
      facts.text = bytes.data() + pos;
      pos = end + 1;
      if (!split.has_body) continue;
      auto head = ParseHead(split.head);
      if (!head.ok()) continue;
      candidates.push_back(Candidate{out.size() - 1, split, head.value()});
      leaves.push_back('\0');
      leaves.append(split.head);
    }
    // Per candidate: SHA-256 of BODY, of HEAD, and the leaf hash.
    messages.reserve(3 * candidates.size());
    std::size_t leaf_at = 0;
    for (const Candidate& candidate : candidates) {
      messages.push_back(candidate.split.body);
      messages.push_back(candidate.split.head);
      messages.push_back(std::string_view(leaves).substr(leaf_at, 1 + candidate.split.head.size()));
      leaf_at += 1 + candidate.split.head.size();
    }
    std::vector<crypto::Sha256Digest> digests(messages.size());
    crypto::FastSha256Batch(messages, digests);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& candidate = candidates[i];
      if (!SameDigest(candidate.head.body, digests[3 * i])) continue;
      LineFacts& facts = out[candidate.index];
      facts.ok = true;
      facts.tab = candidate.split.head.size();
      facts.head = candidate.head;
      facts.head_hash = digests[3 * i + 1];
      DecodeDigest(facts.head.prev, facts.prev);
      facts.log = KeyOf(facts.head.log);
      facts.run = KeyOf(facts.head.run);
      facts.parent = KeyOf(facts.head.parent);
      facts.leaf = digests[3 * i + 2];
      facts.body_ok = BodyProblem(facts.head, candidate.split.body, scan, nullptr) == Failure::kNone;
    }
  }

  // Examines a log in chunks (split after LFs) on several threads, ahead of
  // the sequential pass that takes the chunks in order; at most `window`
  // chunks are examined and not yet taken, so memory stays bounded.
  class LinePipeline {
   public:
    // `fd` (or -1): the log's file, whose chunks are read into buffers
    // rather than from `data`, its mapping (on VMs the first touch of each
    // mapped page is costly, and here it would be paid by one thread).
    LinePipeline(std::string_view data, int fd, unsigned threads, std::size_t chunk_size)
        : data_(data), fd_(fd), chunk_size_(chunk_size) {
      // Chunk boundaries: the first byte after the first LF at or after each
      // multiple of chunk_size (a line longer than a chunk makes its chunk longer).
      bounds_.push_back(0);
      for (std::size_t at = chunk_size; at < data.size(); at += chunk_size) {
        const std::size_t from = std::max(at - 1, bounds_.back());
        if (from >= data.size()) break;
        const void* lf = std::memchr(data.data() + from, '\n', data.size() - from);
        if (lf == nullptr) break;
        const std::size_t next = static_cast<std::size_t>(static_cast<const char*>(lf) - data.data()) + 1;
        if (next >= data.size()) break;
        if (next > bounds_.back()) bounds_.push_back(next);
      }
      bounds_.push_back(data.size());
      const std::size_t chunks = bounds_.size() - 1;
      threads = static_cast<unsigned>(std::min<std::size_t>(threads, chunks));
      window_ = std::max<std::size_t>(1, std::min<std::size_t>(chunks, 4 * std::size_t{threads}));
      slots_.resize(window_);
      for (Slot& slot : slots_) slot.state = kEmpty;
      for (unsigned i = 1; i < threads; ++i) {
        try {
          workers_.emplace_back([this] { Work(); });
        } catch (const std::system_error&) {
          break;  // no more threads (limits, sandbox): the caller examines what is left
        }
      }
    }
    ~LinePipeline() {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      wake_.notify_all();
      for (std::thread& worker : workers_) worker.join();
    }
    LinePipeline(const LinePipeline&) = delete;
    LinePipeline& operator=(const LinePipeline&) = delete;

    std::size_t chunks() const { return bounds_.size() - 1; }

    // The lines of chunk `k`, examined; chunks are taken in order, each once,
    // and stay valid until the next call to Take. While chunk `k` is not
    // ready, examines the next unclaimed chunks itself (only then: claiming
    // the slot it just freed would leave the other threads waiting).
    const std::vector<LineFacts>& Take(std::size_t k) {
      std::unique_lock<std::mutex> lock(mutex_);
      if (k > 0) {
        slots_[(k - 1) % window_].state = kEmpty;  // the previous chunk is done with
        taken_ = k;
        wake_.notify_all();
      }
      Slot& slot = slots_[k % window_];
      while (slot.state != kReady) {
        if (!ClaimAndExamine(lock)) wake_.wait(lock);
      }
      if (slot.error) std::rethrow_exception(slot.error);
      return slot.lines;
    }

   private:
    enum State { kEmpty, kBusy, kReady };
    struct Slot {
      State state = kEmpty;
      std::vector<LineFacts> lines;
      std::unique_ptr<char[]> buffer;  // the chunk's bytes, read from fd_
      std::size_t capacity = 0;
      std::exception_ptr error;  // what examining it threw (bad_alloc), for the sequential pass
    };

    // The bytes of chunk `k`: read into the slot's buffer, or (no file, a
    // chunk much larger than most, or a short read) from the mapping.
    std::string_view Bytes(std::size_t k, Slot& slot) {
      const std::size_t begin = bounds_[k], size = bounds_[k + 1] - bounds_[k];
      if (fd_ < 0 || size > 2 * chunk_size_) return data_.substr(begin, size);
      if (slot.capacity < size) {
        slot.buffer.reset(new char[size]);
        slot.capacity = size;
      }
      std::size_t got = 0;
      while (got < size) {
        const ssize_t n = pread(fd_, slot.buffer.get() + got, size - got, static_cast<off_t>(begin + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
      }
      // A short read (the file shrank: writers only append): what the
      // mapping shows, as the rest of the verification sees it.
      if (got != size) return data_.substr(begin, size);
      return std::string_view(slot.buffer.get(), size);
    }

    // Claims the next chunk within the window, if any, and examines it with
    // the lock released. False when there was none to claim.
    bool ClaimAndExamine(std::unique_lock<std::mutex>& lock) {
      if (next_ >= chunks() || next_ >= taken_ + window_) return false;
      const std::size_t k = next_++;
      Slot& slot = slots_[k % window_];
      slot.state = kBusy;
      lock.unlock();
      try {
        Examine(Bytes(k, slot), bounds_[k], slot.lines, ThreadScan());
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      slot.state = kReady;
      wake_.notify_all();
      return true;
    }

    void Work() {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!stop_ && next_ < chunks()) {
        if (!ClaimAndExamine(lock)) wake_.wait(lock);
      }
    }

    // Each examining thread needs its own scanner (kept: it owns buffers).
    static CanonicalScan& ThreadScan() {
      thread_local CanonicalScan scan;
      return scan;
    }

    std::string_view data_;
    int fd_ = -1;
    std::size_t chunk_size_ = 0;
    std::vector<std::size_t> bounds_;  // chunk k is [bounds_[k], bounds_[k + 1])
    std::size_t window_ = 1;
    std::vector<Slot> slots_;  // chunk k in slots_[k % window_]
    std::mutex mutex_;
    std::condition_variable wake_;
    std::size_t next_ = 0;   // the next chunk to claim
    std::size_t taken_ = 0;  // chunks before it are done with (their slots free)
    bool stop_ = false;
    std::vector<std::thread> workers_;
  };

  // Threads for VerifyLog: the cores (at most kMaxThreads), or
  // GOV_VERIFY_THREADS; chunks of 1 MiB (GOV_VERIFY_CHUNK bytes, for tests):
  // small enough that their buffers stay in the caches, a single chunk and
  // thread for logs up to that.
  static constexpr unsigned kMaxThreads = 16;
  static unsigned Threads() {
    unsigned threads = std::thread::hardware_concurrency();
    if (const char* text = std::getenv("GOV_VERIFY_THREADS"); text != nullptr && *text != '\0') {
      threads = static_cast<unsigned>(std::strtoul(text, nullptr, 10));
    }
    return std::clamp(threads, 1u, kMaxThreads);
  }
  static std::size_t ChunkSize() {
    if (const char* text = std::getenv("GOV_VERIFY_CHUNK"); text != nullptr && *text != '\0') {
      return std::max<std::size_t>(1, std::strtoull(text, nullptr, 10));
    }
    return std::size_t{1} << 20;
  }

  void VerifyLog() {
    std::size_t pos = 0;
    std::uint64_t line_no = 0;
    // Invalid lines not yet accounted for by a recovery record.
    Junk junk;
    const unsigned threads = Threads();
    LinePipeline pipeline(data_, fd_, threads, ChunkSize());
    for (std::size_t k = 0; k < pipeline.chunks() && !failed(); ++k) {
      for (const LineFacts& facts : pipeline.Take(k)) {
        if (failed()) break;
        Progress(facts.start);
        ++line_no;
        pos = facts.end + 1;
        if (!LogLine(facts, line_no, junk)) return;
      }
    }
    if (!failed() && pos < data_.size()) {
      // A torn tail: report what the records before it prove, then fail.
      Progress(pos);
      ++line_no;
      const std::size_t line_start = pos;
      const std::size_t from = junk.start == std::string_view::npos ? line_start : junk.start;
      std::string message = fmt::format(
          "torn last record: {} bytes at offset {} without a line end (a writer died mid-write; the next govrun "
          "records a recovery)",
          data_.size() - from, from);
      if (report_.records > 0) Finish(false);
      if (failed()) {
        message += "; before it: " + report_.message;
        report_.failure = Failure::kNone;
      }
      return Fail(Failure::kChain, message, junk.start == std::string_view::npos ? line_no : junk.line, from);
    }
    Progress(data_.size());
    if (failed()) return;
    if (junk.start != std::string_view::npos) {
      return Fail(junk.why_class, fmt::format("line {}: {}", junk.line, junk.why), junk.line, junk.start);
    }
    if (report_.records == 0) return Fail(Failure::kMalformed, "no record", 0, 0);
    Finish(false);
  }

  // Invalid lines not yet accounted for by a recovery record: from `start`
  // (npos: none), the first at line `line`, of class `why_class`.
  struct Junk {
    std::size_t start = std::string_view::npos;
    std::uint64_t line = 0;
    Failure why_class = Failure::kNone;
    std::string why;
  };

  // One complete line of a log, in order (docs/lineage-format.md "Verifying
  // a log"). False when verification stops here.
  bool LogLine(const LineFacts& facts, std::uint64_t line_no, Junk& junk) {
    const std::size_t line_start = facts.start;
    const std::string_view line = data_.substr(line_start, facts.end - line_start);
    if (!facts.ok) {
      // Why it is invalid, found again as it is reported.
      SplitLine split = Split(line);
      auto head = ParseHead(split.head);
      std::string why;
      Failure bad = Failure::kNone;
      if (!split.has_body) {
        bad = Failure::kMalformed;
        why = "a log line without a TAB between HEAD and BODY";
      } else if (!head.ok()) {
        bad = Failure::kMalformed;
        why = head.error().message;
      } else {
        bad = Failure::kChain;
        why = fmt::format("the body of record {} does not match its digest", head.value().seq);
      }
      // The first line must be the header: nothing can account for it.
      if (line_no == 1) {
        Fail(bad, fmt::format("line 1: {}", why), 1, 0);
        return false;
      }
      if (junk.start == std::string_view::npos) {
        junk.start = line_start;
        junk.line = line_no;
        junk.why_class = bad;
        junk.why = why;
      }
      return true;
    }
    const Head& h = facts.head;
    // HEAD as examined (its views are there); BODY from the mapping, since
    // a checkpoint's is kept to the end.
    const std::string_view head_text(facts.text, facts.tab);
    const std::string_view body = line.substr(facts.tab + 1);
    if (line_no == 1) {
      if (h.type != RecordType::kHeader) {
        Fail(Failure::kMalformed, "the log does not start with a header record", 1, 0, 0);
        return false;
      }
      log_id_ = std::string(h.log);
      log_key_ = KeyOf(h.log);
      report_.log_id = log_id_;
      prev_ = crypto::Sha256Digest{};
      if (h.prev != kGenesisPrev) {
        Fail(Failure::kChain, "record 0 does not start the chain", 1, 0, 0);
        return false;
      }
      CheckHeaderBody(body, 1);
    }
    if (h.type == RecordType::kRecovery) {
      if (junk.start == std::string_view::npos) {
        Fail(Failure::kChain, fmt::format("recovery record {} without torn bytes before it", h.seq), line_no,
             line_start, static_cast<std::int64_t>(h.seq));
        return false;
      }
      std::string_view region = data_.substr(junk.start, line_start - junk.start);
      Json expected = {{"offset", junk.start}, {"length", region.size()}, {"sha256", DigestOf(region)}};
      if (Canonical(expected) != body) {
        Fail(Failure::kChain,
             fmt::format("recovery record {} does not account for the {} invalid bytes at offset {}", h.seq,
                         region.size(), junk.start),
             line_no, line_start, static_cast<std::int64_t>(h.seq));
        return false;
      }
      junk.start = std::string_view::npos;
    } else if (junk.start != std::string_view::npos) {
      Fail(junk.why_class, fmt::format("line {}: {}", junk.line, junk.why), junk.line, junk.start);
      return false;
    }
    Record(h, head_text, body, true, line_no, line_start, false, &facts);
    return true;
  }

  void CheckHeaderBody(std::string_view body, std::uint64_t line) {
    auto parsed = ParseUntrusted(body);
    if (!parsed.ok()) return Fail(Failure::kMalformed, "header body: " + parsed.error().message, line, 0, 0);
    try {
      const Json& header = parsed.value();
      if (Canonical(header) != body || header.at("format").get<std::string>() != kLogFormat ||
          header.at("log").get<std::string>() != log_id_) {
        Fail(Failure::kMalformed, "the header record's body does not describe this log", line, 0, 0);
      }
    } catch (const Json::exception& e) {
      Fail(Failure::kMalformed, fmt::format("header body: {}", e.what()), line, 0, 0);
    }
  }

  void VerifyBundle() {
    std::size_t lf = data_.find('\n');
    if (lf == std::string_view::npos)
      return Fail(Failure::kMalformed, "bundle: no line end after the bundle header", 1, 0);
    std::string_view header_text = data_.substr(0, lf);
    auto parsed = ParseUntrusted(header_text);
    if (!parsed.ok()) return Fail(Failure::kMalformed, "bundle header: " + parsed.error().message, 1, 0);
    try {
      const Json& header = parsed.value();
      const std::string format = header.at("format").get<std::string>();
      const std::size_t keys = format == kBundleFormatV2 ? 5 : 3;
      if (Canonical(header) != header_text || !header.is_object() || header.size() != keys) {
        return Fail(Failure::kMalformed, "bundle: the first line is not a canonical bundle header", 1, 0);
      }
      if (format != kBundleFormat && format != kBundleFormatV2) {
        return Fail(Failure::kMalformed, "bundle: unknown format", 1, 0);
      }
      log_id_ = header.at("log").get<std::string>();
      root_ = header.at("root").get<std::string>();
      if (format == kBundleFormatV2) {
        BundleProof proof{header.at("checkpoint").get<std::string>(), {}};
        for (const Json& hash : header.at("proof")) {
          const std::string hex = hash.get<std::string>();
          auto bytes = hex.size() == 2 * tlog::kHashSize ? crypto::HexDecode(hex) : ErrorOr<std::string>(Error{""});
          if (!bytes.ok() || crypto::HexEncode(bytes.value()) != hex) {
            return Fail(Failure::kMalformed, "bundle header: a proof hash is not 64 lower-case hex digits", 1, 0);
          }
          tlog::Hash value{};
          std::memcpy(value.data(), bytes.value().data(), value.size());
          proof.hashes.push_back(value);
        }
        bundle_proof_ = std::move(proof);
      }
    } catch (const Json::exception& e) {
      return Fail(Failure::kMalformed, fmt::format("bundle header: {}", e.what()), 1, 0);
    }
    if (!IsId(log_id_) || !IsId(root_)) return Fail(Failure::kMalformed, "bundle header: bad log or root id", 1, 0);
    report_.log_id = log_id_;
    report_.root = root_;
    std::size_t pos = lf + 1;
    std::uint64_t line_no = 1;
    bool last_was_signed_checkpoint = false;
    while (pos < data_.size() && !failed()) {
      const std::size_t line_start = pos;
      ++line_no;
      std::size_t end = data_.find('\n', pos);
      if (end == std::string_view::npos) {
        return Fail(Failure::kChain, "bundle: truncated (the last line has no line end)", line_no, line_start);
      }
      pos = end + 1;
      std::string_view line = data_.substr(line_start, end - line_start);
      SplitLine split = Split(line);
      auto head = ParseHead(split.head);
      if (!head.ok()) return Fail(Failure::kMalformed, "bundle: " + head.error().message, line_no, line_start);
      const Head& h = head.value();
      if (split.has_body && !SameDigest(h.body, crypto::FastSha256(split.body))) {
        return Fail(Failure::kChain, fmt::format("the body of record {} does not match its digest", h.seq), line_no,
                    line_start, static_cast<std::int64_t>(h.seq));
      }
      if (line_no == 2) {
        if (h.type != RecordType::kAuthorization || h.run != root_ || !split.has_body) {
          return Fail(Failure::kChain, "bundle: the first record is not the root run's authorization", line_no,
                      line_start, static_cast<std::int64_t>(h.seq));
        }
        first_seq_ = h.seq;
        report_.root_parent = std::string(h.parent);
      }
      Record(h, split.head, split.body, split.has_body, line_no, line_start, true);
      last_was_signed_checkpoint = h.type == RecordType::kCheckpoint && split.has_body;
      last_head_ = split.head;
      last_seq_ = h.seq;
    }
    if (failed()) return;
    if (line_no == 1) return Fail(Failure::kChain, "bundle: no records", 1, 0);
    if (!last_was_signed_checkpoint) {
      return Fail(Failure::kChain, "bundle: does not end with a signed checkpoint (truncated)", line_no, 0);
    }
    Finish(true);
    // A downgrade to version 1 would drop what covers the last checkpoint.
    if (!failed() && !bundle_proof_ && last_claim_has_root_) {
      return Fail(Failure::kChain,
                  "bundle: a version 2 checkpoint in a version 1 bundle: its checkpoint note and proof were withheld",
                  1, 0);
    }
    if (!failed() && bundle_proof_) CheckBundleProof();
  }

  // Version 2: the last record is in the tree the log's signed note states.
  void CheckBundleProof() {
    bool signature_failure = false;
    auto note = OpenLineageNote(bundle_proof_->note, log_id_, options_.trusted, signature_failure);
    if (!note.ok()) {
      return Fail(signature_failure ? Failure::kSignature : Failure::kMalformed, "bundle: " + note.error().message, 1,
                  0);
    }
    const tlog::Checkpoint& checkpoint = note.value();
    if (checkpoint.size <= last_seq_) {
      return Fail(Failure::kChain,
                  fmt::format("bundle: the checkpoint note publishes {} records, which do not include record {}",
                              checkpoint.size, last_seq_),
                  1, 0);
    }
    auto included = tlog::VerifyInclusion(tlog::LeafHash(last_head_), last_seq_, checkpoint.size, bundle_proof_->hashes,
                                          checkpoint.root_hash);
    if (!included.ok()) {
      return Fail(Failure::kChain,
                  fmt::format("bundle: record {} is not in the tree the checkpoint note signs: {}", last_seq_,
                              included.error().message),
                  1, 0);
    }
    report_.published = checkpoint.size;
  }

  std::string_view data_;
  int fd_ = -1;
  const VerifyOptions& options_;
  Report& report_;
  std::vector<EnvReads> env_reads_;  // per policy of VerifyOptions::policies
  std::string log_id_;
  RunKey log_key_;  // log_id_ (a log's, parsed from a HEAD) as 128 bits
  std::string root_;
  bool have_prev_ = false;
  crypto::Sha256Digest prev_{};
  std::uint64_t expected_seq_ = 0;
  std::uint64_t first_seq_ = 0;
  std::uint64_t last_progress_ = 0;
  RunTable runs_;
  std::unordered_set<RunKey, RunKeyHash> external_parents_;
  std::unordered_set<RunKey, RunKeyHash> attributed_;  // runs listed by verified checkpoints
  std::optional<Checkpoint> last_checkpoint_;
  std::optional<Since> since_;
  bool since_matched_ = false;
  // The transparency log (logs only): the tree so far, the note's size and
  // the head of the log's records at that size.
  tlog::CompactTree tree_;
  std::optional<std::uint64_t> note_size_;
  std::optional<tlog::Hash> note_root_;
  bool note_ends_at_checkpoint_ = false;
  bool last_claim_has_root_ = false;
  struct SinceNote {
    std::uint64_t size;
    std::string origin;
    std::optional<tlog::Hash> root;  // the log's head at that size, once reached
  };
  std::optional<SinceNote> since_note_;
  // The tiles and entry bundles of a published directory, rebuilt from the
  // log's HEADs up to the note's size and compared with the files.
  struct PublishedTiles {
    PublishedTiles(const std::string& dir, std::uint64_t size) : source(dir), note_size(size) {}
    void Add(const tlog::Hash& leaf, std::string_view head, bool last) {
      if (!error.empty()) return;
      leaves.push_back(leaf);
      CompareEntry(appender.size() + leaves.size() - 1, head);
      if (leaves.size() == 4096 || last) {
        for (tlog::TileContents& tile : appender.Append(leaves)) {
          if (tile.tile.width == tlog::kTileWidth) {
            CompareTile(tile);
          } else {
            partial[{tile.tile.level, tile.tile.index}] = std::move(tile);
          }
        }
        leaves.clear();
      }
      if (!last) return;
      for (const tlog::Tile& tile : tlog::PartialTiles(note_size)) {
        auto it = partial.find({tile.level, tile.index});
        if (it == partial.end() || it->second.tile.width != tile.width) {
          error = "internal: no partial tile " + tlog::TilePath(tile);
          return;
        }
        CompareTile(it->second);
      }
    }
    void CompareTile(const tlog::TileContents& tile) {
      if (!error.empty()) return;
      auto stored = source.ReadTile(tile.tile);
      if (!stored.ok()) {
        error = stored.error().message;
      } else if (stored.value() != tile.hashes) {
        error = tlog::TilePath(tile.tile) + " differs from the tile of the log's records";
      }
    }
    // Compares the HEAD of leaf `index` with its entry in the stored
    // bundle, read when its first entry comes (no copy of the HEADs is kept).
    void CompareEntry(std::uint64_t index, std::string_view head) {
      const std::uint64_t in_bundle = index % tlog::kTileWidth;
      const tlog::Tile tile{
          0, index / tlog::kTileWidth,
          static_cast<std::uint16_t>(std::min<std::uint64_t>(tlog::kTileWidth, note_size - (index - in_bundle)))};
      if (in_bundle == 0) {
        auto stored = source.ReadEntries(tile);
        if (!stored.ok()) {
          error = stored.error().message;
          return;
        }
        entries = std::move(stored).value();
      }
      if (in_bundle >= entries.size() || entries[in_bundle] != head ||
          (in_bundle + 1 == tile.width && entries.size() != tile.width)) {
        error = tlog::EntryBundlePath(tile) + " does not hold the log's HEADs";
      }
    }
    DirectoryTileSource source;
    std::uint64_t note_size;
    tlog::TileAppender appender;
    std::vector<tlog::Hash> leaves;
    std::vector<std::string> entries;  // the stored bundle of the HEADs being compared
    std::map<std::pair<std::uint8_t, std::uint64_t>, tlog::TileContents> partial;
    std::string error;
  };
  std::optional<PublishedTiles> published_;
  // Version 2 bundles: the note and the proof of the last record.
  struct BundleProof {
    std::string note;
    std::vector<tlog::Hash> hashes;
  };
  std::optional<BundleProof> bundle_proof_;
  std::string_view last_head_;
  std::uint64_t last_seq_ = 0;
};

}  // namespace

const char* FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "ok";
    case Failure::kSignature:
      return "signature";
    case Failure::kChain:
      return "chain";
    case Failure::kBinding:
      return "binding";
    case Failure::kReplay:
      return "replay";
    case Failure::kMalformed:
      return "malformed";
    case Failure::kUsage:
      return "usage";
    case Failure::kInput:
      return "input";
  }
  return "?";
}

bool IsCanonicalJson(std::string_view text, std::string* why) {
  CanonicalScan scan;
  if (scan.Scan(text)) return true;
  if (why != nullptr) *why = scan.why;
  return false;
}

namespace {

// VerifyBytes, with the file `data` maps (or -1).
Report VerifyMapped(std::string_view data, int fd, const std::string& path, const VerifyOptions& options) {
  Report report;
  report.path = path;
  if (options.trusted.empty()) {
    report.failure = Failure::kUsage;
    report.message = "no trusted key: pass --trust KEY.pub";
    return report;
  }
  Verifier(data, options, report, fd).Run();
  return report;
}

}  // namespace

Report VerifyBytes(std::string_view data, const std::string& path, const VerifyOptions& options) {
  return VerifyMapped(data, -1, path, options);
}

Report Verify(const std::string& path, const VerifyOptions& options) {
  Report report;
  report.path = path;
  auto fail = [&](std::string message) {
    report.failure = Failure::kInput;
    report.message = std::move(message);
    return report;
  };
  std::string file = path;
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return fail(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  VerifyOptions with_note = options;
  std::string directory;
  if (S_ISDIR(st.st_mode)) {
    directory = path;
    file = path + "/" + std::string(kLogFileName);
    with_note.note_required = true;
  } else {
    const std::size_t slash = path.rfind('/');
    directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  }
  // The published tree head beside the log (a bundle file has its own).
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
  // A shared lock while reading the size and the note: writers append whole
  // records and publish their note under an exclusive lock, so the size is
  // at a record boundary and the note no newer than the log.
  bool locked = flock(fd, LOCK_SH) == 0;
  ErrorOr<std::optional<std::string>> note = std::optional<std::string>();
  if (std::string(kLogFileName) == file.substr(file.rfind('/') + 1)) note = ReadNoteFile(directory);
  int stat_rc = fstat(fd, &st);
  if (locked) flock(fd, LOCK_UN);
  if (!note.ok()) {
    close(fd);
    return fail(note.error().message);
  }
  with_note.note = std::move(note).value();
  // The tiles are what clients without the log read: they must be the log's.
  if (with_note.note) with_note.published_dir = directory;
  if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(fmt::format("{} is not a regular file", file));
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return VerifyBytes({}, path, with_note);
  }
  // A log's lines are read in chunks with pread (VerifyLog): the mapping is
  // for the few bytes read again (records that fail, recovered regions,
  // the last checkpoint) and for bundles, so it is not populated at once.
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    const int error = errno;
    close(fd);
    return fail(fmt::format("cannot map {}: {}", file, std::strerror(error)));
  }
  report = VerifyMapped(std::string_view(static_cast<const char*>(map), size), fd, path, with_note);
  munmap(map, size);
  close(fd);
  return report;
}

}  // namespace gov::lineage
