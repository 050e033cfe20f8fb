// The proof viewer (`govverify --html`, docs/console.md): the page's data and
// its strict self-containment, then the page as headless Chromium renders it
// (tests/console/browser.js, puppeteer-core with Debian's chromium): the
// verdict, the run tree, a deny's rule and reason, a tampered log's failure
// class and record, hostile argv shown as text, and no request leaving the page.
#include <fmt/format.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "console/viewer/assets.h"
#include "console/viewer/proof_viewer.h"
#include "runtime/crypto/sha256.h"
#include "tests/console/viewer_log.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

Json Browse(const std::string& page, const std::string& shot, const std::vector<std::string>& options = {}) {
  const std::string modules = std::string(GOV_SOURCE_DIR) + "/build/node/node_modules";
  INFO("puppeteer-core is installed by ./gov.sh deps (or test) under " << modules << ", chromium by ./gov.sh test");
  REQUIRE(std::filesystem::exists(modules + "/puppeteer-core"));
  REQUIRE(std::filesystem::exists("/usr/bin/chromium"));
  std::filesystem::create_directories(GOV_TEST_OUTPUT_DIR);
  std::vector<std::string> argv = {"/usr/bin/env", "NODE_PATH=" + modules,
                                   "node",         std::string(GOV_SOURCE_DIR) + "/tests/console/browser.js",
                                   page,           std::string(GOV_TEST_OUTPUT_DIR) + "/" + shot};
  argv.insert(argv.end(), options.begin(), options.end());
  const lineage::Ran ran = lineage::RunProgram(argv, std::filesystem::path(page).parent_path());
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  Json out = Json::parse(ran.out);
  // Whatever the page shows: it loaded nothing but itself, ran no injected
  // code and violated nothing of its policy.
  CHECK(out["requests"].size() == 1);
  CHECK(out["page_errors"].empty());
  CHECK(out["violations"].empty());
  CHECK(out["scripts"] == 1);
  CHECK(out["handlers"] == 0);
  CHECK(out["images"] == 0);
  CHECK(out["xss"] == false);
  return out;
}

