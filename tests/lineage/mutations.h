// Tampered copies of a Session's log or bundle for issue 15 §3: BODYs that
// are not canonical or contradict their HEAD, and checkpoint envelopes in the
// forms a DSSE consumer must accept or must refuse. Each carries the class
// govverify must report; verify_test.cpp checks the classes, cli_test.cpp that
// the Python verifier agrees.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/lineage/helpers.h"

namespace gov::lineage {

struct Mutation {
  std::string name;
  std::string data;
  Failure expected = Failure::kNone;
};

// The index of the line whose HEAD has `type` (and `run`, when given).
inline std::size_t FindLine(const std::vector<std::string>& lines, RecordType type, const std::string& run = "") {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto head = ParseHead(Split(lines[i]).head);
    if (head.ok() && head.value().type == type && (run.empty() || head.value().run == run)) return i;
  }
  FAIL("no such record");
  return 0;
}

// Rewrites line `index` through its parsed HEAD and BODY (canonical again
// afterwards unless `raw_body` edits the text), then relinks the chain and
// re-signs its checkpoints with `key` (none: signatures kept as they are).
struct Tamper {
  std::vector<std::string> lines;
  std::size_t first_record;
  Tamper(const std::string& data, bool bundle) : lines(Lines(data)), first_record(bundle ? 1 : 0) {}

  std::string Edit(std::size_t index, const std::function<void(nlohmann::json& head, nlohmann::json& body)>& edit,
                   const crypto::PrivateKey* key, const std::function<void(std::string& body)>& raw_body = {}) const {
    std::vector<std::string> copy = lines;
    SplitLine split = Split(copy[index]);
    nlohmann::json head = nlohmann::json::parse(split.head);
    nlohmann::json body = nlohmann::json::parse(split.body);
    edit(head, body);
    std::string body_text = Canonical(body);
    if (raw_body) raw_body(body_text);
    copy[index] = Canonical(head) + "\t" + body_text;
    Rechain(copy, first_record, key);
    return Join(copy);
  }
};

inline void NoChange(nlohmann::json&, nlohmann::json&) {}

