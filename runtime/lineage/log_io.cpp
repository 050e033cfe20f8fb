// Canonical JSON, the log tail, checkpoint bodies and bundle export.
#include "runtime/lineage/log_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "runtime/crypto/fast_sha256.h"
#include "runtime/crypto/sha256.h"
#include "runtime/lineage/publish.h"
#include "runtime/lineage/verify.h"
#include "runtime/request/byte_string.h"
#include "runtime/support/json_depth.h"
#include "runtime/support/output_file.h"

namespace gov::lineage {
namespace {

using Json = nlohmann::json;

ErrorOr<std::string> PreadRange(int fd, std::uint64_t offset, std::uint64_t length) {
  std::string out(length, '\0');
  std::uint64_t got = 0;
  while (got < length) {
    ssize_t n = pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{fmt::format("lineage log: read failed: {}", std::strerror(errno))};
    }
    if (n == 0) return Error{"lineage log: file shrank while reading"};
    got += static_cast<std::uint64_t>(n);
  }
  return out;
}

// True iff `line` is a record whose body matches its digest.
std::optional<Head> ValidLine(std::string_view line) {
  SplitLine split = Split(line);
  if (!split.has_body) return std::nullopt;
  auto head = ParseHead(split.head);
  if (!head.ok()) return std::nullopt;
  if (DigestOf(split.body) != head.value().body) return std::nullopt;
  return head.value();
}

}  // namespace

ErrorOr<Json> ParseUntrusted(std::string_view text) {
  if (JsonNestsDeeperThan(text, 32)) return Error{"JSON nested deeper than 32 levels"};
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error{fmt::format("invalid JSON: {}", e.what())};
  }
}

std::string Canonical(const Json& value) {
  try {
    return value.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::type_error&) {
    return {};  // a string that is not UTF-8: never replaced, never a record
  }
}

SplitLine Split(std::string_view line) {
  SplitLine out;
  std::size_t tab = line.find('\t');
  if (tab == std::string_view::npos) {
    out.head = line;
    return out;
  }
  out.head = line.substr(0, tab);
  out.body = line.substr(tab + 1);
  out.has_body = true;
  return out;
}

std::string MakeLine(Head head, const std::string& body) {
  std::string digest = DigestOf(body);
  head.body = digest;
  std::string line = HeadText(head);
  line += '\t';
  line += body;
  line += '\n';
  return line;
}

ErrorOr<Tail> ReadTail(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error{fmt::format("lineage log: stat failed: {}", std::strerror(errno))};
  Tail tail;
  tail.size = static_cast<std::uint64_t>(st.st_size);
  if (tail.size == 0) return tail;
  tail.empty = false;
  const std::uint64_t limit = std::min<std::uint64_t>(tail.size, 2 * kMaxRecordBytes + 2);
  // Small first: records are a few KiB, and every fresh page of the buffer
  // costs a page fault (expensive in a VM) at each govrun start.
  std::uint64_t window = std::min<std::uint64_t>(tail.size, 8192);
  while (true) {
    const std::uint64_t start = tail.size - window;
    GOV_ASSIGN_OR_RETURN(std::string buffer, PreadRange(fd, start, window));
    // Walk complete lines backwards. `end` is the offset (in buffer) of a LF.
    std::size_t end = buffer.rfind('\n');
    while (end != std::string::npos) {
      std::size_t line_start;
      if (end == 0) {
        line_start = 0;
        if (start != 0) break;  // its beginning is before the window
      } else {
        std::size_t lf = buffer.rfind('\n', end - 1);
        if (lf == std::string::npos) {
          if (start != 0) break;
          line_start = 0;
        } else {
          line_start = lf + 1;
        }
      }
      std::string_view line(buffer.data() + line_start, end - line_start);
      if (auto head = ValidLine(line)) {
        tail.next_seq = head->seq + 1;
        tail.prev = DigestOf(Split(line).head);
        tail.log_id = std::string(head->log);
        tail.valid_end = start + end + 1;
        return tail;
      }
      if (line_start == 0) {
        end = std::string::npos;
        break;
      }
      end = line_start - 1;
    }
    if (start == 0)
      return Error{"lineage log: no valid record in the file (not a gov lineage log, or its first record was torn)"};
    if (window >= limit) return Error{"lineage log: no valid record in the last 128 MiB (corrupt log)"};
    window = std::min<std::uint64_t>(limit, window * 4);
  }
}