std::string Base64Sha256(std::string_view text) {
  const crypto::Sha256Digest digest = crypto::Sha256Of(text);
  return crypto::Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

TEST_CASE("viewer: the proof viewer page is self-contained, under a CSP that admits only its own script and style",
          "[console][viewer]") {
  ViewerLog log;
  const std::string page_path = log.dir.path + "/proof.html";
  const lineage::Ran ran = log.WriteHtml(page_path);
  INFO(ran.out << ran.err);
  REQUIRE(ran.code == 0);
  const std::string page = lineage::ReadFile(page_path);
  const std::size_t script_at = page.rfind("<script>") + 8;
  const std::string script = page.substr(script_at, page.find("</script>", script_at) - script_at);
  CHECK(script.starts_with(std::string(assets::kRenderJs)));
  CHECK(page.find("default-src 'none'; script-src 'sha256-" + Base64Sha256(script) + "'; style-src 'sha256-" +
                  Base64Sha256(assets::kViewerCss) + "'") != std::string::npos);
  // The page's own parts name no other resource; lineage strings stay data.
  for (std::string_view asset : {assets::kViewerHtml, assets::kViewerCss, assets::kRenderJs, assets::kViewerJs}) {
    CHECK(asset.find("http:") == std::string_view::npos);
    CHECK(asset.find("https:") == std::string_view::npos);
    CHECK(asset.find("url(") == std::string_view::npos);
    CHECK(asset.find("innerHTML") == std::string_view::npos);
    CHECK(asset.find("eval(") == std::string_view::npos);
  }
  CHECK(assets::kViewerJs.find("</script") == std::string_view::npos);
  CHECK(assets::kRenderJs.find("</script") == std::string_view::npos);
  CHECK(assets::kViewerCss.find("</style") == std::string_view::npos);
  // One script runs; the data elements (one document, one chunk of runs here) never do.
  const std::string data_element = "<script type=\"application/octet-stream\" ";
  std::size_t scripts = 0, data_elements = 0;
  for (std::size_t at = page.find("<script"); at != std::string::npos; at = page.find("<script", at + 1)) {
    ++scripts;
    if (page.compare(at, data_element.size(), data_element) == 0) ++data_elements;
  }
  CHECK(scripts == 3);
  CHECK(data_elements == 2);
  CHECK(page.find(kXssScript) == std::string::npos);
  CHECK(page.find(kXssImage) == std::string::npos);
}

TEST_CASE("viewer: the viewer's data holds every run with its parent, decision, enforcement and outcome",
          "[console][viewer]") {
  ViewerLog log;
  lineage::VerifyOptions options = lineage::Trusting(log.key);
  const lineage::Report report = lineage::Verify(log.dir.path, options);
  REQUIRE(report.failure == lineage::Failure::kNone);
  ProofViewerInput input;
  const std::string bytes = lineage::ReadFile(log.log_path);
  input.bytes = bytes;
  input.report = {{"kind", report.kind}, {"certified", report.certified}};
  input.keys = {{"lineage", log.key_path, log.key.public_key()}};
  const Json data = ProofViewerData(input);
  REQUIRE(data["runs"].size() == 5);
  std::map<std::string, Json> runs;
  for (const auto& run : data["runs"]) runs[run["id"].get<std::string>()] = run;
  CHECK(runs[log.cc]["parent"] == log.make);
  CHECK(runs[log.make]["parent"] == log.shell);
  CHECK(runs[log.curl]["verdict"] == "deny");
  CHECK(runs[log.curl]["exec"] == false);
  CHECK(runs[log.curl]["rules"][0]["name"] == "no_network_tools");
  CHECK(runs[log.curl]["rules"][0]["reason"] == "curl can send the workspace anywhere");
  CHECK(!runs[log.curl].contains("start"));
  CHECK(runs[log.cc]["end"]["exit_status"] == 1);
  CHECK(runs[log.cc]["start"]["limits"][0]["mechanism"] == "govrun timer (SIGKILL)");
  CHECK(runs[log.cc]["certified"] == true);
  // Hashed variables by name only; the salted hashes stay in the log.
  CHECK(runs[log.shell]["env_hashed"] == Json::array({"API_TOKEN", "HOME"}));
  CHECK(runs[log.hostile]["request"]["args"][4].contains("base64"));
  CHECK(data["signed_by"]["id"] == log.key.public_key().IdHex());
  CHECK(data["unreadable"].empty());
}

// The text of every `<script type="application/octet-stream" ATTRS>` element
// of `page` whose ATTRS contain `marker`, inflated (base64 of zlib deflate).
std::vector<Json> DataElementsOf(const std::string& page, const std::string& marker) {
  std::vector<Json> out;
  const std::string open = "<script type=\"application/octet-stream\" ";
  for (std::size_t at = page.find(open); at != std::string::npos; at = page.find(open, at + 1)) {
    const std::size_t text_at = page.find('>', at) + 1;
    if (page.substr(at, text_at - at).find(marker) == std::string::npos) continue;
    auto deflated = crypto::Base64Decode(page.substr(text_at, page.find("</script>", text_at) - text_at));
    REQUIRE(deflated.ok());
    std::string json(64 << 20, '\0');
    uLongf size = json.size();
    REQUIRE(uncompress(reinterpret_cast<Bytef*>(json.data()), &size,
                       reinterpret_cast<const Bytef*>(deflated.value().data()), deflated.value().size()) == Z_OK);
    json.resize(size);
    out.push_back(Json::parse(json));
  }
  return out;
}

TEST_CASE("viewer: the page holds each run's summary for the tree and, in chunks of 500, the complete runs",
          "[console][viewer]") {
  Json runs = Json::array();
  for (int i = 0; i < 1201; ++i) {
    runs.push_back({{"id", fmt::format("{:032x}", i + 1)},
                    {"parent", i == 0 ? "" : fmt::format("{:032x}", 1)},
                    {"verdict", i % 10 == 0 ? "deny" : "allow"},
                    {"exec", i % 10 != 0},
                    {"certified", true},
                    {"ask_answer", ""},
                    {"seq", 3 * i + 1},
                    {"request", {{"program", "/usr/bin/cc"}, {"args", {"-c", fmt::format("f{}.c", i)}}, {"cwd", "/w"}}},
                    {"rules", Json::array({{{"id", 1}, {"name", "build"}, {"verdict", "allow"}, {"reason", "r"}}})},
                    {"start", {{"seq", 3 * i + 2}, {"pid", 100 + i}, {"limits", Json::array()}}},
                    {"end", {{"seq", 3 * i + 3}, {"exited", true}, {"exit_status", i % 3}, {"max_rss_kib", 4}}}});
  }
  const Json data = {{"version", 1}, {"report", {{"ok", true}}}, {"runs", runs}};
  const std::string page = RenderProofViewer(data);
  const std::vector<Json> documents = DataElementsOf(page, "id=\"gov-lineage\"");
  REQUIRE(documents.size() == 1);
  const Json& document = documents[0];
  CHECK(document["version"] == 1);
  CHECK(document["report"] == data["report"]);
  CHECK(document["runs_per_chunk"] == 500);
  REQUIRE(document["runs"].size() == 1201);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Json& summary = document["runs"][i];
    CHECK(summary["id"] == runs[i]["id"]);
    CHECK(summary["parent"] == runs[i]["parent"]);
    CHECK(summary["verdict"] == runs[i]["verdict"]);
    CHECK(summary["request"] == Json({{"program", "/usr/bin/cc"}, {"args", runs[i]["request"]["args"]}}));
    CHECK(summary["end"] == Json({{"exited", true}, {"exit_status", runs[i]["end"]["exit_status"]}}));
    CHECK(summary["start"] == Json({{"seq", runs[i]["start"]["seq"]}}));
    CHECK(!summary.contains("rules"));
  }
  // The chunks, in order, are exactly the runs.
  CHECK(page.find("class=\"gov-runs\" data-first=\"0\"") < page.find("class=\"gov-runs\" data-first=\"500\""));
  CHECK(page.find("class=\"gov-runs\" data-first=\"500\"") < page.find("class=\"gov-runs\" data-first=\"1000\""));
  const std::vector<Json> chunks = DataElementsOf(page, "class=\"gov-runs\"");
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].size() == 500);
  CHECK(chunks[2].size() == 201);
  Json joined = Json::array();
  for (const Json& chunk : chunks) joined.insert(joined.end(), chunk.begin(), chunk.end());
  CHECK(joined == runs);
}

