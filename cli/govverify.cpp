// govverify: offline verification of lineage logs and bundles against pinned
// keys (chain, completeness, signatures, policy binding, replay), and export
// of a run's lineage bundle from a log. docs/govverify.md.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "console/viewer/inclusion.h"
#include "console/viewer/proof_viewer.h"
#include "console/viewer/query.h"
#include "runtime/bundle/loader.h"
#include "runtime/crypto/ed25519.h"
#include "runtime/lineage/log_io.h"
#include "runtime/lineage/publish.h"
#include "runtime/lineage/report_json.h"
#include "runtime/lineage/verify.h"
#include "runtime/support/input_file.h"
#include "runtime/support/output_file.h"

namespace gov {
namespace {

using lineage::Failure;
using Json = nlohmann::json;

// A log or bundle read from standard input (`-`) is held in memory whole.
constexpr std::size_t kMaxStandardInputBytes = std::size_t{1} << 30;

constexpr const char* kUsage =
    "usage: govverify [--lineage-key KEY.pub]... [--policy-key KEY.pub]... [--trust KEY.pub]...\n"
    "                 [--policy FILE.govb] [--replay] [--all-signatures]\n"
    "                 [--since SEEN] [--witness KEY.pub]... [--save-checkpoint FILE]\n"
    "                 [--format text|json] [--quiet] [--html FILE] PATH...\n"
    "       govverify list [KEYS...] [--verdict V] [--program P] [--user U] [--rule R]\n"
    "                      [--exit N] [--text S] [--since TIME] [--until TIME] [--limit N]\n"
    "                      [--format text|json] LOG_OR_BUNDLE\n"
    "       govverify show [KEYS...] [--format text|json] RUN_ID LOG_OR_BUNDLE\n"
    "       govverify export LOG_OR_DIR RUN_ID -o BUNDLE\n"
    "       govverify note-key KEY.pub LOG_ID\n"
    "\n"
    "PATH is a lineage log, a lineage_dir (its lineage.log) or a lineage bundle;\n"
    "`-` reads a log or bundle from standard input; FILE `-` is standard output.\n"
    "Exit codes: 0 verified, 1 signature, 2 chain/completeness, 3 policy binding,\n"
    "4 replay, 5 malformed input, 64 usage, 66 unreadable input (docs/govverify.md).\n"
    "\n"
    "Options: --lineage-key KEY.pub  a key trusted to sign lineage checkpoints (and nothing else)\n"
    "         --policy-key KEY.pub   a key trusted to sign the --policy bundle (and nothing else)\n"
    "         --trust KEY.pub  a key trusted in both roles (prefer the two above)\n"
    "         --policy F.govb  the policy every authorization must be bound to (again for each\n"
    "                          version of it the log spans)\n"
    "         --replay         re-decide every recorded request with the policy's IR\n"
    "         --all-signatures check every checkpoint's signature, not only the last\n"
    "         --since SEEN     the log must extend the checkpoint saved earlier in SEEN\n"
    "                          (shorter: rollback; different: fork; exit 2)\n"
    "         --witness KEY.pub  the --since note must carry this witness's cosignature\n"
    "         --save-checkpoint FILE  after a verified log, save its signed checkpoint note\n"
    "                          (its last checkpoint record for logs without a note) for --since\n"
    "         --format json    machine-readable report; --quiet: exit status only\n"
    "         --html FILE      also write the proof viewer: one self-contained HTML page\n"
    "                          with the verdict, the keys, checkpoints and run tree (one PATH)\n"
    "         --version, --help\n"
    "list and show verify first (same key options; exit status as above) and then print\n"
    "the runs, newest first (list), or everything recorded about one run (show: a run id\n"
    "or a unique prefix of at least 8 digits; 66 when the file holds no such run).\n"
    "TIME: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, @UNIX_SECONDS, or ago: 90s, 30m, 12h, 7d.\n"
    "Examples:\n"
    "  govverify --lineage-key lineage.pub --policy-key ops.pub --policy agent.govb --replay run.lineage\n"
    "  govverify --lineage-key lineage.pub --format json /var/lib/gov/lineage\n"
    "  govverify export /var/lib/gov/lineage 77c5738e1ae68768cd41550cf6473430 -o run.lineage\n";

// A command line govverify cannot use: one line saying what, and where the
// help is (64).
int Usage(const std::string& message) {
  std::fprintf(stderr, "govverify: %s\ngovverify: usage: govverify [OPTIONS] PATH... (govverify --help)\n",
               message.c_str());
  return static_cast<int>(Failure::kUsage);
}

// `--help` or `-h` among a subcommand's arguments: the whole help, exit 0.
bool AskedForHelp(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return true;
    }
  }
  return false;
}