std::string CheckpointBody(std::string_view log_id, std::uint64_t count, std::string_view prev,
                           const std::vector<std::pair<std::string, std::string>>& subjects,
                           const std::vector<std::string>& runs, const crypto::PrivateKey& key,
                           const tlog::Hash* root) {
  const std::string root_hex = root != nullptr ? crypto::HexEncode(*root) : std::string();
  Json subject = Json::array();
  subject.push_back({{"name", fmt::format("gov-lineage-log:{}", log_id)},
                     {"digest", {{"sha256", root != nullptr ? root_hex : std::string(prev.substr(7))}}}});
  for (const auto& [name, digest] : subjects) {
    if (digest.size() != 71) continue;
    // A program path that is not UTF-8 cannot be an in-toto name as it is:
    // "base64:" + its bytes (a path always starts with `/`, so no clash).
    const std::string shown = request::IsUtf8(name) ? name : "base64:" + crypto::Base64Encode(name);
    subject.push_back({{"name", shown}, {"digest", {{"sha256", digest.substr(7)}}}});
  }
  Json predicate = {{"log", log_id}, {"count", count}, {"head", prev}, {"runs", runs}};
  if (root != nullptr) predicate["root"] = "sha256:" + root_hex;
  Json statement = {{"_type", kStatementType},
                    {"subject", subject},
                    {"predicateType", root != nullptr ? kCheckpointPredicateType : kCheckpointPredicateTypeV1},
                    {"predicate", predicate}};
  std::string payload = Canonical(statement);
  crypto::Signature sig = key.Sign(Pae(kDssePayloadType, payload));
  std::string sig_bytes(reinterpret_cast<const char*>(sig.data()), sig.size());
  Json envelope = {
      {"payload", crypto::Base64Encode(payload)},
      {"payloadType", kDssePayloadType},
      {"signatures", Json::array({{{"keyid", key.public_key().IdHex()}, {"sig", crypto::Base64Encode(sig_bytes)}}})}};
  return Canonical(Json{{"envelope", envelope}});
}