TEST_CASE("viewer: records after the last checkpoint are shown as not vouched for", "[console][viewer]") {
  ViewerLog log;
  {
    auto opened = lineage::OpenLog(log.dir.path, log.key);
    REQUIRE(opened.ok());
    REQUIRE(opened.value()->RecordAuthorization(lineage::SampleAuthorization(lineage::NewRunId(), "")).ok());
  }
  const lineage::Report report = lineage::Verify(log.dir.path, lineage::Trusting(log.key));
  REQUIRE(report.uncertified > 0);
  ProofViewerInput input;
  const std::string bytes = lineage::ReadFile(log.log_path);
  input.bytes = bytes;
  input.report = {{"kind", report.kind}, {"certified", report.certified}};
  const Json data = ProofViewerData(input);
  REQUIRE(data["runs"].size() == 6);
  CHECK(data["runs"][0]["certified"] == true);
  CHECK(data["runs"][5]["certified"] == false);
}

TEST_CASE("viewer: in Chromium the viewer shows the verdict, the run tree and a deny's rule and reason",
          "[console][viewer][browser]") {
  ViewerLog log;
  const std::string page = log.dir.path + "/proof.html";
  REQUIRE(log.WriteHtml(page).code == 0);
  const Json seen = Browse(page, "viewer-deny.png", {"--select", log.curl});
  PublishScreenshot("viewer-deny.png");
  CHECK(seen["verdict_class"] == "verdict ok");
  CHECK(seen["verdict"].get<std::string>().starts_with("Verified ✓ log "));
  CHECK(seen["count"] == "5 runs");
  REQUIRE(seen["rows"].size() == 5);
  CHECK(seen["rows"][0]["run"] == log.shell);
  CHECK(seen["rows"][1]["run"] == log.make);
  CHECK(seen["rows"][2]["run"] == log.cc);
  const std::string detail = seen["detail"];
  CHECK(detail.find("no_network_tools") != std::string::npos);
  CHECK(detail.find("curl can send the workspace anywhere") != std::string::npos);
  CHECK(detail.find("not executed") != std::string::npos);
  CHECK(detail.find(log.shell) != std::string::npos);  // the parent, one click away
  const std::string summary = seen["summary"];
  CHECK(summary.find(log.key.public_key().IdHex()) != std::string::npos);
  CHECK(summary.find("signed checkpoint note") != std::string::npos);

  const Json denies = Browse(page, "viewer-filter.png", {"--filter", "deny"});
  CHECK(denies["count"] == "1 of 5 runs");
  REQUIRE(denies["rows"].size() == 1);
  CHECK(denies["rows"][0]["run"] == log.curl);
}

