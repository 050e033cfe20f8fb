#!/usr/bin/env bash
# The gov demo (`./gov.sh demo`): a policy compiled and signed, an AI agent's
# session governed command by command, and the signed lineage verified offline
# — then tampering caught. Usage: examples/demo.sh [BUILD_DIR] (default build/release).
# Leaves its state directory (keys, bundle, lineage) for inspection and prints
# where it is. Set GOV_DEMO_STATE to choose it; NO_COLOR=1 for plain output.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=$(cd "${1:-build/release}" && pwd)
govc=$build/cli/govc
govrun=$build/cli/govrun
govverify=$build/cli/govverify
govd=$build/cli/govd
for tool in "$govc" "$govrun" "$govverify" "$govd"; do
  [ -x "$tool" ] || { echo "demo: $tool is missing: build first (./gov.sh build)" >&2; exit 1; }
done

state=${GOV_DEMO_STATE:-$(mktemp -d /tmp/gov-demo.XXXXXX)}
mkdir -p "$state"
workspace=$state/repo
outside=$state/outside

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  bold=$'\033[1m' dim=$'\033[2m' cyan=$'\033[1;36m' green=$'\033[32m' red=$'\033[31m' off=$'\033[0m'
else
  bold='' dim='' cyan='' green='' red='' off=''
fi
step() { printf '\n%s## %s%s\n' "$cyan" "$*" "$off"; }
say() { printf '%s\n' "$*"; }
# Runs a command in the workspace, showing it and its exit status.
agent() {
  printf '%s$ %s%s\n' "$dim" "$*" "$off"
  (cd "$workspace" && "$@")
  local status=$?
  if [ $status -eq 0 ]; then printf '%s-> exit 0%s\n' "$green" "$off"; else printf '%s-> exit %d%s\n' "$red" "$status" "$off"; fi
  return 0
}
quiet() { "$@" >/dev/null 2>&1 || { echo "demo: failed: $*" >&2; exit 1; }; }
# Like `agent`, for setup steps the rest depends on: stops the demo on failure.
must() {
  printf '%s$ %s%s\n' "$dim" "$*" "$off"
  (cd "$workspace" && "$@") || { echo "demo: failed: $*" >&2; exit 1; }
}
mkdir -p "$workspace" "$outside"

step "1. The policy: examples/agent.gov (an AI coding agent in one repository)"
say "It imports the standard library (std.shell, std.git, std.pkg, std.paths) and carries its own tests."
must "$govc" check "$repo/examples/agent.gov"
must "$govc" test "$repo/examples/agent.gov"
# The policy names its workspace /work/repo; the demo points it (and its
# test cases) at its own directory and shortens the build timeout from 10
# minutes to 3 seconds so that you can watch it fire. Nothing else changes;
# `govc build` runs the adapted copy's tests again before it signs it.
# The build directory is readable too: make's recipe in step 3 runs the
# govrun built there (installed, it is in /usr/bin, which is readable). That
# nested govrun reads the demo's configuration and keys and appends to its
# log, so the state directory is readable and its lineage directory
# writable: the single-user layout, which step 5's lineage service ends.
sed -e "s|/work/repo|$workspace|g" \
    -e "s|timeout = 10m|timeout = 3s|" \
    -e "s|write = \[workspace\],|write = [workspace, \"$state/lineage\"],|" \
    -e "s|^  \"/usr\",\$|  \"/usr\",\n  \"$build\",\n  \"$state\",|" "$repo/examples/agent.gov" > "$state/agent.gov"
say "For the demo: workspace = $workspace, build timeout = 3s, the build and state directories readable,"
say "the lineage directory writable (diff against examples/agent.gov, test cases left out):"
diff "$repo/examples/agent.gov" "$state/agent.gov" | grep '^>' | grep -v '^> *exec \|^> *\[\|^> *cwd ' | sed 's/^/   /' | sort -u

step "2. Keys, then compile to native code and sign the bundle"
mkdir -p "$state/keys" "$state/lineage"
quiet "$govc" keygen "$state/keys/policy"
quiet "$govc" keygen "$state/keys/lineage"
must "$govc" build "$state/agent.gov" --key "$state/keys/policy.key" -o "$state/agent.govb"
cat > "$state/config.toml" <<EOF
policy = "$state/agent.govb"
trusted_keys = ["$state/keys/policy.pub"]
lineage_dir = "$state/lineage"
signing_key = "$state/keys/lineage.key"
EOF
export GOV_CONFIG=$state/config.toml
say "govrun reads $GOV_CONFIG (policy, trusted keys, lineage directory, signing key)."