int Export(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string output;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc) return Usage(arg + " needs a file");
      output = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage("unknown option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2 || output.empty()) return Usage("export needs LOG_OR_DIR RUN_ID -o BUNDLE");
  std::string log = positional[0];
  if (access((log + "/" + std::string(lineage::kLogFileName)).c_str(), F_OK) == 0) {
    log += "/" + std::string(lineage::kLogFileName);
  }
  auto result = lineage::ExportBundleFromLog(log, positional[1], output);
  if (!result.ok()) {
    std::fprintf(stderr, "govverify: %s\n", result.error().message.c_str());
    return static_cast<int>(Failure::kInput);
  }
  return 0;
}

// Prints the C2SP note verifier key of a lineage key for one log: what a
// third-party tlog client pins to check the log's published checkpoints.
int NoteKey(int argc, char** argv) {
  if (argc != 4) return Usage("note-key needs KEY.pub LOG_ID");
  if (!lineage::IsId(argv[3]))
    return Usage(std::string("note-key: ") + argv[3] + " is not a log id (32 lower-case hex digits)");
  auto key = crypto::ReadPublicKeyFile(argv[2]);
  if (!key.ok()) {
    std::fprintf(stderr, "govverify: %s\n", key.error().message.c_str());
    return static_cast<int>(Failure::kInput);
  }
  auto verifier = lineage::LineageNoteVerifier(argv[3], key.value());
  if (!verifier.ok()) {
    std::fprintf(stderr, "govverify: %s\n", verifier.error().message.c_str());
    return static_cast<int>(Failure::kInput);
  }
  std::printf("%s\n", verifier.value().Encode().c_str());
  return 0;
}