TEST_CASE("viewer: in Chromium a run of a later chunk shows its full record when selected",
          "[console][viewer][browser]") {
  ViewerLog log;
  std::string last;
  {
    auto opened = lineage::OpenLog(log.dir.path, log.key);
    REQUIRE(opened.ok());
    for (int i = 0; i < 600; ++i) {
      log.Run(*opened.value(), log.make, "/usr/bin/cc", {"-c", "f" + std::to_string(i) + ".c"}, "allow",
              {1, "build_tools", "allow", "builds are allowed"}, 0);
    }
    last = log.Run(*opened.value(), log.shell, "/usr/bin/wget", {"https://example.com/x"}, "deny",
                   {2, "no_network_tools", "deny", "wget fetches what nobody reviewed"}, 0);
    REQUIRE(opened.value()->Checkpoint().ok());
  }
  const std::string page = log.dir.path + "/proof.html";
  REQUIRE(log.WriteHtml(page).code == 0);
  const Json seen = Browse(page, "viewer-chunk.png", {"--select", last});
  CHECK(seen["count"] == "606 runs");
  const std::string detail = seen["detail"];
  CHECK(detail.find("wget fetches what nobody reviewed") != std::string::npos);
  CHECK(detail.find("no_network_tools") != std::string::npos);
  CHECK(detail.find(log.shell) != std::string::npos);
}

TEST_CASE("viewer: in Chromium a tampered log shows its failure class and record", "[console][viewer][browser]") {
  ViewerLog log;
  std::string bytes = lineage::ReadFile(log.log_path);
  const std::size_t at = bytes.find("curl can send");
  REQUIRE(at != std::string::npos);
  bytes[at] = 'C';  // one byte of the deny's reason
  lineage::WriteFile(log.log_path, bytes);
  const std::string page = log.dir.path + "/proof.html";
  const lineage::Ran ran = log.WriteHtml(page);
  CHECK(ran.code == 2);  // chain: the page is written all the same
  const Json seen = Browse(page, "viewer-tampered.png");
  PublishScreenshot("viewer-tampered.png");
  CHECK(seen["verdict_class"] == "verdict failed");
  const std::string verdict = seen["verdict"];
  INFO(verdict);
  CHECK(verdict.starts_with("FAILED (chain): line "));
  CHECK(verdict.find("the body of record ") != std::string::npos);
  CHECK(verdict.find("does not match its digest") != std::string::npos);
  // What comes after the failure is not vouched for.
  bool uncertified = false;
  for (const auto& row : seen["rows"]) {
    if (row["text"].get<std::string>().find("uncertified") != std::string::npos) uncertified = true;
  }
  CHECK(uncertified);
}

TEST_CASE("viewer: in Chromium hostile argv renders as text: markup, entities, bidi overrides, bytes, 1 MB",
          "[console][viewer][browser]") {
  ViewerLog log;
  const std::string page = log.dir.path + "/proof.html";
  REQUIRE(log.WriteHtml(page).code == 0);
  const Json seen = Browse(page, "viewer-hostile.png", {"--select", log.hostile});
  const std::string detail = seen["detail"];
  INFO(detail.substr(0, 3000));
  CHECK(detail.find(kXssScript) != std::string::npos);
  CHECK(detail.find(kXssImage) != std::string::npos);
  CHECK(detail.find(kEntities) != std::string::npos);
  CHECK(detail.find("\\u{202E}hs.live") != std::string::npos);
  CHECK(detail.find(kBidi) == std::string::npos);  // never a live override
  CHECK(detail.find("\\xff\\xfe\\x80ok") != std::string::npos);
  CHECK(detail.find("show all 1,048,576 characters") != std::string::npos);
  CHECK(detail.find("\\u{001B}[2J\\u{001B}]0;owned\\u{0007}") != std::string::npos);
  CHECK(detail.size() < 100000);  // the megabyte is cut until asked for
}

}  // namespace
}  // namespace gov::console