# The agent's workspace: a git repository with a Makefile whose targets show the limits.
echo "precious" > "$outside/data.txt"
cat > "$workspace/Makefile" <<EOF
.PHONY: all slow fetch escape nested session
all:
	@echo "built ok"
slow:
	@echo "a build that hangs..."; sleep 30
fetch:
	@bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' && echo "connected (should not happen)" || echo "network blocked"
escape:
	@echo x > /var/tmp/gov-demo-escape && echo "wrote outside (should not happen)" || echo "write outside the workspace blocked"
nested:
	@$govrun -- /bin/sh -c 'echo "compiled inside a governed make"'
session:
	git status --short
	-rm -rf $outside
	echo the build goes on
EOF
quiet git -C "$workspace" init -q
quiet git -C "$workspace" -c user.email=agent@example.com -c user.name=agent add Makefile
quiet git -C "$workspace" -c user.email=agent@example.com -c user.name=agent commit -q -m "initial"

step "3. An agent session through govrun"
say "${bold}allow${off}: read-only git (rule git_read)"
agent "$govrun" -- git status --short
say "${bold}deny${off}: deleting outside the workspace names the rule and its reason"
agent "$govrun" -- rm -rf "$outside"
say "${bold}ask${off} without a terminal is a deny (a person must answer on a terminal)"
agent "$govrun" -- git push origin main < /dev/null
say "${bold}timeout${off}: the build rule's limit (3 s here) kills the whole process group"
agent "$govrun" -- make slow
say "${bold}network = none${off}: a connection from inside the build fails (seccomp)"
agent "$govrun" -- make fetch
say "${bold}write = [workspace], tmp = private${off}: writing elsewhere fails (Landlock), /tmp included;"
say "temporary files go to a directory of the command's own (TMPDIR), removed after it"
agent "$govrun" -- make escape
say "${bold}read = readable${off}: outside the workspace and the system nothing is readable (Landlock),"
say "however a command reaches it — a token in another directory stays unread by an allowed grep"
secrets=$(mktemp -d /var/tmp/gov-demo-secrets.XXXXXX)
echo "ghp_demoTokenNotForTheAgent" > "$secrets/token"
agent "$govrun" -- grep -r ghp_ "$secrets"
rm -rf "$secrets"
say "${bold}nested${off}: make runs govrun -- sh -c …; the inner run is recorded as the outer run's child"
agent "$govrun" --bundle "$state/session.lineage" -- make nested
[ -e "$outside/data.txt" ] && say "(and $outside/data.txt is still there)"

step "4. A governed session: every program make starts is decided too"
say "With --session the kernel stops every exec in make's process tree before it runs: the rm in a"
say "recipe is denied (EACCES in make, which goes on) and recorded; the others run as child runs."
agent "$govrun" --session --bundle "$state/make-session.lineage" -- make session
[ -e "$outside/data.txt" ] && say "(and $outside/data.txt is still there)"

step "5. Verify the lineage offline: signatures, chain, policy binding, and every decision replayed"
agent "$govverify" --lineage-key "$state/keys/lineage.pub" --policy-key "$state/keys/policy.pub" --policy "$state/agent.govb" --replay "$state/session.lineage"
agent "$govverify" --lineage-key "$state/keys/lineage.pub" --policy-key "$state/keys/policy.pub" --policy "$state/agent.govb" --replay --html "$state/make-session.html" "$state/make-session.lineage"
say "--html wrote the session's proof viewer: $state/make-session.html (one file, no network needed)"
agent "$govverify" --lineage-key "$state/keys/lineage.pub" --policy-key "$state/keys/policy.pub" --policy "$state/agent.govb" --replay "$state/lineage"