namespace {

// Base64 as a DSSE consumer reads it: the standard or the URL-safe alphabet
// (one per text), with its `=` padding or none, nothing else; the unused bits
// of the last character zero, so each byte string has one text per form.
ErrorOr<std::string> DsseBase64Decode(std::string_view text) {
  if (text.find_first_of("+/") != std::string_view::npos && text.find_first_of("-_") != std::string_view::npos) {
    return Error{"base64 mixes the standard and the URL-safe alphabet"};
  }
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (standard.find('=') == std::string::npos) standard.append((4 - standard.size() % 4) % 4, '=');
  return crypto::Base64Decode(standard);
}

// A key id as gov writes it: 16 lower-case hex digits (keys.md).
bool IsKeyId(std::string_view text) {
  return text.size() == 16 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

ErrorOr<CheckpointClaim> OpenCheckpoint(std::string_view body, const std::vector<crypto::PublicKey>& trusted,
                                        bool& signature_failure) {
  signature_failure = false;
  auto parsed = ParseUntrusted(body);
  if (!parsed.ok()) return Error{"checkpoint body: " + parsed.error().message};
  Json root = std::move(parsed).value();
  if (!IsCanonicalJson(body)) return Error{"checkpoint body is not canonical JSON"};
  std::string payload;
  std::vector<std::pair<std::string, std::string>> sigs;
  // The envelope is read as DSSE says a consumer must (envelope.md "Parsing
  // rules", protocol.md): unknown members ignored, either base64 alphabet,
  // `keyid` optional (absent and "" are the same). CheckpointBody writes the
  // one exact form (docs/lineage-format.md "Checkpoints").
  try {
    if (!root.is_object() || root.size() != 1 || !root.contains("envelope")) {
      return Error{"checkpoint body: not {\"envelope\":…}"};
    }
    const Json& envelope = root.at("envelope");
    if (!envelope.is_object()) return Error{"checkpoint envelope: not a JSON object"};
    if (envelope.at("payloadType").get<std::string>() != kDssePayloadType) {
      return Error{"checkpoint envelope: wrong payloadType"};
    }
    auto decoded = DsseBase64Decode(envelope.at("payload").get<std::string>());
    if (!decoded.ok()) return Error{"checkpoint envelope: payload is not base64: " + decoded.error().message};
    payload = decoded.value();
    const Json& list = envelope.at("signatures");
    if (!list.is_array() || list.empty()) return Error{"checkpoint envelope: no signature"};
    for (const Json& s : list) {
      if (!s.is_object()) return Error{"checkpoint signature: not a JSON object"};
      auto raw = DsseBase64Decode(s.at("sig").get<std::string>());
      if (!raw.ok()) return Error{"checkpoint signature: not base64: " + raw.error().message};
      std::string keyid;
      if (s.contains("keyid")) {
        keyid = s.at("keyid").get<std::string>();
        if (!keyid.empty() && !IsKeyId(keyid)) {
          return Error{"checkpoint signature: keyid is neither empty nor 16 lower-case hex digits"};
        }
      }
      sigs.emplace_back(keyid, raw.value());
    }
  } catch (const Json::exception& e) {
    return Error{fmt::format("checkpoint envelope: {}", e.what())};
  }
  // Signature first: the payload is only read once authenticated.
  const std::string pae = Pae(kDssePayloadType, payload);
  bool verified = false;
  std::string hint;
  for (const auto& [keyid, raw] : sigs) {
    if (hint.empty()) hint = keyid;
    if (raw.size() != crypto::kEd25519SignatureSize) continue;
    crypto::Signature sig{};
    std::memcpy(sig.data(), raw.data(), sig.size());
    for (const auto& key : trusted) {
      if (key.Verify(pae, sig)) verified = true;
    }
  }
  if (!verified) {
    signature_failure = true;
    return Error{fmt::format("checkpoint signature does not verify with any trusted key (key id hint {})",
                             hint.empty() ? "none" : hint)};
  }
  CheckpointClaim claim;
  claim.key_id_hint = hint;
  auto parsed_statement = ParseUntrusted(payload);
  if (!parsed_statement.ok()) return Error{"checkpoint statement: " + parsed_statement.error().message};
  try {
    const Json& statement = parsed_statement.value();
    if (!IsCanonicalJson(payload)) return Error{"checkpoint statement is not canonical JSON"};
    if (statement.at("_type").get<std::string>() != kStatementType) return Error{"checkpoint statement: wrong _type"};
    const std::string type = statement.at("predicateType").get<std::string>();
    if (type != kCheckpointPredicateType && type != kCheckpointPredicateTypeV1) {
      return Error{"checkpoint statement: wrong predicateType"};
    }
    const Json& predicate = statement.at("predicate");
    claim.log = predicate.at("log").get<std::string>();
    claim.count = predicate.at("count").get<std::uint64_t>();
    claim.head = predicate.at("head").get<std::string>();
    const Json& runs = predicate.at("runs");
    if (!runs.is_array() || !std::all_of(runs.begin(), runs.end(), [](const Json& run) { return run.is_string(); })) {
      return Error{"checkpoint statement: runs is not a list of strings"};
    }
    claim.runs = runs.get<std::vector<std::string>>();
    std::string log_digest = claim.head;
    if (type == kCheckpointPredicateType) {
      const std::string root_text = predicate.at("root").get<std::string>();
      auto bytes =
          crypto::IsDigestString(root_text) ? crypto::HexDecode(root_text.substr(7)) : ErrorOr<std::string>(Error{""});
      if (!bytes.ok() || bytes.value().size() != tlog::kHashSize) {
        return Error{"checkpoint statement: root is not sha256:<64 hex digits>"};
      }
      tlog::Hash hash{};
      std::memcpy(hash.data(), bytes.value().data(), hash.size());
      claim.root = hash;
      log_digest = root_text;
    } else if (predicate.contains("root")) {
      return Error{"checkpoint statement: a version 1 statement with a root"};
    }
    const Json& subject = statement.at("subject");
    if (!subject.is_array() || subject.empty()) return Error{"checkpoint statement: no subject"};
    if (subject[0].at("name").get<std::string>() != "gov-lineage-log:" + claim.log ||
        "sha256:" + subject[0].at("digest").at("sha256").get<std::string>() != log_digest) {
      return Error{"checkpoint statement: first subject is not the log"};
    }
  } catch (const Json::exception& e) {
    return Error{fmt::format("checkpoint statement: {}", e.what())};
  }
  return claim;
}

ErrorOr<void> ExportBundleFromLog(const std::string& log_path, const std::string& run_id, const std::string& out_path,
                                  std::uint64_t from_offset) {
  if (!IsId(run_id)) return Error{fmt::format("export: '{}' is not a run id (32 lower-case hex digits)", run_id)};
  int fd = open(log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("export: cannot open {}: {}", log_path, std::strerror(errno))};
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (flock(fd, LOCK_SH) != 0) return Error{fmt::format("export: cannot lock {}: {}", log_path, std::strerror(errno))};
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error{"export: stat failed"};
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (from_offset > size) from_offset = 0;
  flock(fd, LOCK_UN);  // records below `size` are complete and never change
  if (size == 0) return Error{fmt::format("export: {} is empty", log_path)};
  // Mapped, not read: a log may be far larger than memory.
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) return Error{fmt::format("export: cannot map {}: {}", log_path, std::strerror(errno))};
  struct Unmapper {
    void* map;
    std::size_t size;
    ~Unmapper() { munmap(map, size); }
  } unmapper{map, size};
  madvise(map, size, MADV_SEQUENTIAL);
  const std::string_view data =
      std::string_view(static_cast<const char*>(map), size).substr(static_cast<std::size_t>(from_offset));

  // Lines from the root's authorization on; the bundle ends at the last
  // checkpoint after the tree's last record.
  struct Line {
    std::string_view text;
    Head head;
    bool in_tree = false;
  };
  std::vector<Line> lines;
  std::set<std::string, std::less<>> tree;
  std::string log_id;
  std::size_t pos = 0;
  bool found_root = false;
  std::size_t last_tree_line = 0;
  std::size_t last_checkpoint = std::string::npos;
  while (pos < data.size()) {
    std::size_t lf = data.find('\n', pos);
    if (lf == std::string::npos) break;  // a torn tail: not part of any bundle
    std::string_view text(data.data() + pos, lf - pos);
    pos = lf + 1;
    auto head = ValidLine(text);
    if (!head) continue;  // torn bytes: outside the chain (a recovery record accounts for them)
    if (!found_root) {
      if (head->type != RecordType::kAuthorization || head->run != run_id) continue;
      found_root = true;
      log_id = std::string(head->log);
    }
    Line line{text, *head, false};
    if (head->type == RecordType::kAuthorization) {
      if (head->run == run_id || tree.count(head->parent) != 0) {
        tree.insert(std::string(head->run));
        line.in_tree = true;
      }
    } else if (head->type == RecordType::kStart || head->type == RecordType::kEnd) {
      line.in_tree = tree.count(head->run) != 0;
    }
    lines.push_back(line);
    if (line.in_tree) last_tree_line = lines.size() - 1;
    if (head->type == RecordType::kCheckpoint) last_checkpoint = lines.size() - 1;
  }
  if (!found_root) return Error{fmt::format("export: run {} has no authorization record in {}", run_id, log_path)};
  if (last_checkpoint == std::string::npos || last_checkpoint < last_tree_line) {
    return Error{fmt::format(
        "export: run {} has records after the last checkpoint; no signed checkpoint covers them yet", run_id)};
  }
  // End at the first checkpoint after the tree's last record.
  std::size_t end = last_tree_line;
  while (lines[end].head.type != RecordType::kCheckpoint) ++end;
  last_checkpoint = end;
  Json header = {{"format", kBundleFormat}, {"log", log_id}, {"root", run_id}};
  // Version 2 when the log publishes a signed tree head: the note and the
  // inclusion proof of the bundle's last record (a checkpoint) in its tree.
  const std::size_t slash = log_path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : log_path.substr(0, slash);
  GOV_ASSIGN_OR_RETURN(std::optional<std::string> note, ReadNoteFile(directory));
  if (note) {
    const std::uint64_t seq = lines[last_checkpoint].head.seq;
    auto parsed = tlog::ParseNote(*note);
    auto checkpoint =
        parsed.ok() ? tlog::ParseCheckpoint(parsed.value().text) : ErrorOr<tlog::Checkpoint>(parsed.error());
    if (!checkpoint.ok()) return Error{"export: the log's checkpoint note: " + checkpoint.error().message};
    const std::uint64_t tree_size = checkpoint.value().size;
    if (tree_size <= seq) {
      return Error{
          fmt::format("export: the log's checkpoint note publishes {} records, not yet record {}", tree_size, seq)};
    }
    DirectoryTileSource tiles(directory);
    auto proof = tlog::InclusionProof(seq, tree_size, tlog::TileHashReader(tree_size, tiles));
    if (!proof.ok()) return Error{"export: no inclusion proof from the published tiles: " + proof.error().message};
    Json hashes = Json::array();
    for (const tlog::Hash& hash : proof.value()) hashes.push_back(crypto::HexEncode(hash));
    header = {{"format", kBundleFormatV2}, {"log", log_id}, {"root", run_id}, {"checkpoint", *note}, {"proof", hashes}};
  }
  std::string out = Canonical(header) + "\n";
  for (std::size_t i = 0; i <= last_checkpoint; ++i) {
    const Line& line = lines[i];
    if (line.in_tree || i == last_checkpoint) {
      out += line.text;
    } else {
      out += Split(line.text).head;
    }
    out += '\n';
  }
  auto written = output::WriteOutputFile(out_path, out);
  if (!written.ok()) return Error{"export: " + written.error().message};
  return {};
}

}  // namespace gov::lineage

