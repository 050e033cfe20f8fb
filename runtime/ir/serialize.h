// The byte format of a Decision IR policy: what a signed bundle carries and
// what govverify replays. Deterministic (equal policies give equal bytes),
// little-endian, versioned; docs/ir.md gives the layout byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/ir/env_reads.h"
#include "runtime/ir/ir.h"
#include "runtime/support/error_or.h"

namespace gov::ir {

// The first six bytes of every serialized policy: "GOVIR" and a NUL.
inline constexpr std::string_view kSerializedMagic{"GOVIR\0", 6};
// The only format version this build writes and reads (8: an option given
// without its optional value reads as ""; top-level operands beside
// subcommands; older versions are rejected with a rebuild hint).
inline constexpr std::uint32_t kSerializedVersion = 8;

// One command table as the commands section stores it (the bytes native
// code passes to gov_helpers.arg_read), and back: DecodeCommand refuses
// malformed bytes and tables ValidateCommand rejects.
std::string EncodeCommand(const argparse::Command& command);
ErrorOr<argparse::Command> DecodeCommand(std::string_view bytes);

// Encodes `policy` (which should satisfy Validate) in format version 4.
std::string Serialize(const Policy& policy);

// Decodes bytes produced by Serialize. Never reads out of bounds; rejects
// truncated input, trailing bytes, other versions, unknown enum values,
// non-canonical booleans, and any policy that fails Validate.
ErrorOr<Policy> Deserialize(std::string_view bytes);

// What deciding with native code needs from a serialized policy, read
// without decoding the rest (govrun reads a bundle this way on every run):
// name, version, context declarations, the environment-reads summary of the
// header, and rules one at a time by id. Open() checks the magic, the
// version and the framing of all ten sections, decodes the header and the
// context (ValidateContext), and walks the rules section once to find where
// each rule starts. RuleAt() decodes one rule and checks it
// (ValidateRuleRecord). What the view does not check — nodes, pools,
// conditions, that the summary matches the nodes — Deserialize does. Holds
// views of `bytes`, which must outlive it.
class PolicyView {
 public:
  static ErrorOr<PolicyView> Open(std::string_view bytes);

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::vector<ContextField>& context() const { return context_; }
  const EnvReads& env_reads() const { return env_reads_; }
  std::uint32_t rule_count() const;
  // Rule `id`; an error for an id out of range or a record that does not decode.
  ErrorOr<Rule> RuleAt(std::uint32_t id) const;

 private:
  std::string name_;
  std::string version_;
  std::vector<ContextField> context_;
  EnvReads env_reads_;
  std::string_view rules_;                   // the rules section's body
  std::vector<std::uint32_t> rule_offsets_;  // where each rule starts in it, then its end
};

}  // namespace gov::ir
