// Which obligations of a child's rule hold inside a governed session
// (session::UnenforceableInSession): table-driven, each row a root's and a
// child's obligations and whether the child may run.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/ir/ir.h"
#include "runtime/session/session.h"

namespace {

using gov::ir::Network;
using gov::ir::Obligations;
using Env = std::vector<std::pair<std::string, std::string>>;

Obligations Read(std::vector<std::string> paths) {
  Obligations o;
  o.has_read = true;
  o.read = std::move(paths);
  return o;
}

Obligations Write(std::vector<std::string> paths) {
  Obligations o;
  o.has_write = true;
  o.write = std::move(paths);
  return o;
}

// `create` paths, with `write` paths when given.
Obligations Create(std::vector<std::string> paths, std::optional<std::vector<std::string>> write = std::nullopt) {
  Obligations o;
  o.has_create = true;
  o.create = std::move(paths);
  if (write) {
    o.has_write = true;
    o.write = std::move(*write);
  }
  return o;
}

Obligations PrivateTmp() {
  Obligations o;
  o.private_tmp = true;
  return o;
}

Obligations Net(Network network) {
  Obligations o;
  o.network = network;
  return o;
}

Obligations Memory(std::int64_t bytes) {
  Obligations o;
  o.memory_bytes = bytes;
  return o;
}

Obligations Processes(std::int64_t count) {
  Obligations o;
  o.processes = count;
  return o;
}

Obligations EnvOnly(std::vector<std::string> names) {
  Obligations o;
  o.has_env = true;
  o.env = std::move(names);
  return o;
}

Obligations Capabilities(std::vector<std::string> names) {
  Obligations o;
  o.has_capabilities = true;
  o.capabilities = std::move(names);
  return o;
}

Obligations Timeout(std::int64_t ms) {
  Obligations o;
  o.timeout_ms = ms;
  return o;
}

struct Row {
  const char* what;
  Obligations root;
  Obligations child;
  Env env;
  bool holds;
};

}  // namespace

TEST_CASE("session: a child's obligations hold only where the root's sandbox implies them", "[session]") {
  const std::vector<Row> rows = {
      {"no obligations", {}, {}, {}, true},
      {"timeout is the supervisor's", {}, Timeout(500), {}, true},
      {"network none under a root with network", {}, Net(Network::kNone), {}, false},
      {"network none under network none", Net(Network::kNone), Net(Network::kNone), {}, true},
      {"network loopback under none", Net(Network::kNone), Net(Network::kLoopback), {}, true},
      {"network none under loopback", Net(Network::kLoopback), Net(Network::kNone), {}, false},
      {"network any under none", Net(Network::kNone), Net(Network::kAny), {}, true},
      {"memory without a root limit", {}, Memory(1 << 20), {}, false},
      {"memory under a stricter root", Memory(1 << 20), Memory(2 << 20), {}, true},
      {"memory under a looser root", Memory(4 << 20), Memory(2 << 20), {}, false},
      {"processes under an equal root", Processes(10), Processes(10), {}, true},
      {"processes under a looser root", Processes(20), Processes(10), {}, false},
      {"read without a root read", {}, Read({"/work"}), {}, false},
      {"read under a narrower root", Read({"/work/repo", "/usr"}), Read({"/work", "/usr"}), {}, true},
      {"read: root grants more", Read({"/work", "/etc"}), Read({"/work"}), {}, false},
      {"read: a prefix that is not a parent", Read({"/workspace"}), Read({"/work"}), {}, false},
      {"read: child grants everything", Read({"/etc"}), Read({"/"}), {}, true},
      {"write under a narrower root", Write({"/work/repo"}), Write({"/work"}), {}, true},
      {"write without a root write", {}, Write({"/work"}), {}, false},
      {"create without a root confinement", {}, Create({"/tmp"}), {}, false},
      {"create under a root that may remove there", Write({"/tmp"}), Create({"/tmp"}), {}, false},
      {"create under a root that only creates there", Create({"/tmp"}), Create({"/tmp"}), {}, true},
      {"create under a root that creates deeper", Create({"/tmp/x"}), Create({"/tmp"}), {}, true},
      {"create: the root writes where the child may",
       Create({"/tmp"}, std::vector<std::string>{"/w"}),
       Create({"/tmp"}, std::vector<std::string>{"/w"}),
       {},
       true},
      {"create: the root writes where the child only creates",
       Create({}, std::vector<std::string>{"/tmp"}),
       Create({"/tmp"}),
       {},
       false},
      {"write under a root that only creates", Create({"/work"}), Write({"/work"}), {}, true},
      {"tmp private without one at the root", {}, PrivateTmp(), {}, false},
      {"tmp private under a root that has one", PrivateTmp(), PrivateTmp(), {}, true},
      {"no tmp obligation under a root with a private one", PrivateTmp(), {}, {}, true},
      {"env: TMPDIR of the root's private directory passes",
       PrivateTmp(),
       EnvOnly({"PATH"}),
       {{"PATH", "/bin"}, {"TMPDIR", "/tmp/gov-tmp-1"}},
       true},
      {"env: TMPDIR without a private directory at the root",
       {},
       EnvOnly({"PATH"}),
       {{"PATH", "/bin"}, {"TMPDIR", "/tmp"}},
       false},
      {"write under a root that creates elsewhere", Create({"/tmp"}), Write({"/work"}), {}, false},
      {"env: only listed names", {}, EnvOnly({"PATH", "HOME"}), {{"PATH", "/bin"}, {"HOME", "/root"}}, true},
      {"env: another name present", {}, EnvOnly({"PATH"}), {{"PATH", "/bin"}, {"SECRET", "x"}}, false},
      {"capabilities: root keeps none", {}, Capabilities({"CAP_NET_RAW"}), {}, true},
      {"capabilities: root keeps one the child lists",
       Capabilities({"CAP_NET_RAW"}),
       Capabilities({"CAP_NET_RAW"}),
       {},
       true},
      {"capabilities: root keeps more",
       Capabilities({"CAP_NET_RAW", "CAP_CHOWN"}),
       Capabilities({"CAP_NET_RAW"}),
       {},
       false},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const std::string why = gov::session::UnenforceableInSession(row.child, row.root, row.env);
    INFO(why);
    CHECK(why.empty() == row.holds);
  }
}