void PrintText(const lineage::Report& r) {
  if (r.failure != Failure::kNone) {
    std::string where;
    if (r.failure_seq >= 0) where += fmt::format("record {}, ", r.failure_seq);
    if (r.failure_line > 0) where += fmt::format("line {}, offset {}: ", r.failure_line, r.failure_offset);
    std::printf("%s: FAILED (%s): %s%s\n", r.path.c_str(), lineage::FailureName(r.failure), where.c_str(),
                r.message.c_str());
    if (r.records == 0) return;
    if (r.certified == 0) {
      std::printf("  checked before the failure: %llu record%s\n", static_cast<unsigned long long>(r.records),
                  r.records == 1 ? "" : "s");
      return;
    }
    const bool seen_earlier =
        r.message.starts_with("rollback") || r.message.starts_with("the checkpoint seen earlier");
    std::printf("  before the failure (%s), the log verifies:\n",
                seen_earlier                                ? "it does not reach the checkpoint seen earlier"
                : r.message.starts_with("torn last record") ? "a torn tail"
                                                            : "of what was published, or seen earlier");
  } else {
    std::printf("%s: verified %s %s%s\n", r.path.c_str(), r.kind.c_str(), r.log_id.c_str(),
                r.kind == "bundle" ? fmt::format(" (root run {})", r.root).c_str() : "");
  }
  std::printf("  records: %llu certified by a signed checkpoint", static_cast<unsigned long long>(r.certified));
  if (r.uncertified > 0) {
    std::printf(", %llu after the last checkpoint (not vouched for)", static_cast<unsigned long long>(r.uncertified));
  }
  std::printf("\n  checkpoints: %llu (%llu signature%s checked)\n", static_cast<unsigned long long>(r.checkpoints),
              static_cast<unsigned long long>(r.signatures_checked), r.signatures_checked == 1 ? "" : "s");
  for (const auto& witness : r.witnessed_by) {
    std::printf("  witnessed: the --since checkpoint is cosigned by %s\n", witness.c_str());
  }
  if (r.published > 0) {
    std::printf("  published: the signed checkpoint note's tree of %llu record%s%s\n",
                static_cast<unsigned long long>(r.published), r.published == 1 ? "" : "s",
                r.kind == "bundle" ? " includes the bundle's last record" : " is this log's, and so are its tiles");
  } else if (r.failure == Failure::kNone) {
    std::printf(
        "  published: no checkpoint note (a %s)\n",
        r.kind == "bundle" ? "version 1 bundle" : "log file given without its directory, or written before notes");
  }
  std::printf("  runs: %llu (allow %llu, deny %llu, ask %llu), incomplete %zu\n",
              static_cast<unsigned long long>(r.runs), static_cast<unsigned long long>(r.allow),
              static_cast<unsigned long long>(r.deny), static_cast<unsigned long long>(r.ask), r.incomplete.size());
  for (const auto& run : r.incomplete) std::printf("    incomplete: run %s (no end record)\n", run.c_str());
  if (!r.unattributed.empty()) {
    std::printf("  runs no signed checkpoint attributes to its signer: %zu\n", r.unattributed.size());
    for (const auto& run : r.unattributed) std::printf("    unattributed: run %s\n", run.c_str());
  }
  if (r.kind == "bundle" && !r.root_parent.empty()) {
    std::printf("  the root run's parent %s is outside the bundle\n", r.root_parent.c_str());
  }
  if (r.external_parents > 0) {
    std::printf("  runs whose parent run is recorded in another log: %llu\n",
                static_cast<unsigned long long>(r.external_parents));
  }
  if (r.recoveries > 0) {
    std::printf("  torn writes recovered: %llu (bytes kept and accounted for)\n",
                static_cast<unsigned long long>(r.recoveries));
  }
  if (r.bound > 0) {
    std::printf("  policy: %llu decision%s bound, %llu replayed\n", static_cast<unsigned long long>(r.bound),
                r.bound == 1 ? "" : "s", static_cast<unsigned long long>(r.replayed));
  }
}

// The viewer data (runs, checkpoints, keys) of the file verified at `path`
// (a lineage_dir: its log) with the verdict `report`.
// `standard_input` holds the bytes verified when `path` is `-`.
ErrorOr<Json> ViewerDataOf(const std::string& path, const std::string& standard_input, const lineage::Report& report,
                           const std::vector<console::PinnedKey>& pinned) {
  std::string text = standard_input;
  if (path != input::kStandardInput) {
    std::string file = path;
    if (access((path + "/" + std::string(lineage::kLogFileName)).c_str(), F_OK) == 0) {
      file += "/" + std::string(lineage::kLogFileName);
    }
    auto bytes = input::ReadInputFile(file, SIZE_MAX);
    if (!bytes.ok()) return bytes.error();
    text = std::move(bytes).value();
  }
  console::ProofViewerInput input;
  input.bytes = text;
  input.report = lineage::ReportToJson(report);
  input.keys = pinned;
  input.note = report.last_note;
  input.generator = "govverify 0.1.0";
  return console::ProofViewerData(input);
}

// Writes the proof viewer of the file verified at `path` with the verdict
// `report`: the page shows the failure too.
ErrorOr<void> WriteProofViewer(const std::string& html_file, const std::string& path, const std::string& standard_input,
                               const lineage::Report& report, const std::vector<console::PinnedKey>& pinned) {
  auto data = ViewerDataOf(path, standard_input, report, pinned);
  if (!data.ok()) return data.error();
  return output::WriteOutputFile(html_file, console::RenderProofViewer(data.value()));
}

