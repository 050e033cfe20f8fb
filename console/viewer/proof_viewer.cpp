// The proof viewer: the data document read from a verified log or bundle, and
// the self-contained page around it (docs/console.md "The proof viewer").
#include "console/viewer/proof_viewer.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "console/viewer/assets.h"
#include "runtime/crypto/sha256.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kCheckpointsShown = 1000;  // the last ones; the count covers all
constexpr std::size_t kUnreadableShown = 20;

// One line of the file (without its LF), 1-based number, byte offset.
struct Line {
  std::string_view text;
  std::uint64_t number = 0;
  std::uint64_t offset = 0;
};

std::vector<Line> LinesOf(std::string_view bytes) {
  std::vector<Line> lines;
  std::uint64_t offset = 0, number = 1;
  while (offset < bytes.size()) {
    const std::size_t end = bytes.find('\n', offset);
    const std::size_t stop = end == std::string_view::npos ? bytes.size() : end;
    lines.push_back({bytes.substr(offset, stop - offset), number++, offset});
    offset = stop + 1;
  }
  return lines;
}

// The names of `env_hashed` (an object, or [name, hash] pairs): the viewer
// shows which variables were hashed; their salted hashes stay in the file.
Json EnvNames(const Json& env_hashed) {
  Json names = Json::array();
  if (env_hashed.is_object()) {
    for (const auto& [name, hash] : env_hashed.items()) names.push_back(name);
  } else if (env_hashed.is_array()) {
    for (const auto& pair : env_hashed) {
      if (pair.is_array() && !pair.empty()) names.push_back(pair[0]);
    }
  }
  return names;
}

// A checkpoint body's statement, or null when it does not decode.
Json StatementOf(const Json& body) {
  if (!body.is_object() || !body.contains("envelope") || !body["envelope"].is_object()) return nullptr;
  const Json& payload = body["envelope"].value("payload", Json());
  if (!payload.is_string()) return nullptr;
  auto decoded = crypto::Base64Decode(payload.get<std::string>());
  if (!decoded.ok()) return nullptr;
  auto statement = lineage::ParseUntrusted(decoded.value());
  if (!statement.ok() || !statement.value().is_object()) return nullptr;
  return std::move(statement).value();
}

// Runs per `gov-runs` element of the page: the page inflates and parses one
// chunk when a run in it is first selected (about 0.7 MB of JSON).
constexpr std::size_t kRunsPerChunk = 500;

// `value` as base64 of its zlib-deflated JSON (RFC 1950): 30-40 times
// smaller than the JSON for real logs, so the browser loads a small page and
// inflates it with DecompressionStream("deflate"). Base64 cannot close the
// <script> element it sits in.
std::string DeflatedBase64Text(const std::string& text) {
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::string deflated(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(deflated.data()), &size, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), 6) != Z_OK) {
    throw std::runtime_error("zlib cannot compress the viewer data");
  }
  deflated.resize(size);
  return crypto::Base64Encode(deflated);
}

std::string DeflatedBase64(const Json& value) {
  return DeflatedBase64Text(value.dump(-1, ' ', true, Json::error_handler_t::replace));
}

// What the run tree and the search need of a run before it is selected
// (docs/console.md "Viewer data"): its place in the tree, its verdict, its
// command line and its outcome. The rest stays in the run's chunk.
Json RunSummary(const Json& run) {
  Json summary = Json::object();
  for (const char* key : {"id", "parent", "verdict", "exec", "certified", "ask_answer"}) {
    if (run.contains(key)) summary[key] = run[key];
  }
  if (const auto request = run.find("request"); request != run.end() && request->is_object()) {
    Json shown = Json::object();
    for (const char* key : {"program", "argv0", "args"}) {
      if (request->contains(key)) shown[key] = (*request)[key];
    }
    summary["request"] = std::move(shown);
  }
  if (const auto start = run.find("start"); start != run.end() && start->is_object()) {
    summary["start"] = {{"seq", start->value("seq", Json())}};
  }
  if (const auto end = run.find("end"); end != run.end() && end->is_object()) {
    Json shown = Json::object();
    for (const char* key : {"exited", "exit_status", "signal", "killed_by", "exec_error", "duration_ns"}) {
      if (end->contains(key)) shown[key] = (*end)[key];
    }
    summary["end"] = std::move(shown);
  }
  return summary;
}

