#!/usr/bin/env bash
# Runs examples/demo.sh against BUILD_DIR and checks every outcome it promises
# (README, issue 6 §3). Fails with the demo's output when one is missing.
set -uo pipefail
build=$1
state=$(mktemp -d /tmp/gov-demo-test.XXXXXX)
trap 'rm -rf "$state" /var/tmp/gov-demo-escape' EXIT
output=$(NO_COLOR=1 GOV_DEMO_STATE=$state bash examples/demo.sh "$build" 2>&1)
status=$?
failures=0
expect() {  # expect DESCRIPTION REGEX
  if ! grep -Pzq -- "$2" <<<"$output"; then
    echo "missing: $1 (/$2/)"
    failures=$((failures + 1))
  fi
}
[ $status -eq 0 ] || { echo "demo exited with $status"; failures=$((failures + 1)); }
expect "agent policy tests pass" 'agent.gov: [0-9]+ cases, [0-9]+ passed, 0 failed'
expect "bundle written" 'wrote .*/agent.govb: policy agent'
expect "allow: git status runs" 'govrun -- git status --short\n-> exit 0'
expect "deny names rule and reason" 'govrun: deny by delete_outside \(deletes outside the workspace\)'
expect "deny exit code 77" 'rm -rf [^\n]*\n[^\n]*delete_outside[^\n]*\n-> exit 77'
expect "ask without terminal denies" 'ask by git_push .*no terminal'
expect "timeout fires" 'exceeded its timeout of 3s'
expect "network blocked" 'network blocked'
expect "Landlock blocks the write" 'write outside the workspace blocked'
expect "Landlock blocks the read of a token outside the workspace" 'grep -r ghp_ [^\n]*\ngrep: [^\n]*gov-demo-secrets[^\n]*: Permission denied\n-> exit 2'
expect "nested run executes" 'compiled inside a governed make'
expect "session: rm inside make is denied by its rule" 'govrun --session [^\n]*make session\n(?:[^\n]*\n)*?govrun: deny by delete_outside \(deletes outside the workspace\): /usr/bin/rm was not run'
expect "session: make goes on after the denial" 'the build goes on\n(?:[^\n]*\n)*?-> exit 0'
expect "session bundle verifies with replay" '--replay [^\n]*make-session.lineage\n(?:[^\n]*\n)*?-> exit 0\n'
expect "bundle verifies with replay" '--replay [^\n]*session.lineage\n(?:[^\n]*\n)*?-> exit 0\n'
expect "the session's proof viewer is written" '--html [^\n]*make-session.html [^\n]*\n(?:[^\n]*\n)*?-> exit 0\n--html wrote the session'"'"'s proof viewer'
expect "tampered copy fails" '--replay [^\n]*tampered.lineage\n(?:[^\n]*\n)*?-> exit [1-5]\n'
if [ "$(id -u)" -eq 0 ]; then
  expect "govd: the session through the service denies rm" 'config.toml --session -- make session\n(?:[^\n]*\n)*?govrun: deny by delete_outside'
  expect "govd: the agent cannot read the key" 'lineage-key.key: Permission denied\n-> exit 1'
  expect "govd: the agent cannot append to the log" 'lineage.log: Permission denied\n-> exit 2'
  expect "govd: govrun without the set-gid group is refused" 'cannot connect: Permission denied[^\n]*\n-> exit 74'
  expect "govd: the agent cannot approve its own ask" 'uid 64301 is not an approver of this govd[^\n]*\n-> exit 1'
  expect "govd: the operator refuses the push; it does not run" 'refused\n-> exit 0\n(?:[^\n]*\n)*?   -> exit 77'
  expect "govd: the record names who answered" '"approval":\{"answer":"no","ask":"[0-9a-f]{32}","at_unix_ns":[0-9]+,"by_uid":64302,"by_user":""\}'
  expect "govd: submitters named by the kernel" '"submitter":\{"gid":64300,"pid":[0-9]+,"uid":64301\}'
  expect "govd: the service log verifies with replay" '--replay [^\n]*service/lineage\n(?:[^\n]*\n)*?-> exit 0\n'
  expect "govd: the grown log extends the checkpoint seen before" '--since [^\n]*before.checkpoint[^\n]*\n(?:[^\n]*\n)*?-> exit 0\n'
  expect "govd: the log is published with a signed checkpoint note" 'signed tree head:\n   gov-lineage/[0-9a-f]{32}\n   [0-9]+\n'
  expect "govd: the witness cosigns the growing log" 'cosigned log [0-9a-f]{32} at [0-9]+ records \(consistent with [0-9]+\)'
  expect "govd: the witness refuses the rolled-back log" 'not cosigned: rollback: the log publishes [0-9]+ records, fewer than the [0-9]+ this witness cosigned\n-> exit 2'
  expect "govd: the witnessed checkpoint catches the rollback" 'witness-key.pub --since [^\n]*\n[^\n]*FAILED \(chain\): rollback'
  expect "govd: the rolled-back log is caught" 'FAILED \(chain\): rollback: the log has [0-9]+ records, fewer than the [0-9]+ of the checkpoint seen earlier'
fi
grep -q 'id="gov-lineage"' "$state/make-session.html" 2>/dev/null || { echo "no proof viewer page"; failures=$((failures + 1)); }
[ -e /var/tmp/gov-demo-escape ] && { echo "the Landlock probe file exists"; failures=$((failures + 1)); }
grep -q 'ghp_demoTokenNotForTheAgent' <<<"$output" && { echo "the agent read the token"; failures=$((failures + 1)); }
[ -e "$state/outside/data.txt" ] || { echo "the file outside the workspace was deleted"; failures=$((failures + 1)); }
if [ $failures -ne 0 ]; then
  echo "---- demo output ----"
  echo "$output"
  exit 1
fi
echo "demo: all outcomes present"