// BODY against HEAD (§3.1), re-signed with the right key: only the checks
// of a BODY against its HEAD can find these.
inline std::vector<Mutation> BodyHeadMutations(const Session& s, bool bundle) {
  const std::string data = ReadFile(bundle ? s.bundle_path : s.log_path);
  Tamper t(data, bundle);
  const crypto::PrivateKey* key = &s.key;
  const std::size_t root = FindLine(t.lines, RecordType::kAuthorization, s.root);
  const std::size_t start = FindLine(t.lines, RecordType::kStart, s.root);
  const std::size_t end = FindLine(t.lines, RecordType::kEnd, s.root);
  const std::size_t make = FindLine(t.lines, RecordType::kAuthorization, s.child_make);
  const std::size_t curl = FindLine(t.lines, RecordType::kAuthorization, s.child_curl);
  const std::string stranger_run(32, 'e');
  std::vector<Mutation> out;
  auto add = [&](std::string name, std::string text, Failure expected) {
    out.push_back(Mutation{std::move(name), std::move(text), expected});
  };
  add("intact", data, Failure::kNone);
  add("authorization body with a space", t.Edit(root, NoChange, key, [](std::string& b) { b.insert(1, " "); }),
      Failure::kMalformed);
  add("start body with members out of order",
      t.Edit(start, NoChange, key,
             [](std::string& b) {
               const std::size_t at = b.find("\"depth\":0,");
               b.erase(at, 10);
               b.insert(b.size() - 1, ",\"depth\":0");
             }),
      Failure::kMalformed);
  add("end body with a needless \\u escape",
      t.Edit(end, NoChange, key,
             [](std::string& b) { b.replace(b.find("\"killed_by\":\"\""), 14, "\"killed_by\":\"\\u0041\""); }),
      Failure::kMalformed);
  add("start body with an integer beyond 64 bits",
      t.Edit(start, NoChange, key,
             [](std::string& b) { b.replace(b.find("\"pid\":4242"), 10, "\"pid\":18446744073709551616"); }),
      Failure::kMalformed);
  add("end body with -0",
      t.Edit(end, NoChange, key, [](std::string& b) { b.replace(b.find("\"signal\":0"), 10, "\"signal\":-0"); }),
      Failure::kMalformed);
  add("start body that is an array", t.Edit(start, NoChange, key, [](std::string& b) { b = "[" + b + "]"; }),
      Failure::kMalformed);
  add("start body without run",
      t.Edit(
          start, [](auto&, auto& b) { b.erase("run"); }, key),
      Failure::kMalformed);
  add("authorization body whose policy is not an object",
      t.Edit(
          root, [](auto&, auto& b) { b["policy"] = "sha256:x"; }, key),
      Failure::kMalformed);
  add("authorization body of another run",
      t.Edit(
          root, [&](auto&, auto& b) { b["run"] = stranger_run; }, key),
      Failure::kChain);
  add("end body of another run",
      t.Edit(
          end, [&](auto&, auto& b) { b["run"] = stranger_run; }, key),
      Failure::kChain);
  add("HEAD allow over BODY deny",
      t.Edit(
          curl, [](auto& h, auto&) { h["verdict"] = "allow"; }, key),
      Failure::kChain);
  add("HEAD without parent over BODY with one",
      t.Edit(
          make, [](auto& h, auto&) { h["parent"] = ""; }, key),
      Failure::kChain);
  add("HEAD policy other than BODY policy.digest",
      t.Edit(
          root, [](auto& h, auto&) { h["policy"] = "sha256:" + std::string(64, 'd'); }, key),
      Failure::kChain);
  add("BODY execute false under HEAD exec true",
      t.Edit(
          root, [](auto&, auto& b) { b["execute"] = false; }, key),
      Failure::kChain);
  add("BODY execute 1 under HEAD exec true",
      t.Edit(
          root, [](auto&, auto& b) { b["execute"] = 1; }, key),
      Failure::kChain);
  return out;
}

inline std::string UrlSafe(std::string text, bool padded) {
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  if (!padded) text.erase(text.find_last_not_of('=') + 1);
  return text;
}

