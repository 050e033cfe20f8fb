// `govc bench`: what a user's own policy costs — building it, its bundle's
// size, loading it as govrun loads, and deciding their requests with native
// code and with the interpreter (docs/govc.md "bench").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/driver/build.h"
#include "runtime/bundle/loader.h"
#include "runtime/request/request.h"
#include "runtime/support/error_or.h"

namespace gov::driver {

struct BenchOptions {
  // Rounds of the timed loops: loads of the bundle, and batches of
  // decisions (each batch decides every request at least once).
  int load_rounds = 50;
  int decision_batches = 200;
  // Also what each rule costs: the policy compiled once per rule with that
  // rule alone, deciding the same requests.
  bool per_rule = false;
};

// Median and 99th percentile of a measured quantity.
struct Spread {
  double median = 0;
  double p99 = 0;
};

struct BenchReport {
  std::string policy_name, policy_version;
  std::size_t rules = 0;
  // From a source file only: govc build's phases (the bundle signed with a
  // throwaway key, nothing written).
  std::optional<double> check_lower_ms;
  std::optional<double> native_code_ms;  // JIT compile, link the code image, sign
  std::uint64_t bundle_bytes = 0;
  std::uint64_t native_bytes = 0;  // the NATIVE section (0 without one)
  std::uint64_t ir_bytes = 0;
  Spread load_verify_us;  // LoadBundle as govrun loads it
  std::string engine;     // what govrun would decide with
  std::string requests_from;
  std::size_t requests = 0;
  std::size_t batch_decisions = 0;  // decisions per timed batch
  Spread native_ns;                 // per decision, over batches (absent engine: zeros)
  Spread interp_ns;
  std::map<std::string, std::size_t> verdicts;  // of the requests, once each
  // With BenchOptions::per_rule (an error where native code does not run): the
  // median per decision of the policy without rules (request validation and
  // dispatch) and, per rule, of the policy with that rule alone minus that
  // base, most expensive first.
  struct RuleCost {
    std::string name;
    std::string verdict;
    double native_ns = 0;
  };
  std::optional<double> no_rules_ns;
  std::vector<RuleCost> per_rule;
};

// A policy to measure: its bundle bytes (built here from source, or read),
// the key that verifies them, and the requests to decide.
struct BenchInput {
  std::string bundle;
  std::vector<crypto::PublicKey> trusted;
  std::vector<request::Request> requests;
  std::string requests_from;  // e.g. "12 test cases of the policy", "requests.jsonl"
  std::optional<double> check_lower_ms;
  std::optional<double> native_code_ms;
};

// Builds an ok() lowered policy as govc build does (compiles, links, signs
// with a throwaway key; nothing written) and takes the policy's test cases
// as the requests. `check_lower_ms`: what checking and lowering took.
ErrorOr<BenchInput> BenchInputFromSource(const LoweredPolicy& lowered, double check_lower_ms);

// The requests of a JSON Lines file (one request per line, docs/request.md;
// blank lines skipped), typed by `context`.
ErrorOr<std::vector<request::Request>> ReadRequestLines(const std::string& text,
                                                        const std::vector<ir::ContextField>& context);

ErrorOr<BenchReport> RunBench(const BenchInput& input, const BenchOptions& options);

// Text (for people) and JSON (docs/schemas/govc-bench.schema.json).
std::string RenderBenchText(const BenchReport& report);
std::string RenderBenchJson(const BenchReport& report);

}  // namespace gov::driver
