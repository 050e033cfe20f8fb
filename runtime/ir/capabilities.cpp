// The capability table (see capabilities.h). The numbers are Linux's ABI
// and never change; tests/unit/ir_test.cpp checks every entry against the
// CAP_* constants of <linux/capability.h>.
#include "runtime/ir/capabilities.h"

#include <array>

namespace gov::ir {
namespace {

constexpr std::array<Capability, kLastCapability + 1> kCapabilities = {{
    {"chown", 0},
    {"dac_override", 1},
    {"dac_read_search", 2},
    {"fowner", 3},
    {"fsetid", 4},
    {"kill", 5},
    {"setgid", 6},
    {"setuid", 7},
    {"setpcap", 8},
    {"linux_immutable", 9},
    {"net_bind_service", 10},
    {"net_broadcast", 11},
    {"net_admin", 12},
    {"net_raw", 13},
    {"ipc_lock", 14},
    {"ipc_owner", 15},
    {"sys_module", 16},
    {"sys_rawio", 17},
    {"sys_chroot", 18},
    {"sys_ptrace", 19},
    {"sys_pacct", 20},
    {"sys_admin", 21},
    {"sys_boot", 22},
    {"sys_nice", 23},
    {"sys_resource", 24},
    {"sys_time", 25},
    {"sys_tty_config", 26},
    {"mknod", 27},
    {"lease", 28},
    {"audit_write", 29},
    {"audit_control", 30},
    {"setfcap", 31},
    {"mac_override", 32},
    {"mac_admin", 33},
    {"syslog", 34},
    {"wake_alarm", 35},
    {"block_suspend", 36},
    {"audit_read", 37},
    {"perfmon", 38},
    {"bpf", 39},
    {"checkpoint_restore", 40},
}};

constexpr bool NumbersAreIndices() {
  for (std::size_t i = 0; i < kCapabilities.size(); ++i) {
    if (kCapabilities[i].number != static_cast<int>(i)) return false;
  }
  return true;
}
static_assert(NumbersAreIndices(), "entry i of the capability table must be capability i");

}  // namespace

std::span<const Capability> Capabilities() {
  return kCapabilities;
}

std::optional<int> CapabilityNumber(std::string_view name) {
  for (const Capability& capability : kCapabilities) {
    if (capability.name == name) return capability.number;
  }
  return std::nullopt;
}

std::string_view CapabilityName(int number) {
  if (number < 0 || number > kLastCapability) return {};
  return kCapabilities[static_cast<std::size_t>(number)].name;
}

}  // namespace gov::ir