// What `govverify list` and `show` print.
struct Query {
  enum class Kind { kNone, kList, kShow } kind = Kind::kNone;
  console::RunFilter filter;
  std::size_t limit = 0;  // 0: every matching run
  std::string run;        // show: a run id or a unique prefix
};

// Prints the runs of the verified file (list) or one run (show) after its
// verdict; returns the exit status.
int PrintQuery(const Query& query, const std::string& path, const std::string& standard_input,
               const lineage::Report& report, const std::vector<console::PinnedKey>& pinned,
               const std::string& format) {
  int status = static_cast<int>(report.failure);
  if (report.failure != Failure::kNone && format == "text") {
    std::fprintf(stderr, "govverify: %s: FAILED (%s): %s — runs after the failure are not vouched for\n", path.c_str(),
                 lineage::FailureName(report.failure), report.message.c_str());
  }
  if (report.failure == Failure::kInput || report.failure == Failure::kUsage) return status;
  auto data = ViewerDataOf(path, standard_input, report, pinned);
  if (!data.ok()) {
    std::fprintf(stderr, "govverify: %s\n", data.error().message.c_str());
    return static_cast<int>(Failure::kInput);
  }
  const Json& runs = data.value()["runs"];
  if (query.kind == Query::Kind::kList) {
    Json shown = Json::array();
    for (auto run = runs.rbegin(); run != runs.rend(); ++run) {
      if (query.limit != 0 && shown.size() == query.limit) break;
      if (console::Matches(*run, query.filter)) shown.push_back(*run);
    }
    if (format == "json") {
      std::printf("%s\n", Json{{"version", 1}, {"report", lineage::ReportToJson(report)}, {"runs", shown}}
                              .dump(2, ' ', false, Json::error_handler_t::replace)
                              .c_str());
    } else {
      for (const auto& run : shown) std::printf("%s\n", console::RunLine(run).c_str());
    }
    return status;
  }
  const Json* found = nullptr;
  std::size_t matches = 0;
  for (const auto& run : runs) {
    const std::string id = run.value("id", "");
    if (id == query.run || (query.run.size() >= 8 && query.run.size() < id.size() && id.starts_with(query.run))) {
      found = &run;
      ++matches;
    }
  }
  if (matches != 1) {
    std::fprintf(stderr, "govverify: %s: %s run %s\n", path.c_str(), matches == 0 ? "holds no" : "holds more than one",
                 query.run.c_str());
    return status != 0 ? status : static_cast<int>(Failure::kInput);
  }
  Json run = *found;
  // A directory publishes its tree: the run's authorization has an
  // inclusion proof in the signed tree govverify just checked.
  const std::uint64_t seq = run.value("seq", std::uint64_t{0});
  const bool directory = access((path + "/" + std::string(lineage::kLogFileName)).c_str(), F_OK) == 0;
  if (directory && report.failure == Failure::kNone && seq < report.published) {
    auto proof = console::InclusionProofJson(path, seq, report.published);
    if (proof.ok()) run["inclusion_proof"] = proof.value();
  }
  if (format == "json") {
    std::printf("%s\n", Json{{"version", 1}, {"report", lineage::ReportToJson(report)}, {"run", run}}
                            .dump(2, ' ', false, Json::error_handler_t::replace)
                            .c_str());
  } else {
    std::fputs(console::RunText(run, data.value()).c_str(), stdout);
  }
  return status;
}

