// Linux capability names as the policy language spells them (the
// `capabilities` obligation): lower-case, without the `CAP_` prefix, exactly
// the capabilities <linux/capability.h> defines — `chown` is CAP_CHOWN (0),
// `net_bind_service` is CAP_NET_BIND_SERVICE (10), up to
// `checkpoint_restore` (40, CAP_LAST_CAP of Linux 5.9 and later). The
// checker accepts only these names, ir::Validate rejects any other, and
// govrun maps the granted names to numbers with this table. Plain data: no
// LLVM, no ANTLR, no kernel headers needed by users of this header.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace gov::ir {

// One capability: its policy spelling and its Linux number.
struct Capability {
  std::string_view name;
  int number;
};

// The highest capability number this table knows (CAP_CHECKPOINT_RESTORE).
inline constexpr int kLastCapability = 40;

// Every known capability, by ascending number (entry i has number i).
std::span<const Capability> Capabilities();

// The number of capability `name` ("chown" → 0), or nullopt when `name` is
// not a known spelling (upper case or a `cap_` prefix is not accepted).
std::optional<int> CapabilityNumber(std::string_view name);

// The policy spelling of capability `number`, or "" when it is unknown.
std::string_view CapabilityName(int number);

}  // namespace gov::ir