// The last checkpoint's envelope in other encodings (§3.2). Signatures are
// kept: what a DSSE consumer must accept still verifies.
inline std::vector<Mutation> DsseMutations(const Session& s, bool bundle) {
  const std::string data = ReadFile(bundle ? s.bundle_path : s.log_path);
  Tamper t(data, bundle);
  const std::size_t last = t.lines.size() - 1;
  std::vector<Mutation> out;
  auto envelope = [&](std::string name, const std::function<void(nlohmann::json & envelope)>& edit, Failure expected) {
    std::string edited = t.Edit(
        last, [&](auto&, auto& b) { edit(b["envelope"]); }, nullptr);
    // A re-encoding can leave the bytes as they were (a signature without
    // `+` or `/` is the same in both base64 alphabets): no change, no failure.
    const Failure outcome = edited == data ? Failure::kNone : expected;
    out.push_back(Mutation{std::move(name), std::move(edited), outcome});
  };
  auto signature = [](nlohmann::json& e) -> nlohmann::json& { return e["signatures"][0]; };
  auto text = [](nlohmann::json& value) { return value.get<std::string>(); };
  // What a DSSE consumer accepts verifies in a log (no later record covers
  // the last checkpoint's bytes); a version 2 bundle's note and inclusion
  // proof cover them, so there any re-encoding is a changed record.
  const Failure accepted = bundle ? Failure::kChain : Failure::kNone;
  envelope(
      "unknown envelope member", [](auto& e) { e["x-gov-note"] = "ignored"; }, accepted);
  envelope(
      "unknown signature member",
      [&](auto& e) {
        signature(e)["extension"] = {{"kind", "x"}};
      },
      accepted);
  envelope(
      "no keyid", [&](auto& e) { signature(e).erase("keyid"); }, accepted);
  envelope(
      "empty keyid", [&](auto& e) { signature(e)["keyid"] = ""; }, accepted);
  envelope(
      "keyid of another key", [&](auto& e) { signature(e)["keyid"] = TestKey(99).public_key().IdHex(); }, accepted);
  envelope(
      "URL-safe base64 without padding",
      [&](auto& e) {
        e["payload"] = UrlSafe(text(e["payload"]), false);
        signature(e)["sig"] = UrlSafe(text(signature(e)["sig"]), false);
      },
      accepted);
  envelope(
      "URL-safe base64 with padding", [&](auto& e) { signature(e)["sig"] = UrlSafe(text(signature(e)["sig"]), true); },
      accepted);
  envelope(
      "standard base64 without padding",
      [&](auto& e) {
        std::string sig = text(signature(e)["sig"]);
        signature(e)["sig"] = sig.substr(0, sig.find('='));
      },
      accepted);
  envelope(
      "upper-case keyid",
      [&](auto& e) {
        std::string id = text(signature(e)["keyid"]);
        for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (id == text(signature(e)["keyid"])) id[0] = 'A';
        signature(e)["keyid"] = id;
      },
      Failure::kMalformed);
  envelope(
      "short keyid", [&](auto& e) { signature(e)["keyid"] = "abc"; }, Failure::kMalformed);
  envelope(
      "keyid that is a number", [&](auto& e) { signature(e)["keyid"] = 5; }, Failure::kMalformed);
  envelope(
      "no sig", [&](auto& e) { signature(e).erase("sig"); }, Failure::kMalformed);
  envelope(
      "both base64 alphabets in one sig",
      [&](auto& e) {
        std::string sig = text(signature(e)["sig"]);
        sig[0] = '-';
        sig[1] = '+';
        signature(e)["sig"] = sig;
      },
      Failure::kMalformed);
  envelope(
      "sig with part of its padding",
      [&](auto& e) {
        std::string sig = text(signature(e)["sig"]);
        REQUIRE(sig.size() == 88);
        signature(e)["sig"] = sig.substr(0, 87);
      },
      Failure::kMalformed);
  envelope(
      "sig with non-zero unused bits",
      [&](auto& e) {
        static constexpr std::string_view kAlphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string sig = text(signature(e)["sig"]);
        sig[85] = kAlphabet[kAlphabet.find(sig[85]) | 1];
        signature(e)["sig"] = sig;
      },
      Failure::kMalformed);
  envelope(
      "payload with a line break",
      [&](auto& e) {
        std::string payload = text(e["payload"]);
        payload.insert(76, "\n");
        e["payload"] = payload;
      },
      Failure::kMalformed);
  out.push_back(Mutation{"a member beside the envelope",
                         t.Edit(
                             last, [](auto&, auto& b) { b["note"] = "not DSSE"; }, nullptr),
                         Failure::kMalformed});
  if (!bundle) {
    // An earlier checkpoint re-encoded as a consumer would accept it: its
    // bytes are still covered by the next record's prev.
    const std::size_t first_checkpoint = FindLine(t.lines, RecordType::kCheckpoint);
    std::vector<std::string> lines = t.lines;
    SplitLine split = Split(lines[first_checkpoint]);
    nlohmann::json body = nlohmann::json::parse(split.body);
    nlohmann::json& entry = body["envelope"]["signatures"][0];
    entry["sig"] = UrlSafe(entry["sig"].get<std::string>(), false);
    entry.erase("keyid");
    auto head = ParseHead(split.head);
    REQUIRE(head.ok());
    Head h = head.value();
    const std::string log(h.log), prev(h.prev);
    h.log = log;
    h.prev = prev;
    lines[first_checkpoint] = MakeLine(h, Canonical(body));
    lines[first_checkpoint].pop_back();
    out.push_back(Mutation{"an earlier checkpoint re-encoded", Join(lines), Failure::kChain});
    std::vector<std::string> relinked = lines;
    Rechain(relinked, 0, nullptr);
    out.push_back(Mutation{"an earlier checkpoint re-encoded, the chain relinked", Join(relinked), Failure::kChain});
  }
  return out;
}

}  // namespace gov::lineage