// The page's data elements: `gov-lineage` holds the document with each run
// cut to its summary; each `gov-runs` element holds the complete runs
// [data-first, data-first + kRunsPerChunk) as a JSON array.
std::string DataElements(const Json& data) {
  static const Json kNoRuns = Json::array();
  const Json& runs = data.contains("runs") && data["runs"].is_array() ? data["runs"] : kNoRuns;
  Json head = Json::object();
  for (const auto& [key, value] : data.items()) {
    if (key != "runs") head[key] = value;
  }
  Json summaries = Json::array();
  for (const Json& run : runs) summaries.push_back(RunSummary(run));
  head["runs"] = std::move(summaries);
  head["runs_per_chunk"] = kRunsPerChunk;
  std::string out = "<script type=\"application/octet-stream\" id=\"gov-lineage\" data-encoding=\"deflate-base64\">" +
                    DeflatedBase64(head) + "</script>\n";
  // Chunks are independent: deflated on every core (zlib is most of the
  // time of a large page).
  const std::size_t chunks = (runs.size() + kRunsPerChunk - 1) / kRunsPerChunk;
  std::vector<std::string> deflated(chunks);
  std::atomic<std::size_t> next{0};
  std::mutex failed_mutex;
  std::exception_ptr failed;
  auto deflate_some = [&] {
    for (std::size_t c = next++; c < chunks; c = next++) {
      const std::size_t first = c * kRunsPerChunk, last = std::min(runs.size(), first + kRunsPerChunk);
      std::string text = "[";
      for (std::size_t i = first; i < last; ++i) {
        if (i > first) text += ',';
        text += runs[i].dump(-1, ' ', true, Json::error_handler_t::replace);
      }
      text += ']';
      deflated[c] = DeflatedBase64Text(text);
    }
  };
  // An exception (zlib out of memory) is carried out of its thread.
  auto deflate_chunks = [&] {
    try {
      deflate_some();
    } catch (...) {
      std::lock_guard<std::mutex> lock(failed_mutex);
      failed = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  const unsigned cores = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  for (unsigned i = 1; i < cores && i < chunks; ++i) helpers.emplace_back(deflate_chunks);
  deflate_chunks();
  for (std::thread& helper : helpers) helper.join();
  if (failed) std::rethrow_exception(failed);
  for (std::size_t c = 0; c < chunks; ++c) {
    out += "<script type=\"application/octet-stream\" class=\"gov-runs\" data-first=\"" +
           std::to_string(c * kRunsPerChunk) + "\" data-encoding=\"deflate-base64\">";
    out += deflated[c];
    out += "</script>\n";
  }
  return out;
}

}  // namespace

std::string CspHash(std::string_view text) {
  const crypto::Sha256Digest digest = crypto::Sha256Of(text);
  return "'sha256-" +
         crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())) + "'";
}

Json RunFromAuthorization(const lineage::Head& head, Json body, bool certified) {
  Json run = {{"id", std::string(head.run)},
              {"parent", std::string(head.parent)},
              {"seq", head.seq},
              {"verdict", std::string(head.verdict)},
              {"exec", head.exec},
              {"certified", certified},
              {"policy_digest", std::string(head.policy)}};
  if (body.is_object()) {
    for (auto& [key, value] : body.get_ref<Json::object_t&>()) {
      if (key == "run" || key == "parent" || key == "verdict" || key == "execute") continue;
      run[key] = key == "env_hashed" ? EnvNames(value) : std::move(value);
    }
  }
  // The HEAD's policy digest is the body's (verified); keep one copy.
  if (run.contains("policy") && run["policy"].is_object() && run["policy"].value("digest", "") == head.policy) {
    run.erase("policy_digest");
  }
  return run;
}