int Main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "export") == 0 || std::strcmp(argv[1], "list") == 0 ||
                    std::strcmp(argv[1], "show") == 0 || std::strcmp(argv[1], "note-key") == 0) &&
      AskedForHelp(argc, argv)) {
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "export") == 0) return Export(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "note-key") == 0) return NoteKey(argc, argv);
  Query query;
  int first = 1;
  if (argc >= 2 && (std::strcmp(argv[1], "list") == 0 || std::strcmp(argv[1], "show") == 0)) {
    query.kind = std::strcmp(argv[1], "list") == 0 ? Query::Kind::kList : Query::Kind::kShow;
    first = 2;
  }
  const bool listing = query.kind == Query::Kind::kList;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<std::string> trust_files;        // both roles
  std::vector<std::string> lineage_key_files;  // checkpoints only
  std::vector<std::string> policy_key_files;   // the --policy bundle only
  std::vector<std::string> witness_files;      // cosigners of the --since note
  std::vector<std::string> policy_files;
  bool replay = false;
  bool all_signatures = false;
  std::string since_file;
  std::string save_file;
  bool quiet = false;
  std::string format = "text";
  std::string html_file;
  std::vector<std::string> paths;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string filter_value;
    if (listing && (arg == "--since" || arg == "--until")) {
      if (!value(filter_value)) return Usage(arg + " needs a time");
      auto time = console::ParseTimeArgument(filter_value, now);
      if (!time.ok()) return Usage(arg + ": " + time.error().message);
      (arg == "--since" ? query.filter.since : query.filter.until) = time.value();
    } else if (listing && (arg == "--verdict" || arg == "--program" || arg == "--user" || arg == "--rule" ||
                           arg == "--text" || arg == "--exit" || arg == "--limit")) {
      if (!value(filter_value)) return Usage(arg + " needs a value");
      if (arg == "--verdict") {
        if (filter_value != "allow" && filter_value != "deny" && filter_value != "ask") {
          return Usage("--verdict is allow, deny or ask");
        }
        query.filter.verdict = filter_value;
      } else if (arg == "--program") {
        query.filter.program = filter_value;
      } else if (arg == "--user") {
        query.filter.user = filter_value;
      } else if (arg == "--rule") {
        query.filter.rule = filter_value;
      } else if (arg == "--text") {
        query.filter.text = filter_value;
      } else {
        char* end = nullptr;
        const long number = std::strtol(filter_value.c_str(), &end, 10);
        if (filter_value.empty() || *end != '\0' || number < 0 || number > (arg == "--exit" ? 255 : 100000000)) {
          return Usage(arg + " needs a number" + (arg == "--exit" ? " from 0 to 255" : ""));
        }
        if (arg == "--exit") {
          query.filter.exit_status = static_cast<int>(number);
        } else {
          query.limit = static_cast<std::size_t>(number);
        }
      }
    } else if (arg == "--trust") {
      std::string file;
      if (!value(file)) return Usage("--trust needs a public key file");
      trust_files.push_back(file);
    } else if (arg == "--witness") {
      std::string file;
      if (!value(file)) return Usage("--witness needs a witness public key file");
      witness_files.push_back(file);
    } else if (arg == "--lineage-key" || arg == "--policy-key") {
      std::string file;
      if (!value(file)) return Usage(arg + " needs a public key file");
      (arg == "--lineage-key" ? lineage_key_files : policy_key_files).push_back(file);
    } else if (arg == "--policy") {
      std::string file;
      if (!value(file)) return Usage("--policy needs a policy bundle");
      policy_files.push_back(file);
    } else if (arg == "--replay") {
      replay = true;
    } else if (arg == "--all-signatures") {
      all_signatures = true;
    } else if (arg == "--since") {
      if (!value(since_file)) return Usage("--since needs a file saved by --save-checkpoint");
    } else if (arg == "--html") {
      if (!value(html_file) || html_file.empty()) return Usage("--html needs a file");
    } else if (arg == "--save-checkpoint") {
      if (!value(save_file)) return Usage("--save-checkpoint needs a file");
    } else if (arg == "--quiet" || arg == "-q") {
      quiet = true;
    } else if (arg == "--format") {
      if (!value(format) || (format != "text" && format != "json")) return Usage("--format is text or json");
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::fputs("govverify 0.1.0\n", stdout);
      return 0;
    } else if (arg == "--") {
      for (++i; i < argc; ++i) paths.emplace_back(argv[i]);
    } else if (arg != input::kStandardInput && !arg.empty() && arg[0] == '-') {
      return Usage("unknown option " + arg);
    } else {
      paths.push_back(arg);
    }
  }
  if (std::count(paths.begin(), paths.end(), input::kStandardInput) > 1) {
    return Usage("`-` (standard input) can be given only once");
  }
  if (query.kind == Query::Kind::kShow) {
    if (paths.size() != 2) return Usage("show needs RUN_ID LOG_OR_BUNDLE");
    query.run = paths[0];
    paths.erase(paths.begin());
  }
  if (query.kind != Query::Kind::kNone) {
    if (paths.size() != 1) return Usage(std::string(listing ? "list" : "show") + " takes exactly one LOG_OR_BUNDLE");
    if (!html_file.empty() || !save_file.empty() || !since_file.empty() || quiet) {
      return Usage(std::string(listing ? "list" : "show") +
                   " takes no --html, --save-checkpoint, --since SEEN or --quiet (verify the file for those)");
    }
  }
  if (paths.empty()) return Usage("no PATH to verify");
  if (trust_files.empty() && lineage_key_files.empty()) {
    return Usage("no --lineage-key (or --trust) key: signatures are only checked against pinned keys");
  }
  if (replay && policy_files.empty()) return Usage("--replay needs --policy FILE.govb");
  if ((!since_file.empty() || !save_file.empty()) && paths.size() != 1) {
    return Usage("--since and --save-checkpoint take exactly one log");
  }
  if (!html_file.empty() && paths.size() != 1) return Usage("--html takes exactly one PATH");

  lineage::VerifyOptions options;
  options.all_signatures = all_signatures;
  if (!since_file.empty()) {
    std::ifstream in(since_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
      std::fprintf(stderr, "govverify: --since %s: cannot read it\n", since_file.c_str());
      return static_cast<int>(Failure::kInput);
    }
    if (text.str().size() > (16u << 20)) return Usage("--since: the file is larger than 16 MiB");
    options.since_checkpoint = text.str();
    if (options.since_checkpoint.empty()) return Usage("--since: " + since_file + " is empty");
  }
  // Each key in its role: a policy key cannot vouch for lineage, nor a
  // lineage key for a policy (an independent verifier re-signed logs with
  // the policy key, and they passed when every key served both).
  std::vector<crypto::PublicKey> policy_trusted;
  auto read_keys = [](const std::vector<std::string>& files, const char* option,
                      std::vector<crypto::PublicKey>& out) -> bool {
    for (const auto& file : files) {
      auto key = crypto::ReadPublicKeyFile(file);
      if (!key.ok()) {
        std::fprintf(stderr, "govverify: %s %s: %s\n", option, file.c_str(), key.error().message.c_str());
        return false;
      }
      out.push_back(key.value());
    }
    return true;
  };
  if (!read_keys(trust_files, "--trust", options.trusted) || !read_keys(trust_files, "--trust", policy_trusted) ||
      !read_keys(lineage_key_files, "--lineage-key", options.trusted) ||
      !read_keys(policy_key_files, "--policy-key", policy_trusted) ||
      !read_keys(witness_files, "--witness", options.witnesses)) {
    return static_cast<int>(Failure::kUsage);
  }
  if (!options.witnesses.empty() && since_file.empty()) return Usage("--witness needs --since (a cosigned checkpoint)");
  std::vector<console::PinnedKey> pinned;  // for the proof viewer, each key in its role
  for (const auto& [files, role] : {std::pair{&trust_files, "both"}, std::pair{&lineage_key_files, "lineage"},
                                    std::pair{&policy_key_files, "policy"}, std::pair{&witness_files, "witness"}}) {
    for (const auto& file : *files) {
      if (auto key = crypto::ReadPublicKeyFile(file); key.ok()) pinned.push_back({role, file, key.value()});
    }
  }
  for (const auto& witness : options.witnesses) {
    for (const auto& key : options.trusted) {
      if (witness.raw() == key.raw()) return Usage("a --witness key is also a lineage key: each key has one role");
    }
  }
  // Every version of the policy the log spans (--policy given again for each).
  std::vector<std::unique_ptr<bundle::LoadedPolicy>> policies;
  for (const std::string& policy_file : policy_files) {
    bundle::LoadOptions load;
    load.allow_native = false;
    auto loaded = bundle::LoadBundleFile(policy_file, policy_trusted, load);
    if (!loaded.ok()) {
      std::fprintf(stderr, "govverify: --policy %s: %s\n", policy_file.c_str(), loaded.error().message.c_str());
      return static_cast<int>(Failure::kBinding);
    }
    policies.push_back(std::make_unique<bundle::LoadedPolicy>(std::move(loaded).value()));
    lineage::ReplayPolicy bind;
    bind.digest = policies.back()->digest();
    if (replay) bind.prepared = &policies.back()->prepared();
    options.policies.push_back(bind);
  }
  const bool progress = !quiet && format == "text" && isatty(STDERR_FILENO) != 0;

  int exit_code = 0;
  Json results = Json::array();
  for (const auto& path : paths) {
    if (progress) {
      options.progress = [&path](std::uint64_t done, std::uint64_t total) {
        std::fprintf(stderr, "\r%s: %llu / %llu MiB (%d%%)", path.c_str(), static_cast<unsigned long long>(done >> 20),
                     static_cast<unsigned long long>(total >> 20),
                     total == 0 ? 100 : static_cast<int>(done * 100 / total));
        std::fflush(stderr);
      };
    }
    std::string standard_input;  // `-`: a bundle or log file read whole
    lineage::Report report;
    if (path == input::kStandardInput) {
      ErrorOr<std::string> bytes = input::ReadInputFile(path, kMaxStandardInputBytes);
      if (!bytes.ok()) {
        report.path = path;
        report.failure = Failure::kInput;
        report.message = bytes.error().message;
      } else {
        standard_input = std::move(bytes).value();
        report = lineage::VerifyBytes(standard_input, path, options);
      }
    } else {
      report = lineage::Verify(path, options);
    }
    if (progress) std::fprintf(stderr, "\r\033[K");
    if (query.kind != Query::Kind::kNone) return PrintQuery(query, path, standard_input, report, pinned, format);
    if (report.failure == Failure::kNone && !save_file.empty()) {
      const std::string seen = !report.last_note.empty() ? report.last_note : report.last_checkpoint_line + "\n";
      if (report.last_checkpoint_line.empty()) {
        report.failure = Failure::kUsage;
        report.message = "--save-checkpoint: only a log has a checkpoint to save";
      } else if (auto saved = output::WriteOutputFile(save_file, seen); !saved.ok()) {
        report.failure = Failure::kInput;
        report.message = "--save-checkpoint: " + saved.error().message;
      }
    }
    if (!html_file.empty()) {
      auto written = WriteProofViewer(html_file, path, standard_input, report, pinned);
      if (!written.ok()) {
        std::fprintf(stderr, "govverify: --html %s: %s\n", html_file.c_str(), written.error().message.c_str());
        if (report.failure == Failure::kNone) {
          report.failure = Failure::kInput;
          report.message = "--html: " + written.error().message;
        }
      }
    }
    if (report.failure != Failure::kNone && exit_code == 0) exit_code = static_cast<int>(report.failure);
    if (format == "json") {
      results.push_back(lineage::ReportToJson(report));
    } else if (!quiet || report.failure != Failure::kNone) {
      PrintText(report);
    }
  }
  if (format == "json") {
    std::printf("%s\n", Json{{"version", 1}, {"results", results}, {"exit_code", exit_code}}
                            .dump(2, ' ', false, Json::error_handler_t::replace)
                            .c_str());
  }
  return exit_code;
}

}  // namespace
}  // namespace gov

int main(int argc, char** argv) {
  try {
    return gov::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "govverify: internal error: %s\n", e.what());
    return 70;
  }
}
