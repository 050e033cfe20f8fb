// Which environment values a policy can read: a conservative scan of the
// IR's nodes. The lineage recorder stores these values in clear (they are
// decision evidence that --replay must see); the IR's header carries the
// result so that govrun need not decode the nodes to know it.
#pragma once

#include <string>
#include <vector>

#include "runtime/ir/ir.h"

namespace gov::ir {

// The environment variables whose VALUES a policy can read
// (docs/lineage-format.md "Environment values"). `all` is set when the
// policy reads values under names it computes (or compares whole maps);
// then every value is evidence. Names alone (`"X" in env`, `len(env)`,
// `any k in env`) need no values.
struct EnvReads {
  bool all = false;
  std::vector<std::string> names;  // sorted, unique

  bool operator==(const EnvReads&) const = default;
};

// The reads of a policy that passes Validate.
EnvReads EnvReadsOf(const Policy& policy);

}  // namespace gov::ir