void AddRunRecord(Json& run, const lineage::Head& head, Json body, bool certified) {
  if (!body.is_object()) body = Json::object();
  body.erase("run");  // the run's own id, already the run's
  body["seq"] = head.seq;
  body["certified"] = certified;
  run[head.type == lineage::RecordType::kStart ? "start" : "end"] = std::move(body);
}

Json ProofViewerData(const ProofViewerInput& input) {
  const Json& report = input.report;
  const bool bundle = report.value("kind", "") == "bundle";
  const std::uint64_t certified = report.value("certified", std::uint64_t{0});

  Json data = {{"version", 1}, {"generator", input.generator}, {"report", report}, {"note", input.note}};
  Json keys = Json::array();
  for (const auto& pinned : input.keys) {
    keys.push_back({{"role", pinned.role}, {"file", pinned.file}, {"id", pinned.key.IdHex()}});
  }
  data["keys"] = keys;

  Json runs = Json::array();
  std::unordered_map<std::string, std::size_t> run_index;
  std::deque<Json> checkpoints;
  std::uint64_t checkpoint_count = 0, withheld = 0, unreadable_count = 0;
  Json unreadable = Json::array();
  Json recoveries = Json::array();
  std::string last_certified_checkpoint;
  std::uint64_t last_certified_checkpoint_seq = 0;
  auto not_read = [&](const Line& line, const std::string& reason) {
    ++unreadable_count;
    if (unreadable.size() < kUnreadableShown) unreadable.push_back({{"line", line.number}, {"reason", reason}});
  };

  const std::vector<Line> lines = LinesOf(input.bytes);
  std::size_t first = 0;
  if (bundle && !lines.empty()) {
    first = 1;
    auto header = lineage::ParseUntrusted(lines[0].text);
    if (header.ok() && header.value().is_object()) {
      Json shown = header.value();
      data["bundle"] = shown;
    } else {
      not_read(lines[0], "the bundle header does not parse");
    }
  }
  std::uint64_t ordinal = 0, first_seq = 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    const Line& line = lines[i];
    const lineage::SplitLine split = lineage::Split(line.text);
    auto head = lineage::ParseHead(split.head);
    if (!head.ok()) {
      not_read(line, head.error().message);
      continue;
    }
    if (ordinal == 0) first_seq = head.value().seq;
    const bool is_certified = ordinal < certified && head.value().seq == first_seq + ordinal;
    ++ordinal;
    const lineage::Head& h = head.value();
    if (!split.has_body) {
      ++withheld;
      continue;
    }
    auto parsed = lineage::ParseUntrusted(split.body);
    if (!parsed.ok() || !parsed.value().is_object()) {
      not_read(line, "the body does not parse");
      continue;
    }
    Json body = std::move(parsed).value();
    switch (h.type) {
      case lineage::RecordType::kAuthorization: {
        const std::string id(h.run);
        if (run_index.contains(id)) {
          not_read(line, "a second authorization of run " + id);
          break;
        }
        Json run = RunFromAuthorization(h, std::move(body), is_certified);
        run_index.emplace(id, runs.size());
        runs.push_back(std::move(run));
        break;
      }
      case lineage::RecordType::kStart:
      case lineage::RecordType::kEnd: {
        auto found = run_index.find(std::string(h.run));
        if (found == run_index.end()) {
          not_read(line, std::string("a ") + lineage::RecordTypeName(h.type) + " of a run not authorized before it");
          break;
        }
        AddRunRecord(runs[found->second], h, std::move(body), is_certified);
        break;
      }
      case lineage::RecordType::kCheckpoint: {
        ++checkpoint_count;
        const Json statement = StatementOf(body);
        Json shown = {{"seq", h.seq}, {"certified", is_certified}};
        if (statement.is_object() && statement.value("predicate", Json()).is_object()) {
          const Json& predicate = statement["predicate"];
          shown["count"] = predicate.value("count", std::uint64_t{0});
          shown["runs"] = predicate.value("runs", Json::array()).size();
          shown["type"] = statement.value("predicateType", "");
          shown["root"] = predicate.value("root", "");
        }
        const Json& signatures = body["envelope"].value("signatures", Json::array());
        if (signatures.is_array() && !signatures.empty() && signatures[0].is_object()) {
          shown["key"] = signatures[0].value("keyid", "");
        }
        checkpoints.push_back(std::move(shown));
        if (checkpoints.size() > kCheckpointsShown) checkpoints.pop_front();
        if (is_certified) {
          last_certified_checkpoint = std::string(split.body);
          last_certified_checkpoint_seq = h.seq;
        }
        break;
      }
      case lineage::RecordType::kHeader:
        data["created_unix_ns"] = body.value("created_unix_ns", std::uint64_t{0});
        break;
      case lineage::RecordType::kRecovery:
        recoveries.push_back(
            {{"seq", h.seq}, {"offset", body.value("offset", 0)}, {"length", body.value("length", 0)}});
        break;
    }
  }
  // Which pinned key signed the checkpoint that certifies the records.
  if (!last_certified_checkpoint.empty()) {
    for (const auto& pinned : input.keys) {
      if (pinned.role != "lineage" && pinned.role != "both") continue;
      bool signature_failure = false;
      auto claim = lineage::OpenCheckpoint(last_certified_checkpoint, {pinned.key}, signature_failure);
      if (claim.ok()) {
        data["signed_by"] = {{"id", pinned.key.IdHex()},
                             {"file", pinned.file},
                             {"seq", last_certified_checkpoint_seq},
                             {"count", claim.value().count}};
        break;
      }
    }
  }
  data["runs"] = std::move(runs);
  Json shown_checkpoints = Json::array();
  for (auto& checkpoint : checkpoints) shown_checkpoints.push_back(std::move(checkpoint));
  data["checkpoints"] = std::move(shown_checkpoints);
  data["checkpoint_count"] = checkpoint_count;
  data["withheld"] = withheld;
  data["unreadable"] = std::move(unreadable);
  data["unreadable_count"] = unreadable_count;
  data["recoveries"] = std::move(recoveries);
  return data;
}