step "6. Tamper with one byte of a copy: verification fails and says where and why"
cp "$state/session.lineage" "$state/tampered.lineage"
size=$(stat -c %s "$state/tampered.lineage")
offset=$((size / 2))
byte=$(od -An -tu1 -j "$offset" -N1 "$state/tampered.lineage" | tr -d ' ')
printf "$(printf '\\%03o' $(( (byte + 1) % 256 )))" | dd of="$state/tampered.lineage" bs=1 seek="$offset" conv=notrunc status=none
say "changed byte $offset of $size"
agent "$govverify" --lineage-key "$state/keys/lineage.pub" --policy-key "$state/keys/policy.pub" --policy "$state/agent.govb" --replay "$state/tampered.lineage"

step "7. The secure layout: govd holds the lineage key and writes the log, as its own user"
if [ "$(id -u)" -ne 0 ]; then
  say "(skipped: this part starts govd as root with a dedicated user and runs the agent as another user)"
else
  # Numeric ids stand for the `gov` system user and an unprivileged agent
  # (docs/govd.md sets up the named user; nothing is added to /etc/passwd here).
  gov_uid=64300 agent_uid=64301 operator_uid=64302
  service=$state/service
  mkdir -p "$service/lineage" "$service/run" "$service/bin"
  chmod 755 "$state" "$service"
  quiet "$govc" keygen "$service/lineage-key"
  chown "$gov_uid:$gov_uid" "$service/lineage" "$service/run" "$service/lineage-key.key"
  # Installed programs, as a package would place them: govrun set-gid to
  # govd's group (the only way to reach the socket), a plain copy for the
  # agent's attempt to submit without it, and govd's client. The build
  # directory stays out of the agent's reach (it may be private to root).
  cp "$govrun" "$service/bin/govrun" && chgrp "$gov_uid" "$service/bin/govrun" && chmod 2755 "$service/bin/govrun"
  cp "$govrun" "$service/bin/govrun-without-group" && cp "$govd" "$service/bin/govd"
  chmod 755 "$service/bin/govrun-without-group" "$service/bin/govd"
  # Nor does the policy name it: in this layout nothing runs a govrun from
  # the build directory and no governed program appends to a log of its own.
  sed -e "\\|^  \"$build\",\$|d" -e "s|write = \[workspace, \"$state/lineage\"\],|write = [workspace],|" \
    "$state/agent.gov" > "$service/agent.gov"
  quiet "$govc" build "$service/agent.gov" --key "$state/keys/policy.key" -o "$service/agent.govb"
  cat > "$service/config.toml" <<EOF