namespace gov::lineage {

nlohmann::json ObligationsToJson(const ir::Obligations& obligations) {
  static constexpr const char* kNetwork[] = {"unset", "none", "loopback", "any"};
  nlohmann::json out = {{"timeout_ms", obligations.timeout_ms},
                        {"memory_bytes", obligations.memory_bytes},
                        {"processes", obligations.processes},
                        {"network", kNetwork[static_cast<int>(obligations.network) & 3]}};
  auto byte_strings = [](const std::vector<std::string>& list) {
    nlohmann::json items = nlohmann::json::array();
    for (const std::string& item : list) items.push_back(request::BytesToJson(item));
    return items;
  };
  if (obligations.has_read) out["read"] = byte_strings(obligations.read);
  if (obligations.has_write) out["write"] = byte_strings(obligations.write);
  if (obligations.has_create) out["create"] = byte_strings(obligations.create);
  if (obligations.private_tmp) out["tmp"] = "private";
  if (obligations.has_env) out["env"] = byte_strings(obligations.env);
  if (obligations.has_capabilities) out["capabilities"] = byte_strings(obligations.capabilities);
  return out;
}

std::string DeriveEnvSalt(const crypto::PrivateKey& key, std::string_view log_id) {
  const std::string der = key.ToDer();
  crypto::Sha256 hash;
  hash.Update(std::string_view("gov lineage env salt v2\0", 24));
  hash.Update(std::string_view(der).substr(der.size() - 32));
  hash.Update(log_id);
  const auto digest = hash.Finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string EnvValueHash(std::string_view salt, std::string_view name, std::string_view value) {
  // One pass of the SHA instructions over salt || name || NUL || value (a
  // record hashes every variable of the environment: libsodium's portable
  // SHA-256 made this most of an authorization's append).
  char small[512];
  std::string large;
  const std::size_t size = salt.size() + name.size() + 1 + value.size();
  char* out = small;
  if (size > sizeof small) {
    large.resize(size);
    out = large.data();
  }
  std::size_t at = 0;
  for (const std::string_view part : {salt, name, std::string_view("\0", 1), value}) {
    if (!part.empty()) std::memcpy(out + at, part.data(), part.size());
    at += part.size();
  }
  return crypto::DigestString(crypto::FastSha256(std::string_view(out, size)));
}

}  // namespace gov::lineage