std::string RenderProofViewer(const Json& data) {
  const std::string script = std::string(assets::kRenderJs) + "\n" + std::string(assets::kViewerJs);
  const std::string csp = "default-src 'none'; script-src " + CspHash(script) + "; style-src " +
                          CspHash(assets::kViewerCss) + "; img-src data:; base-uri 'none'; form-action 'none'";
  const std::pair<std::string_view, std::string> fills[] = {
      {"{{CSP}}", csp},
      {"{{STYLE}}", std::string(assets::kViewerCss)},
      {"{{DATA}}", DataElements(data)},
      {"{{SCRIPT}}", script},
  };
  // One pass over the template: a placeholder's text inside a filled value is
  // never expanded again.
  std::string page;
  std::string_view rest = assets::kViewerHtml;
  while (!rest.empty()) {
    std::size_t next = std::string_view::npos;
    const std::pair<std::string_view, std::string>* which = nullptr;
    for (const auto& fill : fills) {
      const std::size_t at = rest.find(fill.first);
      if (at < next) {
        next = at;
        which = &fill;
      }
    }
    if (which == nullptr) {
      page += rest;
      break;
    }
    page += rest.substr(0, next);
    page += which->second;
    rest.remove_prefix(next + which->first.size());
  }
  return page;
}

}  // namespace gov::console