policy = "$service/agent.govb"
trusted_keys = ["$state/keys/policy.pub"]
lineage_dir = "$service/lineage"
lineage_service = "$service/run/govd.sock"
ask = "service"      # an ask goes to govd's approvers, never to a terminal the agent may hold
EOF
  chown -R "$agent_uid:$agent_uid" "$workspace"
  "$govd" --lineage "$service/lineage" --key "$service/lineage-key.key" --socket "$service/run/govd.sock" \
    --submitter-group "$gov_uid" --user "$gov_uid" \
    --approvals-socket "$service/run/approvals.sock" --approver "$operator_uid" 2>"$service/govd.log" &
  govd_pid=$!
  for _ in $(seq 200); do [ -S "$service/run/govd.sock" ] && break; sleep 0.05; done
  say "govd (pid $govd_pid) runs as uid $gov_uid; the key and the log are its own, the log readable by all:"
  ls -l "$service/lineage-key.key" "$service/lineage/lineage.log" | sed 's/^/   /'
  as_agent() { setpriv --reuid "$agent_uid" --regid "$agent_uid" --clear-groups "$@"; }
  say "The agent (uid $agent_uid) runs a governed session; its records go through govd:"
  agent as_agent "$service/bin/govrun" --config "$service/config.toml" --session -- make session
  as_operator() { setpriv --reuid "$operator_uid" --regid "$operator_uid" --clear-groups "$@"; }
  approvals=("$service/bin/govd" approvals --socket "$service/run/approvals.sock")
  say "${bold}ask${off} goes to a person of another uid: the agent's git push waits for the operator (uid $operator_uid)"
  (cd "$workspace" && as_agent "$service/bin/govrun" --config "$service/config.toml" -- git push origin main \
    >"$service/push.out" 2>&1; echo "-> exit $?" >>"$service/push.out") &
  push_pid=$!
  ask_id=
  for _ in $(seq 400); do
    ask_id=$(as_operator "${approvals[@]}" --json list 2>/dev/null | sed -n 's/^ *"ask": "\([0-9a-f]\{32\}\)".*/\1/p' | head -1)
    [ -n "$ask_id" ] && break
    sleep 0.05
  done
  say "The agent tries to approve its own push (it is no approver; govd never takes an answer from the asking uid):"
  agent as_agent "${approvals[@]}" approve "$ask_id"
  say "The operator sees the ask and refuses it:"
  agent as_operator "${approvals[@]}" list
  agent as_operator "${approvals[@]}" refuse "$ask_id"
  wait "$push_pid"
  sed 's/^/   /' "$service/push.out"
  say "The agent tries to forge history: read the key, append to the log, submit without the set-gid govrun"
  agent as_agent cat "$service/lineage-key.key"
  agent as_agent sh -c "echo forged >> $service/lineage/lineage.log"
  agent as_agent "$service/bin/govrun-without-group" --config "$service/config.toml" -- git status --short
  say "An auditor verifies the log and keeps its last checkpoint elsewhere; the agent works on:"
  trust=(--lineage-key "$service/lineage-key.pub" --policy-key "$state/keys/policy.pub")
  quiet "$govverify" "${trust[@]}" --save-checkpoint "$service/before.checkpoint" "$service/lineage"
  mkdir -p "$service/rolled-back" && cp -a "$service/lineage/." "$service/rolled-back/"
  quiet "$govc" keygen "$service/witness-key"
  witness=("$govd" witness --name witness.other-host.example/gov --key "$service/witness-key.key"
    --log-key "$service/lineage-key.pub" --state "$service/witness")
  say "A witness (in real use on another host, reading a mirror) cosigns the published log as it grows:"
  agent "${witness[@]}" "$service/lineage"
  agent as_agent "$service/bin/govrun" --config "$service/config.toml" -- git status --short
  agent "$govverify" "${trust[@]}" --since "$service/before.checkpoint" --save-checkpoint "$service/seen.checkpoint" "$service/lineage"
  agent "${witness[@]}" "$service/lineage"
  kill "$govd_pid"
  wait "$govd_pid" 2>/dev/null
  say "The log is published as a transparency log (C2SP tlog-tiles under tile/); its signed tree head:"
  sed 's/^/   /' "$service/lineage/checkpoint"
  say "Every authorization names its submitter as the kernel reported it to govd; the refused ask, who answered:"
  grep -o '"submitter":{[^}]*}' "$service/lineage/lineage.log" | sort | uniq -c | sed 's/^/   /'
  grep -o '"approval":{[^}]*}' "$service/lineage/lineage.log" | sed 's/^/   /'
  agent "$govverify" "${trust[@]}" --policy "$service/agent.govb" --replay "$service/lineage"
  say "Someone who can write govd's directory (root) puts it back as it was earlier (log, note, tiles):"
  say "alone it still verifies, but not against the checkpoint note the auditor saw:"
  agent "$govverify" "${trust[@]}" "$service/rolled-back"
  agent "$govverify" "${trust[@]}" --since "$service/seen.checkpoint" "$service/rolled-back"
  say "The witness refuses to cosign it, and whoever pins the witness catches it without a note of their own:"
  agent "${witness[@]}" "$service/rolled-back"
  log_id=$(sed -n 1p "$service/lineage/checkpoint" | cut -d/ -f2)
  agent "$govverify" "${trust[@]}" --witness "$service/witness-key.pub" --since "$service/witness/$log_id/checkpoint" "$service/rolled-back"
fi

step "Where things are"
say "policy bundle:   $state/agent.govb"
say "lineage log:     $state/lineage/"
say "session bundle:  $state/session.lineage (nested run), $state/make-session.lineage (governed session)"
say "proof viewer:    $state/make-session.html — open it in any browser (file://; it loads nothing else)"
say "console:         $build/cli/govconsole --lineage $state/lineage --lineage-key $state/keys/lineage.pub \\"
say "                   --policy $state/agent.govb --policy-key $state/keys/policy.pub"
say "                 (then open the address it prints; govverify list/show are the same in a terminal)"
say "keys:            $state/keys/ (policy.key signs bundles, lineage.key signs checkpoints)"
say "service layout:  $state/service/ (its policy bundle, govd's key, lineage directory and socket; the set-gid govrun)"
say "Next: README.md (five-minute tour), docs/govrun.md, docs/govd.md, docs/lineage-format.md, docs/threat-model.md"
